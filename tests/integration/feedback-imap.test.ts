import { expect } from "@jest/globals";
import { ImapFlow } from "imapflow";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp";
import { startTestApp, type TestApp } from "../helpers/app";
import { startImapServer, type TestImapServer } from "../helpers/imap";
import { seedPapers, seedReaders, seedTopics, waitUntil } from "../helpers/seed";
import { feedbackFixture } from "../helpers/inbound";

const ADMIN_TOKEN = "admin-token-for-tests-0123456789";
const DAY = "2024-12-10";

/**
 * The bounce mailbox over IMAP, against a real IMAP server (Debian's dovecot): reports are put in
 * the mailbox with APPEND, as the MTA that delivered them would have left them (with the
 * Delivered-To line naming our return path), and the inbound role's reader takes them from there.
 */
describe("the IMAP bounce mailbox", () => {
  let smtp: TestSmtpServer;
  let imap: TestImapServer;
  let app: TestApp;
  const returnPaths = new Map<string, string>();

  const append = async (raw: string) => {
    const client = new ImapFlow({
      host: "127.0.0.1",
      port: imap.port,
      secure: false,
      auth: { user: imap.user, pass: imap.password },
      logger: false,
    });
    await client.connect();
    await client.append("INBOX", raw);
    await client.logout();
  };
  const unseen = async () => {
    const client = new ImapFlow({
      host: "127.0.0.1",
      port: imap.port,
      secure: false,
      auth: { user: imap.user, pass: imap.password },
      logger: false,
    });
    await client.connect();
    const lock = await client.getMailboxLock("INBOX");
    try {
      return ((await client.search({ seen: false }, { uid: true })) || []).length;
    } finally {
      lock.release();
      await client.logout();
    }
  };

  beforeAll(async () => {
    imap = await startImapServer();
    smtp = await startSmtpServer();
    app = await startTestApp(
      {
        SMTP_URL: smtp.url,
        ADMIN_TOKEN,
        MAIL_FROM: "Daily Papers <papers@example.org>",
        BOUNCE_ADDRESS: "bounces@bounce.example.org",
        INBOUND_SMTP_PORT: "0",
        INBOUND_SMTP_HOST: "127.0.0.1",
        IMAP_URL: imap.url,
        IMAP_POLL_SECONDS: "3600",
      },
      { inbound: true },
    );
    const topic = await seedTopics(app.db, ["diffusion"]);
    await seedPapers(app.db, [{ title: "A paper", upvotes: 5, topics: [topic.diffusion!], day: DAY }]);
    await seedReaders(
      app.db,
      ["imap-hard", "imap-arf", "keep"].map((n) => ({ email: `${n}@example.net` })),
    );
    const res = await fetch(`${app.url}/admin/api/digests/${DAY}/send`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const { id } = (await res.json()) as { id: string };
    await waitUntil(
      "the digest to be sent",
      async () => (await app.db.digest.findUnique({ where: { id } }))?.status === "sent",
    );
    await smtp.waitForCount(3);
    for (const e of smtp.received) returnPaths.set(e.envelopeTo[0]!, e.envelopeFrom);
  });
  afterAll(async () => {
    await app?.destroy();
    await smtp?.close();
    await imap?.close();
  });

  it("when a DSN and a complaint are in the mailbox, then the reader records both, marks them seen, and a second read finds nothing", async () => {
    await append(
      `Delivered-To: ${returnPaths.get("imap-hard@example.net")}\r\n` +
        feedbackFixture("postfix-hard-5.1.1.eml").replace(/\r?\n/g, "\r\n"),
    );
    await append(
      feedbackFixture("arf-abuse.eml")
        .replace("Return-Path: <support@example.ed.jp>", `Return-Path: <${returnPaths.get("imap-arf@example.net")}>`)
        .replace(/\r?\n/g, "\r\n"),
    );
    await append("From: someone@example.com\r\nSubject: Out of office\r\n\r\nI am away.\r\n");
    expect(await unseen()).toBe(3);

    expect(await app.inbound!.imap!.pollOnce()).toBe(3);
    expect(await unseen()).toBe(0);
    const hard = await app.db.subscriber.findUniqueOrThrow({ where: { email: "imap-hard@example.net" } });
    expect(hard.status).toBe("bounced");
    expect(await app.deps.suppressions.isSuppressed(app.db, "imap-hard@example.net")).toBe(true);
    expect(await app.db.consentEvent.findMany({ where: { subscriberId: hard.id, action: "bounce" } })).toEqual([
      expect.objectContaining({ source: "dsn", detail: expect.objectContaining({ channel: "imap", status: "5.1.1" }) }),
    ]);
    expect((await app.db.subscriber.findUniqueOrThrow({ where: { email: "imap-arf@example.net" } })).status).toBe(
      "complained",
    );
    expect((await app.db.subscriber.findUniqueOrThrow({ where: { email: "keep@example.net" } })).status).toBe("active");
    expect(await app.inbound!.imap!.pollOnce()).toBe(0);
  });

  it("when the same report lands in the mailbox again, then it is read and changes nothing", async () => {
    const events = await app.db.feedbackEvent.count();
    await append(
      `Delivered-To: ${returnPaths.get("imap-hard@example.net")}\r\n` +
        feedbackFixture("postfix-hard-5.1.1.eml").replace(/\r?\n/g, "\r\n"),
    );
    expect(await app.inbound!.imap!.pollOnce()).toBe(1);
    expect(await app.db.feedbackEvent.count()).toBe(events);
  });
});

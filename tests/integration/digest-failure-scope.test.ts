/**
 * Whose fault a refusal is decides what it does. Incidents reproduced against the SMTP server
 * under the test's control: a sender the server refuses (553 at MAIL FROM), a rotated password
 * (535 at AUTH), one reader's address refused (550 at RCPT TO), one message refused after DATA.
 * Nobody is bounced for the sender's fault, the digest pauses instead of finishing, and once the
 * server is fixed it completes with exactly one copy each.
 */
import { expect } from "@jest/globals";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp";
import { startTestApp, type TestApp } from "../helpers/app";
import { seedManyReaders, seedPapers, seedReaders, waitUntil } from "../helpers/seed";
import { emailsTo, subscribeThroughForm, uniqueEmail } from "../helpers/subscriptions";
import { queueAssembly } from "../../src/digests/jobs";
import type { Db } from "../../src/db";

const DAY = "2024-12-10";
const ADMIN_TOKEN = "admin-token-for-tests-0123456789";
const fastPause = { SEND_PAUSE_BASE_SECONDS: "0.3", SEND_PAUSE_MAX_SECONDS: "1", SEND_RETRY_BASE_MS: "100" };

const digestOf = (db: Db) => db.digest.findFirst({ where: { day: new Date(DAY) } });

async function expectNobodyHarmed(db: Db) {
  expect(await db.subscriber.count({ where: { status: "bounced" } })).toBe(0);
  expect(await db.consentEvent.count({ where: { action: "bounce" } })).toBe(0);
  expect(await db.suppression.count()).toBe(0);
  expect(await db.delivery.count({ where: { state: "failed" } })).toBe(0);
}

async function expectEachOnce(db: Db, smtp: TestSmtpServer, readers: number) {
  await waitUntil("the digest to be sent", async () => (await digestOf(db))?.status === "sent", 60_000, 200);
  expect(await db.delivery.groupBy({ by: ["state"], _count: true })).toEqual([{ state: "accepted", _count: readers }]);
  const counts = new Map<string, number>();
  for (const e of smtp.received.filter((m) => /^Message-ID: <digest-/m.test(m.raw)))
    for (const to of e.envelopeTo) counts.set(to, (counts.get(to) ?? 0) + 1);
  expect(counts.size).toBe(readers);
  expect([...counts.values()].every((n) => n === 1)).toBe(true);
}

describe("when the server refuses our sender at MAIL FROM (553)", () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  beforeAll(async () => {
    smtp = await startSmtpServer();
    app = await startTestApp({ SMTP_URL: smtp.url, SEND_BATCH_SIZE: "5", ...fastPause });
  });
  afterAll(async () => {
    await app?.destroy();
    await smtp?.close();
  });

  it("then nobody is bounced, the digest pauses with the reason, and completes exactly once when the server is fixed", async () => {
    await seedPapers(app.db, [{ title: "A paper", upvotes: 1, day: DAY }]);
    await seedManyReaders(app.db, 20);
    smtp.setMailFromPolicy(() => ({ code: 553, message: "5.7.1 Sender address rejected: not owned by you" }));
    await queueAssembly(app.queues, { day: DAY, frequency: "daily" });
    const paused = await waitUntil("the digest to pause", async () => {
      const d = await digestOf(app.db);
      return d?.status === "paused" ? d : undefined;
    });
    expect(paused.pauseReason).toMatch(/transport: .*553/);
    // It keeps probing (and pausing again) while the sender is refused; it is never marked sent.
    const seen = new Set<string>();
    for (let i = 0; i < 25; i++) {
      seen.add((await digestOf(app.db))!.status);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect([...seen].filter((s) => s !== "paused" && s !== "sending")).toEqual([]);
    await waitUntil("a second pause", async () => (await digestOf(app.db))!.pauseCount >= 2);
    await expectNobodyHarmed(app.db);
    expect(await app.db.delivery.count({ where: { state: "pending" } })).toBe(20);
    expect(smtp.received).toHaveLength(0);

    smtp.setMailFromPolicy(undefined);
    await expectEachOnce(app.db, smtp, 20);
    await expectNobodyHarmed(app.db);
  }, 90_000);
});

describe("when the SMTP password was rotated (535 at AUTH)", () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  beforeAll(async () => {
    smtp = await startSmtpServer();
    app = await startTestApp({
      SMTP_URL: `smtp://papers:old-password@127.0.0.1:${smtp.port}`,
      CONFIRMATION_RETRY_MAX_SECONDS: "0.5",
      SUBSCRIBE_LIMIT_PER_IP: "1000",
      ...fastPause,
    });
  });
  afterAll(async () => {
    await app?.destroy();
    await smtp?.close();
  });

  it("then neither the new subscriber nor any reader is bounced, and everything goes out once the login works", async () => {
    await seedPapers(app.db, [{ title: "A paper", upvotes: 1, day: DAY }]);
    await seedReaders(app.db, [{ email: "r1@example.org" }, { email: "r2@example.org" }, { email: "r3@example.org" }]);
    smtp.setAuthPolicy(() => ({ code: 535, message: "5.7.8 Authentication credentials invalid" }));
    const newcomer = uniqueEmail("newcomer");
    const { answer } = await subscribeThroughForm(app, { email: newcomer });
    expect(answer.res.status).toBe(200);
    await queueAssembly(app.queues, { day: DAY, frequency: "daily" });
    await waitUntil("the digest to pause", async () => (await digestOf(app.db))?.status === "paused");
    expect((await digestOf(app.db))!.pauseReason).toMatch(/535|auth/i);
    // Several failed tries of the confirmation meanwhile: still pending, never bounced.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await app.db.subscriber.findUniqueOrThrow({ where: { email: newcomer } })).toMatchObject({
      status: "pending",
    });
    await expectNobodyHarmed(app.db);

    smtp.setAuthPolicy(undefined);
    await expectEachOnce(app.db, smtp, 3);
    await waitUntil("the confirmation", () => Promise.resolve(emailsTo(smtp, newcomer).length === 1), 30_000);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(emailsTo(smtp, newcomer)).toHaveLength(1);
    await expectNobodyHarmed(app.db);
  }, 90_000);
});

describe("when one address is refused at RCPT TO (550) and one message after DATA (554)", () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  beforeAll(async () => {
    smtp = await startSmtpServer();
    app = await startTestApp({ SMTP_URL: smtp.url, ...fastPause });
  });
  afterAll(async () => {
    await app?.destroy();
    await smtp?.close();
  });

  it("then only the refused address is bounced and suppressed; the refused message fails alone", async () => {
    await seedPapers(app.db, [{ title: "A paper", upvotes: 1, day: DAY }]);
    const [, gone, refused] = await seedReaders(app.db, [
      { email: "fine@example.org" },
      { email: "gone@example.org" },
      { email: "content@example.org" },
    ]);
    smtp.setPolicy((address) =>
      address === "gone@example.org" ? { code: 550, message: "5.1.1 no such user" } : undefined,
    );
    smtp.setDataPolicy((raw) =>
      /^To: content@example\.org/m.test(raw) ? { code: 554, message: "5.6.0 message content rejected" } : undefined,
    );
    await queueAssembly(app.queues, { day: DAY, frequency: "daily" });
    await waitUntil("the digest to be sent", async () => (await digestOf(app.db))?.status === "sent", 30_000);
    const byId = new Map((await app.db.delivery.findMany()).map((d) => [d.subscriberId, d]));
    expect(byId.get(gone!)).toMatchObject({ state: "failed", lastError: expect.stringMatching(/550/) });
    expect(byId.get(refused!)).toMatchObject({ state: "failed", lastError: expect.stringMatching(/554/) });
    expect(await app.db.subscriber.findUniqueOrThrow({ where: { id: gone! } })).toMatchObject({ status: "bounced" });
    expect(await app.db.subscriber.findUniqueOrThrow({ where: { id: refused! } })).toMatchObject({ status: "active" });
    expect(await app.deps.suppressions.isSuppressed(app.db, "gone@example.org")).toBe(true);
    expect(await app.deps.suppressions.isSuppressed(app.db, "content@example.org")).toBe(false);
    expect([...smtp.countsByRecipient().keys()]).toEqual(["fine@example.org"]);
  }, 60_000);
});

describe("when an address is malformed (refused before anything is sent)", () => {
  it("then that delivery fails at once, without retries, the address is bounced, and the others get theirs", async () => {
    const smtp = await startSmtpServer();
    // Retries would show: ten attempts, each after its backoff.
    const app = await startTestApp({ SMTP_URL: smtp.url, SEND_MAX_ATTEMPTS: "10", SEND_RETRY_BASE_MS: "200" });
    try {
      await seedPapers(app.db, [{ title: "A paper", upvotes: 1, day: DAY }]);
      // Stored before addresses were checked (an old import): "<" cannot go into an envelope or a header.
      const [, malformed] = await seedReaders(app.db, [
        { email: "fine@example.org" },
        { email: "broken<x>@example.org" },
      ]);
      await queueAssembly(app.queues, { day: DAY, frequency: "daily" });
      await waitUntil("the digest to be sent", async () => (await digestOf(app.db))?.status === "sent", 30_000);
      const row = await app.db.delivery.findFirstOrThrow({ where: { subscriberId: malformed! } });
      expect(row).toMatchObject({
        state: "failed",
        attempts: 1,
        lastError: expect.stringMatching(/Invalid recipient/),
      });
      expect(await app.db.subscriber.findUniqueOrThrow({ where: { id: malformed! } })).toMatchObject({
        status: "bounced",
      });
      expect([...smtp.countsByRecipient().entries()]).toEqual([["fine@example.org", 1]]);
    } finally {
      await app.destroy();
      await smtp.close();
    }
  }, 60_000);
});

describe("when most addresses of a run bounce", () => {
  it("then the digest pauses after the configured number of failures and waits for a person", async () => {
    const smtp = await startSmtpServer();
    const app = await startTestApp({
      SMTP_URL: smtp.url,
      SEND_PAUSE_MIN_FAILURES: "10",
      ADMIN_TOKEN,
      SEND_PAUSE_FAILURE_SHARE: "0.2",
      SEND_CONCURRENCY: "2",
      SEND_BATCH_SIZE: "10",
      ...fastPause,
    });
    try {
      await seedPapers(app.db, [{ title: "A paper", upvotes: 1, day: DAY }]);
      await seedManyReaders(app.db, 60, "stale.example.net");
      smtp.setPolicy(() => ({ code: 550, message: "5.1.1 no such user" }));
      await queueAssembly(app.queues, { day: DAY, frequency: "daily" });
      const paused = await waitUntil("the digest to pause", async () => {
        const d = await digestOf(app.db);
        return d?.status === "paused" ? d : undefined;
      });
      expect(paused.pauseReason).toMatch(/^failures: \d+ of \d+ deliveries failed/);
      expect(paused.resumeAt).toBeNull();
      await new Promise((r) => setTimeout(r, 2_000));
      const failed = await app.db.delivery.count({ where: { state: "failed" } });
      // The lanes in flight when it paused may add one each; the rest wait.
      expect(failed).toBeGreaterThanOrEqual(10);
      expect(failed).toBeLessThanOrEqual(10 + 2 * 4);
      expect(await app.db.delivery.groupBy({ by: ["state"], _count: true, orderBy: { state: "asc" } })).toEqual([
        { state: "pending", _count: 60 - failed },
        { state: "failed", _count: failed },
      ]);
      expect((await digestOf(app.db))?.status).toBe("paused");

      // The operator sees it in the admin API and /metrics...
      const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
      const status = (await (await fetch(`${app.url}/admin/api/digests/${DAY}`, { headers: auth })).json()) as Record<
        string,
        unknown
      >;
      expect(status).toMatchObject({ status: "paused", pauseReason: paused.pauseReason, resumeAt: null });
      expect(await (await fetch(`${app.url}/metrics`)).text()).toMatch(
        /newsletter_digest_paused\{day="2024-12-10",frequency="daily"\} 1/,
      );
      // ...fixes the cause (here: the server takes the addresses again) and resumes it by hand.
      smtp.setPolicy(undefined);
      const resumed = await fetch(`${app.url}/admin/api/digests/${DAY}/resume`, { method: "POST", headers: auth });
      expect(resumed.status).toBe(202);
      await waitUntil("the digest to be sent", async () => (await digestOf(app.db))?.status === "sent", 30_000);
      expect(await app.db.delivery.count({ where: { state: "accepted" } })).toBe(60 - failed);
      expect(await app.db.delivery.count({ where: { state: "failed" } })).toBe(failed);
      expect(await (await fetch(`${app.url}/metrics`)).text()).not.toMatch(/newsletter_digest_paused\{/);
    } finally {
      await app.destroy();
      await smtp.close();
    }
  }, 60_000);
});

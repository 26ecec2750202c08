import { expect } from "@jest/globals";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp";
import { startTestApp, type TestApp } from "../helpers/app";
import { seedPapers, seedReaders, seedTopics, waitUntil } from "../helpers/seed";
import { deliverReport, feedbackFixture } from "../helpers/inbound";
import { subscribeThroughForm } from "../helpers/subscriptions";
import { startInboundSmtp } from "../../src/feedback/smtp-listener";

const ADMIN_TOKEN = "admin-token-for-tests-0123456789";
const DAYS = ["2024-12-10", "2024-12-11", "2024-12-12"];
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

/**
 * Real reports through the real listener: the app (web, worker and inbound roles) sends digests to
 * a real SMTP server; the recorded DSNs, ARF report and an unsubscribe message go back to the
 * inbound listener over SMTP, addressed as a reporting MTA would (to the envelope sender).
 */
describe("what comes back, through the inbound SMTP listener", () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  let port: number;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    app = await startTestApp(
      {
        SMTP_URL: smtp.url,
        ADMIN_TOKEN,
        MAIL_FROM: "Daily Papers <papers@example.org>",
        BOUNCE_ADDRESS: "bounces@bounce.example.org",
        UNSUBSCRIBE_MAILTO: "unsubscribe@example.org",
        INBOUND_SMTP_PORT: "0",
        INBOUND_SMTP_HOST: "127.0.0.1",
        INBOUND_MAX_BYTES: "65536",
        SOFT_BOUNCE_LIMIT: "2",
      },
      { inbound: true },
    );
    port = app.inboundPort!;
    const topic = await seedTopics(app.db, ["diffusion"]);
    for (const day of DAYS)
      await seedPapers(app.db, [{ title: `Diffusion paper of ${day}`, upvotes: 5, topics: [topic.diffusion!], day }]);
    await seedReaders(
      app.db,
      ["hard", "relay", "soft", "arf", "mailto", "forged", "keep"].map((name) => ({ email: `${name}@example.net` })),
    );
  });
  afterAll(async () => {
    await app?.destroy();
    await smtp?.close();
  });

  async function sendDigest(day: string) {
    const before = smtp.received.length;
    const res = await fetch(`${app.url}/admin/api/digests/${day}/send`, { method: "POST", headers: auth });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await waitUntil(
      "the digest to be sent",
      async () => (await app.db.digest.findUnique({ where: { id } }))?.status === "sent",
    );
    const total = await app.db.delivery.count({ where: { digestId: id, state: "accepted" } });
    await smtp.waitForCount(before + total);
    return { id, mail: new Map(smtp.received.slice(before).map((e) => [e.envelopeTo[0]!, e])) };
  }

  const state = async (email: string) => {
    const subscriber = await app.db.subscriber.findUniqueOrThrow({ where: { email } });
    const consent = await app.db.consentEvent.findMany({
      where: { subscriberId: subscriber.id, action: { in: ["bounce", "complaint", "unsubscribe"] } },
      orderBy: { id: "asc" },
    });
    return {
      status: subscriber.status,
      suppressed: await app.deps.suppressions.isSuppressed(app.db, email),
      suppression: (await app.deps.suppressions.list(app.db)).find((s) => s.email === email),
      consent: consent.map((c) => ({ action: c.action, source: c.source })),
    };
  };

  let first: Awaited<ReturnType<typeof sendDigest>>;
  const returnPath = (email: string) => first.mail.get(email)!.envelopeFrom;

  it("when a digest goes out, then each email's return path is a signed VERP address naming its own delivery", async () => {
    first = await sendDigest(DAYS[0]!);
    expect(first.mail.size).toBe(7);
    for (const [email, message] of first.mail) {
      expect(message.envelopeFrom).toMatch(/^bounces\+d[0-9a-z]+-[0-9a-f]{16}@bounce\.example\.org$/);
      const parsed = app.deps.returnPaths.parse(message.envelopeFrom);
      if (parsed.role !== "bounce" || !parsed.ref || parsed.ref.type !== "delivery") throw new Error("not a delivery");
      const delivery = await app.db.delivery.findUniqueOrThrow({
        where: { id: parsed.ref.deliveryId },
        include: { subscriber: true },
      });
      expect(delivery).toMatchObject({ digestId: first.id, subscriber: { email } });
      expect(message.raw.replace(/\r\n[ \t]+/g, " ")).toMatch(
        /^List-Unsubscribe: <http[^>]+>,\s+<mailto:unsubscribe\+u[0-9a-z]+-[0-9a-f]{16}@example\.org\?subject=unsubscribe>/m,
      );
    }
  });

  it("when postfix's DSN of a hard bounce (5.1.1) comes back, then the address is suppressed at once, marked bounced and logged from dsn", async () => {
    const answer = await deliverReport(port, returnPath("hard@example.net"), feedbackFixture("postfix-hard-5.1.1.eml"));
    expect(answer).toMatchObject({ ok: true, code: 250 });
    expect(await state("hard@example.net")).toMatchObject({
      status: "bounced",
      suppressed: true,
      suppression: { reason: "hard_bounce", source: "dsn", detail: "5.1.1" },
      consent: [{ action: "bounce", source: "dsn" }],
    });
  });

  it("when the same DSN arrives again, then nothing more happens", async () => {
    const answer = await deliverReport(port, returnPath("hard@example.net"), feedbackFixture("postfix-hard-5.1.1.eml"));
    expect(answer.code).toBe(250);
    expect((await state("hard@example.net")).consent).toHaveLength(1);
    expect(await app.db.feedbackEvent.count({ where: { kind: "hard_bounce" } })).toBe(1);
  });

  it("when a relay's DSN (Amazon SES) of a hard bounce comes back, then that reader is suppressed too", async () => {
    const answer = await deliverReport(
      port,
      returnPath("relay@example.net"),
      feedbackFixture("amazonses-hard-5.1.1.eml"),
    );
    expect(answer.code).toBe(250);
    expect(await state("relay@example.net")).toMatchObject({
      status: "bounced",
      suppression: { reason: "hard_bounce", source: "dsn" },
      consent: [{ action: "bounce", source: "dsn" }],
    });
  });

  it("when a soft bounce (4.4.1) comes back, then it is counted and the reader still gets mail", async () => {
    const answer = await deliverReport(port, returnPath("soft@example.net"), feedbackFixture("postfix-soft-4.4.1.eml"));
    expect(answer.code).toBe(250);
    expect(await state("soft@example.net")).toMatchObject({ status: "active", suppressed: false, consent: [] });
    expect(await app.db.feedbackEvent.findFirst({ where: { kind: "soft_bounce" } })).toMatchObject({
      effect: "counted",
      status: "4.4.1",
    });
  });

  it("when a complaint (ARF) names a delivery through the reported message's signed return path, then the reader is suppressed and marked complained", async () => {
    const report = feedbackFixture("arf-abuse.eml").replace(
      "Return-Path: <support@example.ed.jp>",
      `Return-Path: <${returnPath("arf@example.net")}>`,
    );
    // Feedback loops report to one fixed address: the untagged bounce address.
    const answer = await deliverReport(port, "bounces@bounce.example.org", report);
    expect(answer.code).toBe(250);
    expect(await state("arf@example.net")).toMatchObject({
      status: "complained",
      suppression: { reason: "complaint", source: "arf" },
      consent: [{ action: "complaint", source: "arf" }],
    });
  });

  it("when a reader's mail client sends the List-Unsubscribe mailto:, then they are unsubscribed before the next send", async () => {
    const header = first.mail
      .get("mailto@example.net")!
      .raw.replace(/\r\n[ \t]+/g, " ")
      .match(/<mailto:([^?>]+)\?subject=unsubscribe>/)!;
    const message =
      "From: mailto@example.net\r\nTo: " +
      header[1] +
      "\r\nSubject: unsubscribe\r\nMessage-ID: <u1@mail.example.net>\r\n\r\nunsubscribe\r\n";
    const answer = await deliverReport(port, header[1]!, message, "mailto@example.net");
    expect(answer.code).toBe(250);
    expect(await state("mailto@example.net")).toMatchObject({
      status: "unsubscribed",
      suppressed: false,
      consent: [{ action: "unsubscribe", source: "mailto" }],
    });
  });

  it("when a message is for any other address, then the listener refuses it (550) and is no relay", async () => {
    const answer = await deliverReport(
      port,
      "postmaster@bounce.example.org",
      feedbackFixture("postfix-hard-5.1.1.eml"),
    );
    expect(answer).toMatchObject({ ok: false, code: 550 });
    const relay = await deliverReport(
      port,
      "someone@gmail.example",
      "Subject: hi\r\n\r\nhello\r\n",
      "spammer@example.com",
    );
    expect(relay).toMatchObject({ ok: false, code: 550 });
  });

  it("when a message is over INBOUND_MAX_BYTES, then it is refused (552) and changes nothing", async () => {
    const events = await app.db.feedbackEvent.count();
    const big = feedbackFixture("postfix-hard-5.1.1.eml") + "x".repeat(76).concat("\r\n").repeat(1000);
    const answer = await deliverReport(port, returnPath("keep@example.net"), big);
    expect(answer).toMatchObject({ ok: false, code: 552 });
    expect(await app.db.feedbackEvent.count()).toBe(events);
    expect(await state("keep@example.net")).toMatchObject({ status: "active", suppressed: false });
  });

  it("when a VERP address is forged (the tag does not verify), then the report is ignored", async () => {
    const events = await app.db.feedbackEvent.count();
    const genuine = returnPath("forged@example.net");
    const keepId = app.deps.returnPaths.parse(returnPath("keep@example.net"));
    if (keepId.role !== "bounce" || keepId.ref?.type !== "delivery") throw new Error("not a delivery");
    // Someone who saw one return path tries to bounce another delivery with it.
    const forged = genuine.replace(/\+d[0-9a-z]+-/, `+d${keepId.ref.deliveryId.toString(36)}-`);
    const answer = await deliverReport(port, forged, feedbackFixture("postfix-hard-5.1.1.eml"));
    expect(answer.code).toBe(250);
    expect(await app.db.feedbackEvent.count()).toBe(events);
    expect(await state("keep@example.net")).toMatchObject({ status: "active", suppressed: false });
    expect(await state("forged@example.net")).toMatchObject({ status: "active", suppressed: false });
  });

  it("when soft bounces reach SOFT_BOUNCE_LIMIT deliveries in a row, then they become a hard bounce", async () => {
    const second = await sendDigest(DAYS[1]!);
    expect([...second.mail.keys()].sort()).toEqual(["forged@example.net", "keep@example.net", "soft@example.net"]);
    const answer = await deliverReport(
      port,
      second.mail.get("soft@example.net")!.envelopeFrom,
      feedbackFixture("amazonses-soft-4.4.7.eml"),
    );
    expect(answer.code).toBe(250);
    expect(await state("soft@example.net")).toMatchObject({
      status: "bounced",
      suppression: { reason: "soft_bounces", source: "dsn" },
      consent: [{ action: "bounce", source: "dsn" }],
    });
  });

  it("then the next digest goes to no one suppressed, unsubscribed or bounced", async () => {
    const third = await sendDigest(DAYS[2]!);
    expect([...third.mail.keys()].sort()).toEqual(["forged@example.net", "keep@example.net"]);
    const deliveries = await app.db.delivery.findMany({ where: { digestId: third.id }, include: { subscriber: true } });
    expect(deliveries.map((d) => d.subscriber.email).sort()).toEqual(["forged@example.net", "keep@example.net"]);
  });

  it("then the operator sees the rates per digest, the suppression list, and can lift an entry", async () => {
    const rates = (await (await fetch(`${app.url}/admin/api/feedback`, { headers: auth })).json()) as {
      digests: { day: string; accepted: number; hardBounced: number; complained: number; bounceRate: number }[];
      last30Days: unknown;
    };
    const firstDay = rates.digests.find((d) => d.day === DAYS[0])!;
    expect(firstDay).toMatchObject({ accepted: 7, hardBounced: 2, complained: 1 });
    expect(firstDay.bounceRate).toBeCloseTo(2 / 7);
    const list = (await (await fetch(`${app.url}/admin/api/suppressions`, { headers: auth })).json()) as {
      suppressions: { email: string; reason: string; source: string; createdAt: string }[];
    };
    expect(list.suppressions.map((s) => `${s.email} ${s.reason} ${s.source}`).sort()).toEqual([
      "arf@example.net complaint arf",
      "hard@example.net hard_bounce dsn",
      "relay@example.net hard_bounce dsn",
      "soft@example.net soft_bounces dsn",
    ]);
    const page = await fetch(`${app.url}/admin/feedback`, { headers: auth });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("relay@example.net");

    const lift = await fetch(`${app.url}/admin/api/suppressions/lift`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ email: "relay@example.net" }),
    });
    expect(await lift.json()).toEqual({ lifted: true, reactivated: true });
    expect(await state("relay@example.net")).toMatchObject({ status: "active", suppressed: false });

    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^newsletter_complaint_rate\\{scope="${DAYS[0]}/daily"\\} 0\\.142`, "m"));
    expect(metrics).toMatch(/^newsletter_bounce_rate\{scope="30d"\} /m);
    expect(metrics).toMatch(
      /^newsletter_feedback_reports_total\{channel="smtp",kind="hard_bounce",outcome="applied"\} 2$/m,
    );
  });

  it("when a confirmation bounces, then the pending address is suppressed, and subscribing again through the form sends nothing", async () => {
    const email = "newcomer@example.net";
    const { answer } = await subscribeThroughForm(app, { email });
    expect(answer.res.status).toBe(200);
    const confirmation = await waitUntil("the confirmation email", () =>
      Promise.resolve(smtp.received.find((e) => e.envelopeTo.includes(email))),
    );
    const subscriber = await app.db.subscriber.findUniqueOrThrow({ where: { email } });
    expect(app.deps.returnPaths.parse(confirmation.envelopeFrom)).toEqual({
      role: "bounce",
      forged: false,
      ref: { type: "subscriber", subscriberId: subscriber.id },
    });
    const dsn = feedbackFixture("postfix-hard-5.1.1.eml").replace("<20130429234532", "<confirmation-bounce");
    expect((await deliverReport(port, confirmation.envelopeFrom, dsn)).code).toBe(250);
    expect(await state(email)).toMatchObject({
      status: "bounced",
      suppression: { reason: "hard_bounce", source: "dsn" },
      consent: [{ action: "bounce", source: "dsn" }],
    });

    await app.db.subscriber.update({ where: { email }, data: { confirmationSentAt: null } });
    const again = await subscribeThroughForm(app, { email });
    expect(again.answer.res.status).toBe(200);
    // The form only stores the request; its job finds the address suppressed and queues nothing.
    await waitUntil("the subscribe request to be applied", async () => {
      const jobs = await app.queues.emails.getJobs(["completed"]);
      return jobs.some((j) => j.returnvalue === "suppressed" || j.returnvalue === "skipped: suppressed");
    });
    expect(smtp.received.filter((e) => e.envelopeTo.includes(email))).toHaveLength(1);
  });

  it("when one IP sends more than INBOUND_RATE_PER_MINUTE messages, then further connections are turned away (421) until the minute has passed", async () => {
    const limited = await startInboundSmtp(
      {
        feedback: { db: app.db, suppressions: app.deps.suppressions, softBounceLimit: 2 },
        returnPaths: app.deps.returnPaths,
        log: app.log,
      },
      {
        host: "127.0.0.1",
        port: 0,
        maxBytes: 65536,
        ratePerMinute: 2,
        redis: app.redis,
        keyPrefix: `${app.config.QUEUE_PREFIX}:limited`,
      },
    );
    try {
      const ooo = "From: a@example.com\r\nSubject: Out of office\r\n\r\naway\r\n";
      const answers = [];
      for (let i = 0; i < 3; i++)
        answers.push((await deliverReport(limited.port, "bounces@bounce.example.org", ooo)).code);
      expect(answers).toEqual([250, 250, 421]);
    } finally {
      await limited.close();
    }
  });
});

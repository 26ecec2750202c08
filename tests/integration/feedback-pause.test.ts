/**
 * Rates over the thresholds feed the send path's pause. Real DSNs go back through the real inbound
 * listener to the VERP return paths of a digest that is still going out (slowly, by the send rate);
 * once its bounce rate passes BOUNCE_RATE_THRESHOLD the digest pauses with the reason, the batches
 * already sending stop, and nothing more goes out until a person resumes it. The next day's digest does not start while the previous
 * one's rates are over the thresholds.
 */
import { expect } from "@jest/globals";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp";
import { startTestApp, type TestApp } from "../helpers/app";
import { seedManyReaders, seedPapers, waitUntil } from "../helpers/seed";
import { deliverReport, feedbackFixture } from "../helpers/inbound";

const ADMIN_TOKEN = "admin-token-for-tests-0123456789";
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const DAYS = ["2024-12-10", "2024-12-11"];
const READERS = 60;

describe("when hard bounces reported after sending pass the bounce-rate threshold", () => {
  let smtp: TestSmtpServer;
  let app: TestApp;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    app = await startTestApp(
      {
        SMTP_URL: smtp.url,
        ADMIN_TOKEN,
        BOUNCE_ADDRESS: "bounces@bounce.example.org",
        INBOUND_SMTP_PORT: "0",
        INBOUND_SMTP_HOST: "127.0.0.1",
        // Three long batches (20 each at 10/s overall), all started before any report arrives: the
        // pause has to reach batches already sending, not wait for the next one to start.
        SEND_RATE_PER_SECOND: "10",
        SEND_BATCH_SIZE: "20",
        SEND_CONCURRENCY: "1",
        BOUNCE_RATE_THRESHOLD: "0.05",
        FEEDBACK_MIN_SENT: "10",
        FEEDBACK_CHECK_SECONDS: "0",
      },
      { inbound: true },
    );
    for (const day of DAYS) await seedPapers(app.db, [{ title: `A paper of ${day}`, upvotes: 3, day }]);
    await seedManyReaders(app.db, READERS);
  });
  afterAll(async () => {
    await app?.destroy();
    await smtp?.close();
  });

  const digestOf = (day: string) => app.db.digest.findFirst({ where: { day: new Date(day) } });
  const digestMail = () => smtp.received.filter((m) => /^Message-ID: <digest-/m.test(m.raw));

  it("then the digest pauses with the reason, waits for a person, and after resume completes exactly once", async () => {
    const res = await fetch(`${app.url}/admin/api/digests/${DAYS[0]}/send`, { method: "POST", headers: auth });
    expect(res.status).toBe(202);
    await waitUntil("a first share of the digest to go out", () => Promise.resolve(digestMail().length >= 15), 30_000);

    // Five of the first readers' mailboxes turn out not to exist: postfix's DSNs to their VERP addresses.
    for (const message of digestMail().slice(0, 5)) {
      const answer = await deliverReport(
        app.inboundPort!,
        message.envelopeFrom,
        feedbackFixture("postfix-hard-5.1.1.eml"),
      );
      expect(answer).toMatchObject({ ok: true, code: 250 });
    }
    const paused = await waitUntil("the digest to pause", async () => {
      const d = await digestOf(DAYS[0]!);
      return d?.status === "paused" ? d : undefined;
    });
    expect(paused.pauseReason).toMatch(/^feedback: bounce rate \d+\.\d\d% over 5\.00%/);
    expect(paused.resumeAt).toBeNull();

    // Paused means paused, also for the batches already sending when it paused: past the messages
    // in flight at that moment (one per lane: three batches of one lane each), nothing more arrives.
    // Before the pause reached running batches, they went on to their last message.
    await new Promise((r) => setTimeout(r, 1_500));
    const pausedAt = paused.pausedAt!.getTime();
    const late = digestMail().filter((m) => m.at > pausedAt);
    expect(late.length).toBeLessThanOrEqual(3);
    const pending = await app.db.delivery.count({
      where: { digestId: paused.id, state: { in: ["pending", "sending"] } },
    });
    expect(pending).toBeGreaterThan(0);
    expect((await digestOf(DAYS[0]!))!.status).toBe("paused");

    // The operator sees the reason in the admin API, decides, and resumes.
    const status = await fetch(`${app.url}/admin/api/digests/${DAYS[0]}`, { headers: auth });
    expect(JSON.stringify(await status.json())).toMatch(/feedback: bounce rate/);
    const resumed = await fetch(`${app.url}/admin/api/digests/${DAYS[0]}/resume`, { method: "POST", headers: auth });
    expect(resumed.status).toBe(202);

    // The rates are still over the threshold, but a person chose to go on: it completes, once each.
    await waitUntil("the digest to be sent", async () => (await digestOf(DAYS[0]!))?.status === "sent", 60_000, 200);
    const counts = new Map<string, number>();
    for (const m of digestMail()) for (const to of m.envelopeTo) counts.set(to, (counts.get(to) ?? 0) + 1);
    // The five bounced addresses were suppressed before their turn came again: nobody gets two.
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(counts.size).toBe(READERS);
    expect((await digestOf(DAYS[0]!))!.feedbackOverrideAt).not.toBeNull();
  }, 90_000);

  it("then the next day's digest does not start while the previous one's rates are over, until a person resumes it", async () => {
    const before = digestMail().length;
    const res = await fetch(`${app.url}/admin/api/digests/${DAYS[1]}/send`, { method: "POST", headers: auth });
    expect(res.status).toBe(202);
    const paused = await waitUntil("the next digest to pause", async () => {
      const d = await digestOf(DAYS[1]!);
      return d?.status === "paused" ? d : undefined;
    });
    expect(paused.pauseReason).toMatch(/^feedback: bounce rate .* on the 2024-12-10 digest$/);
    expect(digestMail().length).toBe(before);

    await fetch(`${app.url}/admin/api/digests/${DAYS[1]}/resume`, { method: "POST", headers: auth });
    await waitUntil(
      "the next digest to be sent",
      async () => (await digestOf(DAYS[1]!))?.status === "sent",
      60_000,
      200,
    );
    // Everyone but the five suppressed addresses.
    expect(digestMail().length - before).toBe(READERS - 5);
  }, 90_000);
});

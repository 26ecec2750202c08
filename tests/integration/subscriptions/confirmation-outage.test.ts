/**
 * Confirmations survive an SMTP outage of any length. Before, a confirmation job used its five
 * attempts in about 30 s; after that neither the sweeper nor a repeat subscribe could queue it
 * again (same job id), so the reader never got a link and was purged a week later.
 */
import { startTestApp, type TestApp } from "../../helpers/app";
import { startSmtpServer, type TestSmtpServer } from "../../helpers/smtp";
import { emailsTo, eventually, linkFromEmail, subscribeThroughForm, uniqueEmail } from "../../helpers/subscriptions";
import { requeueUnsentConfirmations } from "../../../src/subscriptions/unsent-confirmations";
import { freePort } from "../../../src/infra/net";
import { WebSession, csrfField } from "../../helpers/web-session";

describe("when the SMTP server is down longer than every retry of a confirmation job", () => {
  let app: TestApp;
  let smtp: TestSmtpServer | undefined;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    app = await startTestApp({
      SMTP_URL: `smtp://127.0.0.1:${port}`,
      SUBSCRIBE_LIMIT_PER_IP: "1000",
      SUBSCRIBE_LIMIT_PER_ADDRESS: "1000",
      // Short settings: the wait between tries grows to 1 s at most (5 minutes in production).
      CONFIRMATION_RETRY_MAX_SECONDS: "1",
    });
  });
  afterAll(async () => {
    await app?.destroy();
    await smtp?.close();
  });

  it("then every pending reader gets exactly one working link once it is back", async () => {
    const readers = [uniqueEmail("outage"), uniqueEmail("outage"), uniqueEmail("outage")];
    for (const email of readers) expect((await subscribeThroughForm(app, { email })).answer.res.status).toBe(200);
    // Longer than the 5 attempts with 2 s exponential backoff (2+4+8+16 s) the jobs used to have.
    await new Promise((r) => setTimeout(r, 35_000));
    // Meanwhile the sweeper runs and one reader, having waited, subscribes again.
    await requeueUnsentConfirmations(app.db, app.queues.emails, 0);
    expect((await subscribeThroughForm(app, { email: readers[0]! })).answer.res.status).toBe(200);
    // Nothing counts as sent: every claim is handed back. A try in flight holds its claim for the
    // moment it takes (render, connect, refused), so the readers are read until none is mid-try.
    const unsent = async () =>
      (await app.db.subscriber.findMany({ where: { email: { in: readers } } })).filter(
        (s) => s.status === "pending" && s.confirmationSentAt === null,
      ).length === readers.length;
    await eventually(unsent, 10_000, "every claim handed back during the outage");

    smtp = await startSmtpServer({ port });
    for (const email of readers) {
      const confirmUrl = await linkFromEmail(smtp, email, "/confirm/", 30_000);
      // Opening the link (and pressing its button, where the page has one) confirms.
      const web = new WebSession(app.url!);
      const page = await web.get(confirmUrl);
      expect(page.res.status).toBe(200);
      if ((await app.db.subscriber.findUniqueOrThrow({ where: { email } })).status !== "active")
        expect((await web.post(new URL(confirmUrl).pathname, { _csrf: csrfField(page.html) })).res.status).toBe(200);
      expect(await app.db.subscriber.findUniqueOrThrow({ where: { email } })).toMatchObject({ status: "active" });
    }
    // A moment for any stray second job to show itself.
    await new Promise((r) => setTimeout(r, 2_000));
    for (const email of readers) expect(emailsTo(smtp, email)).toHaveLength(1);
  }, 90_000);
});

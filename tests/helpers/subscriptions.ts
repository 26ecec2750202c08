import { startTestApp, type TestApp } from "./app";
import { startSmtpServer, type TestSmtpServer } from "./smtp";
import { WebSession, csrfField, linkIn } from "./web-session";

/** The topics subscription tests insert themselves (the papers feature seeds the real ones). */
export const TEST_TOPICS = [
  { slug: "llm", name: "Language models", query: "language model", position: 1 },
  { slug: "vision", name: "Computer vision", query: "image | vision", position: 2 },
  { slug: "rl", name: "Reinforcement learning", query: "reinforcement", position: 3 },
];

export interface SubscriptionsFixture {
  app: TestApp;
  smtp: TestSmtpServer;
  close(): Promise<void>;
}

/** The real app with a real SMTP server and the test topics; rate limits high unless `env` says otherwise. */
export async function startSubscriptionsApp(env: Record<string, string> = {}): Promise<SubscriptionsFixture> {
  const smtp = await startSmtpServer();
  const app = await startTestApp({
    SMTP_URL: smtp.url,
    SUBSCRIBE_LIMIT_PER_IP: "1000",
    SUBSCRIBE_LIMIT_PER_ADDRESS: "1000",
    ...env,
  });
  // The app seeded the default topics at start-up; these tests use their own small set instead.
  await app.db.topic.deleteMany({});
  await app.db.topic.createMany({ data: TEST_TOPICS });
  return {
    app,
    smtp,
    async close() {
      await app.destroy();
      await smtp.close();
    },
  };
}

let counter = 0;
/** An address no other test uses. */
export const uniqueEmail = (label = "reader") => `${label}-${process.pid}-${Date.now()}-${++counter}@example.org`;

/** Subscribes through the form like a browser; returns the session and the answer. */
export async function subscribeThroughForm(app: TestApp, fields: Record<string, string | string[]>) {
  const web = new WebSession(app.url!);
  const home = await web.get("/");
  const answer = await web.post("/subscribe", { _csrf: csrfField(home.html), ...fields });
  return { web, answer };
}

/** Waits for the email to `to` and returns the link to `path` in its text part. */
export async function linkFromEmail(
  smtp: TestSmtpServer,
  to: string,
  path: string,
  timeoutMs = 15_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const email = smtp.received.find((e) => e.envelopeTo.includes(to));
    if (email) return linkIn(email.parsed.text ?? "", path);
    if (Date.now() > deadline) throw new Error(`no email to ${to} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const emailsTo = (smtp: TestSmtpServer, to: string) => smtp.received.filter((e) => e.envelopeTo.includes(to));

/**
 * Opens a confirmation link and presses its button, like a reader: GET shows the button, POST
 * confirms. Returns the page the POST answered (the preferences page) as `html`.
 */
export async function confirmThroughLink(web: WebSession, confirmUrl: string) {
  const shown = await web.get(confirmUrl);
  if (shown.res.status !== 200) return { res: shown.res, html: shown.html };
  const pressed = await web.post(confirmUrl, { _csrf: csrfField(shown.html) });
  return { res: pressed.res, html: pressed.text };
}

/** Subscribes and confirms; returns the subscriber row and a session holding the confirm page. */
export async function subscribeAndConfirm(fixture: SubscriptionsFixture, email: string, topics: string[] = []) {
  const { web } = await subscribeThroughForm(fixture.app, { email, topics });
  const confirmUrl = await linkFromEmail(fixture.smtp, email, "/confirm/");
  const page = await confirmThroughLink(web, confirmUrl);
  if (page.res.status !== 200) throw new Error(`confirm answered ${page.res.status}`);
  const subscriber = await fixture.app.db.subscriber.findUniqueOrThrow({ where: { email } });
  const preferencesPath = page.html.match(/action="(\/preferences\/[^"/]+)"/)![1]!;
  return { web, subscriber, confirmPage: page.html, preferencesPath, csrf: csrfField(page.html) };
}

/** Polls until `check` is true (jobs run in the worker, asynchronously). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = "condition") {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The https link of an email's List-Unsubscribe header (folded lines unfolded). */
export function listUnsubscribeUrl(raw: string): string {
  const headers = raw.slice(0, raw.search(/\r?\n\r?\n/)).replace(/\r?\n[ \t]+/g, " ");
  const m = headers.match(/^List-Unsubscribe:\s*<(https?:[^>]+)>/im);
  if (!m) throw new Error("no List-Unsubscribe header");
  return m[1]!;
}

/**
 * Waits until every subscribe request for `email` was processed: the form's answer only stores the
 * request, and its job creates or updates the subscriber a moment later. Returns the subscriber
 * (with topics), or null when the requests created nobody (a suppressed address).
 */
export async function afterRequests(app: TestApp, email: string, timeoutMs = 10_000) {
  await eventually(
    async () => (await app.db.subscriptionRequest.count({ where: { email, processedAt: null } })) === 0,
    timeoutMs,
    `the subscribe requests of ${email} to be processed`,
  );
  return app.db.subscriber.findUnique({ where: { email }, include: { topics: { include: { topic: true } } } });
}

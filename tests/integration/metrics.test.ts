import crypto from "node:crypto";
import { startTestApp, type TestApp } from "../helpers/app";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp";
import { SendError } from "../../src/mail/mailer";
import { seedPapers, seedReaders, seedTopics, waitUntil } from "../helpers/seed";
import {
  confirmThroughLink,
  linkFromEmail,
  startSubscriptionsApp,
  subscribeThroughForm,
  uniqueEmail,
} from "../helpers/subscriptions";
import { WebSession } from "../helpers/web-session";

/** The value of one sample of the Prometheus text, e.g. sample(text, 'newsletter_emails_sent_total{kind="digest"}'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("/metrics", () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  const ADMIN_TOKEN = crypto.randomBytes(16).toString("hex");
  beforeAll(async () => {
    smtp = await startSmtpServer();
    app = await startTestApp({ SMTP_URL: smtp.url, ADMIN_TOKEN }, { worker: false });
  });
  afterAll(async () => {
    await app?.destroy();
    await smtp?.close();
  });
  const scrape = async () => {
    const res = await fetch(`${app.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  it("when nothing has happened yet, then every product metric is declared", async () => {
    const text = await scrape();
    for (const name of [
      "newsletter_emails_sent_total",
      "newsletter_emails_failed_total",
      "newsletter_emails_bounced_total",
      "newsletter_email_send_seconds",
      "newsletter_subscribe_requests_total",
      "newsletter_unsubscribes_total",
      "newsletter_queue_jobs",
      "http_request_duration_seconds",
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).toContain("process_cpu_seconds_total");
  });

  it("when emails are sent through the app's mailer, then sent, failed and send latency are counted by kind", async () => {
    await app.mailer.send({ to: "reader@example.org", subject: "Confirm", text: "link", kind: "confirmation" });
    await app.mailer.send({ to: "reader2@example.org", subject: "Digest", text: "papers", kind: "digest" });
    await app.mailer.sendRaw(
      { from: "papers@example.org", to: "reader3@example.org" },
      "Subject: raw\r\n\r\nbody\r\n",
      "<raw@example.org>",
      { kind: "digest" },
    );
    await smtp.waitForCount(3);
    smtp.setPolicy(() => ({ code: 550, message: "no such user" }));
    const failure = await app.mailer
      .send({ to: "gone@example.org", subject: "Digest", text: "papers", kind: "digest" })
      .catch((e: unknown) => e);
    smtp.setPolicy(undefined);
    expect(failure).toBeInstanceOf(SendError);

    const text = await scrape();
    expect(sample(text, 'newsletter_emails_sent_total{kind="confirmation"}')).toBe(1);
    expect(sample(text, 'newsletter_emails_sent_total{kind="digest"}')).toBe(2);
    expect(sample(text, 'newsletter_emails_failed_total{kind="digest",failure="permanent"}')).toBe(1);
    expect(sample(text, 'newsletter_email_send_seconds_count{kind="digest"}')).toBe(2);
    expect(sample(text, 'newsletter_email_send_seconds_count{kind="confirmation"}')).toBe(1);
    expect(sample(text, 'newsletter_email_send_seconds_sum{kind="confirmation"}')).toBeGreaterThan(0);
  });

  it("when requests are answered, then their latency is observed by route pattern, never by the raw address", async () => {
    await fetch(`${app.url}/healthz`);
    await fetch(`${app.url}/healthz`);
    const secretId = crypto.randomUUID();
    await fetch(`${app.url}/admin/api/subscribers/${secretId}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    await fetch(`${app.url}/no/such/page/with-a-secret-token-${secretId}`);
    const text = await scrape();
    expect(
      sample(text, 'http_request_duration_seconds_count{method="GET",route="/healthz",status="200"}'),
    ).toBeGreaterThanOrEqual(2);
    expect(
      sample(text, 'http_request_duration_seconds_count{method="GET",route="/admin/api/subscribers/:id",status="404"}'),
    ).toBe(1);
    expect(
      sample(text, 'http_request_duration_seconds_count{method="GET",route="unmatched",status="404"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(secretId);
  });

  it("when jobs wait in the queues, then the queue depths are read on each scrape", async () => {
    await app.queues.ingest.add("ingest-day", { day: "2026-01-01" });
    await app.queues.ingest.add("ingest-day", { day: "2026-01-02" });
    await app.queues.sends.add("send-batch", {}, { delay: 60_000 });
    let text = await scrape();
    expect(sample(text, 'newsletter_queue_jobs{queue="ingest",state="waiting"}')).toBe(2);
    expect(sample(text, 'newsletter_queue_jobs{queue="sends",state="delayed"}')).toBe(1);
    expect(sample(text, 'newsletter_queue_jobs{queue="emails",state="waiting"}')).toBe(0);
    await app.queues.ingest.drain();
    text = await scrape();
    expect(sample(text, 'newsletter_queue_jobs{queue="ingest",state="waiting"}')).toBe(0);
  });
});

describe("/metrics with METRICS_TOKEN set", () => {
  it("when the scrape carries no token or a wrong one, then 401; with the token, then 200", async () => {
    const token = crypto.randomBytes(16).toString("hex");
    const app = await startTestApp({ METRICS_TOKEN: token }, { worker: false });
    try {
      const none = await fetch(`${app.url}/metrics`);
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect(
        (await fetch(`${app.url}/metrics`, { headers: { authorization: "Bearer wrong-token-wrong-token" } })).status,
      ).toBe(401);
      const ok = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain("newsletter_emails_sent_total");
    } finally {
      await app.destroy();
    }
  });
});

describe("a worker process (no web role)", () => {
  it("when METRICS_PORT is set, then it serves its own /metrics, where the emails it sends are counted", async () => {
    const smtp = await startSmtpServer();
    const worker = await startTestApp({ SMTP_URL: smtp.url, METRICS_PORT: "0" }, { web: false, worker: true });
    try {
      expect(worker.url).toBeUndefined();
      expect(worker.metricsUrl).toMatch(/^http:\/\/localhost:\d+\/metrics$/);
      await worker.mailer.send({ to: "reader@example.org", subject: "Digest", text: "papers", kind: "digest" });
      const text = await (await fetch(worker.metricsUrl!)).text();
      expect(sample(text, 'newsletter_emails_sent_total{kind="digest"}')).toBe(1);
      expect((await fetch(worker.metricsUrl!.replace("/metrics", "/healthz"))).status).toBe(200);
    } finally {
      await worker.destroy();
      await smtp.close();
    }
  });

  it("when METRICS_PORT is unset, then a worker listens on no port", async () => {
    const worker = await startTestApp({}, { web: false, worker: true });
    try {
      expect(worker.metricsUrl).toBeUndefined();
      expect(worker.url).toBeUndefined();
    } finally {
      await worker.destroy();
    }
  });
});

describe("/metrics after a digest is sent through the app", () => {
  it("when the admin sends a day's digest, then every accepted email is counted once as a digest, with its latency, and the queues drain", async () => {
    const smtp = await startSmtpServer();
    const ADMIN_TOKEN = crypto.randomBytes(16).toString("hex");
    const app = await startTestApp({ SMTP_URL: smtp.url, ADMIN_TOKEN, MAIL_FROM: "Daily Papers <papers@example.org>" });
    try {
      const topic = await seedTopics(app.db, ["diffusion"]);
      await seedPapers(app.db, [
        { title: "Score matching", upvotes: 5, topics: [topic.diffusion!], day: "2024-12-10" },
      ]);
      await seedReaders(app.db, [
        { email: "one@example.org" },
        { email: "two@example.org" },
        { email: "three@example.org", topics: [topic.diffusion!] },
      ]);
      const res = await fetch(`${app.url}/admin/api/digests/2024-12-10/send`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as { id: string };
      await waitUntil(
        "the digest to be sent",
        async () => (await app.db.digest.findUnique({ where: { id } }))?.status === "sent",
      );
      await smtp.waitForCount(3);
      const text = await (await fetch(`${app.url}/metrics`)).text();
      expect(sample(text, 'newsletter_emails_sent_total{kind="digest"}')).toBe(3);
      expect(sample(text, 'newsletter_email_send_seconds_count{kind="digest"}')).toBe(3);
      expect(sample(text, 'newsletter_emails_sent_total{kind="other"}')).toBeUndefined();
      expect(sample(text, 'newsletter_queue_jobs{queue="sends",state="waiting"}')).toBe(0);
      expect(
        sample(
          text,
          'http_request_duration_seconds_count{method="POST",route="/admin/api/digests/:date/send",status="202"}',
        ),
      ).toBe(1);
    } finally {
      await app.destroy();
      await smtp.close();
    }
  });
});

describe("/metrics after a subscribe, a confirmation and an unsubscribe", () => {
  it("when a reader goes through the whole life cycle, then each step is counted once", async () => {
    const fixture = await startSubscriptionsApp();
    try {
      const { app, smtp } = fixture;
      const email = uniqueEmail("metrics");
      const { answer } = await subscribeThroughForm(app, { email, topics: ["llm"] });
      expect(answer.res.status).toBe(200);
      const confirm = await linkFromEmail(smtp, email, "/confirm/");
      expect((await confirmThroughLink(new WebSession(app.url!), confirm)).res.status).toBe(200);
      const reader = await app.db.subscriber.findUniqueOrThrow({ where: { email } });
      const unsubscribe = `${app.url}/unsubscribe/${app.deps.tokens.sign("unsubscribe", reader.id, reader.tokenVersion)}`;
      const oneClick = await fetch(unsubscribe, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "List-Unsubscribe=One-Click",
      });
      expect(oneClick.status).toBe(200);

      const text = await (await fetch(`${app.url}/metrics`)).text();
      const subscribed = text
        .split("\n")
        .filter((l) => l.startsWith("newsletter_subscribe_requests_total{"))
        .map((l) => Number(l.split(" ").pop()));
      expect(subscribed.reduce((a, b) => a + b, 0)).toBe(1);
      expect(sample(text, "newsletter_confirmations_total")).toBe(1);
      expect(sample(text, 'newsletter_emails_sent_total{kind="confirmation"}')).toBe(1);
      const unsubscribed = text
        .split("\n")
        .filter((l) => l.startsWith("newsletter_unsubscribes_total{"))
        .map((l) => Number(l.split(" ").pop()));
      expect(unsubscribed.reduce((a, b) => a + b, 0)).toBe(1);
    } finally {
      await fixture.close();
    }
  });
});

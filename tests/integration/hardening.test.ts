import { expect } from "@jest/globals";
import { WebSession, csrfField } from "../helpers/web-session";
import {
  emailsTo,
  eventually,
  startSubscriptionsApp,
  subscribeAndConfirm,
  afterRequests,
  uniqueEmail,
  type SubscriptionsFixture,
} from "../helpers/subscriptions";
import { startTestApp } from "../helpers/app";

const ADMIN_TOKEN = "admin-token-for-hardening-tests";

describe("one mailbox, one subscriber; nothing leaks; every bad request a 4xx", () => {
  let f: SubscriptionsFixture;
  beforeAll(async () => {
    f = await startSubscriptionsApp({ ADMIN_TOKEN, TRUST_PROXY: "loopback", SUBSCRIBE_LIMIT_PER_ADDRESS: "20" });
  });
  afterAll(async () => {
    await f?.close();
  });
  const postJson = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${f.app.url}/subscribe`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", ...headers },
      body: JSON.stringify(body),
    });
  const settled = () =>
    eventually(
      async () => (await f.app.db.subscriptionRequest.count({ where: { processedAt: null } })) === 0,
      15_000,
      "subscribe requests applied",
    );

  it("when 16 case variants of one address subscribe, then there is one subscriber and one confirmation email", async () => {
    const local = `Ada.Reader.${Date.now()}`;
    const variants = Array.from({ length: 16 }, (_, i) =>
      [...`${local}@Example.com`].map((c, j) => ((i >> (j % 4)) & 1 ? c.toUpperCase() : c.toLowerCase())).join(""),
    );
    expect(new Set(variants).size).toBeGreaterThan(8);
    for (const email of variants) expect((await postJson({ email })).status).toBe(200);
    await settled();
    const canonical = `${local.toLowerCase()}@example.com`;
    expect(await f.app.db.subscriber.count({ where: { email: { equals: canonical, mode: "insensitive" } } })).toBe(1);
    await eventually(() => Promise.resolve(emailsTo(f.smtp, canonical).length === 1), 10_000, "confirmation");
    await new Promise((r) => setTimeout(r, 500));
    expect(emailsTo(f.smtp, canonical)).toHaveLength(1);
  });

  it("when hostile but harmless addresses are asked for, then each answers a 4xx, never a 5xx", async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, accept: "application/json" };
    const b64 = (s: string) => Buffer.from(s).toString("base64url");
    const cases: [string, Record<string, string>?][] = [
      ["/papers/0000-01-01"],
      ["/papers/9999-12-31"],
      ["/digests/0000-12-31"],
      ["/digests/0001-01-01?frequency=weekly"],
      ["/digests/2025-12-10?frequency=hourly"],
      [`/admin/api/subscribers/${"-".repeat(36)}`, admin],
      ["/admin/api/subscribers/not-a-uuid", admin],
      ["/admin/api/subscribers?cursor=%%%", admin],
      [`/admin/api/subscribers?cursor=${b64("0000-01-01T00:00:00.000Z|0b7c3b4e-8a44-4a7e-9a55-8f1e1a2b3c4d")}`, admin],
      [`/admin/api/subscribers?cursor=${b64(`2026-01-01T00:00:00.000Z|${"-".repeat(36)}`)}`, admin],
      ["/admin/api/digests/0000-01-01", admin],
      ["/admin/api/digests/2025-12-10/preview?topics=no-such-topic", admin],
      ["/confirm/%E0%A4%A"],
      ["/preferences/x.y"],
    ];
    for (const [path, headers] of cases) {
      const res = await fetch(`${f.app.url}${path}`, { headers });
      expect({ path, status: res.status }).toEqual({ path, status: expect.any(Number) });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    const unknownTopic = await postJson({ email: uniqueEmail("topic"), topics: ["no-such-topic"] });
    expect(unknownTopic.status).toBe(400);
  });

  it("when GET /subscribe is opened, then it shows the form", async () => {
    const res = await fetch(`${f.app.url}/subscribe`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('action="/subscribe"');
    expect(html).toContain('name="email"');
  });

  it("when the preferences page gets ?done=constructor, then it shows no notice at all", async () => {
    const s = await subscribeAndConfirm(f, uniqueEmail("done"));
    const page = await s.web.get(`${s.preferencesPath}?done=constructor`);
    expect(page.res.status).toBe(200);
    expect(page.html).not.toMatch(/function|native code|class="notice"/);
  });

  it("when a form comes back refused for an expired token, then it keeps the reader's address, topics and frequency", async () => {
    const web = new WebSession(f.app.url!);
    await web.get("/");
    const email = uniqueEmail("expired");
    const answer = await web.post("/subscribe", { _csrf: "expired.token", email, topics: ["rl"], frequency: "weekly" });
    expect(answer.res.status).toBe(403);
    expect(answer.text).toContain(`value="${email}"`);
    expect(answer.text).toMatch(/value="rl"[^>]*checked/);
    expect(answer.text).not.toMatch(/value="llm"[^>]*checked/);
    expect(answer.text).toMatch(/value="weekly"[^>]*checked/);
    // Resubmitting the form as it came back subscribes to what was chosen, not to everything.
    const again = await web.post("/subscribe", {
      _csrf: csrfField(answer.text),
      email,
      topics: ["rl"],
      frequency: "weekly",
    });
    expect(again.res.status).toBe(200);
    const stored = (await afterRequests(f.app, email))!;
    expect(stored.frequency).toBe("weekly");
    expect(stored.topics.map((t) => t.topic.slug)).toEqual(["rl"]);
  });

  it("when requests come through a trusted proxy, then limits and the consent log use the client's address", async () => {
    const email = uniqueEmail("proxied");
    await postJson({ email }, { "x-forwarded-for": "203.0.113.9", "user-agent": "reader-agent" });
    await afterRequests(f.app, email);
    const event = await f.app.db.consentEvent.findFirstOrThrow({ where: { subscriber: { email } } });
    expect(event.ip).toBe("203.0.113.9");
  });

  it("when the public metrics are read around subscribes in every state, then no label tells the states apart", async () => {
    const fresh = uniqueEmail("m-fresh");
    const active = (await subscribeAndConfirm(f, uniqueEmail("m-active"))).subscriber.email;
    for (const email of [fresh, fresh, active]) await postJson({ email });
    const text = await (await fetch(`${f.app.url}/metrics`)).text();
    const labels = [...text.matchAll(/^newsletter_subscribe_requests_total\{outcome="([^"]+)"\}/gm)].map((m) => m[1]);
    expect(labels).toContain("accepted");
    for (const leaking of ["created", "already_active", "reopened", "recently_sent", "resent"])
      expect(labels).not.toContain(leaking);
  });
});

describe("/metrics in production", () => {
  it("when NODE_ENV=production and no METRICS_TOKEN, then the public port answers 404 and METRICS_PORT serves it", async () => {
    const app = await startTestApp({ NODE_ENV: "production", METRICS_PORT: "0" }, { worker: false });
    try {
      expect((await fetch(`${app.url}/metrics`)).status).toBe(404);
      expect(app.metricsUrl).toBeDefined();
      const own = await fetch(app.metricsUrl!);
      expect(own.status).toBe(200);
      expect(await own.text()).toContain("newsletter_subscribe_requests_total");
    } finally {
      await app.destroy();
    }
  });

  it("when NODE_ENV=production and METRICS_TOKEN is set, then the public port serves it to the token only", async () => {
    const token = "metrics-token-of-enough-length";
    const app = await startTestApp({ NODE_ENV: "production", METRICS_TOKEN: token }, { worker: false });
    try {
      expect((await fetch(`${app.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    } finally {
      await app.destroy();
    }
  });
});

import { expect } from "@jest/globals";
import { WebSession, csrfField } from "../../helpers/web-session";
import {
  startSubscriptionsApp,
  subscribeThroughForm,
  eventually,
  uniqueEmail,
  type SubscriptionsFixture,
} from "../../helpers/subscriptions";

const postJson = (f: SubscriptionsFixture, body: unknown) =>
  fetch(`${f.app.url}/subscribe`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** Nothing stored, nothing queued, nothing sent. */
async function expectNothingHappened(f: SubscriptionsFixture) {
  await new Promise((r) => setTimeout(r, 200));
  expect(await f.app.db.subscriber.count()).toBe(0);
  expect(await f.app.db.consentEvent.count()).toBe(0);
  const counts = await f.app.queues.emails.getJobCounts("waiting", "active", "completed", "failed", "delayed");
  expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
  expect(f.smtp.received).toHaveLength(0);
}

describe("subscribe form defences", () => {
  let f: SubscriptionsFixture;
  beforeEach(async () => {
    f = await startSubscriptionsApp();
  });
  afterEach(async () => {
    await f?.close();
  });

  it("when the address carries CR/LF (header injection), then the answer is 400 and nothing is stored or sent", async () => {
    for (const email of [
      "victim@example.org\r\nBcc: everyone@example.org",
      "victim@example.org\nSubject: hi",
      "a@example.org%0d%0aBcc:b@example.org",
    ]) {
      const res = await postJson(f, { email });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: expect.any(String), field: "email" });
    }
    // The same through the HTML form: the error is shown next to what was typed.
    const { answer } = await subscribeThroughForm(f.app, {
      email: "x@example.org\r\nBcc: y@example.org",
      topics: ["rl"],
    });
    expect(answer.res.status).toBe(400);
    expect(answer.text).toContain("The email address contains line breaks.");
    await expectNothingHappened(f);
  });

  it("when the address is invalid, then the page says why (400) and keeps what was entered", async () => {
    const { answer } = await subscribeThroughForm(f.app, {
      email: "reader@@example",
      topics: ["vision"],
      frequency: "weekly",
    });
    expect(answer.res.status).toBe(400);
    expect(answer.text).toMatch(/<p class="error" role="alert" id="subscribe-error">[^<]+<\/p>/);
    expect(answer.text).toContain('value="reader@@example"');
    expect(answer.text).toContain('aria-invalid="true"');
    expect(answer.text).toMatch(/value="vision" id="subscribe-topic-vision" checked/);
    expect(answer.text).toMatch(/id="subscribe-weekly" checked/);
    await expectNothingHappened(f);
  });

  it("when a topic does not exist or the frequency is odd, then the answer is 400 with a readable message", async () => {
    const unknown = await postJson(f, { email: uniqueEmail(), topics: ["llm", "alchemy"] });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({ error: "Unknown topic: alchemy.", field: "topics" });
    const odd = await postJson(f, { email: uniqueEmail(), frequency: "hourly" });
    expect(odd.status).toBe(400);
    expect(((await odd.json()) as { error: string }).error).toBe("Choose daily or weekly.");
    await expectNothingHappened(f);
  });

  it("when the honeypot field is filled, then the answer looks like success but nothing is stored or sent", async () => {
    const { answer } = await subscribeThroughForm(f.app, { email: uniqueEmail("bot"), website: "http://spam.example" });
    expect(answer.res.status).toBe(200);
    expect(answer.text).toContain("Check your inbox");
    const json = await postJson(f, { email: uniqueEmail("bot"), website: "x" });
    expect(json.status).toBe(200);
    await expectNothingHappened(f);
    expect(await f.app.deps.metrics.registry.getSingleMetricAsString("newsletter_subscribe_requests_total")).toContain(
      'outcome="honeypot"} 2',
    );
  });

  it("when the form is posted without a valid CSRF token, then it is refused with 403, the form comes back filled, and nothing is stored", async () => {
    const web = new WebSession(f.app.url!);
    const home = await web.get("/");
    const token = csrfField(home.html);
    const email = uniqueEmail();
    const cases = [
      await web.post("/subscribe", { email, topics: ["llm"] }),
      await web.post("/subscribe", { _csrf: token.replace(/^./, (c) => (c === "a" ? "b" : "a")), email }),
      // A cross-site form has the token from its own visit but not the reader's cookie.
      await fetch(`${f.app.url}/subscribe`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ _csrf: token, email }),
      }).then(async (res) => ({ res, text: await res.text() })),
    ];
    for (const { res, text } of cases) {
      expect(res.status).toBe(403);
      expect(text).toContain("This form had expired");
    }
    expect(cases[0]!.text).toContain(`value="${email}"`);
    await expectNothingHappened(f);
    // With the token and its cookie, the same post goes through.
    expect((await web.post("/subscribe", { _csrf: token, email })).res.status).toBe(200);
  });

  it("when the home page is served, then security headers are set and the CSRF cookie is HttpOnly and SameSite=Strict", async () => {
    const res = await fetch(`${f.app.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(res.headers.get("content-security-policy")).toContain("form-action 'self'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("x-powered-by")).toBeNull();
    const [cookie] = res.headers.getSetCookie();
    expect(cookie).toMatch(/^dp\.csrf=/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
  });

  it("when a body is larger than the limit, then the answer is 413 and nothing is stored", async () => {
    const res = await fetch(`${f.app.url}/subscribe`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `email=${uniqueEmail()}&topics=${"x".repeat(10_000)}`,
    });
    expect(res.status).toBe(413);
    const json = await fetch(`${f.app.url}/subscribe`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: uniqueEmail(), pad: "x".repeat(10_000) }),
    });
    expect(json.status).toBe(413);
    await expectNothingHappened(f);
  });
});

describe("subscribe rate limits (kept in Redis)", () => {
  let f: SubscriptionsFixture;
  afterEach(async () => {
    await f?.close();
  });

  it("when one IP sends more than SUBSCRIBE_LIMIT_PER_IP requests, then it gets 429 with Retry-After", async () => {
    f = await startSubscriptionsApp({ SUBSCRIBE_LIMIT_PER_IP: "3" });
    for (let i = 0; i < 3; i++) expect((await postJson(f, { email: uniqueEmail() })).status).toBe(200);
    const limited = await postJson(f, { email: uniqueEmail("fourth") });
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(await limited.json()).toEqual({
      error: "Too many subscribe requests from your network.",
      hint: expect.stringContaining("try again"),
    });
    await eventually(async () => (await f.app.db.subscriptionRequest.count({ where: { processedAt: null } })) === 0);
    expect(await f.app.db.subscriber.count()).toBe(3);
    // The counter lives in Redis under the installation's prefix.
    expect(await f.app.redis.keys(`${f.app.config.QUEUE_PREFIX}:ratelimit:subscribe-ip:*`)).toHaveLength(1);
    // A browser gets a page, with the same status and header.
    const page = await fetch(`${f.app.url}/subscribe`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "email=x%40example.org",
    });
    expect(page.status).toBe(429);
    expect(page.headers.get("retry-after")).toBeTruthy();
    expect(await page.text()).toContain("Too many subscribe requests");
  });

  it("when one address is submitted more than SUBSCRIBE_LIMIT_PER_ADDRESS times, then it gets 429 while other addresses still pass", async () => {
    f = await startSubscriptionsApp({ SUBSCRIBE_LIMIT_PER_ADDRESS: "2" });
    const email = uniqueEmail("target");
    expect((await postJson(f, { email })).status).toBe(200);
    // Normalisation applies first: the same mailbox written differently counts as the same address.
    expect(
      (await postJson(f, { email: `  ${email.toUpperCase().replace(/^[^@]+/, email.split("@")[0]!)} ` })).status,
    ).toBe(200);
    const limited = await postJson(f, { email });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await postJson(f, { email: uniqueEmail("other") })).status).toBe(200);
    const keys = await f.app.redis.keys(`${f.app.config.QUEUE_PREFIX}:ratelimit:subscribe-address:*`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.join(" ")).not.toContain("@");
  });

  it("when a valid request is counted, then both limits take one Redis call between them", async () => {
    f = await startSubscriptionsApp();
    const monitor = await f.app.redis.duplicate().monitor();
    const calls: string[][] = [];
    monitor.on("monitor", (_time: string, args: string[]) => {
      if (args.some((a) => a.includes(":ratelimit:"))) calls.push(args);
    });
    try {
      expect((await postJson(f, { email: uniqueEmail("counted") })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      monitor.disconnect();
    }
    // The script's call names both keys; the INCRs and expiries inside it are the script's own.
    const scripts = calls.filter((c) => /^eval/i.test(c[0]!));
    expect(scripts).toHaveLength(1);
    expect(scripts[0]!.join(" ")).toMatch(/ratelimit:subscribe-ip:.*ratelimit:subscribe-address:/);
  });
});

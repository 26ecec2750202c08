import { expect } from "@jest/globals";
import crypto from "node:crypto";
import { startTestApp, type TestApp } from "../helpers/app";
import { allQueueNames } from "../../src/queue/queues";
import type { Stats } from "../../src/admin/queries";

const ADMIN_TOKEN = `admin-${crypto.randomBytes(16).toString("hex")}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("when ADMIN_TOKEN is unset", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({}, { worker: false });
  });
  afterAll(async () => {
    await app?.destroy();
  });

  it.each([
    "/admin",
    "/admin/login",
    "/admin/api/subscribers",
    "/admin/api/stats",
    "/admin/queues",
    "/admin/queues/api/queues",
    "/admin/api/digests/2024-12-10",
  ])("then %s answers 404 as if it did not exist, whatever token is sent", async (route) => {
    expect((await fetch(`${app.url}${route}`)).status).toBe(404);
    expect((await fetch(`${app.url}${route}`, { headers: bearer("anything-at-all-long-enough") })).status).toBe(404);
  });
});

describe("the admin area with ADMIN_TOKEN set", () => {
  let app: TestApp;
  const tag = crypto.randomBytes(4).toString("hex");
  beforeAll(async () => {
    // Behind a (loopback) proxy, so each test can be a client address of its own: wrong tokens are
    // limited per address, and one test's refusals must not lock the next test out.
    app = await startTestApp({ ADMIN_TOKEN, TRUST_PROXY: "loopback" }, { worker: false });
  });
  afterAll(async () => {
    await app?.destroy();
  });

  describe("authentication", () => {
    it.each([
      "/admin/api/subscribers",
      "/admin/api/stats",
      "/admin/queues",
      "/admin/queues/api/queues",
      "/admin/api/digests/2024-12-10",
    ])("when %s is called with no token, then 401 with WWW-Authenticate: Bearer", async (route) => {
      const res = await fetch(`${app.url}${route}`, { headers: { accept: "application/json" } });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="admin"/);
      expect(await res.json()).toEqual({ error: expect.stringContaining("admin token") });
    });

    it.each([
      "/admin/api/subscribers",
      "/admin/api/stats",
      "/admin/queues",
      "/admin/queues/api/queues",
      "/admin/api/digests/2024-12-10",
    ])("when %s is called with a wrong token, then 401", async (route) => {
      const from = { "x-forwarded-for": `198.51.100.${route.length}` };
      for (const token of ["wrong-token-of-some-length", `${ADMIN_TOKEN}x`, ADMIN_TOKEN.slice(0, -1)]) {
        const res = await fetch(`${app.url}${route}`, { headers: { ...bearer(token), ...from } });
        expect(res.status).toBe(401);
        expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      }
      expect(
        (await fetch(`${app.url}${route}`, { headers: { authorization: `Basic ${ADMIN_TOKEN}`, ...from } })).status,
      ).toBe(401);
    });

    it("when one address keeps sending wrong bearer tokens, then after 20 it gets 429, even with the right one, and other addresses do not", async () => {
      const from = { "x-forwarded-for": "203.0.113.77" };
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${app.url}/admin/api/stats`, {
          headers: { ...bearer(`guess-${i}-long-enough`), ...from },
        });
        expect(res.status).toBe(401);
      }
      expect(
        (await fetch(`${app.url}/admin/api/stats`, { headers: { ...bearer("guess-21-long-enough"), ...from } })).status,
      ).toBe(429);
      // Locked for every token: a right guess must look exactly like a wrong one.
      expect((await fetch(`${app.url}/admin/api/stats`, { headers: { ...bearer(ADMIN_TOKEN), ...from } })).status).toBe(
        429,
      );
      // The sign-in form shares the budget.
      const form = await fetch(`${app.url}/admin/login`, {
        method: "POST",
        headers: from,
        body: new URLSearchParams({ token: "guess-22-long-enough" }),
        redirect: "manual",
      });
      expect(form.status).toBe(429);
      expect(
        (
          await fetch(`${app.url}/admin/api/stats`, {
            headers: { ...bearer(ADMIN_TOKEN), "x-forwarded-for": "203.0.113.78" },
          })
        ).status,
      ).toBe(200);
    });

    it("when a browser signs out, then a copy of its session cookie no longer opens anything", async () => {
      const res = await fetch(`${app.url}/admin/login`, {
        method: "POST",
        body: new URLSearchParams({ token: ADMIN_TOKEN, next: "/admin" }),
        redirect: "manual",
      });
      const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
      expect((await fetch(`${app.url}/admin/api/stats`, { headers: { cookie } })).status).toBe(200);
      await fetch(`${app.url}/admin/logout`, { method: "POST", headers: { cookie }, redirect: "manual" });
      expect((await fetch(`${app.url}/admin/api/stats`, { headers: { cookie } })).status).toBe(401);
      expect((await fetch(`${app.url}/admin/queues/api/queues`, { headers: { cookie } })).status).toBe(401);
    });

    it("when the right token is sent, then the API answers 200 and the dashboard lists every queue", async () => {
      expect((await fetch(`${app.url}/admin/api/subscribers`, { headers: bearer(ADMIN_TOKEN) })).status).toBe(200);
      expect((await fetch(`${app.url}/admin/api/stats`, { headers: bearer(ADMIN_TOKEN) })).status).toBe(200);
      const digest = await fetch(`${app.url}/admin/api/digests/2024-12-10`, {
        headers: { ...bearer(ADMIN_TOKEN), accept: "application/json" },
      });
      expect(digest.status).toBe(404);
      expect(await digest.json()).toEqual({ error: expect.stringContaining("No daily digest for 2024-12-10") });
      const page = await fetch(`${app.url}/admin/queues`, { headers: bearer(ADMIN_TOKEN) });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<base href="/admin/queues/"');
      const api = await fetch(`${app.url}/admin/queues/api/queues`, { headers: bearer(ADMIN_TOKEN) });
      expect(api.status).toBe(200);
      const body = (await api.json()) as { queues: { name: string }[] };
      expect(body.queues.map((q) => q.name).sort()).toEqual([...allQueueNames].sort());
    });

    it("when a browser without a session opens /admin, then it gets 401 and the sign-in form", async () => {
      const res = await fetch(`${app.url}/admin/queues`, { headers: { accept: "text/html" } });
      expect(res.status).toBe(401);
      const html = await res.text();
      expect(html).toContain('action="/admin/login"');
      expect(html).toContain('name="next" value="/admin/queues"');
    });

    it("when a browser signs in with the token, then an HttpOnly SameSite=Strict cookie opens the dashboard until sign-out", async () => {
      const wrong = await fetch(`${app.url}/admin/login`, {
        method: "POST",
        headers: { "x-forwarded-for": "198.51.100.200" },
        body: new URLSearchParams({ token: "not-the-admin-token", next: "/admin/queues" }),
        redirect: "manual",
      });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get("set-cookie")).toBeNull();

      const res = await fetch(`${app.url}/admin/login`, {
        method: "POST",
        body: new URLSearchParams({ token: ADMIN_TOKEN, next: "/admin/queues" }),
        redirect: "manual",
      });
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe("/admin/queues");
      const setCookie = res.headers.get("set-cookie")!;
      expect(setCookie).toMatch(/^admin_session=/);
      expect(setCookie).toMatch(/HttpOnly/i);
      expect(setCookie).toMatch(/SameSite=Strict/i);
      expect(setCookie).toMatch(/Path=\/admin/);
      expect(setCookie).not.toContain(ADMIN_TOKEN);
      const cookie = setCookie.split(";")[0]!;

      expect((await fetch(`${app.url}/admin/queues/api/queues`, { headers: { cookie } })).status).toBe(200);
      expect((await fetch(`${app.url}/admin`, { headers: { cookie } })).status).toBe(200);
      // The digest engine's admin routes sit behind the same gate: past it, "no digest yet" is a 404.
      expect(
        (await fetch(`${app.url}/admin/api/digests/2024-12-10`, { headers: { cookie, accept: "application/json" } }))
          .status,
      ).toBe(404);
      const tampered = cookie.replace(/.$/, (c) => (c === "A" ? "B" : "A"));
      expect((await fetch(`${app.url}/admin/api/stats`, { headers: { cookie: tampered } })).status).toBe(401);

      const crossSite = await fetch(`${app.url}/admin/queues/api/queues/emails/pause`, {
        method: "PUT",
        headers: { cookie, "sec-fetch-site": "cross-site" },
      });
      expect(crossSite.status).toBe(403);

      const out = await fetch(`${app.url}/admin/logout`, { method: "POST", headers: { cookie }, redirect: "manual" });
      expect(out.status).toBe(303);
      expect(out.headers.get("set-cookie")).toMatch(/admin_session=;.*Expires=Thu, 01 Jan 1970/);
    });

    it("when the sign-in form names a page outside /admin to go to next, then it goes to /admin instead", async () => {
      for (const next of ["https://evil.example/", "//evil.example/admin", "/admin/../x"]) {
        const res = await fetch(`${app.url}/admin/login`, {
          method: "POST",
          body: new URLSearchParams({ token: ADMIN_TOKEN, next }),
          redirect: "manual",
        });
        expect(res.headers.get("location")).toBe("/admin");
      }
    });
  });

  describe("subscriber search", () => {
    const emails = {
      active: [`ada.${tag}@example.org`, `grace.${tag}@example.org`, `alan.${tag}@example.net`],
      pending: [`linus.${tag}@example.org`],
      unsubscribed: [`ken.${tag}@example.com`],
    };
    beforeAll(async () => {
      await app.db.topic.create({ data: { slug: `nlp-${tag}`, name: "NLP", query: "language" } });
      let minute = 0;
      for (const [status, list] of Object.entries(emails)) {
        for (const email of list) {
          minute += 1;
          await app.db.subscriber.create({
            data: {
              email,
              status: status as "active" | "pending" | "unsubscribed",
              createdAt: new Date(Date.UTC(2026, 0, 1, 0, minute)),
              topics: email.startsWith("ada")
                ? { create: [{ topic: { connect: { slug: `nlp-${tag}` } } }] }
                : undefined,
            },
          });
        }
      }
      await app.db.subscriber.create({ data: { email: `someone-else@example.org` } });
    });

    const search = async (query: Record<string, string>) => {
      const res = await fetch(`${app.url}/admin/api/subscribers?${new URLSearchParams(query).toString()}`, {
        headers: bearer(ADMIN_TOKEN),
      });
      return {
        status: res.status,
        body: (await res.json()) as {
          subscribers: { email: string; status: string; topics: string[] }[];
          nextCursor: string | null;
          error?: string;
        },
      };
    };

    it("when searching by a fragment of the address in any case, then the matching subscribers come back, newest first", async () => {
      const { status, body } = await search({ q: tag.toUpperCase() });
      expect(status).toBe(200);
      expect(body.subscribers.map((s) => s.email)).toEqual(
        [...emails.active, ...emails.pending, ...emails.unsubscribed].reverse(),
      );
      expect(body.subscribers.find((s) => s.email.startsWith("ada"))!.topics).toEqual([`nlp-${tag}`]);
      expect(body.nextCursor).toBeNull();
    });

    it("when the fragment holds LIKE wildcards, then they match only themselves", async () => {
      await app.db.subscriber.createMany({
        data: [
          { email: `under_score.${tag}@example.org` },
          { email: `underxscore.${tag}@example.org` },
          { email: `hundred%.${tag}@example.org` },
        ],
      });
      expect((await search({ q: `under_score.${tag}` })).body.subscribers.map((s) => s.email)).toEqual([
        `under_score.${tag}@example.org`,
      ]);
      expect((await search({ q: `%.${tag}` })).body.subscribers.map((s) => s.email)).toEqual([
        `hundred%.${tag}@example.org`,
      ]);
      await app.db.subscriber.deleteMany({
        where: {
          email: {
            in: [`under_score.${tag}@example.org`, `underxscore.${tag}@example.org`, `hundred%.${tag}@example.org`],
          },
        },
      });
    });

    it("when a status is given, then only subscribers in that state come back", async () => {
      const { body } = await search({ q: tag, status: "active" });
      expect(body.subscribers.map((s) => s.email).sort()).toEqual([...emails.active].sort());
      expect(body.subscribers.every((s) => s.status === "active")).toBe(true);
    });

    it("when results span pages, then following nextCursor gives every match exactly once", async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const { body }: { body: { subscribers: { email: string }[]; nextCursor: string | null } } = await search({
          q: tag,
          limit: "2",
          ...(cursor ? { cursor } : {}),
        });
        seen.push(...body.subscribers.map((s) => s.email));
        cursor = body.nextCursor;
        pages += 1;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual([...emails.active, ...emails.pending, ...emails.unsubscribed].reverse());
    });

    it("when the query is invalid, then 400 names the parameter", async () => {
      expect(await search({ status: "sleeping" })).toMatchObject({
        status: 400,
        body: { error: expect.stringContaining('"status"') },
      });
      expect(await search({ limit: "0" })).toMatchObject({
        status: 400,
        body: { error: expect.stringContaining('"limit"') },
      });
      expect(await search({ cursor: "not-a-cursor" })).toMatchObject({
        status: 400,
        body: { error: expect.stringContaining('"cursor"') },
      });
    });

    it("when one subscriber is asked for, then its details and consent log come back without its token version", async () => {
      const ada = await app.db.subscriber.findUniqueOrThrow({ where: { email: emails.active[0]! } });
      await app.db.consentEvent.create({
        data: { subscriberId: ada.id, emailHash: "h", action: "confirm", source: "link" },
      });
      const res = await fetch(`${app.url}/admin/api/subscribers/${ada.id}`, { headers: bearer(ADMIN_TOKEN) });
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toMatchObject({
        email: emails.active[0],
        status: "active",
        topics: [`nlp-${tag}`],
        consentEvents: [{ action: "confirm", source: "link" }],
      });
      expect(body).not.toHaveProperty("tokenVersion");
      expect(
        (await fetch(`${app.url}/admin/api/subscribers/${crypto.randomUUID()}`, { headers: bearer(ADMIN_TOKEN) }))
          .status,
      ).toBe(404);
    });

    it("when the admin page is opened with a search, then it shows the figures and the matches", async () => {
      const res = await fetch(`${app.url}/admin?q=${tag}&status=pending`, { headers: bearer(ADMIN_TOKEN) });
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain(emails.pending[0]);
      expect(html).not.toContain(emails.active[0]);
      expect(html).toContain("Bounce rate");
      expect(html).toContain('href="/admin/queues"');
    });
  });
});

describe("the admin figures", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_TOKEN }, { worker: false });
  });
  afterAll(async () => {
    await app?.destroy();
  });

  const daysAgo = (n: number, hour = 12) => {
    const d = new Date();
    return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - n, hour));
  };

  it("when subscribers, consent events and deliveries exist, then the stats count them by state, day and rate", async () => {
    const db = app.db;
    const make = (email: string, status: "active" | "pending" | "unsubscribed" | "bounced" | "complained") =>
      db.subscriber.create({ data: { email, status } });
    const a = await make("a@stats.example", "active");
    const b = await make("b@stats.example", "active");
    const c = await make("c@stats.example", "unsubscribed");
    const d = await make("d@stats.example", "bounced");
    const e = await make("e@stats.example", "complained");
    await make("f@stats.example", "pending");
    const event = (
      s: { id: string },
      action: "subscribe" | "confirm" | "import" | "unsubscribe" | "bounce" | "complaint",
      at: Date,
    ) =>
      db.consentEvent.create({
        data: { subscriberId: s.id, emailHash: s.id, action, source: "system", createdAt: at },
      });
    // Two days ago: a and b sign up, a confirms (and clicks the link twice: still one person).
    await event(a, "subscribe", daysAgo(2));
    await event(b, "subscribe", daysAgo(2));
    await event(a, "confirm", daysAgo(2));
    await event(a, "confirm", daysAgo(2, 13));
    // Yesterday: b confirms, c is imported, then leaves; today d bounces and e complains.
    await event(b, "confirm", daysAgo(1));
    await event(c, "import", daysAgo(1));
    await event(c, "unsubscribe", daysAgo(1, 18));
    await event(d, "bounce", daysAgo(0, 0));
    await event(e, "complaint", daysAgo(0, 0));
    // Outside a 3-day window: ignored.
    await event(d, "subscribe", daysAgo(10));

    const digest = await db.digest.create({ data: { day: daysAgo(1), frequency: "daily" } });
    const deliver = (s: { id: string }, state: "accepted" | "failed" | "pending", at: Date) =>
      db.delivery.create({ data: { digestId: digest.id, subscriberId: s.id, state, createdAt: at } });
    await deliver(a, "accepted", daysAgo(1));
    await deliver(b, "accepted", daysAgo(1));
    await deliver(c, "accepted", daysAgo(1));
    await deliver(d, "failed", daysAgo(1));
    await deliver(e, "pending", daysAgo(0, 0));

    const res = await fetch(`${app.url}/admin/api/stats?days=3`, { headers: bearer(ADMIN_TOKEN) });
    expect(res.status).toBe(200);
    const stats = (await res.json()) as Stats;
    expect(stats.window).toEqual({
      days: 3,
      since: daysAgo(2).toISOString().slice(0, 10),
      until: daysAgo(0).toISOString().slice(0, 10),
    });
    expect(stats.subscribers).toEqual({
      byState: { pending: 1, active: 2, unsubscribed: 1, bounced: 1, complained: 1 },
      total: 6,
    });
    expect(stats.growth).toEqual([
      { day: daysAgo(2).toISOString().slice(0, 10), signups: 2, activated: 1, left: 0, net: 1 },
      { day: daysAgo(1).toISOString().slice(0, 10), signups: 0, activated: 2, left: 1, net: 1 },
      { day: daysAgo(0).toISOString().slice(0, 10), signups: 0, activated: 0, left: 2, net: -2 },
    ]);
    expect(stats.deliveries).toEqual([
      {
        day: daysAgo(2).toISOString().slice(0, 10),
        pending: 0,
        sending: 0,
        accepted: 0,
        failed: 0,
        skipped: 0,
        total: 0,
      },
      {
        day: daysAgo(1).toISOString().slice(0, 10),
        pending: 0,
        sending: 0,
        accepted: 3,
        failed: 1,
        skipped: 0,
        total: 4,
      },
      {
        day: daysAgo(0).toISOString().slice(0, 10),
        pending: 1,
        sending: 0,
        accepted: 0,
        failed: 0,
        skipped: 0,
        total: 1,
      },
    ]);
    expect(stats.rates).toEqual({
      deliveriesAttempted: 4,
      deliveriesAccepted: 3,
      bounces: 1,
      unsubscribes: 1,
      complaints: 1,
      bounceRate: 0.25,
      unsubscribeRate: 0.333333,
      complaintRate: 0.333333,
    });
    expect(Object.keys(stats.definitions)).toEqual(
      expect.arrayContaining(["bounceRate", "unsubscribeRate", "growth", "deliveries"]),
    );
  });

  it("when nothing was delivered, then the rates are null rather than a division by zero", async () => {
    const res = await fetch(`${app.url}/admin/api/stats?days=1&x=${Date.now()}`, { headers: bearer(ADMIN_TOKEN) });
    const stats = (await res.json()) as Stats;
    expect(stats.rates.bounceRate === null || typeof stats.rates.bounceRate === "number").toBe(true);
    const old = await fetch(`${app.url}/admin/api/stats?days=400`, { headers: bearer(ADMIN_TOKEN) });
    expect(old.status).toBe(400);
  });
});

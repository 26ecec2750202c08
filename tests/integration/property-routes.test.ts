import { expect } from "@jest/globals";
import fc from "fast-check";
import { startTestApp, type TestApp } from "../helpers/app";
import { TEST_TOPICS } from "../helpers/subscriptions";

/**
 * Generated requests, hostile but harmless, against every public and admin route: odd path
 * segments (dates of year 0, 36 dashes, Unicode, broken percent-encoding, real and fake tokens),
 * odd query strings (cursors, topics, frequencies), odd bodies (JSON and forms of any shape),
 * with and without the admin token. Whatever comes, the answer is never a 5xx, and a refused
 * request (4xx) stores nothing. No worker runs, so nothing else writes while a request is judged.
 */
const ADMIN_TOKEN = "admin-token-for-property-tests";

const ROUTES: { method: "GET" | "POST"; path: string }[] = [
  { method: "GET", path: "/" },
  { method: "GET", path: "/subscribe" },
  { method: "POST", path: "/subscribe" },
  { method: "GET", path: "/confirm/:token" },
  { method: "POST", path: "/confirm/:token" },
  { method: "GET", path: "/preferences/:token" },
  { method: "POST", path: "/preferences/:token" },
  { method: "POST", path: "/preferences/:token/export" },
  { method: "POST", path: "/preferences/:token/delete" },
  { method: "GET", path: "/unsubscribe/:token" },
  { method: "POST", path: "/unsubscribe/:token" },
  { method: "POST", path: "/unsubscribe/:token/undo" },
  { method: "GET", path: "/papers" },
  { method: "GET", path: "/papers/:date" },
  { method: "GET", path: "/digests/:date" },
  { method: "GET", path: "/metrics" },
  { method: "GET", path: "/admin" },
  { method: "GET", path: "/admin/login" },
  { method: "POST", path: "/admin/login" },
  { method: "GET", path: "/admin/api/subscribers" },
  { method: "GET", path: "/admin/api/subscribers/:id" },
  { method: "GET", path: "/admin/api/stats" },
  { method: "GET", path: "/admin/api/digests/:date" },
  { method: "POST", path: "/admin/api/digests/:date/send" },
  { method: "GET", path: "/admin/api/digests/:date/preview" },
  { method: "GET", path: "/admin/queues/api/queues" },
];

const b64 = (s: string) => Buffer.from(s).toString("base64url");

describe("every route, generated requests", () => {
  const f = { app: undefined as unknown as TestApp };
  let tokens: string[] = [];
  beforeAll(async () => {
    f.app = await startTestApp(
      { ADMIN_TOKEN, SUBSCRIBE_LIMIT_PER_IP: "100000", SUBSCRIBE_LIMIT_PER_ADDRESS: "100000" },
      { worker: false },
    );
    await f.app.db.topic.deleteMany({});
    await f.app.db.topic.createMany({ data: TEST_TOPICS });
    // Real links of a real subscriber, so generated requests also reach past the token check.
    const s = await f.app.db.subscriber.create({ data: { email: "property@example.org", status: "active" } });
    tokens = (["confirm", "manage", "unsubscribe"] as const).map((p) => f.app.deps.tokens.sign(p, s.id, 0));
  }, 120_000);
  afterAll(async () => {
    await f.app?.destroy();
  });

  const counts = async () => {
    const [row] = await f.app.db.$queryRaw<Record<string, bigint>[]>`
      SELECT (SELECT count(*) FROM subscribers) AS subscribers, (SELECT count(*) FROM subscriber_topics) AS topics,
             (SELECT count(*) FROM consent_events) AS consent, (SELECT count(*) FROM subscription_requests) AS requests,
             (SELECT count(*) FROM digests) AS digests, (SELECT count(*) FROM deliveries) AS deliveries,
             (SELECT count(*) FROM suppressions) AS suppressions,
             (SELECT string_agg(status::text || frequency::text || token_version, ',' ORDER BY id) FROM subscribers) AS states`;
    return JSON.stringify(row, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v));
  };

  const segment = () =>
    fc.oneof(
      fc.constantFrom(
        "0000-01-01",
        "0000-12-31",
        "0001-01-01",
        "9999-12-31",
        "2025-12-10",
        "2025-02-30",
        "-".repeat(36),
        "00000000-0000-0000-0000-000000000000",
        "%E0%A4%A",
        "%00",
        "..",
        "constructor",
        "__proto__",
      ),
      fc.constantFrom(...[0, 1, 2]).map((i) => tokens[i]!),
      fc.uuid(),
      fc.string({ maxLength: 40 }).map(encodeURIComponent),
      fc.string({ unit: "grapheme", maxLength: 20 }).map(encodeURIComponent),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
    );

  const value = () =>
    fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom(
        "daily",
        "weekly",
        "hourly",
        "llm",
        "vision,rl",
        "no-such-topic",
        "saved",
        "constructor",
        "pending",
        "-1",
        "1e9",
        "0",
        b64(`0000-01-01T00:00:00.000Z|${"-".repeat(36)}`),
        b64("2026-01-01T00:00:00.000Z|00000000-0000-0000-0000-000000000000"),
        "reader@example.org",
        "Reader@EXAMPLE.org",
        "a@b",
      ),
    );

  const query = () =>
    fc.dictionary(
      fc.constantFrom("frequency", "topics", "topic", "cursor", "q", "status", "limit", "days", "done", "next"),
      value(),
      { maxKeys: 3 },
    );

  const body = () =>
    fc.dictionary(
      fc.constantFrom(
        "email",
        "topics",
        "frequency",
        "_csrf",
        "confirm",
        "action",
        "token",
        "List-Unsubscribe",
        "website",
      ),
      fc.oneof(value(), fc.array(value(), { maxLength: 3 })),
      { maxKeys: 5 },
    );

  const request = fc.record({
    route: fc.constantFrom(...ROUTES),
    params: fc.array(segment(), { minLength: 2, maxLength: 2 }),
    query: query(),
    body: body(),
    json: fc.boolean(),
    admin: fc.boolean(),
  });

  it("when any generated request arrives, then the answer is never a 5xx and a refused one stores nothing", async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        let i = 0;
        const path = r.route.path.replace(/:(token|date|id)/g, () => r.params[i++] ?? "");
        const qs = new URLSearchParams(r.query).toString();
        const headers: Record<string, string> = {};
        if (r.admin) headers.authorization = `Bearer ${ADMIN_TOKEN}`;
        let payload: string | undefined;
        if (r.route.method === "POST") {
          if (r.json) {
            headers["content-type"] = "application/json";
            payload = JSON.stringify(r.body);
          } else {
            headers["content-type"] = "application/x-www-form-urlencoded";
            const form = new URLSearchParams();
            for (const [k, v] of Object.entries(r.body)) for (const item of [v].flat()) form.append(k, item);
            payload = form.toString();
          }
        }
        const before = await counts();
        const res = await fetch(`${f.app.url}${path}${qs ? `?${qs}` : ""}`, {
          method: r.route.method,
          headers,
          body: payload,
          redirect: "manual",
        });
        await res.arrayBuffer();
        expect({ request: `${r.route.method} ${path}?${qs}`, status: res.status }).toEqual({
          request: `${r.route.method} ${path}?${qs}`,
          status: expect.any(Number),
        });
        expect(res.status).toBeLessThan(500);
        if (res.status >= 400) expect(await counts()).toBe(before);
      }),
      { numRuns: 150, endOnFailure: true },
    );
  }, 600_000);
});

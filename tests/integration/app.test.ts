import { spawn } from "node:child_process";
import { startTestApp, type TestApp } from "../helpers/app";
import { freePort, portAnswers, waitFor } from "../../src/infra/net";
import { allQueueNames } from "../../src/queue/queues";

describe("the app started in-process", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.destroy();
  });

  it("when PostgreSQL and Redis answer, then /healthz is 200", async () => {
    const res = await fetch(`${app.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", down: [], checks: { postgres: "ok", redis: "ok" } });
  });

  it("when the database was migrated, then every table of the data model exists", async () => {
    const tables = await app.db.$queryRaw<{ table_name: string }[]>`
      SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`;
    expect(tables.map((t) => t.table_name)).toEqual(
      expect.arrayContaining([
        "subscribers",
        "topics",
        "subscriber_topics",
        "papers",
        "paper_topics",
        "digests",
        "deliveries",
        "consent_events",
        "ingest_runs",
      ]),
    );
  });

  it("when two deliveries of one digest name the same subscriber, then the database refuses the second", async () => {
    const subscriber = await app.db.subscriber.create({ data: { email: `unique-${Date.now()}@example.org` } });
    const digest = await app.db.digest.create({ data: { day: new Date("2024-01-02"), frequency: "daily" } });
    await app.db.delivery.create({ data: { digestId: digest.id, subscriberId: subscriber.id } });
    await expect(
      app.db.delivery.create({ data: { digestId: digest.id, subscriberId: subscriber.id } }),
    ).rejects.toThrow(/Unique constraint/);
  });

  it("when a paper is stored, then its search vector covers title, keywords and abstract", async () => {
    await app.db.paper.create({
      data: {
        arxivId: "2401.00001",
        title: "Score matching for diffusion",
        abstract: "We study denoising.",
        authors: ["A"],
        keywords: ["generative models"],
        featuredOn: new Date("2024-01-02"),
        url: "https://arxiv.org/abs/2401.00001",
        source: "test",
      },
    });
    const rows = await app.db.$queryRaw<{ arxiv_id: string }[]>`
      SELECT arxiv_id FROM papers WHERE search_vector @@ websearch_to_tsquery('english', 'generative denoising')`;
    expect(rows.map((r) => r.arxiv_id)).toEqual(["2401.00001"]);
  });

  it("when a request comes in, then security headers and a request id are set", async () => {
    const res = await fetch(`${app.url}/healthz`, { headers: { "x-request-id": "abc-123" } });
    expect(res.headers.get("x-request-id")).toBe("abc-123");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(res.headers.get("x-powered-by")).toBeNull();
  });

  it("when an address does not exist, then the answer is a 404 page, and JSON callers get JSON", async () => {
    const page = await fetch(`${app.url}/no/such/page`);
    expect(page.status).toBe(404);
    expect(await page.text()).toContain("There is nothing at this address.");
    const json = await fetch(`${app.url}/no/such/page`, { headers: { accept: "application/json" } });
    expect(await json.json()).toEqual({ error: "There is nothing at this address." });
  });

  it("when a body is larger than the limit, then the answer is 413", async () => {
    const res = await fetch(`${app.url}/healthz`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "email=" + "a".repeat(20_000),
    });
    expect(res.status).toBe(413);
  });

  it("when the queue module is used, then every queue shares the run's prefix", async () => {
    for (const name of allQueueNames) expect(app.queues[name].opts.prefix).toBe(app.config.QUEUE_PREFIX);
    // Delayed, so the running workers leave it alone.
    const job = await app.queues.maintenance.add("noop-for-test", {}, { jobId: "once", delay: 60_000 });
    const again = await app.queues.maintenance.add("noop-for-test", {}, { jobId: "once", delay: 60_000 });
    expect(again.id).toBe(job.id);
    await job.remove();
  });
});

describe("when Redis goes away", () => {
  it("then /healthz answers 503 naming redis", async () => {
    const port = await freePort();
    const redis = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: "ignore" },
    );
    await waitFor(() => portAnswers("127.0.0.1", port), 10_000, "redis-server");
    const app = await startTestApp({ REDIS_URL: `redis://127.0.0.1:${port}` }, { worker: false });
    try {
      expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
      redis.kill("SIGKILL");
      await new Promise((r) => redis.once("exit", r));
      const res = await fetch(`${app.url}/healthz`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { down: string[]; checks: Record<string, string> };
      expect(body.down).toEqual(["redis"]);
      expect(body.checks.postgres).toBe("ok");
    } finally {
      redis.kill("SIGKILL");
      await app.destroy();
    }
  });
});

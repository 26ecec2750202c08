import { expect } from "@jest/globals";
import { startTestApp, type TestApp } from "../helpers/app";
import { runTs } from "../helpers/process";
import { fixture, startReplayServer, type ReplayServer } from "../helpers/replay-server";
import { INGEST_JOB, RETRY_FAILED_JOB } from "../../src/papers/feature";
import { QueueEvents } from "bullmq";

async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("the papers feature in the running app, with the bundled sample", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ PAPERS_SOURCE: "sample" });
  });
  afterAll(async () => {
    await app?.destroy();
  });

  it("when the app starts on an empty database with the sample source, then the sample papers are ingested by the worker", async () => {
    await waitFor(async () => (await app.db.paper.count()) === 32);
    expect(await app.db.topic.count()).toBeGreaterThanOrEqual(9);
    expect(await app.db.ingestRun.count({ where: { source: "sample", error: null } })).toBe(4);
  });

  it("when /papers is opened, then the latest day's papers show like the seed page, most upvoted first", async () => {
    await waitFor(async () => (await app.db.paper.count()) === 32);
    const res = await fetch(`${app.url}/papers`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<time datetime="2025-12-10">10 Dec 2025</time>');
    // Dec 10 holds the seed's first eight papers; "Efficient Personalization..." has 2 upvotes, the rest 0.
    const titles = [
      ...html.matchAll(/<h3 class="paper-title"><a href="[^"]+" rel="noopener noreferrer">([^<]+)<\/a><\/h3>/g),
    ].map((m) => m[1]);
    expect(titles).toHaveLength(8);
    expect(titles[0]).toBe("Efficient Personalization of Quantized Diffusion Model without Backpropagation");
    expect(html).toContain("3 authors");
    expect(html).toContain("2 upvotes");
    expect(html).toContain('href="/papers/2025-12-09"');
    expect(html).toContain('href="/papers/2025-12-10?topic=diffusion-generative"');
  });

  it("when a topic filter and an earlier day are chosen, then only that day's papers of that topic show", async () => {
    await waitFor(async () => (await app.db.paper.count()) === 32);
    const html = await (await fetch(`${app.url}/papers/2025-12-09?topic=reinforcement-learning`)).text();
    expect(html).toContain('<time datetime="2025-12-09">');
    expect(html).toMatch(/aria-current="page">Reinforcement learning</);
    expect(html).toContain("Investigation of reinforcement learning for shape optimization of profile extrusion dies");
    expect(html).not.toContain("Data Shapley");
    expect(html).toContain('href="/papers/2025-12-10?topic=reinforcement-learning" rel="next"');
  });

  it("when a date is not a date, then the answer is 404", async () => {
    expect((await fetch(`${app.url}/papers/2025-13-01`)).status).toBe(404);
    expect((await fetch(`${app.url}/papers/yesterday`)).status).toBe(404);
  });

  it("when a day has no papers, then the page says so and still links to earlier days", async () => {
    const html = await (await fetch(`${app.url}/papers/2025-12-07`)).text();
    expect(html).toContain("No papers for 7 Dec 2025.");
    expect(html).toContain('href="/papers/2025-12-05"');
  });
});

describe("the ingest job against a local Hugging Face replay server", () => {
  let app: TestApp;
  let hf: ReplayServer;
  let events: QueueEvents;
  beforeAll(async () => {
    hf = await startReplayServer();
    app = await startTestApp({
      PAPERS_SOURCE: "huggingface",
      HF_API_URL: hf.url,
      ARXIV_API_URL: `${hf.url}/api/query`,
    });
    events = new QueueEvents("ingest", { connection: { url: app.redisUrl }, prefix: app.config.QUEUE_PREFIX });
    await events.waitUntilReady();
  });
  afterAll(async () => {
    await events?.close();
    await app?.destroy();
    await hf?.close();
  });

  it("when an ingest-day job runs, then the day's papers are stored, hostile text is escaped on the page and bad links dropped", async () => {
    hf.reply("/api/daily_papers?date=2025-12-10&p=0", { body: fixture("hf-2025-12-10-p0.json") });
    hf.reply("/api/daily_papers?date=2025-12-10&p=1", { body: fixture("hf-2025-12-10-p1.json") });
    hf.reply("/api/daily_papers?date=2025-12-10&p=2", { body: "[]" });
    const job = await app.queues.ingest.add(INGEST_JOB, { day: "2025-12-10", requestId: "test-1" });
    const result: unknown = await job.waitUntilFinished(events, 20_000);
    expect(result).toEqual([
      expect.objectContaining({
        day: "2025-12-10",
        source: "huggingface",
        fetched: 6,
        inserted: 3,
        updated: 0,
        skipped: 3,
      }),
    ]);
    const html = await (await fetch(`${app.url}/papers`)).text();
    expect(html).not.toContain("<script>alert");
    expect(html).toContain("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; Rethinking Architecture Selection");
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(html).not.toContain("javascript:");
    const stored = await app.db.paper.findUnique({ where: { arxivId: "2512.08803" } });
    expect(stored?.projectUrl).toBeNull();
  });

  it("when the source fails for a day, then the job fails, the run keeps the error and the retry job re-queues the day", async () => {
    hf.reply("/api/daily_papers?date=2025-12-11&p=0", { body: "<html>oops</html>" });
    const job = await app.queues.ingest.add(INGEST_JOB, { day: "2025-12-11" }, { attempts: 1 });
    await expect(job.waitUntilFinished(events, 20_000)).rejects.toThrow(/malformed JSON/);
    const run = await app.db.ingestRun.findFirst({ where: { day: new Date("2025-12-11") } });
    expect(run?.error).toMatch(/malformed JSON for 2025-12-11/);

    // The retry job looks back a week from today: pretend the failed day is recent.
    const today = new Intl.DateTimeFormat("en-CA", { timeZone: "UTC" }).format(new Date());
    await app.db.ingestRun.update({ where: { id: run!.id }, data: { day: new Date(today) } });
    hf.reply(`/api/daily_papers?date=${today}&p=0`, { body: "[]" });
    const retry = await app.queues.ingest.add(RETRY_FAILED_JOB, {});
    expect(await retry.waitUntilFinished(events, 20_000)).toEqual({ requeued: 1 });
    const requeued = await waitFor(async () => app.queues.ingest.getJob(`retry-run-${run!.id}`));
    await requeued.waitUntilFinished(events, 20_000).catch(() => undefined);
    await waitFor(
      async () =>
        (await app.db.ingestRun.count({ where: { day: new Date(today), error: null, finishedAt: { not: null } } })) >=
        1,
    );
  });
});

describe("the newsletter command line", () => {
  let app: TestApp;
  beforeAll(async () => {
    // Only for its database: the CLI opens PostgreSQL itself.
    app = await startTestApp({}, { web: false, worker: false });
  });
  afterAll(async () => {
    await app?.destroy();
  });

  it("when ingest and topics commands run, then they print counts and change the database", async () => {
    const env = { DATABASE_URL: app.databaseUrl, LOG_LEVEL: "warn", DATA_DIR: app.dataDir };
    const ingest = runTs(
      "bin/newsletter.js",
      ["ingest", "--source", "file:tests/fixtures/papers/hf-2025-12-10-p1.json", "--date", "2025-12-10"],
      env,
    );
    expect((await ingest.exited).code).toBe(0);
    expect(ingest.output()).toMatch(
      /2025-12-10 from file:tests\/fixtures\/papers\/hf-2025-12-10-p1.json: fetched 5, new 2, updated 0, skipped 3/,
    );
    expect(ingest.output()).toContain("skipped: no valid arXiv id");
    expect(ingest.output()).toContain("skipped: entry without a featured day (submittedOnDailyAt or publishedAt)");

    const add = runTs(
      "bin/newsletter.js",
      ["topics", "add", "submodular", "--name", "Submodularity", "--query", "submodular"],
      env,
    );
    expect((await add.exited).code).toBe(0);
    expect(add.output()).toContain("Added submodular (Submodularity): 1 recent papers matched.");

    const edit = runTs("bin/newsletter.js", ["topics", "edit", "submodular", "--query", "architecture search"], env);
    expect((await edit.exited).code).toBe(0);
    expect(edit.output()).toContain("1 papers now match");

    const list = runTs("bin/newsletter.js", ["topics", "list"], env);
    expect((await list.exited).code).toBe(0);
    expect(list.output()).toMatch(/submodular\tSubmodularity\t1 papers\tquery: architecture search/);

    const bad = runTs("bin/newsletter.js", ["ingest", "--date", "2025-02-30"], env);
    expect((await bad.exited).code).not.toBe(0);
    expect(bad.output()).toContain("--date must be YYYY-MM-DD");
  }, 240_000); // five command-line processes: slow on a loaded machine
});

describe("the ingest schedules", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(
      { DISABLE_SCHEDULES: "false", INGEST_CRON: "5 4 * * *", DIGEST_TZ: "Europe/Paris" },
      { web: false, worker: false, schedules: true },
    );
  });
  afterAll(async () => {
    await app?.destroy();
  });

  it("when the schedule role starts, then an ingest scheduler and a failed-day retry scheduler are registered in DIGEST_TZ", async () => {
    const ingest = await app.queues.ingest.getJobScheduler("papers-ingest");
    expect(ingest).toMatchObject({ name: INGEST_JOB, pattern: "5 4 * * *", tz: "Europe/Paris" });
    const retry = await app.queues.ingest.getJobScheduler("papers-ingest-retry-failed");
    expect(retry).toMatchObject({ name: RETRY_FAILED_JOB, pattern: "40 * * * *" });
  });
});

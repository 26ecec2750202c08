import path from "node:path";
import { createDb, type Db } from "../../src/db";
import { ingestDay } from "../../src/papers/ingest";
import { defaultDays } from "../../src/papers/feature";
import { huggingFaceSource } from "../../src/papers/sources/huggingface";
import { jsonFileSource } from "../../src/papers/sources/file";
import { arxivSource, fetchArxivCategories } from "../../src/papers/sources/arxiv";
import { refreshCounts } from "../../src/papers/refresh";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { startTestApp, type TestApp } from "../helpers/app";
import { fixture, startReplayServer, type ReplayServer } from "../helpers/replay-server";

const CURRENT = path.join(__dirname, "..", "fixtures", "papers", "hf-current-shape.json");

/** An arXiv Atom answer for `id_list` (the shape of tests/fixtures/papers/arxiv-2025-12-09.xml). */
const atomFor = (entries: { id: string; primary: string; others: string[]; day: string; title: string }[]) =>
  `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">${entries.length}</opensearch:totalResults>
${entries
  .map(
    (e) => `  <entry>
    <id>http://arxiv.org/abs/${e.id}v1</id>
    <published>${e.day}T17:08:18Z</published>
    <title>${e.title}</title>
    <summary>An abstract.</summary>
    <author><name>Marco Garosi</name></author>
    <link title="pdf" href="http://arxiv.org/pdf/${e.id}v1" rel="related" type="application/pdf"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="${e.primary}" scheme="http://arxiv.org/schemas/atom"/>
${[e.primary, ...e.others].map((c) => `    <category term="${c}" scheme="http://arxiv.org/schemas/atom"/>`).join("\n")}
  </entry>`,
  )
  .join("\n")}
</feed>`;

describe("papers land on the day Hugging Face listed them, with everything it shows", () => {
  let db: Db;
  let url: string;
  let server: ReplayServer;
  beforeAll(async () => {
    url = await createTestDatabase();
    db = createDb(url);
  });
  afterAll(async () => {
    await db?.$disconnect();
    await dropTestDatabase(url);
  });
  beforeEach(async () => {
    server = await startReplayServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it("when a current-shape answer is replayed through file:, then the paper is stored on its submittedOnDailyAt day with every field", async () => {
    // The outer publishedAt of this recorded entry is 26 Feb (the arXiv time): it was listed on 6 Mar.
    const source = jsonFileSource(CURRENT);
    expect(await source.availableDays!()).toEqual(["2026-03-06"]);
    expect((await source.fetchDay("2026-02-26")).papers).toEqual([]);
    const result = await ingestDay(db, source, "2026-03-06", {
      categories: (ids) =>
        fetchArxivCategories(ids, { baseUrl: `${server.url}/api/query`, minIntervalMs: 0, retries: 0 }),
    });
    expect(result).toMatchObject({ inserted: 1 });
    expect(result.error).toBeUndefined();
    // Hugging Face gives no categories: they came from one batched arXiv request.
    expect(server.requests.map((r) => r.query.get("id_list"))).toEqual(["2602.23229"]);
    const row = await db.paper.findUniqueOrThrow({ where: { arxivId: "2602.23229" } });
    expect(row).toMatchObject({
      featuredOn: new Date("2026-03-06T00:00:00Z"),
      arxivDate: new Date("2026-02-26T00:00:00Z"),
      authors: ["Marco Garosi", "Matteo Farina", "Alessandro Conti", "Massimiliano Mancini", "Elisa Ricci"],
      upvotes: 10,
      url: "https://huggingface.co/papers/2602.23229",
      pdfUrl: "https://arxiv.org/pdf/2602.23229",
      githubUrl: "https://github.com/marco-garosi/CIRCLE",
      githubStars: 9,
      projectUrl: "https://circle-lmm.github.io/",
      thumbnailUrl: "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2602.23229.png",
      comments: 1,
      organization: "Multimedia and Human Understanding Group",
      curated: true,
    });
    expect(row.aiSummary).toMatch(/^Large Multimodal Models demonstrate/);
    expect(row.keywords).toContain("in-context learning");
  });

  it("when arXiv later names the same paper, then it keeps its Hugging Face day, link and source but gains categories", async () => {
    server.reply("/api/query", {
      body: atomFor([
        {
          id: "2602.23229",
          primary: "cs.CV",
          others: ["cs.AI"],
          day: "2026-02-26",
          title: "Large Multimodal Models as General In-Context Classifiers",
        },
      ]),
    });
    const arxiv = arxivSource({ baseUrl: `${server.url}/api/query`, minIntervalMs: 0, retries: 0 });
    const result = await ingestDay(db, arxiv, "2026-02-26");
    expect(result).toMatchObject({ updated: 1 });
    expect(result.error).toBeUndefined();
    const row = await db.paper.findUniqueOrThrow({ where: { arxivId: "2602.23229" } });
    expect(row.featuredOn).toEqual(new Date("2026-03-06T00:00:00Z"));
    expect(row.url).toBe("https://huggingface.co/papers/2602.23229");
    expect(row.source).toBe("file:" + CURRENT);
    expect(row.categories).toEqual(["cs.CV", "cs.AI"]);
    expect(row.aiSummary).toMatch(/^Large Multimodal Models/);
  });

  it("when many Hugging Face papers need categories, then arXiv is asked once for all of them", async () => {
    server.reply("/api/query", {
      body: atomFor([
        { id: "2512.08801", primary: "cs.LG", others: ["stat.ML"], day: "2025-12-08", title: "A" },
        { id: "2512.08802", primary: "cs.LG", others: [], day: "2025-12-09", title: "B" },
      ]),
    });
    const found = await fetchArxivCategories(["2512.08801", "2512.08802", "2512.08801", "sample-01"], {
      baseUrl: `${server.url}/api/query`,
      minIntervalMs: 0,
    });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.query.get("id_list")).toBe("2512.08801,2512.08802");
    expect(Object.fromEntries(found)).toEqual({ "2512.08801": ["cs.LG", "stat.ML"], "2512.08802": ["cs.LG"] });
  });

  it("when the digest is about to be assembled, then the day's upvotes are read again and only the counts change", async () => {
    const entries = JSON.parse(fixture("hf-current-shape.json")) as { paper: { upvotes: number } }[];
    entries[0]!.paper.upvotes = 57;
    server.reply("/api/daily_papers?date=2026-03-06&p=0", { body: JSON.stringify(entries) });
    server.reply("/api/daily_papers?date=2026-03-06&p=1", { body: "[]" });
    // Stored by file: above; make it look like the live source's paper.
    await db.paper.update({ where: { arxivId: "2602.23229" }, data: { source: "huggingface" } });
    const hf = huggingFaceSource({ baseUrl: server.url, retries: 0 });
    expect(await refreshCounts(db, hf, { from: "2026-03-04", to: "2026-03-06" })).toBe(1);
    // Only the day holding its papers was asked.
    expect(server.requests.map((r) => r.query.get("date"))).toEqual(["2026-03-06", "2026-03-06"]);
    const row = await db.paper.findUniqueOrThrow({ where: { arxivId: "2602.23229" } });
    expect(row.upvotes).toBe(57);
    expect(row.featuredOn).toEqual(new Date("2026-03-06T00:00:00Z"));
  });
});

describe("the time-zone edge: Hugging Face is never asked for a day that has not begun in UTC", () => {
  let server: ReplayServer;
  beforeEach(async () => {
    server = await startReplayServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it("when DIGEST_TZ is ahead of UTC and already on the next date, then today is UTC's today", async () => {
    // 12:00 UTC on 6 March is already 7 March, 02:00 in Kiritimati (UTC+14).
    const now = new Date("2026-03-06T12:00:00Z");
    const hf = huggingFaceSource({ baseUrl: server.url, now: () => now });
    expect(await defaultDays(hf, "Pacific/Kiritimati", now)).toEqual(["2026-03-05", "2026-03-06"]);
    expect(await defaultDays(hf, "America/Los_Angeles", now)).toEqual(["2026-03-05", "2026-03-06"]);
  });

  it("when a future day is asked anyway, then no request is made and the result says why", async () => {
    const hf = huggingFaceSource({ baseUrl: server.url, now: () => new Date("2026-03-06T12:00:00Z") });
    const result = await hf.fetchDay("2026-03-07");
    expect(result.papers).toEqual([]);
    expect(result.notice).toMatch(/2026-03-07 has not begun in UTC/);
    expect(server.requests).toHaveLength(0);
  });

  it("when Hugging Face answers 400, then its error body is in the error (and the log)", async () => {
    server.reply("/api/daily_papers?date=2026-03-06&p=0", {
      status: 400,
      body: '{"error":"\\"date\\" must be less than or equal to \\"now\\""}',
    });
    const hf = huggingFaceSource({ baseUrl: server.url, now: () => new Date("2026-03-06T12:00:00Z") });
    await expect(hf.fetchDay("2026-03-06")).rejects.toThrow(/answered 400: \{"error":"\\"date\\" must be less than/);
  });
});

describe("start-up: the latest featured day is fetched at once", () => {
  let app: TestApp | undefined;
  let server: ReplayServer;
  afterEach(async () => {
    await app?.destroy();
    app = undefined;
    await server?.close();
  });

  it("when a fresh install starts with the schedules, then the latest papers are ingested without waiting for INGEST_CRON", async () => {
    server = await startReplayServer();
    // Every date answers the recorded list (its paper is on 6 Mar whatever day is asked).
    server.reply("/api/daily_papers", { body: fixture("hf-current-shape.json") });
    app = await startTestApp(
      {
        PAPERS_SOURCE: "huggingface",
        HF_API_URL: server.url,
        ARXIV_API_URL: `${server.url}/api/query`,
        DISABLE_SCHEDULES: "false",
        INGEST_CRON: "0 0 1 1 *",
      },
      { schedules: true },
    );
    const deadline = Date.now() + 30_000;
    while ((await app.db.paper.count()) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await app.db.paper.count()).toBe(1);
    const home = await (await fetch(`${app.url}/`)).text();
    expect(home).toContain("Large Multimodal Models as General In-Context Classifiers");
  });

  it("when the papers cannot be fetched (no network), then the home page shows a neutral message, not a command", async () => {
    server = await startReplayServer();
    const closed = server.url; // nothing answers once closed
    await server.close();
    app = await startTestApp(
      { PAPERS_SOURCE: "huggingface", HF_API_URL: closed, ARXIV_API_URL: `${closed}/api/query` },
      { schedules: true },
    );
    const home = await (await fetch(`${app.url}/`)).text();
    expect(home).toContain("No papers to show yet");
    expect(home).not.toContain("npx newsletter");
    server = await startReplayServer();
  });
});

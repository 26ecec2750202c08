import { huggingFaceSource } from "../../src/papers/sources/huggingface";
import { arxivSource } from "../../src/papers/sources/arxiv";
import { jsonFileSource } from "../../src/papers/sources/file";
import { sampleSource } from "../../src/papers/sources/sample";
import { fixture, startReplayServer, type ReplayServer } from "../helpers/replay-server";
import path from "node:path";

/** Records the waits instead of sleeping, so backoff is checked without slowing the suite. */
function fakeSleep() {
  const waits: number[] = [];
  return {
    waits,
    sleep: (ms: number) => {
      waits.push(ms);
      return Promise.resolve();
    },
  };
}

describe("the Hugging Face source against a local replay server", () => {
  let server: ReplayServer;
  beforeEach(async () => {
    server = await startReplayServer();
  });
  afterEach(async () => {
    await server.close();
  });

  const hf = (extra: Parameters<typeof huggingFaceSource>[0] = {}) =>
    huggingFaceSource({ baseUrl: server.url, backoffMs: 10, retries: 3, ...extra });

  it("when a day spans two pages and a paper appears on both, then pages are read until empty and the paper comes once", async () => {
    server.reply("/api/daily_papers?date=2025-12-10&p=0", { body: fixture("hf-2025-12-10-p0.json") });
    server.reply("/api/daily_papers?date=2025-12-10&p=1", { body: fixture("hf-2025-12-10-p1.json") });
    server.reply("/api/daily_papers?date=2025-12-10&p=2", { body: "[]" });
    const { papers, skipped } = await hf().fetchDay("2025-12-10");
    expect(papers.map((p) => p.arxivId).sort()).toEqual(["2512.08801", "2512.08802", "2512.08803"]);
    expect(papers.find((p) => p.arxivId === "2512.08802")!.upvotes).toBe(5);
    expect(papers.every((p) => p.featuredOn === "2025-12-10")).toBe(true);
    expect(skipped).toHaveLength(3);
    expect(server.requests.map((r) => r.query.get("p"))).toEqual(["0", "1", "2"]);
    expect(server.requests[0]!.query.get("limit")).toBe("100");
  });

  it("when the day is a weekend with no papers, then the answer is empty and nothing fails", async () => {
    server.reply("/api/daily_papers?date=2025-12-06&p=0", { body: "[]" });
    await expect(hf().fetchDay("2025-12-06")).resolves.toEqual({ papers: [], skipped: [] });
    expect(server.requests).toHaveLength(1);
  });

  it("when the API answers 429 with Retry-After, then the source waits that long and tries again", async () => {
    const { waits, sleep } = fakeSleep();
    server.reply(
      "/api/daily_papers?date=2025-12-10&p=0",
      { status: 429, headers: { "retry-after": "2" }, body: '{"error":"rate limited"}' },
      { body: fixture("hf-2025-12-10-p0.json") },
    );
    server.reply("/api/daily_papers?date=2025-12-10&p=1", { body: "[]" });
    const { papers } = await hf({ sleep }).fetchDay("2025-12-10");
    expect(papers).toHaveLength(2);
    expect(waits).toEqual([2000]);
  });

  it("when Retry-After asks for longer than allowed, then the source fails at once with a clear error", async () => {
    const { waits, sleep } = fakeSleep();
    server.reply("/api/daily_papers?date=2025-12-10&p=0", { status: 429, headers: { "retry-after": "3600" } });
    await expect(hf({ sleep, maxRetryAfterMs: 60_000 }).fetchDay("2025-12-10")).rejects.toThrow(
      /429 with Retry-After 3600 s/,
    );
    expect(waits).toEqual([]);
  });

  it("when the API answers 500 twice, then it retries with growing backoff and succeeds", async () => {
    const { waits, sleep } = fakeSleep();
    server.reply(
      "/api/daily_papers?date=2025-12-10&p=0",
      { status: 500 },
      { status: 502 },
      { body: fixture("hf-2025-12-10-p0.json") },
    );
    server.reply("/api/daily_papers?date=2025-12-10&p=1", { body: "[]" });
    const { papers } = await hf({ sleep, backoffMs: 100 }).fetchDay("2025-12-10");
    expect(papers).toHaveLength(2);
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(75);
    expect(waits[1]).toBeGreaterThanOrEqual(150);
  });

  it("when the API keeps failing, then the error says how often it tried", async () => {
    const { sleep } = fakeSleep();
    server.reply("/api/daily_papers?date=2025-12-10&p=0", { status: 503 });
    await expect(hf({ sleep, retries: 2 }).fetchDay("2025-12-10")).rejects.toThrow(/answered 503 \(after 3 attempts\)/);
    expect(server.requests).toHaveLength(3);
  });

  it("when the API answers 404, then it is not retried", async () => {
    await expect(hf().fetchDay("2025-12-10")).rejects.toThrow(/answered 404/);
    expect(server.requests).toHaveLength(1);
  });

  it("when the answer is malformed JSON, then the source refuses it clearly", async () => {
    server.reply("/api/daily_papers?date=2025-12-10&p=0", { body: '[{"paper": {"id": "2512.0' });
    await expect(hf().fetchDay("2025-12-10")).rejects.toThrow(/malformed JSON for 2025-12-10 page 0/);
  });

  it("when the answer is JSON but not a list, then the source refuses it clearly", async () => {
    server.reply("/api/daily_papers?date=2025-12-10&p=0", { body: '{"error":"Invalid date"}' });
    await expect(hf().fetchDay("2025-12-10")).rejects.toThrow(/not an array of daily papers/);
  });

  it("when the server is too slow, then the attempt times out and is retried", async () => {
    const { sleep } = fakeSleep();
    server.reply("/api/daily_papers?date=2025-12-10&p=0", { delayMs: 2_000, body: "[]" }, { body: "[]" });
    const started = Date.now();
    await expect(hf({ sleep, timeoutMs: 200 }).fetchDay("2025-12-10")).resolves.toEqual({ papers: [], skipped: [] });
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(server.requests).toHaveLength(2);
  });
});

describe("the arXiv source against a local replay server", () => {
  let server: ReplayServer;
  beforeEach(async () => {
    server = await startReplayServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it("when results span two requests, then they are spaced by the minimum interval and versions are deduplicated", async () => {
    server.reply("/api/query?start=0", {
      body: fixture("arxiv-2025-12-09.xml"),
      headers: { "content-type": "application/atom+xml" },
    });
    server.reply("/api/query?start=2", {
      body: fixture("arxiv-2025-12-09-page2.xml"),
      headers: { "content-type": "application/atom+xml" },
    });
    const source = arxivSource({
      baseUrl: `${server.url}/api/query`,
      pageSize: 2,
      minIntervalMs: 1_000,
      backoffMs: 10,
    });
    const { papers } = await source.fetchDay("2025-12-09");
    expect(papers.map((p) => p.arxivId)).toEqual(["2512.09001", "2512.09002"]);
    expect(server.requests).toHaveLength(2);
    // Spacing is enforced when requests leave; their arrival times jitter under load (a first
    // request held up 125 ms on a busy machine failed a 300 ms interval checked at 250), so the
    // interval is long and the check loose: without the limiter the gap is a few ms.
    expect(server.requests[1]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(600);
    const query = server.requests[0]!.query.get("search_query")!;
    expect(query).toBe(
      "(cat:cs.LG OR cat:cs.CL OR cat:cs.CV OR cat:cs.AI OR cat:stat.ML) AND submittedDate:[202512090000 TO 202512092359]",
    );
    expect(server.requests[0]!.query.get("max_results")).toBe("2");
  });

  it("when two days are fetched back to back, then the interval holds across calls too", async () => {
    server.reply("/api/query?start=0", {
      body: '<feed xmlns="http://www.w3.org/2005/Atom"><totalResults>0</totalResults></feed>',
    });
    const source = arxivSource({ baseUrl: `${server.url}/api/query`, minIntervalMs: 1_000 });
    await source.fetchDay("2025-12-06");
    await source.fetchDay("2025-12-07");
    // Spacing is enforced when requests leave; their arrival times jitter under load (a first
    // request held up 125 ms on a busy machine failed a 300 ms interval checked at 250), so the
    // interval is long and the check loose: without the limiter the gap is a few ms.
    expect(server.requests[1]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(600);
  });

  it("when arXiv answers 500 then a feed, then the retry succeeds", async () => {
    const waits: number[] = [];
    server.reply("/api/query?start=0", { status: 500 }, { body: fixture("arxiv-2025-12-09.xml") });
    server.reply("/api/query?start=2", { body: fixture("arxiv-2025-12-09-page2.xml") });
    const source = arxivSource({
      baseUrl: `${server.url}/api/query`,
      minIntervalMs: 0,
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    });
    const { papers } = await source.fetchDay("2025-12-09");
    expect(papers.map((p) => p.arxivId)).toEqual(["2512.09001", "2512.09002"]);
    expect(waits.length).toBeGreaterThanOrEqual(1);
  });
});

describe("the file and sample sources", () => {
  it("when a JSON file in the Hugging Face shape is read, then each entry lands on its featured day", async () => {
    const source = jsonFileSource(path.join(__dirname, "..", "fixtures", "papers", "hf-2025-12-10-p0.json"));
    expect(await source.availableDays!()).toEqual(["2025-12-10"]);
    expect((await source.fetchDay("2025-12-10")).papers).toHaveLength(2);
    expect((await source.fetchDay("2025-12-11")).papers).toHaveLength(0);
  });

  it("when the file is missing, then the error names it", async () => {
    await expect(jsonFileSource("/nonexistent/papers.json").fetchDay("2025-12-10")).rejects.toThrow(
      /cannot read paper file \/nonexistent\/papers.json/,
    );
  });

  it("when the bundled sample is read, then its 32 papers are spread over several days with title-search links", async () => {
    const source = sampleSource();
    const days = await source.availableDays!();
    expect(days.length).toBeGreaterThan(1);
    const all = (await Promise.all(days.map((d) => source.fetchDay(d)))).flatMap((r) => r.papers);
    expect(all).toHaveLength(32);
    expect(all[0]!.url).toMatch(/^https:\/\/arxiv\.org\/search\/\?searchtype=title&query=/);
  });
});

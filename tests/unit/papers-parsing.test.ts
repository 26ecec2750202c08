import { expect } from "@jest/globals";
import fs from "node:fs";
import path from "node:path";
import { arxivIdOf, cleanText, dayOf, isDay, LIMITS, normalizePaper, safeUrl } from "../../src/papers/normalize";
import { parseDailyPapers, dedupeById } from "../../src/papers/sources/huggingface";
import { parseArxivFeed, minIntervalLimiter } from "../../src/papers/sources/arxiv";
import { parseRetryAfter } from "../../src/papers/http";
import { SourceError } from "../../src/papers/types";
import { parseSeed, toDailyPapers } from "../../scripts/build-sample-papers";
import { fixture } from "../helpers/replay-server";

describe("normalising untrusted paper fields", () => {
  it("when an arXiv id carries a version or a URL, then only the bare id is kept", () => {
    expect(arxivIdOf("2401.12345v3")).toBe("2401.12345");
    expect(arxivIdOf("http://arxiv.org/abs/2512.09001v1")).toBe("2512.09001");
    expect(arxivIdOf("hep-th/9901001v2")).toBe("hep-th/9901001");
    expect(arxivIdOf("not-an-id")).toBeNull();
    expect(arxivIdOf("2401.123")).toBeNull();
  });

  it("when a field is overlong or full of control characters, then it is cut and cleaned", () => {
    const cut = cleanText("x".repeat(LIMITS.title + 50), LIMITS.title);
    expect(cut).toHaveLength(LIMITS.title);
    expect(cut.endsWith("…")).toBe(true);
    expect(cleanText("  a\u0000b \n\t c  ", 100)).toBe("ab c");
    expect(cleanText(42, 10)).toBe("");
  });

  it("when text hides bidirectional overrides, zero-width or C1 characters, then they are stripped", () => {
    expect(cleanText("Safe\u202eTitle\u202c with\u200b zero\u200dwidth\u2066 and\u0085 C1\ufeff", 100)).toBe(
      "SafeTitle with zerowidth and C1",
    );
  });

  it("when a title holds a MIME encoded-word, then it is made inert and other text is untouched", () => {
    const made = normalizePaper({
      arxivId: "2401.00001",
      title: "=?utf-8?B?SGFja2Vk?= and =?ISO-8859-1?q?caf=E9?= but a=?b stays",
      abstract: "",
      authors: [],
      arxivDate: null,
      featuredOn: "2025-12-10",
      upvotes: 1,
      keywords: [],
      url: "",
    });
    expect("paper" in made && made.paper.title).toBe(
      "= ?utf-8?B?SGFja2Vk?= and = ?ISO-8859-1?q?caf=E9?= but a=?b stays",
    );
  });

  it("when a day is outside what PostgreSQL holds (year 0000), then it is not a day", () => {
    expect(isDay("0000-01-01")).toBe(false);
    expect(isDay("0001-01-01")).toBe(false);
    expect(isDay("1900-01-01")).toBe(true);
    expect(isDay("9999-12-31")).toBe(false);
  });

  it("when a link is not http(s), then it is dropped", () => {
    expect(safeUrl("javascript:alert(1)")).toBeNull();
    expect(safeUrl("data:text/html,hi")).toBeNull();
    expect(safeUrl("/relative")).toBeNull();
    expect(safeUrl("https://github.com/x/y")).toBe("https://github.com/x/y");
  });

  it("when dates come as timestamps or impossible days, then days are read or refused", () => {
    expect(isDay("2025-02-29")).toBe(false);
    expect(isDay("2024-02-29")).toBe(true);
    expect(dayOf("2025-12-10T01:12:00.000Z")).toBe("2025-12-10");
    expect(dayOf("yesterday")).toBeNull();
  });

  it("when a record has no title, then it is refused with a reason naming it", () => {
    const result = normalizePaper({
      arxivId: "2401.00001",
      title: " ",
      abstract: "",
      authors: [],
      arxivDate: null,
      featuredOn: "2024-01-02",
      upvotes: 1,
      keywords: [],
      url: "",
    });
    expect(result).toEqual({ reason: "2401.00001: no title" });
  });

  it("when upvotes are negative, fractional or not numbers, then they become a sane count", () => {
    const base = {
      arxivId: "2401.00001",
      title: "T",
      abstract: "",
      authors: [{ name: "A" }, "B", null],
      arxivDate: null,
      featuredOn: "2024-01-02",
      keywords: [],
      url: "",
    };
    const paper = (upvotes: unknown) =>
      (normalizePaper({ ...base, upvotes }) as { paper: { upvotes: number; authors: string[] } }).paper;
    expect(paper(-3).upvotes).toBe(0);
    expect(paper(7.9).upvotes).toBe(7);
    expect(paper("12").upvotes).toBe(0);
    expect(paper(1).authors).toEqual(["A", "B"]);
  });
});

describe("parsing Hugging Face daily papers", () => {
  it("when a page holds good, broken and hostile records, then good ones are kept and broken ones reported", () => {
    const { papers, skipped } = parseDailyPapers(JSON.parse(fixture("hf-2025-12-10-p1.json")), {
      featuredOn: "2025-12-10",
    });
    expect(papers.map((p) => p.arxivId)).toEqual(["2512.08802", "2512.08803"]);
    expect(skipped.map((s) => s.reason)).toEqual([
      "no valid arXiv id",
      "2512.08804: no title",
      "entry without a paper object",
    ]);
    const hostile = papers[1]!;
    expect(hostile.projectUrl).toBeNull();
    // Markup is kept as text: escaping is the job of every place that shows it.
    expect(hostile.title).toContain("<script>");
    expect(hostile.authors).toHaveLength(3);
  });

  it("when one record's title is an object that cannot become text, then only that record is skipped", () => {
    const good = { paper: { id: "2512.00001", title: "Good paper", upvotes: 3 }, publishedAt: "2025-12-10" };
    const bad = {
      paper: { id: "2512.00002", title: { toString: 1, valueOf: 2 }, upvotes: 9 },
      publishedAt: "2025-12-10",
    };
    const numeric = { paper: { id: "2512.00003", title: 12345, upvotes: 1 }, publishedAt: "2025-12-10" };
    const result = parseDailyPapers(JSON.parse(JSON.stringify([bad, good, numeric])), { featuredOn: "2025-12-10" });
    expect(result.papers.map((p) => p.arxivId)).toEqual(["2512.00001"]);
    expect(result.skipped).toHaveLength(2);
  });

  it("when the fields are complete, then every one is mapped", () => {
    const [paper] = parseDailyPapers(JSON.parse(fixture("hf-2025-12-10-p0.json"))).papers;
    expect(paper).toEqual({
      arxivId: "2512.08801",
      title: "Neural Network-Based Score Estimation in Diffusion Models",
      abstract: expect.stringContaining("score matching"),
      authors: ["Ada Lovelace", "Alan Turing"],
      arxivDate: "2025-12-08",
      featuredOn: "2025-12-10",
      upvotes: 12,
      keywords: ["diffusion models", "score matching", "neural tangent kernel"],
      url: "https://huggingface.co/papers/2512.08801",
      pdfUrl: "https://arxiv.org/pdf/2512.08801",
      githubUrl: "https://github.com/example/score-estimation",
      projectUrl: null,
      aiSummary: "Score matching analysed as kernel regression.",
      thumbnailUrl: "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2512.08801.png",
      githubStars: null,
      comments: 2,
      organization: null,
      categories: [],
      curated: true,
    });
  });

  it("when the answer has the current shape, then the paper is on its submittedOnDailyAt day with every field", () => {
    const entries = JSON.parse(fixture("hf-current-shape.json")) as unknown[];
    // The outer publishedAt is the arXiv time (26 Feb); the list day is submittedOnDailyAt (6 Mar).
    const { papers, skipped } = parseDailyPapers(entries);
    expect(skipped).toEqual([]);
    expect(papers[0]).toEqual({
      arxivId: "2602.23229",
      title: "Large Multimodal Models as General In-Context Classifiers",
      abstract: expect.stringMatching(
        /^Which multimodal model should we use for classification\?.*specialized models\.$/,
      ),
      authors: ["Marco Garosi", "Matteo Farina", "Alessandro Conti", "Massimiliano Mancini", "Elisa Ricci"],
      arxivDate: "2026-02-26",
      featuredOn: "2026-03-06",
      upvotes: 10,
      keywords: expect.arrayContaining(["Large Multimodal Models", "in-context learning"]),
      url: "https://huggingface.co/papers/2602.23229",
      pdfUrl: "https://arxiv.org/pdf/2602.23229",
      githubUrl: "https://github.com/marco-garosi/CIRCLE",
      projectUrl: "https://circle-lmm.github.io/",
      aiSummary: expect.stringMatching(/^Large Multimodal Models demonstrate superior performance/),
      thumbnailUrl: "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2602.23229.png",
      githubStars: 9,
      comments: 1,
      organization: "Multimedia and Human Understanding Group",
      categories: [],
      curated: true,
    });
  });

  it("when authors are hidden on Hugging Face, then they are dropped; an http thumbnail is dropped too", () => {
    const [entry] = JSON.parse(fixture("hf-current-shape.json")) as {
      paper: { authors: { hidden: boolean }[] };
      thumbnail: string;
    }[];
    entry!.paper.authors[1]!.hidden = true;
    entry!.thumbnail = "http://insecure.example/t.png";
    const [paper] = parseDailyPapers([entry]).papers;
    expect(paper!.authors).toEqual(["Marco Garosi", "Alessandro Conti", "Massimiliano Mancini", "Elisa Ricci"]);
    expect(paper!.thumbnailUrl).toBeNull();
  });

  it("when the answer is not an array, then it is refused with a clear error", () => {
    expect(() => parseDailyPapers({ error: "Invalid date" })).toThrow(/not an array of daily papers.*Invalid date/);
    expect(() => parseDailyPapers(null)).toThrow(SourceError);
  });

  it("when one paper appears twice, then it is kept once with the higher upvote count", () => {
    const [a] = parseDailyPapers(JSON.parse(fixture("hf-2025-12-10-p0.json"))).papers;
    expect(dedupeById([a!, { ...a!, upvotes: 40 }, { ...a!, upvotes: 2 }])).toEqual([{ ...a!, upvotes: 40 }]);
  });
});

describe("parsing arXiv Atom", () => {
  it("when a feed has entries, then ids lose their version and text is unwrapped", () => {
    const result = parseArxivFeed(fixture("arxiv-2025-12-09.xml"), "2025-12-09");
    expect(result.total).toBe(3);
    expect(result.entries).toBe(2);
    expect(result.papers[0]).toMatchObject({
      arxivId: "2512.09001",
      title: "Challenging Common Assumptions about Catastrophic Forgetting",
      authors: ["Timothée Lesort", "Oleksiy Ostapenko"],
      arxivDate: "2025-12-09",
      featuredOn: "2025-12-09",
      upvotes: 0,
      url: "https://arxiv.org/abs/2512.09001",
      pdfUrl: "http://arxiv.org/pdf/2512.09001v1",
    });
    expect(result.papers[0]!.abstract).toMatch(/^Building .* past data & this is catastrophic forgetting\.$/);
  });

  it("when arXiv reports a query error, then the source fails with its message", () => {
    expect(() => parseArxivFeed(fixture("arxiv-error.xml"), "2025-12-09")).toThrow(
      /arXiv refused the query: incorrect id format/,
    );
  });

  it("when the XML is malformed, then the source fails clearly", () => {
    expect(() => parseArxivFeed("<feed><entry></feed>", "2025-12-09")).toThrow(/malformed XML/);
    expect(() => parseArxivFeed("<html><body>Service unavailable</body></html>", "2025-12-09")).toThrow(
      /not an Atom feed/,
    );
  });
});

describe("timing helpers", () => {
  it("when Retry-After is seconds or a date, then it becomes milliseconds", () => {
    expect(parseRetryAfter("2")).toBe(2000);
    expect(parseRetryAfter(new Date(10_000 + 5_000).toUTCString(), 10_000)).toBe(5000);
    expect(parseRetryAfter("soon")).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
  });

  it("when three calls share the arXiv limiter, then each waits for the interval after the previous one", async () => {
    let clock = 0;
    const waits: number[] = [];
    const sleep = (ms: number) => {
      waits.push(ms);
      clock += ms;
      return Promise.resolve();
    };
    const limit = minIntervalLimiter(3_000, sleep, () => clock);
    await Promise.all([limit(), limit(), limit()]);
    expect(waits).toEqual([3_000, 3_000]);
  });
});

describe("the bundled sample", () => {
  const seedText = fs.readFileSync(
    path.join(__dirname, "..", "..", "src", "papers", "sources", "sample-seed.txt"),
    "utf8",
  );

  it("when the seed page is parsed, then its 32 papers come with author counts, dates and upvotes as shown", () => {
    const seed = parseSeed(seedText);
    expect(seed).toHaveLength(32);
    expect(seed[0]).toMatchObject({
      title: "Neural Network-Based Score Estimation in Diffusion Models: Optimization and Generalization",
      authorCount: 3,
      arxivDate: "2024-01-28",
      upvotes: 0,
    });
    expect(seed.find((p) => p.title.startsWith("MMaDA"))).toMatchObject({
      authorCount: 7,
      arxivDate: "2025-05-21",
      upvotes: 6,
    });
    expect(seed.find((p) => p.title.startsWith("Efficient Personalization"))).toMatchObject({
      arxivDate: "2025-03-18",
      upvotes: 2,
    });
  });

  it("when the committed sample file is compared with the seed, then it is up to date", () => {
    const committed = JSON.parse(
      fs.readFileSync(path.join(__dirname, "..", "..", "src", "papers", "sources", "sample-papers.json"), "utf8"),
    ) as { publishedAt: string }[];
    expect(committed).toEqual(toDailyPapers(parseSeed(seedText)));
    const days = new Set(committed.map((e) => e.publishedAt.slice(0, 10)));
    expect(days.size).toBeGreaterThan(1);
  });
});

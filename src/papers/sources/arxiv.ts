/**
 * arXiv API (Atom): the papers submitted on day D in the chosen categories. arXiv asks for at most
 * one request every 3 seconds; the source enforces it across all its calls. Ids are kept without
 * version and deduplicated (a paper cross-listed in two categories comes once).
 */
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { defaultSleep, getText, type HttpRetryOptions } from "../http";
import { arxivIdOf, excerpt, normalizePaper } from "../normalize";
import { SourceError, type DayResult, type NormalizedPaper, type PaperSource, type SkippedRecord } from "../types";
import { dedupeById } from "./huggingface";

export const ARXIV_DEFAULT_URL = "https://export.arxiv.org/api/query";
export const ARXIV_DEFAULT_CATEGORIES = ["cs.LG", "cs.CL", "cs.CV", "cs.AI", "stat.ML"];

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
  isArray: (name) => ["entry", "author", "link", "category"].includes(name),
});

type AtomEntry = Record<string, unknown> & {
  link?: { "@_href"?: string; "@_title"?: string; "@_rel"?: string }[];
  author?: { name?: unknown }[];
  primary_category?: { "@_term"?: string };
  category?: { "@_term"?: string }[];
};

/** An entry's categories, the primary one first. */
const categoriesOf = (entry: AtomEntry): string[] =>
  [entry.primary_category?.["@_term"], ...(entry.category ?? []).map((c) => c?.["@_term"])].filter(
    (c): c is string => typeof c === "string" && c.length > 0,
  );

const text = (v: unknown): string =>
  typeof v === "string" ? v : typeof v === "object" && v && "#text" in v ? String(v["#text"]) : "";

/** The feed of a well-formed Atom answer and its entries; a malformed answer or an API error is thrown. */
function readFeed(xml: string): { feed: Record<string, unknown>; entries: AtomEntry[] } {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new SourceError(`arXiv answered malformed XML: ${valid.err.msg} (line ${valid.err.line})`);
  const doc = parser.parse(xml) as { feed?: Record<string, unknown> };
  const feed = doc.feed;
  if (!feed || typeof feed !== "object")
    throw new SourceError(`arXiv answer is not an Atom feed: ${excerpt(xml, 120)}`);
  const entries = (feed.entry as AtomEntry[] | undefined) ?? [];
  // The API reports a bad query as a single entry whose id is an error page.
  const apiError = entries.find((e) => text(e.id).includes("/api/errors"));
  if (apiError) throw new SourceError(`arXiv refused the query: ${text(apiError.summary) || text(apiError.title)}`);
  return { feed, entries };
}

function paperOfEntry(entry: AtomEntry, day: string): ReturnType<typeof normalizePaper> {
  const arxivId = arxivIdOf(text(entry.id));
  const links = entry.link ?? [];
  return normalizePaper({
    arxivId,
    title: text(entry.title),
    abstract: text(entry.summary),
    authors: (entry.author ?? []).map((a) => text(a?.name)),
    arxivDate: text(entry.published),
    featuredOn: day,
    upvotes: 0,
    keywords: [],
    url: arxivId ? `https://arxiv.org/abs/${arxivId}` : "",
    pdfUrl:
      links.find((l) => l["@_title"] === "pdf")?.["@_href"] ?? (arxivId ? `https://arxiv.org/pdf/${arxivId}` : null),
    categories: categoriesOf(entry),
  });
}

/** Parses one Atom answer into papers featured on `day`, plus the feed's total count. */
export function parseArxivFeed(xml: string, day: string): DayResult & { total: number; entries: number } {
  const { feed, entries } = readFeed(xml);
  const papers: NormalizedPaper[] = [];
  const skipped: SkippedRecord[] = [];
  for (const entry of entries) {
    const result = paperOfEntry(entry, day);
    if ("reason" in result) skipped.push({ reason: result.reason, raw: excerpt(entry) });
    else papers.push(result.paper);
  }
  const total = Number.parseInt(text(feed.totalResults), 10);
  return {
    papers,
    skipped,
    total: Number.isFinite(total) ? total : papers.length + skipped.length,
    entries: entries.length,
  };
}

/** Spaces calls at least `intervalMs` apart, however many callers share it. */
export function minIntervalLimiter(intervalMs: number, sleep = defaultSleep, now = () => Date.now()) {
  let next = 0;
  let chain: Promise<void> = Promise.resolve();
  return () => {
    const turn = chain.then(async () => {
      const wait = next - now();
      if (wait > 0) await sleep(wait);
      next = now() + intervalMs;
    });
    chain = turn.catch(() => undefined);
    return turn;
  };
}

export interface ArxivSourceOptions extends HttpRetryOptions {
  /** The API endpoint (ARXIV_API_URL). Default https://export.arxiv.org/api/query. */
  baseUrl?: string;
  /** Default cs.LG, cs.CL, cs.CV, cs.AI, stat.ML. */
  categories?: string[];
  /** Results per request. Default 200. */
  pageSize?: number;
  /** Stop after this many requests for one day. Default 20. */
  maxPages?: number;
  /** Least time between two requests. Default 3 000 ms (arXiv's terms of use). */
  minIntervalMs?: number;
}

export function arxivSource(opts: ArxivSourceOptions = {}): PaperSource {
  const base = opts.baseUrl ?? ARXIV_DEFAULT_URL;
  const categories = opts.categories ?? ARXIV_DEFAULT_CATEGORIES;
  const pageSize = opts.pageSize ?? 200;
  const maxPages = opts.maxPages ?? 20;
  const throttle = minIntervalLimiter(opts.minIntervalMs ?? 3_000, opts.sleep);
  return {
    name: "arxiv",
    async fetchDay(day) {
      const compact = day.replaceAll("-", "");
      const query = `(${categories.map((c) => `cat:${c}`).join(" OR ")}) AND submittedDate:[${compact}0000 TO ${compact}2359]`;
      const papers: NormalizedPaper[] = [];
      const skipped: SkippedRecord[] = [];
      for (let page = 0, start = 0; page < maxPages; page++) {
        const params = new URLSearchParams({
          search_query: query,
          sortBy: "submittedDate",
          sortOrder: "descending",
          start: String(start),
          max_results: String(pageSize),
        });
        await throttle();
        const result = parseArxivFeed(await getText(`${base}?${params.toString()}`, opts), day);
        papers.push(...result.papers);
        skipped.push(...result.skipped);
        start += result.entries;
        if (result.entries === 0 || start >= result.total) break;
      }
      return { papers: dedupeById(papers), skipped };
    },
  };
}

/**
 * The arXiv categories of many papers in one request (`id_list=a,b,c`): Hugging Face does not
 * give them, and topic matching uses them. At most `batch` ids per request (default 100), each
 * request spaced like every other arXiv call. Ids arXiv does not know are simply absent.
 */
export async function fetchArxivCategories(
  ids: string[],
  opts: ArxivSourceOptions & { batch?: number; throttle?: () => Promise<void> } = {},
): Promise<Map<string, string[]>> {
  const base = opts.baseUrl ?? ARXIV_DEFAULT_URL;
  const batch = opts.batch ?? 100;
  const throttle = opts.throttle ?? minIntervalLimiter(opts.minIntervalMs ?? 3_000, opts.sleep);
  const found = new Map<string, string[]>();
  const unique = [...new Set(ids.filter((id) => arxivIdOf(id) === id))];
  for (let i = 0; i < unique.length; i += batch) {
    const chunk = unique.slice(i, i + batch);
    const params = new URLSearchParams({ id_list: chunk.join(","), max_results: String(chunk.length) });
    await throttle();
    addCategories(found, await getText(`${base}?${params.toString()}`, opts));
  }
  return found;
}

/** Adds the categories of each entry of an `id_list` answer to `found`. */
function addCategories(found: Map<string, string[]>, xml: string): void {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new SourceError(`arXiv answered malformed XML: ${valid.err.msg}`);
  const entries = (parser.parse(xml) as { feed?: { entry?: AtomEntry[] } }).feed?.entry ?? [];
  for (const entry of entries) {
    const id = arxivIdOf(text(entry.id));
    const categories = categoriesOf(entry);
    if (id && categories.length) found.set(id, [...new Set(categories)]);
  }
}

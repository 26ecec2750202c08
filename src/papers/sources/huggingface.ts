/**
 * Hugging Face Daily Papers: GET {base}/api/daily_papers?date=D&limit=100&p=N, pages until an
 * empty one. The answer is an array of { paper: { id, title, summary, authors: [{ name, hidden }],
 * publishedAt (arXiv), submittedOnDailyAt (the day it was listed), upvotes, ai_summary?,
 * ai_keywords?, githubRepo?, githubStars?, projectPage?, organization? }, publishedAt, thumbnail,
 * numComments, organization? } (tests/fixtures/papers/hf-current-shape.json is a recorded entry).
 * The listed day is `paper.submittedOnDailyAt`: the outer `publishedAt` is now the arXiv time.
 */
import { getText, type HttpRetryOptions } from "../http";
import { arxivIdOf, dayOf, excerpt, normalizePaper } from "../normalize";
import { SourceError, type DayResult, type NormalizedPaper, type PaperSource, type SkippedRecord } from "../types";

export const HF_DEFAULT_URL = "https://huggingface.co";

export interface ParseOptions {
  /** The day asked for (the API's `date=`): used for entries without `submittedOnDailyAt`. */
  featuredOn?: string;
  /** Ids the source accepts besides arXiv ones (the bundled sample uses `sample-NN`). */
  extraId?: RegExp;
  /** The link of a paper; default its Hugging Face paper page. */
  linkFor?: (id: string, title: string) => string;
}

const hfLink = (id: string) => `${HF_DEFAULT_URL}/papers/${id}`;

type Entry = { paper?: Record<string, unknown>; publishedAt?: unknown; organization?: unknown } | null;

/**
 * The day an entry was listed on Daily Papers: `paper.submittedOnDailyAt` first; then the day
 * asked for; the outer `publishedAt` only for older answers that had neither.
 */
export function featuredDayOf(entry: unknown, askedFor?: string): string | null {
  const e = entry as Entry;
  return dayOf(e?.paper?.submittedOnDailyAt) ?? askedFor ?? dayOf(e?.publishedAt);
}

const nameOf = (o: unknown): unknown =>
  o && typeof o === "object" ? ((o as { fullname?: unknown }).fullname ?? (o as { name?: unknown }).name) : undefined;

/** Authors as shown: the ones Hugging Face marks hidden are not shown there, nor here. */
const visibleAuthors = (authors: unknown): unknown =>
  Array.isArray(authors)
    ? authors.filter((a) => !(a && typeof a === "object" && (a as { hidden?: unknown }).hidden === true))
    : authors;

/** Parses one answer (already JSON-decoded). Not an array: the whole answer is refused. */
export function parseDailyPapers(json: unknown, opts: ParseOptions = {}): DayResult {
  if (!Array.isArray(json)) {
    throw new SourceError(
      `Hugging Face answer is not an array of daily papers (got ${json === null ? "null" : typeof json}: ${excerpt(json, 120)})`,
    );
  }
  const papers: NormalizedPaper[] = [];
  const skipped: SkippedRecord[] = [];
  for (const entry of json) {
    // One odd record is skipped and reported; it never costs the day's other papers.
    try {
      const result = parseEntry(entry, opts);
      if ("reason" in result) skipped.push({ reason: result.reason, raw: excerpt(entry) });
      else papers.push(result.paper);
    } catch (err) {
      skipped.push({ reason: `unreadable entry: ${(err as Error).message.slice(0, 200)}`, raw: excerpt(entry) });
    }
  }
  return { papers, skipped };
}

type EntryFields = { title?: unknown; summary?: unknown; thumbnail?: unknown; numComments?: unknown };

/** The paper's page (Hugging Face's, or `linkFor`'s) and, for an arXiv id, its PDF. */
function linksOf(arxivId: string | null, title: unknown, opts: ParseOptions) {
  return {
    url: arxivId ? (opts.linkFor ?? hfLink)(arxivId, typeof title === "string" ? title : "") : "",
    pdfUrl: arxivId && !opts.extraId?.test(arxivId) ? `https://arxiv.org/pdf/${arxivId}` : null,
  };
}

/** What the entry around the paper says about it (some fields moved between the two over time). */
function entryExtras(entry: unknown, paper: Record<string, unknown>) {
  const e = entry as EntryFields | null;
  return {
    thumbnailUrl: e?.thumbnail,
    comments: e?.numComments ?? paper.numComments,
    organization: nameOf(paper.organization) ?? nameOf((entry as Entry)?.organization),
  };
}

function parseEntry(entry: unknown, opts: ParseOptions): ReturnType<typeof normalizePaper> {
  const paper = (entry as { paper?: Record<string, unknown> } | null)?.paper;
  if (!paper || typeof paper !== "object") return { reason: "entry without a paper object" };
  const rawId = typeof paper.id === "string" ? paper.id.trim() : "";
  const arxivId = arxivIdOf(rawId) ?? (opts.extraId?.test(rawId) ? rawId : null);
  const title = paper.title ?? (entry as EntryFields).title;
  return normalizePaper({
    arxivId,
    title,
    abstract: paper.summary ?? (entry as EntryFields).summary,
    authors: visibleAuthors(paper.authors),
    arxivDate: paper.publishedAt,
    featuredOn: featuredDayOf(entry, opts.featuredOn),
    upvotes: paper.upvotes,
    keywords: paper.ai_keywords,
    ...linksOf(arxivId, title, opts),
    githubUrl: paper.githubRepo,
    projectUrl: paper.projectPage,
    aiSummary: paper.ai_summary,
    githubStars: paper.githubStars,
    ...entryExtras(entry, paper),
    curated: true,
  });
}

/** Keeps the first of each arXiv id (a paper can appear on two pages while the list shifts). */
export function dedupeById(papers: NormalizedPaper[]): NormalizedPaper[] {
  const seen = new Map<string, NormalizedPaper>();
  for (const p of papers) {
    const prior = seen.get(p.arxivId);
    // The later copy may carry fresher upvotes: keep the higher count.
    if (!prior) seen.set(p.arxivId, p);
    else if (p.upvotes > prior.upvotes) seen.set(p.arxivId, { ...prior, upvotes: p.upvotes });
  }
  return [...seen.values()];
}

export interface HuggingFaceSourceOptions extends HttpRetryOptions {
  /** Base URL (HF_API_URL). Default https://huggingface.co. */
  baseUrl?: string;
  /** Papers per page. Default 100. */
  pageSize?: number;
  /** Safety stop for a server that never answers an empty page. Default 20. Pages are read
   * until an empty one rather than until a short one, because the API may cap `limit` below ours. */
  maxPages?: number;
  /** The clock (tests). Hugging Face answers 400 for a day after today in UTC: such a day is not asked. */
  now?: () => Date;
}

export function huggingFaceSource(opts: HuggingFaceSourceOptions = {}): PaperSource {
  const base = (opts.baseUrl ?? HF_DEFAULT_URL).replace(/\/+$/, "");
  const pageSize = opts.pageSize ?? 100;
  const maxPages = opts.maxPages ?? 20;
  return {
    name: "huggingface",
    async fetchDay(day) {
      const todayUtc = (opts.now?.() ?? new Date()).toISOString().slice(0, 10);
      if (day > todayUtc)
        return {
          papers: [],
          skipped: [],
          notice: `${day} has not begun in UTC (today there is ${todayUtc}): Hugging Face was not asked`,
        };
      const papers: NormalizedPaper[] = [];
      const skipped: SkippedRecord[] = [];
      for (let page = 0; page < maxPages; page++) {
        const url = `${base}/api/daily_papers?date=${encodeURIComponent(day)}&limit=${pageSize}&p=${page}`;
        const body = await getText(url, opts);
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch (err) {
          throw new SourceError(
            `Hugging Face answered malformed JSON for ${day} page ${page}: ${(err as Error).message}`,
            { cause: err },
          );
        }
        // An entry without submittedOnDailyAt belongs to the day asked for.
        const result = parseDailyPapers(json, { featuredOn: day });
        if ((json as unknown[]).length === 0) break;
        papers.push(...result.papers);
        skipped.push(...result.skipped);
      }
      return { papers: dedupeById(papers), skipped };
    },
  };
}

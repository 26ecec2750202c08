/**
 * Content from sources is untrusted: everything that reaches the database passes through here.
 * Text is trimmed, control, bidirectional-override and zero-width characters are removed (they
 * can hide or reorder what a reader sees, in a page or a Subject line), a title cannot carry a MIME
 * encoded-word (`=?utf-8?B?...?=` would be decoded by mail programs when the title reaches a
 * Subject), overlong fields are cut, links must be http(s)
 * (an `href` of `javascript:` would survive HTML escaping), and a record without an id, title or
 * valid day is refused with a reason.
 */
import type { NormalizedPaper } from "./types";

export const LIMITS = {
  title: 300,
  abstract: 5_000,
  authorName: 200,
  authors: 1_000,
  keyword: 100,
  keywords: 30,
  url: 2_000,
} as const;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The days the product can hold: any real day from 1900 to 9998. JavaScript reads year 0000 and
 * PostgreSQL does not (there is no year 0), and a weekly digest reaches six days back and a listing
 * one day forward, so both ends keep a margin: an address like /papers/0000-01-01 is a 404, not a 500.
 */
export const FIRST_DAY = "1900-01-01";
export const LAST_DAY = "9998-12-31";

/** True for a real calendar day written YYYY-MM-DD, between FIRST_DAY and LAST_DAY. */
export function isDay(value: unknown): boolean {
  if (typeof value !== "string" || !DAY.test(value) || value < FIRST_DAY || value > LAST_DAY) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

/** The YYYY-MM-DD of an ISO timestamp (UTC), or null when it is not one. */
export function dayOf(value: unknown): string | null {
  if (typeof value !== "string" || value.length > 64) return null;
  if (isDay(value)) return value;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString().slice(0, 10);
}

/**
 * Invisible characters nobody types in a title or an abstract: C0 and C1 controls (tab and line
 * breaks become spaces below), bidirectional marks, embeddings, overrides and isolates, and
 * zero-width characters (spaces, joiners, word joiner, invisible operators, byte-order mark).
 */
const INVISIBLE =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g;

/** Collapses whitespace, strips invisible characters and cuts to `max` characters (with an ellipsis). */
export function cleanText(value: unknown, max: number): string {
  if (typeof value !== "string") return "";
  const text = value.replace(INVISIBLE, "").replace(/\s+/g, " ").trim();
  if (text.length <= max) return text;
  return `${text.slice(0, max - 1).trimEnd()}…`;
}

/**
 * A title with its MIME encoded-words made inert: `=?charset?B|Q?text?=` becomes `= ?charset?...`,
 * which reads the same to a person and is never decoded by a mail program.
 */
export function neutraliseEncodedWords(title: string): string {
  return title.replace(/=\?(?=[^?\s]*\?[bq]\?)/gi, "= ?");
}

/** An http(s) URL or null: anything else (javascript:, data:, relative) is dropped. */
export function safeUrl(value: unknown): string | null {
  if (typeof value !== "string" || value.length > LIMITS.url) return null;
  try {
    const url = new URL(value.trim());
    return url.protocol === "http:" || url.protocol === "https:" ? url.toString() : null;
  } catch {
    return null;
  }
}

const NEW_STYLE = /^(\d{4}\.\d{4,5})(v\d+)?$/;
const OLD_STYLE = /^([a-z-]+(?:\.[A-Z]{2})?\/\d{7})(v\d+)?$/;

/**
 * The arXiv id without version ("2401.12345v2" → "2401.12345"), from a bare id or an
 * arxiv.org/abs/ URL; null when it is not an arXiv id.
 */
export function arxivIdOf(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const bare = value
    .trim()
    .replace(/^https?:\/\/(?:export\.)?arxiv\.org\/(?:abs|pdf)\//, "")
    .replace(/\.pdf$/, "");
  const m = NEW_STYLE.exec(bare) ?? OLD_STYLE.exec(bare);
  return m ? m[1]! : null;
}

/** A short excerpt of a raw record, for skip reports (never the whole, possibly huge, thing). */
export function excerpt(raw: unknown, max = 300): string {
  let text: string;
  try {
    text = typeof raw === "string" ? raw : (JSON.stringify(raw) ?? String(raw));
  } catch {
    text = String(raw);
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export interface RawPaperFields {
  arxivId: string | null;
  title: unknown;
  abstract: unknown;
  authors: unknown;
  arxivDate: unknown;
  featuredOn: unknown;
  upvotes: unknown;
  keywords: unknown;
  url: string;
  pdfUrl?: unknown;
  githubUrl?: unknown;
  projectUrl?: unknown;
  aiSummary?: unknown;
  thumbnailUrl?: unknown;
  githubStars?: unknown;
  comments?: unknown;
  organization?: unknown;
  categories?: unknown;
  curated?: boolean;
}

/** A non-negative whole count, or null when the source gave none. */
function count(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) && value >= 0
    ? Math.min(Math.floor(value), 2_000_000_000)
    : null;
}

/** An https URL or null: images go into emails, where plain http is blocked or flagged. */
export function httpsUrl(value: unknown): string | null {
  const url = safeUrl(value);
  return url?.startsWith("https://") ? url : null;
}

const CATEGORY = /^[a-z-]+(?:\.[A-Za-z-]+)?$/;

/** Author names, given as strings or as `{ name }` records. */
function authorsOf(authors: unknown): string[] {
  if (!Array.isArray(authors)) return [];
  return authors
    .slice(0, LIMITS.authors)
    .map((a) => cleanText(typeof a === "string" ? a : (a as { name?: unknown } | null)?.name, LIMITS.authorName))
    .filter(Boolean);
}

function keywordsOf(keywords: unknown): string[] {
  if (!Array.isArray(keywords)) return [];
  return [...new Set(keywords.map((k) => cleanText(k, LIMITS.keyword)).filter(Boolean))].slice(0, LIMITS.keywords);
}

function upvotesOf(upvotes: unknown): number {
  return typeof upvotes === "number" && Number.isFinite(upvotes) && upvotes > 0
    ? Math.min(Math.floor(upvotes), 2_000_000_000)
    : 0;
}

function categoriesOf(categories: unknown): string[] {
  if (!Array.isArray(categories)) return [];
  return [...new Set(categories.map((c) => cleanText(c, 40)).filter((c) => CATEGORY.test(c)))].slice(0, 20);
}

/** Builds a NormalizedPaper, or says why the record cannot be one. */
export function normalizePaper(raw: RawPaperFields): { paper: NormalizedPaper } | { reason: string } {
  if (!raw.arxivId) return { reason: "no valid arXiv id" };
  const title = neutraliseEncodedWords(cleanText(raw.title, LIMITS.title));
  if (!title) return { reason: `${raw.arxivId}: no title` };
  const featuredOn = dayOf(raw.featuredOn);
  if (!featuredOn) return { reason: `${raw.arxivId}: no valid featured day` };
  const authors = authorsOf(raw.authors);
  const keywords = keywordsOf(raw.keywords);
  const upvotes = upvotesOf(raw.upvotes);
  return {
    paper: {
      arxivId: raw.arxivId,
      title,
      abstract: cleanText(raw.abstract, LIMITS.abstract),
      authors,
      arxivDate: dayOf(raw.arxivDate),
      featuredOn,
      upvotes,
      keywords,
      url: safeUrl(raw.url) ?? `https://arxiv.org/abs/${raw.arxivId}`,
      pdfUrl: safeUrl(raw.pdfUrl),
      githubUrl: safeUrl(raw.githubUrl),
      projectUrl: safeUrl(raw.projectUrl),
      aiSummary: cleanText(raw.aiSummary, 1_000) || null,
      thumbnailUrl: httpsUrl(raw.thumbnailUrl),
      githubStars: count(raw.githubStars),
      comments: count(raw.comments),
      organization: cleanText(raw.organization, LIMITS.authorName) || null,
      categories: categoriesOf(raw.categories),
      curated: raw.curated ?? false,
    },
  };
}

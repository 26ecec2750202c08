/**
 * The one trending order, used everywhere papers are listed (the web page, the digests):
 * most upvotes first, then the most recent arXiv date (unknown dates last), then the arXiv id in
 * byte order, so two lists built from the same papers are always identical.
 */
import { Prisma } from "../db";

export interface Rankable {
  upvotes: number;
  arxivDate: string | Date | null;
  arxivId: string;
}

const time = (d: string | Date | null): number | null => (d === null ? null : new Date(d).getTime());

/** Comparator for Array.prototype.sort: negative when `a` ranks above `b`. */
export function compareTrending(a: Rankable, b: Rankable): number {
  if (a.upvotes !== b.upvotes) return b.upvotes - a.upvotes;
  const ta = time(a.arxivDate);
  const tb = time(b.arxivDate);
  if (ta !== tb) {
    if (ta === null) return 1;
    if (tb === null) return -1;
    return tb - ta;
  }
  // Byte order, like COLLATE "C" in SQL (locale collations may ignore the dot).
  return a.arxivId < b.arxivId ? -1 : a.arxivId > b.arxivId ? 1 : 0;
}

/** A sorted copy. */
export function rankTrending<T extends Rankable>(papers: readonly T[]): T[] {
  return [...papers].sort(compareTrending);
}

/** The same order as SQL, for raw queries over `papers` aliased as `p`. */
export const trendingOrderSql = Prisma.sql`p.upvotes DESC, p.arxiv_date DESC NULLS LAST, p.arxiv_id COLLATE "C" ASC`;

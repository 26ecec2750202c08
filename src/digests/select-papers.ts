/** A paper that could go into a digest, with the topics it matched. */
export interface CandidatePaper {
  id: number;
  arxivId: string;
  title: string;
  abstract: string;
  url: string;
  authorCount: number;
  arxivDate: string | null;
  upvotes: number;
  topicIds: number[];
}

/** Trending order: most upvoted first, then the newer arXiv date, then the arXiv id (deterministic). */
export function compareTrending(a: CandidatePaper, b: CandidatePaper): number {
  if (a.upvotes !== b.upvotes) return b.upvotes - a.upvotes;
  if (a.arxivDate !== b.arxivDate) {
    if (a.arxivDate === null) return 1;
    if (b.arxivDate === null) return -1;
    return a.arxivDate < b.arxivDate ? 1 : -1;
  }
  return a.arxivId < b.arxivId ? -1 : a.arxivId > b.arxivId ? 1 : 0;
}

/** The SQL ORDER BY of the same trending order, over a `papers` row aliased `p`. */
export const trendingOrderSql = "p.upvotes DESC, p.arxiv_date DESC NULLS LAST, p.arxiv_id ASC";

/**
 * The papers one topic choice gets: those matching any chosen topic (all papers when none is
 * chosen), in trending order, at most `max`. `candidates` must already be in trending order.
 */
export function selectPapers(candidates: CandidatePaper[], topicIds: number[], max: number): CandidatePaper[] {
  if (topicIds.length === 0) return candidates.slice(0, max);
  const wanted = new Set(topicIds);
  const chosen: CandidatePaper[] = [];
  for (const paper of candidates) {
    if (paper.topicIds.some((t) => wanted.has(t))) chosen.push(paper);
    if (chosen.length === max) break;
  }
  return chosen;
}

/** The stable key of a paper list: two topic choices with the same list share one rendered variant. */
export const variantKey = (papers: CandidatePaper[]) => papers.map((p) => p.id).join(",");

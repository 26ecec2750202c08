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
  /** What the reader looks for besides the title (absent in older callers' data). */
  authors?: string[];
  keywords?: string[];
  aiSummary?: string | null;
  thumbnailUrl?: string | null;
  pdfUrl?: string | null;
  githubUrl?: string | null;
  githubStars?: number | null;
  projectUrl?: string | null;
  comments?: number | null;
  organization?: string | null;
}

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

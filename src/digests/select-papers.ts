import crypto from "node:crypto";

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

/** A chosen paper with why it is there: the reader's topics it is in, the follows it matched. */
export interface SelectedPaper extends CandidatePaper {
  /**
   * The paper's topics, when it is in the list for one of the reader's chosen topics (empty when
   * the reader chose none, i.e. all, or when only a follow brought it in). All its topics, not only
   * the chosen ones: the mark then depends on the paper list alone, so readers whose topic choices
   * give the same list still share one variant (about 60 variants for 500 choices, not 500).
   */
  inTopics: number[];
  /** Labels of the reader's follows it matched, e.g. ["“diffusion distillation”", "Yann LeCun"]. */
  follows: string[];
}

/** A follow ready to test papers with (see follow-match.ts). */
export interface FollowRule {
  label: string;
  matches: (paper: CandidatePaper) => boolean;
}

/**
 * The papers one reader's choice gets: those matching a followed keyword or author come first in
 * priority (a follow is the most specific thing a reader told us), then those matching any chosen
 * topic (every paper when none is chosen), at most `max`, shown in trending order. `candidates`
 * must already be in trending order. With follows but no topic chosen, the rest of the list is the
 * day's trending papers, as for any reader who chose no topic.
 */
export function selectPapers(
  candidates: CandidatePaper[],
  topicIds: number[],
  max: number,
  follows: FollowRule[] = [],
): SelectedPaper[] {
  const wanted = new Set(topicIds);
  const annotated = candidates.map((paper) => ({
    ...paper,
    inTopics: paper.topicIds.some((t) => wanted.has(t)) ? paper.topicIds : [],
    follows: follows.filter((f) => f.matches(paper)).map((f) => f.label),
  }));
  const followed = annotated.filter((p) => p.follows.length > 0).slice(0, max);
  const picked = new Set(followed.map((p) => p.id));
  for (const paper of annotated) {
    if (picked.size >= max) break;
    if (picked.has(paper.id)) continue;
    if (topicIds.length === 0 || paper.inTopics.length > 0) picked.add(paper.id);
  }
  return annotated.filter((p) => picked.has(p.id));
}

/**
 * The stable key of a selection: the paper list, plus why each paper is there when the email says
 * so. Readers whose choices give the same key share one rendered variant.
 */
export const variantKey = (papers: SelectedPaper[]) => {
  const ids = papers.map((p) => p.id).join(",");
  const reasons = papers.filter((p) => p.follows.length || p.inTopics.length);
  if (reasons.length === 0) return ids;
  const why = reasons.map((p) => `${p.id}:${p.inTopics.join(".")}:${p.follows.join("\u0001")}`).join("\n");
  return `${ids}#${crypto.createHash("sha256").update(why).digest("hex").slice(0, 16)}`;
};

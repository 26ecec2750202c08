/**
 * What a reader's follows match, as pure functions (unit-tested). A keyword or phrase matches a
 * paper when its words appear together, as whole words, in the title, the Hugging Face keywords,
 * the AI summary or the abstract ("diffusion distillation" matches "Diffusion-Distillation" and
 * "diffusion distillations", not "distillation of diffusion"). An author matches a paper author
 * whose name is the same once accents, case and punctuation are set aside; "Y. LeCun" and a
 * single surname ("LeCun") match "Yann LeCun" too.
 */
import type { Follow } from "../subscriptions";

/** Lower case, accents off, anything but letters and digits a single space. */
export function foldText(text: string): string {
  return ` ${text
    .normalize("NFKD")
    .replace(/\p{M}+/gu, "")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim()} `;
}

export interface FollowablePaper {
  title: string;
  abstract: string;
  keywords?: string[];
  aiSummary?: string | null;
  authors?: string[];
}

// Fields joined with a separator no phrase can span ("|" folds to nothing a pattern holds).
const folded = new WeakMap<FollowablePaper, string>();
/** A paper's searchable text, folded once per paper object (many follows test the same papers). */
function foldedText(paper: FollowablePaper): string {
  let text = folded.get(paper);
  if (text === undefined) {
    text = [paper.title, ...(paper.keywords ?? []), paper.aiSummary ?? "", paper.abstract]
      .map((field) => foldText(field))
      .join("|");
    folded.set(paper, text);
  }
  return text;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A matcher for one follow; built once per follow, run on every candidate paper. */
export function followMatcher(follow: Follow): (paper: FollowablePaper) => boolean {
  const words = foldText(follow.value).trim().split(" ").filter(Boolean);
  if (words.length === 0) return () => false;
  if (follow.kind === "keyword") {
    // Whole words, side by side, the last one allowed a plural ending.
    const pattern = new RegExp(` ${words.map(escape).join(" ")}(?:s|es)? `, "u");
    return (paper) => pattern.test(foldedText(paper));
  }
  const last = words[words.length - 1]!;
  const first = words.length > 1 ? words[0]! : undefined;
  return (paper) =>
    (paper.authors ?? []).some((author) => {
      const name = foldText(author).trim().split(" ").filter(Boolean);
      if (name.length === 0 || name[name.length - 1] !== last) return false;
      if (words.length === 1) return true;
      if (foldText(author) === foldText(follow.value)) return true;
      // "Y LeCun" / "Yann LeCun": the first names agree as far as the shorter one goes.
      const theirs = name[0]!;
      return name.length > 1 && (theirs.startsWith(first!) || first!.startsWith(theirs));
    });
}

/** How a follow reads in "Because you follow …": phrases in quotes, authors as written. */
export const followLabel = (follow: Follow) => (follow.kind === "keyword" ? `“${follow.value}”` : follow.value);

import { Eta } from "eta";
import { mjml2html } from "../mjml";
import type { VariantContent } from "../mail/personal-message";
import { authorLine, cleanLatex, compactCount, shortDay } from "../papers";
import { fromRoot } from "../paths";
import { neutraliseEncodedWords } from "../papers";

/** A paper as a digest shows it (already cut to size). */
export interface DigestPaper {
  title: string;
  url: string;
  abstract: string;
  authorCount: number;
  arxivDate?: string;
  upvotes: number;
  topics: string[];
  /** The fields below are what the Hugging Face page shows; each is left out when unknown. */
  authors?: string[];
  aiSummary?: string | null;
  thumbnailUrl?: string | null;
  arxivUrl?: string | null;
  pdfUrl?: string | null;
  githubUrl?: string | null;
  githubStars?: number | null;
  projectUrl?: string | null;
  comments?: number | null;
  organization?: string | null;
  /** Why the paper is in this reader's list beyond their topics, e.g. ["diffusion distillation"]. */
  follows?: string[];
  /** The reader's chosen topics the paper is in (names), for "in Computer vision". */
  inTopics?: string[];
}

export interface DigestView {
  /** e.g. "Tuesday 10 December 2024" or "the week of 2–8 December 2024". */
  heading: string;
  /** This list's own web copy ("view in the browser"). */
  webUrl: string;
  /** The whole day's web copy. */
  dayUrl?: string;
  frequency?: "daily" | "weekly";
  papers: DigestPaper[];
}

/** A paper with its display strings worked out once, for the three templates. */
export interface ShownPaper extends DigestPaper {
  authorLine: string;
  dateLabel: string | null;
  starsLabel: string | null;
  /** Why the paper is in this reader's list: "Because you follow “x” · in Robotics", or null. */
  why: string | null;
}

/** "Because you follow “diffusion distillation”, Yann LeCun · in Computer vision" (or either half). */
export function whyLine(follows: string[], inTopics: string[]): string | null {
  const parts: string[] = [];
  if (follows.length) parts.push(`Because you follow ${follows.join(", ")}`);
  if (inTopics.length) parts.push(`${parts.length ? "in" : "In"} ${inTopics.join(", ")}`);
  return parts.length ? parts.join(" · ") : null;
}

/** Display strings shared by the email and the web copy (one date format, "et al.", no LaTeX). */
export function shownPaper(p: DigestPaper, limits = { abstract: ABSTRACT_LIMIT }): ShownPaper {
  const clean = (s: string) => cleanLatex(s.replace(/%%/g, "%"));
  return {
    ...p,
    title: cut(clean(p.title).replace(/\s+/g, " "), 300),
    abstract: cut(clean(p.abstract).replace(/\s+/g, " ").trim(), limits.abstract),
    aiSummary: p.aiSummary ? cut(clean(p.aiSummary), 300) : null,
    organization: p.organization ? clean(p.organization) : null,
    authors: (p.authors ?? []).map(clean),
    authorLine: authorLine((p.authors ?? []).map(clean)),
    dateLabel: p.arxivDate ? shortDay(p.arxivDate) : null,
    starsLabel: p.githubStars ? compactCount(p.githubStars) : null,
    follows: (p.follows ?? []).map(clean),
    why: whyLine((p.follows ?? []).map(clean), p.inTopics ?? []),
  };
}

const emailsDir = fromRoot("templates", "emails");
// HTML-escaping on: every source string (titles, abstracts) is untrusted.
const eta = new Eta({ views: emailsDir, cache: true, autoEscape: true, autoTrim: false });

const ABSTRACT_LIMIT = 420;
const cut = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1).trimEnd()}…` : s);

export function subjectFor(view: DigestView): string {
  const [first] = view.papers;
  const rest = view.papers.length - 1;
  // Titles stored before they were cleaned may still hold a MIME encoded-word: never in a Subject.
  const lead = first ? cut(neutraliseEncodedWords(cleanLatex(first.title).replace(/\s+/g, " ")), 80) : "";
  // "the week of 4–10 December 2025" reads as "Daily Papers · week of 4–10 December 2025".
  const heading = view.heading.replace(/^the week of /, "week of ");
  return `Daily Papers · ${heading}: ${lead}${rest > 0 ? ` and ${rest} more` : ""}`;
}

/**
 * Renders one digest variant: MJML once (about 14 ms), the plain-text part, and the subject.
 * The reader's own links and address stay as placeholders (see mail/personal-message.ts).
 */
export async function renderDigest(view: DigestView): Promise<VariantContent> {
  // "%%" could smuggle a placeholder in from a source: no paper text may contain one.
  const papers = view.papers.map((p) => shownPaper(p));
  const subject = subjectFor(view);
  const data = {
    ...view,
    papers,
    subject,
    preview: papers
      .map((p) => p.title)
      .slice(0, 3)
      .join(" · "),
  };
  const source = eta.render("digest.mjml.eta", data);
  // fonts: {}: MJML links Google Fonts for any font it knows (Roboto...): an email loads nothing from elsewhere.
  const result = await mjml2html(source, { validationLevel: "soft", minify: false, fonts: {} });
  if (result.errors?.length) {
    const first = result.errors[0]!;
    throw new Error(`digest template: ${first.formattedMessage ?? first.message}`);
  }
  const text = eta.render("digest.txt.eta", data).replace(/\n{3,}/g, "\n\n");
  return { subject, html: result.html, text };
}

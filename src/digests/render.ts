import path from "node:path";
import { Eta } from "eta";
import mjml2html from "mjml";
import type { VariantContent } from "./personal-message";

/** A paper as a digest shows it (already cut to size). */
export interface DigestPaper {
  title: string;
  url: string;
  abstract: string;
  authorCount: number;
  arxivDate?: string;
  upvotes: number;
  topics: string[];
}

export interface DigestView {
  /** e.g. "Tuesday 10 December 2024" or "Week of 2 to 8 December 2024". */
  heading: string;
  webUrl: string;
  papers: DigestPaper[];
}

const emailsDir = path.resolve(__dirname, "..", "..", "templates", "emails");
// HTML-escaping on: every source string (titles, abstracts) is untrusted.
const eta = new Eta({ views: emailsDir, cache: true, autoEscape: true, autoTrim: false });

const ABSTRACT_LIMIT = 600;
const cut = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1).trimEnd()}…` : s);

export function subjectFor(view: DigestView): string {
  const [first] = view.papers;
  const rest = view.papers.length - 1;
  const lead = first ? cut(first.title.replace(/\s+/g, " "), 80) : "";
  return `Daily Papers · ${view.heading}: ${lead}${rest > 0 ? ` and ${rest} more` : ""}`;
}

/**
 * Renders one digest variant: MJML once (about 14 ms), the plain-text part, and the subject.
 * The reader's own links and address stay as placeholders (see personal-message.ts).
 */
export async function renderDigest(view: DigestView): Promise<VariantContent> {
  // "%%" could smuggle a placeholder in from a source: no paper text may contain one.
  const clean = (s: string) => s.replace(/%%/g, "%");
  const papers = view.papers.map((p) => ({
    ...p,
    title: cut(clean(p.title), 300),
    abstract: cut(clean(p.abstract).replace(/\s+/g, " ").trim(), ABSTRACT_LIMIT),
  }));
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
  const result = await mjml2html(source, { validationLevel: "soft", minify: false });
  if (result.errors?.length) {
    const first = result.errors[0]!;
    throw new Error(`digest template: ${first.formattedMessage ?? first.message}`);
  }
  const text = eta.render("digest.txt.eta", data).replace(/\n{3,}/g, "\n\n");
  return { subject, html: result.html, text };
}

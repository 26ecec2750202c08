/**
 * What the paper-list partial (templates/pages/partials/paper-list.eta) needs for a request
 * `{ day, topic }`: used by GET /papers, /papers/:date, and by the home page.
 */
import type { Db } from "../db";
import { isDay } from "./normalize";
import { arxivUrl, authorLine, cleanLatex, compactCount, shortDay } from "./display";
import { featuredDays, latestFeaturedDay, listPapers, type PaperListItem } from "./queries";

export interface PaperListing {
  /** The day shown (YYYY-MM-DD), or null when there are no papers at all. */
  day: string | null;
  /** The day as people read it, e.g. "10 Dec 2025". */
  dayLabel: string | null;
  papers: (PaperListItem & {
    arxivDateLabel: string | null;
    authorLine: string;
    arxivUrl: string | null;
    starsLabel: string | null;
  })[];
  topics: { slug: string; name: string; selected: boolean }[];
  /** The selected topic's slug (unknown slugs are ignored). */
  topic: string | null;
  earlierDays: { day: string; label: string; papers: number }[];
  laterDay: { day: string; label: string } | null;
  /** Base of the day links (e.g. "/papers"); the partial builds `${basePath}/${day}?topic=...`. */
  basePath: string;
}

/** "10 Dec 2025": the one date format of the site and the emails (see display.ts). */
export const dayLabel = shortDay;

export async function paperListing(
  db: Db,
  req: { day?: string; topic?: string; basePath?: string },
): Promise<PaperListing> {
  const topics = await db.topic.findMany({
    orderBy: [{ position: "asc" }, { slug: "asc" }],
    select: { slug: true, name: true },
  });
  const topic = req.topic && topics.some((t) => t.slug === req.topic) ? req.topic : null;
  const day = req.day && isDay(req.day) ? req.day : await latestFeaturedDay(db);
  const papers = day ? await listPapers(db, { day, topicSlug: topic ?? undefined }) : [];
  const earlier = day ? await featuredDays(db, { before: day, limit: 7 }) : [];
  const [later] = day ? await featuredDays(db, { after: day, limit: 1, newestFirst: false }) : [];
  return {
    day,
    dayLabel: day ? dayLabel(day) : null,
    papers: papers.map((p) => ({
      ...p,
      abstract: cleanLatex(p.abstract),
      arxivDateLabel: p.arxivDate ? dayLabel(p.arxivDate) : null,
      authorLine: authorLine(p.authors),
      arxivUrl: arxivUrl(p.arxivId),
      starsLabel: p.githubStars ? compactCount(p.githubStars) : null,
    })),
    topics: topics.map((t) => ({ ...t, selected: t.slug === topic })),
    topic,
    earlierDays: earlier.map((d) => ({ ...d, label: dayLabel(d.day) })),
    laterDay: later ? { day: later.day, label: dayLabel(later.day) } : null,
    basePath: req.basePath ?? "/papers",
  };
}

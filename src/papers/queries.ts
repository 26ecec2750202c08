/** Read side: the papers of a day in trending order, the latest featured day, earlier days. */
import { Prisma, type Db } from "../db";
import { isDay } from "./normalize";
import { trendingOrderSql } from "./ranking";
import type { NormalizedPaper } from "./types";

/** A stored paper as listings show it. */
export interface PaperListItem extends NormalizedPaper {
  id: number;
  authorCount: number;
  topics: { slug: string; name: string }[];
}

/** The most recent day that has papers, YYYY-MM-DD, or null when there are none. */
/** The latest day with featured papers; with `upTo`, the latest on or before it (YYYY-MM-DD). */
export async function latestFeaturedDay(db: Db, upTo?: string): Promise<string | null> {
  const [row] = await db.$queryRaw<{ day: string | null }[]>`
    SELECT to_char(max(featured_on), 'YYYY-MM-DD') AS day FROM papers
    WHERE ${upTo ?? null}::date IS NULL OR featured_on <= ${upTo ?? null}::date`;
  return row?.day ?? null;
}

export interface ListPapersOptions {
  /** YYYY-MM-DD; default the latest featured day. */
  day?: string;
  /** Only papers of this topic. */
  topicSlug?: string;
  /** Several topics: papers in any of them (a subscriber's choice). */
  topicSlugs?: string[];
  /** Default 100. */
  limit?: number;
}

/** The papers featured on a day, in trending order (see ranking.ts), with their topics. */
export async function listPapers(db: Db, opts: ListPapersOptions = {}): Promise<PaperListItem[]> {
  if (opts.day !== undefined && !isDay(opts.day))
    throw new Error(`listPapers: day must be YYYY-MM-DD (got ${JSON.stringify(opts.day)})`);
  const day = opts.day ?? (await latestFeaturedDay(db));
  if (!day) return [];
  const slugs = [...(opts.topicSlug ? [opts.topicSlug] : []), ...(opts.topicSlugs ?? [])];
  const topicFilter = slugs.length
    ? Prisma.sql`AND EXISTS (SELECT 1 FROM paper_topics pt JOIN topics t ON t.id = pt.topic_id WHERE pt.paper_id = p.id AND t.slug = ANY(${slugs}::text[]))`
    : Prisma.empty;
  const rows = await db.$queryRaw<Omit<PaperListItem, "authorCount">[]>`
    SELECT p.id, p.arxiv_id AS "arxivId", p.title, p.abstract, p.authors,
           to_char(p.arxiv_date, 'YYYY-MM-DD') AS "arxivDate", to_char(p.featured_on, 'YYYY-MM-DD') AS "featuredOn",
           p.upvotes, p.keywords, p.url, p.pdf_url AS "pdfUrl", p.github_url AS "githubUrl", p.project_url AS "projectUrl",
           p.ai_summary AS "aiSummary", p.thumbnail_url AS "thumbnailUrl", p.github_stars AS "githubStars",
           p.num_comments AS "comments", p.organization, p.categories, p.curated,
           COALESCE((SELECT json_agg(json_build_object('slug', t.slug, 'name', t.name) ORDER BY t.position, t.slug)
                     FROM paper_topics pt JOIN topics t ON t.id = pt.topic_id WHERE pt.paper_id = p.id), '[]'::json) AS topics
    FROM papers p
    WHERE p.featured_on = ${day}::date ${topicFilter}
    ORDER BY ${trendingOrderSql}
    LIMIT ${opts.limit ?? 100}`;
  return rows.map((r) => ({ ...r, authorCount: r.authors.length }));
}

/** Days with papers before `before` (or all), newest first, with how many papers each has. */
export async function featuredDays(
  db: Db,
  opts: { before?: string; after?: string; limit?: number; newestFirst?: boolean } = {},
): Promise<{ day: string; papers: number }[]> {
  const rows = await db.$queryRaw<{ day: string; papers: number }[]>`
    SELECT to_char(featured_on, 'YYYY-MM-DD') AS day, count(*)::int AS papers FROM papers
    WHERE (${opts.before ?? null}::date IS NULL OR featured_on < ${opts.before ?? null}::date)
      AND (${opts.after ?? null}::date IS NULL OR featured_on > ${opts.after ?? null}::date)
    GROUP BY featured_on
    ORDER BY CASE WHEN ${opts.newestFirst ?? true} THEN featured_on END DESC, featured_on ASC
    LIMIT ${opts.limit ?? 14}`;
  return rows;
}

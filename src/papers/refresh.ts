/**
 * Upvotes move all day; the digest should show the count when it goes out, not the one of the
 * last ingest (up to three hours old). Just before assembly the day's list is read again and
 * only the counts (upvotes, comments, stars) of papers already stored are updated: nothing is
 * added, re-dated or re-matched here.
 */
import type { Db } from "../db";
import { addDays } from "./days";
import type { PaperSource } from "./types";

export async function refreshCounts(db: Db, source: PaperSource, days: { from: string; to: string }): Promise<number> {
  let updated = 0;
  // Only days holding papers this source listed: nothing to refresh elsewhere, and no request.
  const held = await db.$queryRaw<{ day: string }[]>`
    SELECT DISTINCT to_char(featured_on, 'YYYY-MM-DD') AS day FROM papers
    WHERE source = ${source.name} AND featured_on BETWEEN ${days.from}::date AND ${days.to}::date`;
  const wanted = new Set(held.map((r) => r.day));
  for (let day = days.from; day <= days.to; day = addDays(day, 1)) {
    if (!wanted.has(day)) continue;
    const { papers } = await source.fetchDay(day);
    if (papers.length === 0) continue;
    updated += await db.$executeRaw`
      UPDATE papers p SET upvotes = c.upvotes,
        num_comments = COALESCE(c.comments, p.num_comments),
        github_stars = COALESCE(c.stars, p.github_stars), updated_at = now()
      FROM unnest(${papers.map((p) => p.arxivId)}::text[], ${papers.map((p) => p.upvotes)}::int[],
                  ${papers.map((p) => p.comments)}::int[], ${papers.map((p) => p.githubStars)}::int[])
           AS c(arxiv_id, upvotes, comments, stars)
      WHERE p.arxiv_id = c.arxiv_id AND (p.upvotes <> c.upvotes OR p.num_comments IS DISTINCT FROM COALESCE(c.comments, p.num_comments)
                                         OR p.github_stars IS DISTINCT FROM COALESCE(c.stars, p.github_stars))`;
  }
  return updated;
}

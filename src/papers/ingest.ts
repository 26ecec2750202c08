/**
 * One ingestion run: fetch a day from a source, upsert each paper by arXiv id, match topics,
 * and record the run (day, source, counts, error) so a failed day is visible and retried.
 */
import type { Db } from "../db";
import type { Logger } from "../logger";
import { arxivIdOf } from "./normalize";
import { matchPapers } from "./topics";
import type { NormalizedPaper, PaperSource, SkippedRecord } from "./types";

export interface IngestResult {
  runId: number;
  day: string;
  source: string;
  fetched: number;
  inserted: number;
  updated: number;
  skipped: SkippedRecord[];
  error?: string;
}

/**
 * Inserts or refreshes one paper. Re-ingesting never duplicates (unique arXiv id) and never loses
 * what another source knew: upvotes only grow (the arXiv source has none), keywords, links and
 * the Hugging Face fields are kept when the new record has none. A paper a curated list (Hugging
 * Face, or a file in its shape) named keeps that list's day, link and source whatever arXiv says
 * later; between two records of the same kind the curated one's day wins, arXiv's the earliest.
 */
export async function upsertPaper(
  db: Db,
  p: NormalizedPaper,
  source: string,
): Promise<{ id: number; inserted: boolean }> {
  const rows = await db.$queryRaw<{ id: number; inserted: boolean }[]>`
    INSERT INTO papers (arxiv_id, title, abstract, authors, arxiv_date, featured_on, upvotes, keywords, url, pdf_url, github_url, project_url,
                        ai_summary, thumbnail_url, github_stars, num_comments, organization, categories, curated, source, updated_at)
    VALUES (${p.arxivId}, ${p.title}, ${p.abstract}, ${p.authors}::text[], ${p.arxivDate}::date, ${p.featuredOn}::date, ${p.upvotes},
            ${p.keywords}::text[], ${p.url}, ${p.pdfUrl}, ${p.githubUrl}, ${p.projectUrl},
            ${p.aiSummary}, ${p.thumbnailUrl}, ${p.githubStars}, ${p.comments}, ${p.organization}, ${p.categories}::text[], ${p.curated},
            ${source}, now())
    ON CONFLICT (arxiv_id) DO UPDATE SET
      title = EXCLUDED.title,
      abstract = CASE WHEN EXCLUDED.abstract <> '' THEN EXCLUDED.abstract ELSE papers.abstract END,
      authors = CASE WHEN cardinality(EXCLUDED.authors) > 0 THEN EXCLUDED.authors ELSE papers.authors END,
      arxiv_date = COALESCE(EXCLUDED.arxiv_date, papers.arxiv_date),
      featured_on = CASE
        WHEN papers.curated AND NOT EXCLUDED.curated THEN papers.featured_on
        WHEN EXCLUDED.curated THEN EXCLUDED.featured_on
        ELSE LEAST(papers.featured_on, EXCLUDED.featured_on) END,
      upvotes = GREATEST(papers.upvotes, EXCLUDED.upvotes),
      keywords = CASE WHEN cardinality(EXCLUDED.keywords) > 0 THEN EXCLUDED.keywords ELSE papers.keywords END,
      url = CASE WHEN papers.curated AND NOT EXCLUDED.curated THEN papers.url ELSE EXCLUDED.url END,
      pdf_url = COALESCE(EXCLUDED.pdf_url, papers.pdf_url),
      github_url = COALESCE(EXCLUDED.github_url, papers.github_url),
      project_url = COALESCE(EXCLUDED.project_url, papers.project_url),
      ai_summary = COALESCE(EXCLUDED.ai_summary, papers.ai_summary),
      thumbnail_url = COALESCE(EXCLUDED.thumbnail_url, papers.thumbnail_url),
      github_stars = COALESCE(EXCLUDED.github_stars, papers.github_stars),
      num_comments = COALESCE(EXCLUDED.num_comments, papers.num_comments),
      organization = COALESCE(EXCLUDED.organization, papers.organization),
      categories = CASE WHEN cardinality(EXCLUDED.categories) > 0 THEN EXCLUDED.categories ELSE papers.categories END,
      curated = papers.curated OR EXCLUDED.curated,
      source = CASE WHEN papers.curated AND NOT EXCLUDED.curated THEN papers.source ELSE EXCLUDED.source END,
      updated_at = now()
    RETURNING id, (xmax = 0) AS inserted`;
  return rows[0]!;
}

export interface IngestOptions {
  log?: Logger;
  /**
   * arXiv categories for papers that came without them (Hugging Face gives none), in one batched
   * request; a failure only costs the categories (logged), never the day.
   */
  categories?: (arxivIds: string[]) => Promise<Map<string, string[]>>;
}

/**
 * Gives the papers that came without arXiv categories theirs, in one request. A failure only costs
 * the categories (logged), never the day.
 */
async function fillCategories(papers: NormalizedPaper[], day: string, opts: IngestOptions): Promise<void> {
  const needCategories = papers.filter((p) => p.categories.length === 0 && arxivIdOf(p.arxivId));
  if (!opts.categories || !needCategories.length) return;
  try {
    const found = await opts.categories(needCategories.map((p) => p.arxivId));
    for (const p of needCategories) p.categories = found.get(p.arxivId) ?? [];
  } catch (err) {
    opts.log?.warn({ day, err: (err as Error).message }, "arXiv categories not fetched: topics use the other signals");
  }
}

/** Upserts each paper, counting it on `result`; returns the ids of those stored. */
async function storePapers(db: Db, papers: NormalizedPaper[], result: IngestResult): Promise<number[]> {
  const ids: number[] = [];
  for (const paper of papers) {
    try {
      const { id, inserted } = await upsertPaper(db, paper, result.source);
      ids.push(id);
      if (inserted) result.inserted++;
      else result.updated++;
    } catch (err) {
      // One record the database refuses must not cost the day's other papers.
      result.skipped.push({ reason: `${paper.arxivId}: not stored: ${(err as Error).message.slice(0, 200)}` });
    }
  }
  return ids;
}

async function finishRun(db: Db, result: IngestResult): Promise<void> {
  await db.ingestRun.update({
    where: { id: result.runId },
    data: {
      finishedAt: new Date(),
      fetched: result.fetched,
      upserted: result.inserted + result.updated,
      skipped: result.skipped.length,
      error: result.error ?? null,
    },
  });
}

function logRun(log: Logger | undefined, result: IngestResult): void {
  const { day, source } = result;
  for (const s of result.skipped) log?.warn({ day, source, reason: s.reason, raw: s.raw }, "paper record skipped");
  log?.info(
    {
      day,
      source,
      fetched: result.fetched,
      inserted: result.inserted,
      updated: result.updated,
      skipped: result.skipped.length,
      error: result.error,
    },
    "ingest run finished",
  );
}

/**
 * Runs one day. A source failure is recorded on the run and returned as `error` (the ingest job
 * throws it, so BullMQ retries).
 */
export async function ingestDay(
  db: Db,
  source: PaperSource,
  day: string,
  opts: IngestOptions = {},
): Promise<IngestResult> {
  const run = await db.ingestRun.create({ data: { day: new Date(`${day}T00:00:00Z`), source: source.name } });
  const result: IngestResult = {
    runId: run.id,
    day,
    source: source.name,
    fetched: 0,
    inserted: 0,
    updated: 0,
    skipped: [],
  };
  try {
    const fetched = await source.fetchDay(day);
    result.fetched = fetched.papers.length + fetched.skipped.length;
    result.skipped.push(...fetched.skipped);
    if (fetched.notice) opts.log?.info({ day, source: source.name }, fetched.notice);
    await fillCategories(fetched.papers, day, opts);
    await matchPapers(db, await storePapers(db, fetched.papers, result));
  } catch (err) {
    result.error = (err as Error).message;
  }
  await finishRun(db, result);
  logRun(opts.log, result);
  return result;
}

/**
 * Days whose latest run for `source` failed, within the last `withinDays` days before `today`,
 * and that no later run fixed: what the retry schedule re-queues.
 */
export async function failedDays(
  db: Db,
  source: string,
  today: string,
  withinDays = 7,
): Promise<{ day: string; runId: number }[]> {
  return db.$queryRaw<{ day: string; runId: number }[]>`
    SELECT to_char(day, 'YYYY-MM-DD') AS day, id AS "runId" FROM (
      SELECT DISTINCT ON (day) day, error, id FROM ingest_runs
      WHERE source = ${source} AND day >= ${today}::date - ${withinDays}::int AND finished_at IS NOT NULL
      ORDER BY day, started_at DESC, id DESC
    ) latest WHERE error IS NOT NULL ORDER BY day`;
}

/**
 * The papers feature: the ingest queue's handlers, the ingest job schedulers, the default topics
 * and the paper listing pages. Wired in src/app.ts with one line.
 */
import type { Job } from "bullmq";
import { Router } from "express";
import type { Config } from "../config";
import type { Db } from "../db";
import { JobName, SchedulerId, type Queues } from "../queue/queues";
import type { Schedule } from "../queue/schedules";
import type { Views } from "../web/views";
import type { Feature } from "../feature";
import { notFound } from "../errors";
import type { Logger } from "../logger";
import { addDays, todayIn } from "./days";
import { failedDays, ingestDay, type IngestResult } from "./ingest";
import { paperListing } from "./listing";
import { latestFeaturedDay } from "./queries";
import { fetchArxivCategories } from "./sources/arxiv";
import { isDay } from "./normalize";
import { createPaperSource } from "./sources";
import { seedDefaultTopics } from "./topics";
import { refreshCounts } from "./refresh";
import type { PaperSource } from "./types";

export const INGEST_JOB = JobName.ingest.day;
export const RETRY_FAILED_JOB = JobName.ingest.retryFailed;

export interface IngestJobData {
  /** YYYY-MM-DD; none = today and yesterday in DIGEST_TZ (or every day of a bundled source). */
  day?: string;
  /** huggingface | arxiv | sample | file:PATH; none = PAPERS_SOURCE. */
  source?: string;
  requestId?: string;
}

/** The source a configuration names, with the injectable base URLs. */
export function sourceFromConfig(
  config: Pick<Config, "PAPERS_SOURCE" | "HF_API_URL" | "ARXIV_API_URL">,
  spec = config.PAPERS_SOURCE,
): PaperSource {
  return createPaperSource(spec, { hf: { baseUrl: config.HF_API_URL }, arxiv: { baseUrl: config.ARXIV_API_URL } });
}

/**
 * The days an ingest without a day covers. Yesterday is included because papers keep being
 * added and upvoted after the day began; a bundled source covers all its days.
 */
export async function defaultDays(source: PaperSource, timeZone: string, now = new Date()): Promise<string[]> {
  if (source.availableDays) return source.availableDays();
  // A zone ahead of UTC reaches a date before Hugging Face (which answers 400 for it) does.
  const utcToday = now.toISOString().slice(0, 10);
  const local = todayIn(timeZone, now);
  const today = local > utcToday ? utcToday : local;
  return [addDays(today, -1), today];
}

/**
 * True when the newest stored day is older than the latest day the source could have listed
 * (yesterday, by `defaultDays`): a new install, or one stopped for a while. Weekends have no
 * papers, so on a Monday morning this asks again for Friday's list; that costs two requests.
 */
export async function latestDayMissing(db: Db, days: string[]): Promise<boolean> {
  const latest = await latestFeaturedDay(db);
  const expected = days[0];
  return !latest || (expected !== undefined && latest < expected);
}

/**
 * What digest assembly calls just before choosing papers: the day's upvotes read again from
 * Hugging Face (the only source with live counts). Undefined for other sources.
 */
export function countRefresher(
  deps: Pick<PapersDeps, "db" | "config">,
): ((days: { from: string; to: string }) => Promise<number>) | undefined {
  if (deps.config.PAPERS_SOURCE !== "huggingface") return undefined;
  // Few retries: a digest waits for this, and the last ingest's counts are a fine fallback.
  const source = createPaperSource("huggingface", {
    hf: { baseUrl: deps.config.HF_API_URL, retries: 1, timeoutMs: 10_000 },
  });
  return (days) => refreshCounts(deps.db, source, days);
}

/** What the papers feature needs, built once in src/app.ts. */
export interface PapersDeps {
  config: Config;
  db: Db;
  log: Logger;
  queues: Queues;
  views: Views;
}

export interface PapersFeatureOptions {
  /** Replaces the configured source (tests). */
  source?: PaperSource;
}

/** The paper listing pages: `/papers` (the latest day) and `/papers/YYYY-MM-DD`. */
function paperPages(db: Db, views: Views): Router {
  const router = Router();
  const page = (day: string | undefined) => async (req: import("express").Request, res: import("express").Response) => {
    const topic = typeof req.query.topic === "string" ? req.query.topic : undefined;
    const listing = await paperListing(db, { day, topic, basePath: "/papers" });
    res
      .type("html")
      .send(views.render("papers", { title: listing.dayLabel ? `Papers of ${listing.dayLabel}` : "Papers", listing }));
  };
  router.get("/papers", (req, res) => page(undefined)(req, res));
  router.get("/papers/:date", (req, res) => {
    if (!isDay(req.params.date))
      throw notFound(
        "There is no list of papers at this address. Each day has its own, like /papers/2025-12-10; the home page shows the latest.",
      );
    return page(req.params.date)(req, res);
  });
  return router;
}

/** The daily ingest (INGEST_CRON) and the hourly retry of failed days. */
function ingestSchedules(queues: Queues, config: Config): Schedule[] {
  return [
    {
      id: SchedulerId.papersIngest,
      queue: queues.ingest,
      repeat: { pattern: config.INGEST_CRON, tz: config.DIGEST_TZ },
      name: INGEST_JOB,
      data: {},
    },
    {
      id: SchedulerId.papersIngestRetryFailed,
      queue: queues.ingest,
      repeat: { pattern: "40 * * * *", tz: config.DIGEST_TZ },
      name: RETRY_FAILED_JOB,
      data: {},
    },
  ];
}

export function papersFeature(deps: PapersDeps, opts: PapersFeatureOptions = {}): Feature {
  const { config, db, queues, views } = deps;
  const configured = opts.source ?? sourceFromConfig(config);
  const sourceFor = (spec?: string) => (spec && spec !== configured.name ? sourceFromConfig(config, spec) : configured);
  // Hugging Face lists no arXiv categories: they come from arXiv, many ids per request.
  const categoriesFor = (source: PaperSource) =>
    source.name === "huggingface"
      ? (ids: string[]) => fetchArxivCategories(ids, { baseUrl: config.ARXIV_API_URL, retries: 1 })
      : undefined;

  async function ingestJob(job: Job<IngestJobData>, log: Logger) {
    const data = job.data ?? {};
    if (data.day !== undefined && !isDay(data.day))
      throw new Error(`ingest job: day must be YYYY-MM-DD (got ${JSON.stringify(data.day)})`);
    const source = sourceFor(data.source);
    const days = data.day ? [data.day] : await defaultDays(source, config.DIGEST_TZ);
    const results: IngestResult[] = [];
    for (const day of days) results.push(await ingestDay(db, source, day, { log, categories: categoriesFor(source) }));
    const failed = results.filter((r) => r.error);
    // Thrown so BullMQ retries with backoff; each attempt is its own recorded run.
    if (failed.length) throw new Error(failed.map((r) => `${r.day}: ${r.error}`).join("; "));
    return results.map(({ skipped, ...r }) => ({ ...r, skipped: skipped.length }));
  }

  async function retryFailedJob(_job: Job, log: Logger) {
    const failed = await failedDays(db, configured.name, todayIn(config.DIGEST_TZ));
    for (const { day, runId } of failed) {
      // One retry job per failed run: the job id dedupes while that job is kept.
      await queues.ingest.add(
        INGEST_JOB,
        { day, source: configured.name === config.PAPERS_SOURCE ? undefined : configured.name } satisfies IngestJobData,
        { jobId: `retry-run-${runId}` },
      );
    }
    if (failed.length) log.info({ days: failed.map((f) => f.day) }, "re-queued failed ingest days");
    return { requeued: failed.length };
  }

  return {
    routers: [paperPages(db, views)],
    handlers: { ingest: { [INGEST_JOB]: ingestJob, [RETRY_FAILED_JOB]: retryFailedJob } },
    schedules: ingestSchedules(queues, config),
    async catchUp() {
      // Without this a new install shows no papers until the next INGEST_CRON run (up to 3 h).
      if (configured.availableDays) return;
      const days = await defaultDays(configured, config.DIGEST_TZ);
      if (await latestDayMissing(db, days)) {
        deps.log.info({ days, source: configured.name }, "the latest papers are missing: ingesting them now");
        await queues.ingest.add(INGEST_JOB, {} satisfies IngestJobData, {
          jobId: `startup-${configured.name.replace(/[^\w-]/g, "_")}-${new Date().toISOString().slice(0, 13)}`,
        });
      }
    },
    async init() {
      await seedDefaultTopics(db);
      // A bundled source (sample, file) has fixed days that no schedule will ask for: load them
      // once into an empty database so the product shows papers right away, offline.
      if (configured.availableDays && (await db.paper.count()) === 0) {
        await queues.ingest.add(INGEST_JOB, {} satisfies IngestJobData, {
          jobId: `bootstrap-${configured.name.replace(/[^\w-]/g, "_")}`,
        });
      }
    },
  };
}

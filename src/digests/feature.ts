import { DelayedError, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { Config } from "../config";
import type { Db } from "../db";
import type { Mailer } from "../mail/mailer";
import type { Metrics } from "../observability/metrics";
import type { Suppressions } from "../suppression";
import type { Tokens } from "../subscriptions";
import type { ReturnPaths } from "../feedback";
import type { Views } from "../web/views";
import type { Logger } from "../logger";
import type { JobContext } from "../queue/workers";
import type { Feature } from "../feature";
import { QueueName, type Queues } from "../queue/queues";
import type { Frequency } from "../generated/prisma/enums";
import { assembleDigest } from "./assemble";
import { pendingRanges } from "./ledger";
import { DigestJob, queueAssembly, queueSendBatches, type AssembleJobData, type SendBatchJobData } from "./jobs";
import { reconcile } from "./reconcile";
import { PRUNE_DELIVERIES_JOB, pruneDeliveries } from "./retention";
import { createSender } from "./send";
import { pauseDigest, sendGate } from "./breaker";
import { createPauseWatch } from "./pause-watch";
import { createFeedbackBreaker, thresholdsOf } from "../feedback";
import { createSendRateLimiter } from "./send-rate";
import { dueDaily, dueWeekly } from "./scheduled";
import { digestAdminApi, digestWebRoutes } from "./routes";
import { digestAdminPages } from "./admin-pages";
import { countRefresher } from "../papers";

/** What the digest engine needs, built once in src/app.ts. */
export interface DigestsDeps {
  config: Config;
  db: Db;
  log: Logger;
  redis: Redis;
  queues: Queues;
  mailer: Mailer;
  views: Views;
  metrics: Metrics;
  tokens: Tokens;
  suppressions: Suppressions;
  returnPaths: ReturnPaths;
}

/** The digest engine: assembly, sending, reconciliation, schedules, the web copy and the admin side. */
export function digestsFeature(deps: DigestsDeps, opts: { stopping: () => boolean }): Feature {
  const { db, config, queues } = deps;
  const feedbackVerdict = createFeedbackBreaker(db, thresholdsOf(config), config.FEEDBACK_CHECK_SECONDS * 1000);
  /** Pauses the digest when its (or the previous one's) report rates are over the thresholds. */
  const pauseForFeedback = async (digestId: string, log: Logger): Promise<string | undefined> => {
    const feedback = await feedbackVerdict(digestId);
    if (!feedback.pause) return undefined;
    if (await pauseDigest(db, config, digestId, "feedback", feedback.reason))
      log.warn({ digestId, reason: feedback.reason, rates: feedback.rates }, "digest paused: reports after sending");
    pauseWatch.stopped(digestId, feedback.reason);
    return feedback.reason;
  };
  // Also while a batch sends: reports that arrive during a long batch pause it, not the next one.
  const pauseWatch = createPauseWatch(db, deps.log, { check: (digestId) => pauseForFeedback(digestId, deps.log) });
  const sender = createSender({
    db,
    config,
    mailer: deps.mailer,
    tokens: deps.tokens,
    metrics: deps.metrics,
    returnPaths: deps.returnPaths,
    suppressions: deps.suppressions,
    log: deps.log,
    rateLimit: createSendRateLimiter(deps.redis, config.QUEUE_PREFIX, config.SEND_RATE_PER_SECOND),
    stopping: opts.stopping,
    pauseWatch,
    requeue: (digestId, range) =>
      queueSendBatches(queues, digestId, [range], { ...sendOpts, suffix: `handed-back-${Date.now()}` }),
  });
  const refresh = countRefresher(deps);
  const refreshUpvotes = refresh && (async (days: { from: string; to: string }) => void (await refresh(days)));
  const sendOpts = { attempts: config.SEND_MAX_ATTEMPTS, backoffMs: config.SEND_RETRY_BASE_MS };

  /** A send job of a paused digest waits (delayed, attempts untouched) until the pause may end. */
  const waitOutPause = async (job: Job, context: JobContext, digestId: string, log: Logger, gateUntil?: Date) => {
    const digest = await db.digest.findUnique({ where: { id: digestId }, select: { resumeAt: true, status: true } });
    if (digest?.status !== "paused") return undefined;
    const until = gateUntil ?? digest.resumeAt ?? new Date(Date.now() + config.SEND_PAUSE_MAX_SECONDS * 1000);
    if (!context.token) return { paused: true };
    log.debug({ digestId, until }, "send job waits for the paused digest");
    await job.moveToDelayed(Math.max(Date.now() + 100, until.getTime()), context.token);
    throw new DelayedError();
  };

  const sendBatch = async (job: Job, log: Logger, context: JobContext) => {
    const data = job.data as SendBatchJobData;
    const gate = await sendGate({ db, config, mailer: deps.mailer, log }, data.digestId);
    if (!gate.go) return waitOutPause(job, context, data.digestId, log, gate.until);
    const feedbackPause = await pauseForFeedback(data.digestId, log);
    if (feedbackPause) return (await waitOutPause(job, context, data.digestId, log)) ?? { paused: feedbackPause };
    const outcome = await sender.sendBatch(
      data.digestId,
      { fromId: BigInt(data.fromId), toId: BigInt(data.toId) },
      log,
      { signal: context.signal },
    );
    if (outcome.paused) return (await waitOutPause(job, context, data.digestId, log)) ?? outcome;
    return outcome;
  };

  const assembleAndQueue = async (data: AssembleJobData, log: typeof deps.log) => {
    const result = await assembleDigest({ db, config, log, refreshUpvotes }, data);
    // Also after an earlier assembly: queue whatever is still pending (ids deduplicate).
    await queueSendBatches(queues, result.digestId, await pendingRanges(db, result.digestId, config.SEND_BATCH_SIZE), {
      ...sendOpts,
      requestId: data.requestId,
    });
    return result;
  };

  const scheduled = (frequency: Frequency, due: typeof dueDaily) => async (_job: unknown, log: typeof deps.log) => {
    const day = await due(db, config);
    if (!day) return { skipped: "no digest due" };
    await queueAssembly(queues, { day, frequency });
    log.info({ day, frequency }, "scheduled digest queued");
    return { day, frequency };
  };

  return {
    routers: [digestWebRoutes(deps)],
    adminApiRouters: [digestAdminApi(deps)],
    adminPageRouters: [digestAdminPages(deps)],
    handlers: {
      [QueueName.digests]: {
        [DigestJob.assemble]: (job, log) => assembleAndQueue(job.data as AssembleJobData, log),
        [DigestJob.scheduledDaily]: scheduled("daily", dueDaily),
        [DigestJob.scheduledWeekly]: scheduled("weekly", dueWeekly),
      },
      [QueueName.sends]: {
        [DigestJob.sendBatch]: sendBatch,
      },
      [QueueName.maintenance]: {
        [DigestJob.reconcile]: (_job, log) => reconcile({ db, config, queues, log }),
        [PRUNE_DELIVERIES_JOB]: async (_job, log) => {
          const result = await pruneDeliveries(db, { retentionDays: config.DELIVERY_RETENTION_DAYS });
          log.info({ ...result, retentionDays: config.DELIVERY_RETENTION_DAYS }, "old deliveries folded into figures");
          return result;
        },
      },
    },
    schedules: [
      {
        id: "digest-daily",
        queue: queues.digests,
        name: DigestJob.scheduledDaily,
        repeat: { pattern: config.DIGEST_CRON, tz: config.DIGEST_TZ },
      },
      {
        id: "digest-weekly",
        queue: queues.digests,
        name: DigestJob.scheduledWeekly,
        repeat: { pattern: config.DIGEST_CRON, tz: config.DIGEST_TZ },
      },
      {
        id: "deliveries-reconcile",
        queue: queues.maintenance,
        name: DigestJob.reconcile,
        repeat: { every: config.RECONCILE_EVERY_SECONDS * 1000 },
      },
      {
        // Daily, at a quiet hour: rows older than DELIVERY_RETENTION_DAYS become per-day figures.
        id: "deliveries-prune",
        queue: queues.maintenance,
        name: PRUNE_DELIVERIES_JOB,
        repeat: { pattern: "45 3 * * *", tz: config.DIGEST_TZ },
      },
    ],
  };
}

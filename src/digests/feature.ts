import type { AppDeps } from "../app";
import type { Feature } from "../feature";
import { QueueName } from "../queue/queues";
import type { Frequency } from "../generated/prisma/enums";
import { assembleDigest } from "./assemble";
import { pendingRanges } from "./ledger";
import { DigestJob, queueAssembly, queueSendBatches, type AssembleJobData, type SendBatchJobData } from "./jobs";
import { reconcile } from "./reconcile";
import { PRUNE_DELIVERIES_JOB, pruneDeliveries } from "./retention";
import { createSender } from "./send";
import { createSendRateLimiter } from "./send-rate";
import { dueDaily, dueWeekly } from "./scheduled";
import { digestAdminApi, digestWebRoutes } from "./routes";
import { countRefresher } from "../papers/feature";

/** The digest engine: assembly, sending, reconciliation, schedules, the web copy and the admin side. */
export function digestsFeature(deps: AppDeps, opts: { stopping: () => boolean }): Feature {
  const { db, config, queues } = deps;
  const sender = createSender({
    db,
    config,
    mailer: deps.mailer,
    tokens: deps.tokens,
    metrics: deps.metrics,
    returnPaths: deps.returnPaths,
    rateLimit: createSendRateLimiter(deps.redis, config.QUEUE_PREFIX, config.SEND_RATE_PER_SECOND),
    stopping: opts.stopping,
  });
  const refresh = countRefresher(deps);
  const refreshUpvotes = refresh && (async (days: { from: string; to: string }) => void (await refresh(days)));
  const sendOpts = { attempts: config.SEND_MAX_ATTEMPTS, backoffMs: config.SEND_RETRY_BASE_MS };

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
    handlers: {
      [QueueName.digests]: {
        [DigestJob.assemble]: (job, log) => assembleAndQueue(job.data as AssembleJobData, log),
        [DigestJob.scheduledDaily]: scheduled("daily", dueDaily),
        [DigestJob.scheduledWeekly]: scheduled("weekly", dueWeekly),
      },
      [QueueName.sends]: {
        [DigestJob.sendBatch]: (job, log) => {
          const data = job.data as SendBatchJobData;
          return sender.sendBatch(data.digestId, { fromId: BigInt(data.fromId), toId: BigInt(data.toId) }, log);
        },
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

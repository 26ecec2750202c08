import type { Redis } from "ioredis";
import type { Config } from "../config";
import type { Db } from "../db";
import type { Mailer } from "../mail/mailer";
import type { Metrics } from "../observability/metrics";
import type { Suppressions } from "../suppression";
import type { Tokens } from "../subscriptions";
import type { ReturnPaths } from "../mail/return-path";
import type { Views } from "../web/views";
import type { Logger } from "../logger";
import type { Feature } from "../feature";
import { QueueName, SchedulerId, type Queues } from "../queue/queues";
import type { Frequency } from "../generated/prisma/enums";
import { assembleDigest } from "./assemble";
import { pendingRanges } from "./ledger";
import { DigestJob, queueAssembly, queueSendBatches, type AssembleJobData } from "./jobs";
import { reconcile } from "./reconcile";
import { PRUNE_DELIVERIES_JOB, pruneDeliveries } from "./retention";
import { createSendJob, sendJobOptions } from "./send-job";
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
  return {
    routers: [digestWebRoutes(deps)],
    adminApiRouters: [digestAdminApi(deps)],
    adminPageRouters: [digestAdminPages(deps)],
    handlers: digestHandlers(deps, createSendJob(deps, opts)),
    schedules: digestSchedules(deps),
  };
}

/** The jobs of the digest engine, by queue. */
function digestHandlers(deps: DigestsDeps, sendBatch: ReturnType<typeof createSendJob>): Feature["handlers"] {
  const { db, config, queues } = deps;
  const refresh = countRefresher(deps);
  const refreshUpvotes = refresh && (async (days: { from: string; to: string }) => void (await refresh(days)));

  const assembleAndQueue = async (data: AssembleJobData, log: Logger) => {
    const result = await assembleDigest({ db, config, log, refreshUpvotes }, data);
    // Also after an earlier assembly: queue whatever is still pending (ids deduplicate).
    await queueSendBatches(queues, result.digestId, await pendingRanges(db, result.digestId, config.SEND_BATCH_SIZE), {
      ...sendJobOptions(config),
      requestId: data.requestId,
    });
    return result;
  };

  const scheduled = (frequency: Frequency, due: typeof dueDaily) => async (_job: unknown, log: Logger) => {
    const day = await due(db, config);
    if (!day) return { skipped: "no digest due" };
    await queueAssembly(queues, { day, frequency });
    log.info({ day, frequency }, "scheduled digest queued");
    return { day, frequency };
  };

  return {
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
  };
}

/** When the digests go out, the reconciler runs and old deliveries are folded into figures. */
function digestSchedules({ config, queues }: DigestsDeps): Feature["schedules"] {
  return [
    {
      id: SchedulerId.digestDaily,
      queue: queues.digests,
      name: DigestJob.scheduledDaily,
      repeat: { pattern: config.DIGEST_CRON, tz: config.DIGEST_TZ },
    },
    {
      id: SchedulerId.digestWeekly,
      queue: queues.digests,
      name: DigestJob.scheduledWeekly,
      repeat: { pattern: config.DIGEST_CRON, tz: config.DIGEST_TZ },
    },
    {
      id: SchedulerId.deliveriesReconcile,
      queue: queues.maintenance,
      name: DigestJob.reconcile,
      repeat: { every: config.RECONCILE_EVERY_SECONDS * 1000 },
    },
    {
      // Daily, at a quiet hour: rows older than DELIVERY_RETENTION_DAYS become per-day figures.
      id: SchedulerId.deliveriesPrune,
      queue: queues.maintenance,
      name: PRUNE_DELIVERIES_JOB,
      repeat: { pattern: "45 3 * * *", tz: config.DIGEST_TZ },
    },
  ];
}

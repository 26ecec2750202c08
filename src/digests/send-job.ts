/**
 * The send-batch job: the breaker's gate and the feedback rates decide whether the batch may go;
 * a paused digest's job waits (delayed, attempts untouched) until the pause may end. Built once
 * per process with the sender, the pause watch and the send rate shared by all its batches.
 */
import { DelayedError, type Job } from "bullmq";
import type { Logger } from "../logger";
import type { JobContext } from "../queue/workers";
import { createFeedbackBreaker, thresholdsOf } from "../feedback";
import type { Redis } from "ioredis";
import type { Config } from "../config";
import type { Db } from "../db";
import type { Queues } from "../queue/queues";
import type { SenderDeps } from "./batch-types";
import { queueSendBatches, type SendBatchJobData } from "./jobs";
import { createSender } from "./send";
import { pauseDigest, sendGate } from "./breaker";
import { createPauseWatch } from "./pause-watch";
import { createSendRateLimiter } from "./send-rate";

/** What the send job needs (a part of DigestsDeps). */
export type SendJobDeps = Pick<SenderDeps, "mailer" | "tokens" | "metrics" | "returnPaths" | "suppressions" | "log"> & {
  db: Db;
  config: Config;
  redis: Redis;
  queues: Queues;
};

/** How send jobs are queued: attempts and backoff from the configuration. */
export const sendJobOptions = (config: Config) => ({
  attempts: config.SEND_MAX_ATTEMPTS,
  backoffMs: config.SEND_RETRY_BASE_MS,
});

/** Pauses the digest when its (or the previous one's) report rates are over the thresholds; returns the reason. */
function feedbackPauser(deps: SendJobDeps) {
  const { db, config } = deps;
  const verdict = createFeedbackBreaker(db, thresholdsOf(config), config.FEEDBACK_CHECK_SECONDS * 1000);
  return async (digestId: string, log: Logger, onPaused: (reason: string) => void): Promise<string | undefined> => {
    const feedback = await verdict(digestId);
    if (!feedback.pause) return undefined;
    if (await pauseDigest(db, config, digestId, "feedback", feedback.reason))
      log.warn({ digestId, reason: feedback.reason, rates: feedback.rates }, "digest paused: reports after sending");
    onPaused(feedback.reason);
    return feedback.reason;
  };
}

export function createSendJob(deps: SendJobDeps, opts: { stopping: () => boolean }) {
  const { db, config, queues } = deps;
  const feedbackPause = feedbackPauser(deps);
  const pauseForFeedback = (digestId: string, log: Logger) =>
    feedbackPause(digestId, log, (reason) => pauseWatch.stopped(digestId, reason));
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
      queueSendBatches(queues, digestId, [range], { ...sendJobOptions(config), suffix: `handed-back-${Date.now()}` }),
  });

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

  return async (job: Job, log: Logger, context: JobContext) => {
    const data = job.data as SendBatchJobData;
    const gate = await sendGate({ db, config, mailer: deps.mailer, log }, data.digestId);
    if (!gate.go) return waitOutPause(job, context, data.digestId, log, gate.until);
    const feedbackPaused = await pauseForFeedback(data.digestId, log);
    if (feedbackPaused) return (await waitOutPause(job, context, data.digestId, log)) ?? { paused: feedbackPaused };
    const outcome = await sender.sendBatch(
      data.digestId,
      { fromId: BigInt(data.fromId), toId: BigInt(data.toId) },
      log,
      { signal: context.signal },
    );
    if (outcome.paused) return (await waitOutPause(job, context, data.digestId, log)) ?? outcome;
    return outcome;
  };
}

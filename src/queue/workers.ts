import { Worker, type ConnectionOptions, type Job } from "bullmq";
import type { Logger } from "../logger";
import type { QueueName } from "./queues";

/**
 * What BullMQ hands a running job besides its data: the lock `token` (needed to move the job,
 * e.g. to delay it) and a `signal` aborted when the job is cancelled or its lock was lost.
 */
export interface JobContext {
  token?: string;
  signal?: AbortSignal;
}

/** Handles the jobs of one name; what it returns is stored as the job's result. */
export type JobHandler = (job: Job, log: Logger, context: JobContext) => Promise<unknown>;

/** Each feature contributes handlers by queue and job name; the app starts one worker per queue. */
export type JobHandlers = Partial<Record<QueueName, Record<string, JobHandler>>>;

export interface Workers {
  close(): Promise<void>;
  list: Worker[];
}

/** The id of the request (or command) that queued the job, carried in its data (src/observability/request-id.ts). */
const requestIdOf = (job: Job): string | undefined => {
  const id = (job.data as { requestId?: unknown } | undefined)?.requestId;
  return typeof id === "string" ? id : undefined;
};

export function mergeHandlers(...sets: JobHandlers[]): JobHandlers {
  const merged: JobHandlers = {};
  for (const set of sets) {
    for (const [queue, handlers] of Object.entries(set) as [QueueName, Record<string, JobHandler>][]) {
      merged[queue] = { ...merged[queue], ...handlers };
    }
  }
  return merged;
}

export function startWorkers(
  handlers: JobHandlers,
  opts: {
    connection: ConnectionOptions;
    prefix: string;
    concurrency: number;
    log: Logger;
    concurrencyByQueue?: Partial<Record<QueueName, number>>;
  },
): Workers {
  const list = (Object.entries(handlers) as [QueueName, Record<string, JobHandler>][]).map(([queue, byName]) => {
    const worker = new Worker(
      queue,
      // Three parameters: BullMQ passes an AbortSignal only to a processor that declares it.
      async (job, token, signal) => {
        const handler = byName[job.name];
        if (!handler) throw new Error(`No handler for job "${job.name}" on queue "${queue}"`);
        const log = opts.log.child({ queue, job: job.name, jobId: job.id, requestId: requestIdOf(job) });
        const started = Date.now();
        const result = await handler(job, log, { token, signal });
        log.info({ durationMs: Date.now() - started }, "job completed");
        return result;
      },
      {
        connection: opts.connection,
        prefix: opts.prefix,
        concurrency: opts.concurrencyByQueue?.[queue] ?? opts.concurrency,
        autorun: true,
      },
    );
    worker.on("failed", (job, err) =>
      opts.log.warn(
        {
          queue,
          job: job?.name,
          jobId: job?.id,
          requestId: job ? requestIdOf(job) : undefined,
          attemptsMade: job?.attemptsMade,
          err: err.message,
        },
        "job failed",
      ),
    );
    worker.on("error", (err) => opts.log.error({ queue, err: err.message }, "worker error"));
    // A job whose lock could not be renewed may already run elsewhere: tell it to stop (its signal).
    worker.on("lockRenewalFailed", (jobIds) => {
      for (const id of jobIds) worker.cancelJob(id, "lock lost");
    });
    return worker;
  });
  return {
    list,
    async close() {
      // close() waits for the jobs in progress to finish; every worker is closed even if one fails.
      await Promise.allSettled(list.map((w) => w.close()));
    },
  };
}

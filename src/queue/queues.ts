import { Queue, type JobsOptions, type ConnectionOptions } from "bullmq";

/** Every queue of the product, by what its jobs do. */
export const QueueName = {
  /** Transactional emails: subscribe requests, confirmation links, preferences reminders. */
  emails: "emails",
  /** Fetch and store one day's papers. */
  ingest: "ingest",
  /** Assemble a day's digest: variants, rendering, delivery rows. */
  digests: "digests",
  /** Send batches of deliveries. */
  sends: "sends",
  /** Housekeeping: reconcile stuck deliveries, prune old ones, purge unconfirmed subscribers, relay lost jobs. */
  maintenance: "maintenance",
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];
export const allQueueNames = Object.values(QueueName);

/**
 * Every job name, by the queue it runs on: the one place they are spelled. A job's handler and
 * whoever queues it both name it from here (through the feature's own constant, e.g. `CONFIRMATION_JOB`).
 */
export const JobName = {
  emails: {
    /** A confirmation email (src/subscriptions/confirmation-job.ts); the CSV import queues it too. */
    confirmation: "confirmation",
    /** A subscribe request from the form, decided off the request path (subscription-request-job.ts). */
    subscriptionRequest: "subscription-request",
    /** The preferences link sent to an active reader who subscribed again. */
    reminder: "reminder",
  },
  ingest: {
    day: "ingest-day",
    retryFailed: "ingest-retry-failed",
  },
  digests: {
    assemble: "assemble",
    scheduledDaily: "scheduled-daily",
    scheduledWeekly: "scheduled-weekly",
  },
  sends: {
    sendBatch: "send-batch",
  },
  maintenance: {
    reconcile: "reconcile",
    pruneDeliveries: "prune-deliveries",
    purgePending: "purge-pending",
    requeueUnsentConfirmations: "requeue-unsent-confirmations",
  },
} as const satisfies Record<QueueName, Record<string, string>>;

/**
 * The job schedulers' ids (src/queue/schedules.ts). Redis keeps a scheduler under its id, so these
 * values never change: a renamed id would leave the old scheduler firing beside the new one.
 */
export const SchedulerId = {
  papersIngest: "papers-ingest",
  papersIngestRetryFailed: "papers-ingest-retry-failed",
  digestDaily: "digest-daily",
  digestWeekly: "digest-weekly",
  deliveriesReconcile: "deliveries-reconcile",
  deliveriesPrune: "deliveries-prune",
  purgePending: JobName.maintenance.purgePending,
  requeueUnsentConfirmations: JobName.maintenance.requeueUnsentConfirmations,
} as const;

/** Job defaults: a few retries with exponential backoff; finished jobs are trimmed, failed ones kept a week. */
export const defaultJobOptions: JobsOptions = {
  attempts: 5,
  backoff: { type: "exponential", delay: 2_000 },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export type Queues = Record<QueueName, Queue> & { close(): Promise<void> };

/** `onError` receives connection errors (Redis away), which BullMQ would otherwise print to the console. */
export function createQueues(
  connection: ConnectionOptions,
  prefix: string,
  onError?: (queue: QueueName, err: Error) => void,
): Queues {
  const entries = allQueueNames.map((name) => {
    const queue = new Queue(name, { connection, prefix, defaultJobOptions });
    if (onError) queue.on("error", (err) => onError(name, err));
    return [name, queue] as const;
  });
  const queues = Object.fromEntries(entries) as Record<QueueName, Queue>;
  return Object.assign(queues, {
    async close() {
      await Promise.allSettled(entries.map(([, q]) => q.close()));
    },
  });
}

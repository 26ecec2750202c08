import type { Db } from "../db";
import type { Config } from "../config";
import type { Logger } from "../logger";
import type { Mailer } from "../mail/mailer";
import type { Metrics } from "../observability/metrics";
import type { Tokens } from "../subscriptions";
import type { Suppressions } from "../suppression";
import type { ReturnPaths } from "../mail/return-path";
import type { SendRange } from "./ledger";
import type { SendRateLimiter } from "./send-rate";
import type { PauseWatch } from "./pause-watch";

export interface SenderDeps {
  db: Db;
  config: Config;
  mailer: Mailer;
  tokens: Tokens;
  metrics: Metrics;
  suppressions: Suppressions;
  rateLimit: SendRateLimiter;
  /** The envelope sender per delivery (VERP) and the per-reader mailto: unsubscribe address. */
  returnPaths: ReturnPaths;
  log: Logger;
  /** True once the process is shutting down: stop taking new messages, hand the rest back. */
  stopping: () => boolean;
  /** Queues a fresh job for rows handed back by a stopping worker, so another worker takes them at once. */
  requeue: (digestId: string, range: SendRange) => Promise<void>;
  /** Tells running batches that their digest paused (this process at once, others within a second). */
  pauseWatch: PauseWatch;
}

export interface BatchOutcome {
  claimed: number;
  accepted: number;
  failed: number;
  bounced: number;
  skipped: number;
  /** Temporary failures handed back for a later attempt. */
  retry: number;
  /** Never tried (or never reached the reader) and handed back: the worker stopped, the digest paused... */
  handedBack: number;
  /** Set when this batch paused the digest, or found it paused. */
  paused?: string;
  /** Accepted by the server but no longer this claim's to record (another attempt took the row). */
  unrecorded: number;
}

export const emptyOutcome = (): BatchOutcome => ({
  claimed: 0,
  accepted: 0,
  failed: 0,
  bounced: 0,
  skipped: 0,
  retry: 0,
  handedBack: 0,
  unrecorded: 0,
});

/** Thrown when some deliveries failed temporarily: BullMQ retries the job with backoff. */
export class TemporarySendFailure extends Error {
  constructor(
    readonly outcome: BatchOutcome,
    lastError: string,
  ) {
    super(`${outcome.retry} deliveries failed temporarily (last: ${lastError}); retrying later`);
    this.name = "TemporarySendFailure";
  }
}

/** Thrown when the batch stopped early because its claim or its job was lost: BullMQ retries it. */
export class BatchInterrupted extends Error {
  constructor(reason: string) {
    super(`send batch interrupted: ${reason}`);
    this.name = "BatchInterrupted";
  }
}

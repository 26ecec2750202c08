import type { Queue } from "bullmq";
import type { Logger } from "../logger";
import {
  SUBSCRIPTION_REQUEST_JOB,
  subscriptionRequestJobOptions,
  type SubscriptionRequestJobData,
} from "./subscription-request-job";

/**
 * Relays the form's outbox rows (`subscription_requests`) to the `emails` queue without making the
 * request wait for Redis. The answer goes out once PostgreSQL holds the row; the rows answered in
 * the same turn of the event loop go to BullMQ together (`addBulk`: one round trip for all of
 * them). Whatever does not reach Redis (Redis away, the process stopped in between) is still in
 * PostgreSQL, and maintenance relays it (`relayUnprocessedRequests`): nothing is lost, and the
 * job id (one per row) makes a second relay harmless.
 */
export interface RequestRelay {
  push(data: SubscriptionRequestJobData): void;
  /** Sends what is waiting now (graceful stop, tests). */
  flush(): Promise<void>;
}

export function createRequestRelay(queue: Queue, log: Logger, maxBatch = 500): RequestRelay {
  let waiting: SubscriptionRequestJobData[] = [];
  let scheduled = false;
  let inFlight: Promise<void> = Promise.resolve();

  const send = async (batch: SubscriptionRequestJobData[]) => {
    try {
      await queue.addBulk(
        batch.map((data) => ({ name: SUBSCRIPTION_REQUEST_JOB, data, opts: subscriptionRequestJobOptions(data) })),
      );
    } catch (err) {
      log.warn(
        { err: err instanceof Error ? err.message : String(err), requests: batch.length },
        "could not queue subscribe requests: maintenance will relay them from PostgreSQL",
      );
    }
  };

  const flush = async () => {
    scheduled = false;
    while (waiting.length > 0) {
      const batch = waiting.slice(0, maxBatch);
      waiting = waiting.slice(batch.length);
      const sent = send(batch);
      inFlight = inFlight.then(() => sent);
      await sent;
    }
    await inFlight;
  };

  return {
    push(data) {
      waiting.push(data);
      if (scheduled) return;
      scheduled = true;
      setImmediate(() => void flush());
    },
    flush,
  };
}

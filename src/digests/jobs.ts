/**
 * The digest engine's jobs: names, payloads and how they are queued. Job ids derive from the
 * ledger (digest and delivery-id range), so queueing the same work twice is harmless.
 */
import type { Queues } from "../queue/queues";
import type { Frequency } from "../generated/prisma/enums";
import type { SendRange } from "./ledger";
import type { Day } from "./days";

export const DigestJob = {
  assemble: "assemble",
  scheduledDaily: "scheduled-daily",
  scheduledWeekly: "scheduled-weekly",
  sendBatch: "send-batch",
  reconcile: "reconcile",
} as const;

export interface AssembleJobData {
  day: Day;
  frequency: Frequency;
  requestId?: string;
}

export interface SendBatchJobData {
  digestId: string;
  fromId: string;
  toId: string;
  requestId?: string;
}

export async function queueAssembly(queues: Queues, data: AssembleJobData): Promise<void> {
  // A new job each time (ids never collide with a failed earlier one); assembly itself is idempotent.
  await queues.digests.add(DigestJob.assemble, data, {
    jobId: `assemble-${data.frequency}-${data.day}-${Date.now()}`,
    attempts: 5,
  });
}

export async function queueSendBatches(
  queues: Queues,
  digestId: string,
  ranges: SendRange[],
  opts: { attempts: number; backoffMs: number; suffix?: string; requestId?: string },
): Promise<void> {
  if (ranges.length === 0) return;
  await queues.sends.addBulk(
    ranges.map((r) => ({
      name: DigestJob.sendBatch,
      data: {
        digestId,
        fromId: r.fromId.toString(),
        toId: r.toId.toString(),
        requestId: opts.requestId,
      } satisfies SendBatchJobData,
      opts: {
        jobId: `send-${digestId}-${r.fromId}-${r.toId}${opts.suffix ? `-${opts.suffix}` : ""}`,
        attempts: opts.attempts,
        backoff: { type: "exponential", delay: opts.backoffMs },
      },
    })),
  );
}

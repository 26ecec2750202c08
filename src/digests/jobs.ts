/**
 * The digest engine's jobs: names, payloads and how they are queued. Job ids derive from the
 * ledger (digest and delivery-id range), so queueing the same work twice is harmless.
 */
import { JobName, type Queues } from "../queue/queues";
import type { Frequency } from "../generated/prisma/enums";
import type { SendRange } from "./ledger";
import type { Day } from "./days";

export const DigestJob = {
  ...JobName.digests,
  sendBatch: JobName.sends.sendBatch,
  reconcile: JobName.maintenance.reconcile,
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

/** The states in which a job will still run (or runs): its range is covered. */
const liveStates = ["waiting", "delayed", "active", "prioritized", "waiting-children"] as const;

/** A live send job's range; `active` when a worker has it now (it may also be a dead worker's). */
export interface LiveRange extends SendRange {
  active: boolean;
}

/** The id ranges of a digest's send jobs that are still to run or running. */
export async function liveSendRanges(queues: Queues, digestId: string): Promise<LiveRange[]> {
  const ranges: LiveRange[] = [];
  const pageSize = 1000;
  for (const state of liveStates) {
    for (let start = 0; ; start += pageSize) {
      const jobs = await queues.sends.getJobs([state], start, start + pageSize - 1, true);
      for (const job of jobs) {
        const data = job?.data as SendBatchJobData | undefined;
        if (job?.name !== DigestJob.sendBatch || data?.digestId !== digestId) continue;
        ranges.push({ fromId: BigInt(data.fromId), toId: BigInt(data.toId), active: state === "active" });
      }
      if (jobs.length < pageSize) break;
    }
  }
  return ranges;
}

/**
 * Whether an assembly of this day and frequency is still to run or running. The reconciler queues
 * one for a digest stuck in assembly only when none is: a digest whose assembly keeps failing (the
 * database down) or waits for a worker got one more job every round before.
 */
export async function assemblyQueued(
  queues: Queues,
  data: Pick<AssembleJobData, "day" | "frequency">,
): Promise<boolean> {
  const jobs = await queues.digests.getJobs([...liveStates], 0, -1, true);
  return jobs.some((job) => {
    const d = job?.data as AssembleJobData | undefined;
    return job?.name === DigestJob.assemble && d?.day === data.day && d.frequency === data.frequency;
  });
}

/** Moves a digest's delayed send jobs (waiting out a pause or a backoff) to run now. */
export async function promoteSendJobs(queues: Queues, digestId: string): Promise<number> {
  let promoted = 0;
  const delayed = await queues.sends.getJobs(["delayed"], 0, -1, true);
  for (const job of delayed) {
    const data = job?.data as SendBatchJobData | undefined;
    if (job?.name !== DigestJob.sendBatch || data?.digestId !== digestId) continue;
    try {
      await job.promote();
      promoted++;
    } catch {
      // It started (or was promoted) meanwhile.
    }
  }
  return promoted;
}

import type { Queue } from "bullmq";
import type { Db } from "../db";
import { enqueueConfirmations } from "./confirmation-job";

/**
 * PostgreSQL, not Redis, knows who still waits for a confirmation link: pending subscribers whose
 * link was never sent. If the job that should have sent it was lost (Redis down at subscribe time,
 * flushed, restarted), it is queued again here. Job ids deduplicate with a job still waiting.
 */
export async function requeueUnsentConfirmations(
  db: Db,
  queue: Queue,
  olderThanMs = 2 * 60_000,
  limit = 1000,
): Promise<number> {
  const waiting = await db.subscriber.findMany({
    where: { status: "pending", confirmationSentAt: null, updatedAt: { lt: new Date(Date.now() - olderThanMs) } },
    select: { id: true, tokenVersion: true, confirmationSentAt: true },
    orderBy: { updatedAt: "asc" },
    take: limit,
  });
  await enqueueConfirmations(
    queue,
    waiting.map((s) => ({ data: { subscriberId: s.id }, state: s })),
  );
  return waiting.length;
}

/**
 * The reconciler: PostgreSQL knows what is left to do, so whatever happened to Redis or to a
 * worker, work is rebuilt from the ledger. Claims whose worker vanished go back to pending;
 * pending deliveries that no live send job covers (its job was lost with Redis, or failed for
 * good) get a fresh job, and only those, so the queue depth stays the true backlog; digests stuck
 * in assembly are assembled again (idempotently) when no assembly job of theirs is left; finished
 * digests are marked sent. Paused
 * digests keep their jobs (waiting out the pause); lost ones are queued again and wait too.
 */
import type { Db } from "../db";
import type { Config } from "../config";
import type { Logger } from "../logger";
import type { Queues } from "../queue/queues";
import { dateToDay } from "./days";
import { completeIfDone, holdsFreshClaims, pendingRanges, releaseExpiredClaims, type SendRange } from "./ledger";
import { assemblyQueued, liveSendRanges, queueAssembly, queueSendBatches } from "./jobs";

/** Queues send jobs for a digest's pending rows that no live job covers; returns how many jobs. */
export async function queueLostWork(
  deps: { db: Db; config: Config; queues: Queues },
  digestId: string,
  olderThanSeconds: number,
  suffix: string,
): Promise<number> {
  const { db, config, queues } = deps;
  // A job a worker holds covers its range only while its claims are fresh: a live batch renews
  // them, a killed worker's job stays "active" in Redis until BullMQ notices it stalled.
  const live = await liveSendRanges(queues, digestId);
  const covered: SendRange[] = [];
  for (const r of live) {
    if (!r.active || (await holdsFreshClaims(db, digestId, r, config.DELIVERY_LEASE_SECONDS))) covered.push(r);
  }
  const ranges = await pendingRanges(db, digestId, config.SEND_BATCH_SIZE, olderThanSeconds, covered);
  await queueSendBatches(queues, digestId, ranges, {
    attempts: config.SEND_MAX_ATTEMPTS,
    backoffMs: config.SEND_RETRY_BASE_MS,
    suffix,
  });
  return ranges.length;
}

export async function reconcile(deps: {
  db: Db;
  config: Config;
  queues: Queues;
  log: Logger;
}): Promise<{ released: number; requeued: number; reassembled: number }> {
  const { db, config, queues, log } = deps;
  const lease = config.DELIVERY_LEASE_SECONDS;
  const released = await releaseExpiredClaims(db, lease);
  let requeued = 0;
  const open = await db.digest.findMany({
    where: { status: { in: ["sending", "paused"] } },
    select: { id: true, status: true },
  });
  const round = `r${Date.now()}`;
  for (const { id, status } of open) {
    if (status === "sending" && (await completeIfDone(db, id))) continue;
    requeued += await queueLostWork(deps, id, lease, round);
  }
  const stuck = await db.digest.findMany({
    where: { status: "assembling", updatedAt: { lt: new Date(Date.now() - lease * 1000) } },
    select: { day: true, frequency: true },
  });
  let reassembled = 0;
  for (const d of stuck) {
    const data = { day: dateToDay(d.day), frequency: d.frequency };
    if (await assemblyQueued(queues, data)) continue;
    await queueAssembly(queues, data);
    reassembled++;
  }
  if (released || requeued || reassembled) log.info({ released, requeued, reassembled }, "reconciled deliveries");
  return { released, requeued, reassembled };
}

/**
 * The reconciler: PostgreSQL knows what is left to do, so whatever happened to Redis or to a
 * worker, work is rebuilt from the ledger. Claims whose worker vanished go back to pending;
 * pending deliveries nobody has touched for a while get fresh send jobs; digests stuck in
 * assembly are assembled again (idempotently); finished digests are marked sent.
 */
import type { Db } from "../db";
import type { Config } from "../config";
import type { Logger } from "../logger";
import type { Queues } from "../queue/queues";
import { dateToDay } from "./days";
import { completeIfDone, pendingRanges, releaseExpiredClaims } from "./ledger";
import { queueAssembly, queueSendBatches } from "./jobs";

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
  const sending = await db.digest.findMany({ where: { status: "sending" }, select: { id: true } });
  const round = Math.floor(Date.now() / 1000 / config.RECONCILE_EVERY_SECONDS);
  for (const { id } of sending) {
    if (await completeIfDone(db, id)) continue;
    const ranges = await pendingRanges(db, id, config.SEND_BATCH_SIZE, lease);
    await queueSendBatches(queues, id, ranges, {
      attempts: config.SEND_MAX_ATTEMPTS,
      backoffMs: config.SEND_RETRY_BASE_MS,
      suffix: `r${round}`,
    });
    requeued += ranges.length;
  }
  const stuck = await db.digest.findMany({
    where: { status: "assembling", updatedAt: { lt: new Date(Date.now() - lease * 1000) } },
    select: { day: true, frequency: true },
  });
  for (const d of stuck) await queueAssembly(queues, { day: dateToDay(d.day), frequency: d.frequency });
  if (released || requeued || stuck.length)
    log.info({ released, requeued, reassembled: stuck.length }, "reconciled deliveries");
  return { released, requeued, reassembled: stuck.length };
}

/**
 * Deliveries kept bounded. A delivery row per reader per digest is what makes "nothing lost,
 * nothing doubled" checkable, but at 100,000 daily readers it is 36 million rows a year. Once a
 * digest is older than DELIVERY_RETENTION_DAYS its rows are folded into per-day figures
 * (`delivery_figures`: counts by state per UTC day the rows were created) and deleted; the admin
 * figures and the digest status read those figures beside the rows still kept.
 *
 * Each chunk is one statement: its DELETE ... RETURNING feeds its INSERT ... ON CONFLICT (add), so
 * a row is counted once whether the job finishes, stops half-way or runs twice at once.
 */
import type { Db } from "../db";
import { deliveryCounts, type DeliveryCounts } from "./ledger";
import { JobName } from "../queue/queues";

export const PRUNE_DELIVERIES_JOB = JobName.maintenance.pruneDeliveries;

export interface PruneResult {
  /** Digests whose rows were (all) folded into figures in this run. */
  digests: number;
  /** Delivery rows deleted. */
  rows: number;
}

/** The first day whose digests keep their rows: older digests are pruned. */
export function retentionCutoff(retentionDays: number, now = new Date()): Date {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return new Date(today - retentionDays * 86_400_000);
}

/**
 * Folds the delivery rows of every digest whose day is before the cutoff into `delivery_figures`
 * and deletes them, `chunk` rows per statement (short transactions: sending goes on meanwhile).
 */
export async function pruneDeliveries(
  db: Db,
  opts: { retentionDays: number; now?: Date; chunk?: number },
): Promise<PruneResult> {
  const cutoff = retentionCutoff(opts.retentionDays, opts.now);
  const chunk = opts.chunk ?? 20_000;
  const digests = await db.$queryRaw<{ id: string }[]>`
    SELECT d.id::text AS id FROM digests d
    WHERE d.day < ${cutoff}::date AND EXISTS (SELECT 1 FROM deliveries x WHERE x.digest_id = d.id)
    ORDER BY d.day`;
  let rows = 0;
  for (const { id } of digests) {
    for (;;) {
      const [done] = await db.$queryRaw<{ n: number }[]>`
        WITH gone AS (
          DELETE FROM deliveries WHERE id IN (
            SELECT id FROM deliveries WHERE digest_id = ${id}::uuid LIMIT ${chunk}
          ) RETURNING created_at, state
        ),
        folded AS (
          INSERT INTO delivery_figures AS f (digest_id, day, pending, sending, accepted, failed, skipped)
          SELECT ${id}::uuid, created_at::date,
            count(*) FILTER (WHERE state = 'pending'),
            count(*) FILTER (WHERE state = 'sending'),
            count(*) FILTER (WHERE state = 'accepted'),
            count(*) FILTER (WHERE state = 'failed'),
            count(*) FILTER (WHERE state = 'skipped')
          FROM gone GROUP BY created_at::date
          ON CONFLICT (digest_id, day) DO UPDATE SET
            pending = f.pending + EXCLUDED.pending,
            sending = f.sending + EXCLUDED.sending,
            accepted = f.accepted + EXCLUDED.accepted,
            failed = f.failed + EXCLUDED.failed,
            skipped = f.skipped + EXCLUDED.skipped,
            pruned_at = now()
          RETURNING 1
        )
        SELECT count(*)::int AS n FROM gone`;
      rows += done?.n ?? 0;
      if ((done?.n ?? 0) < chunk) break;
    }
  }
  return { digests: digests.length, rows };
}

/** A digest's counts (as `deliveryCounts`), its pruned rows included. */
export async function digestDeliveryCounts(db: Db, digestId: string): Promise<DeliveryCounts> {
  const live = await deliveryCounts(db, digestId);
  const [kept] = await db.$queryRaw<{ sent: number; failed: number; pending: number; skipped: number }[]>`
    SELECT coalesce(sum(accepted), 0)::int AS sent, coalesce(sum(failed), 0)::int AS failed,
      coalesce(sum(pending + sending), 0)::int AS pending, coalesce(sum(skipped), 0)::int AS skipped
    FROM delivery_figures WHERE digest_id = ${digestId}::uuid`;
  if (!kept) return live;
  return {
    ...live,
    total: live.total + kept.sent + kept.failed + kept.pending + kept.skipped,
    sent: live.sent + kept.sent,
    failed: live.failed + kept.failed,
    pending: live.pending + kept.pending,
    skipped: live.skipped + kept.skipped,
  };
}

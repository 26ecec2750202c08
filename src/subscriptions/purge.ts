import type { Db } from "../db";
import { anonymiseConsent, recordConsent } from "./consent-log";

/**
 * Erases subscribers who never confirmed: still pending, never confirmed before, created and last
 * sent a confirmation more than `days` ago (so a re-sent confirmation gets its full time). Each
 * erasure is logged, and the log is anonymised as for "delete me" (`keyOf`: the keyed hash).
 * Works in batches so one run never holds a long transaction.
 */
export async function purgeUnconfirmed(
  db: Db,
  days: number,
  keyOf: (email: string) => string,
  now = new Date(),
  batchSize = 500,
): Promise<{ purged: number }> {
  const cutoff = new Date(now.getTime() - days * 24 * 3600_000);
  let purged = 0;
  for (;;) {
    const batch = await db.$transaction(async (tx) => {
      const stale = await tx.subscriber.findMany({
        where: {
          status: "pending",
          confirmedAt: null,
          createdAt: { lt: cutoff },
          OR: [{ confirmationSentAt: null }, { confirmationSentAt: { lt: cutoff } }],
        },
        select: { id: true, email: true },
        take: batchSize,
      });
      if (stale.length === 0) return 0;
      for (const s of stale)
        await anonymiseConsent(tx, { subscriberId: s.id, email: s.email, keyedHash: keyOf(s.email) });
      await tx.subscriber.deleteMany({ where: { id: { in: stale.map((s) => s.id) }, status: "pending" } });
      for (const s of stale) {
        await recordConsent(tx, {
          subscriberId: null,
          email: s.email,
          keyedHash: keyOf(s.email),
          action: "delete",
          source: "system",
          detail: { reason: `not confirmed within ${days} days` },
        });
      }
      return stale.length;
    });
    purged += batch;
    if (batch < batchSize) return { purged };
  }
}

import crypto from "node:crypto";
import type { Db, Prisma, SuppressionReason } from "../db";

/**
 * The suppression list: addresses nothing is ever sent to again (no digest, no confirmation),
 * whatever their subscriber row says. Hard bounces, complaints, repeated soft bounces and operator
 * decisions put an address here; only an operator lifts it. Every path that mails reads it.
 *
 * Entries are keyed by an HMAC of the canonical address (the caller passes the canonical form), so
 * "delete me" can drop the address itself (`forget`) and the entry still stops a re-subscription.
 */

export type { SuppressionReason };

/** A Prisma client or a transaction. */
export type SuppressionDb = Db | Prisma.TransactionClient;

export interface SuppressionEntry {
  email: string | null;
  reason: SuppressionReason;
  source: string;
  detail: string;
  createdAt: Date;
  liftedAt: Date | null;
  liftedBy: string | null;
}

export interface SuppressInput {
  /** The canonical address. */
  email: string;
  reason: SuppressionReason;
  /** Where the fact came from: `smtp`, `dsn`, `arf`, `webhook:ses`, `admin`... */
  source: string;
  detail?: string;
}

export interface Suppressions {
  /** The keyed hash an entry is stored under. */
  keyOf(email: string): string;
  /** Adds (or re-activates) an entry. Idempotent: a second report keeps the first date. */
  suppress(db: SuppressionDb, input: SuppressInput): Promise<void>;
  isSuppressed(db: SuppressionDb, email: string): Promise<boolean>;
  /** Lifts an active entry; false when there was none. */
  lift(db: SuppressionDb, email: string, by: string): Promise<boolean>;
  /** Drops the address from its entry (after erasure); the hash keeps blocking it. */
  forget(db: SuppressionDb, email: string): Promise<void>;
  /** Newest first; includes lifted entries when asked. */
  list(db: SuppressionDb, opts?: { limit?: number; includeLifted?: boolean }): Promise<SuppressionEntry[]>;
}

/**
 * SQL fragment for queries that pick recipients: true when `emailColumn` is suppressed.
 * Works on the stored address, which is kept while a subscriber with it exists.
 */
export const suppressedSql = (emailColumn: string) =>
  `EXISTS (SELECT 1 FROM suppressions x WHERE x.email = ${emailColumn} AND x.lifted_at IS NULL)`;

export function createSuppressions(secret: string, previous: string[] = []): Suppressions {
  const keys = [secret, ...previous].map((s) => crypto.createHmac("sha256", s).update("suppression-list").digest());
  const hashWith = (key: Buffer, email: string) => crypto.createHmac("sha256", key).update(email).digest("hex");
  const keyOf = (email: string) => hashWith(keys[0]!, email);
  // After a rotation (SECRET_PREVIOUS) an entry may still sit under an earlier secret's hash.
  const hashesOf = (email: string) => keys.map((k) => hashWith(k, email));
  const existingHash = async (db: SuppressionDb, email: string) =>
    keys.length === 1
      ? keyOf(email)
      : ((
          await db.suppression.findFirst({
            where: { addressHash: { in: hashesOf(email) } },
            select: { addressHash: true },
          })
        )?.addressHash ?? keyOf(email));

  return {
    keyOf,
    async suppress(db, input) {
      const addressHash = await existingHash(db, input.email);
      await db.suppression.upsert({
        where: { addressHash },
        create: {
          addressHash,
          email: input.email,
          reason: input.reason,
          source: input.source,
          detail: (input.detail ?? "").slice(0, 500),
        },
        // An active entry keeps its first reason and date; a lifted one becomes active again.
        update: { email: input.email },
      });
      await db.suppression.updateMany({
        where: { addressHash, liftedAt: { not: null } },
        data: {
          liftedAt: null,
          liftedBy: null,
          reason: input.reason,
          source: input.source,
          detail: (input.detail ?? "").slice(0, 500),
          createdAt: new Date(),
        },
      });
    },
    async isSuppressed(db, email) {
      const row = await db.suppression.findFirst({
        where: { addressHash: { in: hashesOf(email) }, liftedAt: null },
        select: { id: true },
      });
      return row !== null;
    },
    async lift(db, email, by) {
      const { count } = await db.suppression.updateMany({
        where: { addressHash: { in: hashesOf(email) }, liftedAt: null },
        data: { liftedAt: new Date(), liftedBy: by.slice(0, 100) },
      });
      return count > 0;
    },
    async forget(db, email) {
      await db.suppression.updateMany({ where: { addressHash: { in: hashesOf(email) } }, data: { email: null } });
    },
    async list(db, opts = {}) {
      return db.suppression.findMany({
        where: opts.includeLifted ? {} : { liftedAt: null },
        orderBy: { createdAt: "desc" },
        take: Math.min(Math.max(opts.limit ?? 100, 1), 1000),
        select: {
          email: true,
          reason: true,
          source: true,
          detail: true,
          createdAt: true,
          liftedAt: true,
          liftedBy: true,
        },
      });
    },
  };
}

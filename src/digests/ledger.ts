/**
 * The delivery ledger: one row per digest and subscriber, moved pending → sending → accepted /
 * failed / skipped, each move one SQL statement. PostgreSQL is the truth about who got what.
 *
 * Claims are fenced: a claim writes a fresh token on its rows, and every later write of that
 * attempt (accept, fail, release, renew) names the token. A worker whose lease ran out and whose
 * rows another attempt took can no longer change them.
 */
import crypto from "node:crypto";
import { Prisma, type Db } from "../db";
import { suppressedSql } from "../suppression";

export interface ClaimedDelivery {
  id: bigint;
  variantId: number;
  attempts: number;
  subscriberId: string;
  email: string;
  tokenVersion: number;
}

/** The rows one attempt claimed, and the token that proves it still owns them. */
export interface Claim {
  token: string;
  deliveries: ClaimedDelivery[];
}

export interface SendRange {
  fromId: bigint;
  toId: bigint;
}

/** Marks deliveries of readers who left (unsubscribed, bounced...) or were suppressed since assembly as skipped. */
export async function skipInactive(db: Db, digestId: string, range: SendRange): Promise<number> {
  return db.$executeRaw`
    UPDATE deliveries d SET state = 'skipped', updated_at = now(),
      last_error = CASE WHEN s.status <> 'active' THEN 'subscriber is ' || s.status::text ELSE 'address is suppressed' END
    FROM subscribers s
    WHERE d.digest_id = ${digestId}::uuid AND d.id BETWEEN ${range.fromId} AND ${range.toId}
      AND d.state IN ('pending', 'sending') AND s.id = d.subscriber_id
      AND (s.status <> 'active' OR ${Prisma.raw(suppressedSql("s.email"))})`;
}

/**
 * Claims the range's deliveries for this attempt: pending ones, and ones claimed by an attempt
 * that vanished (claimed longer ago than the lease). One statement, so two workers never both
 * claim a row.
 */
export async function claimRange(db: Db, digestId: string, range: SendRange, leaseSeconds: number): Promise<Claim> {
  const token = crypto.randomUUID();
  const rows = await db.$queryRaw<
    { id: bigint; variant_id: number; attempts: number; subscriber_id: string; email: string; token_version: number }[]
  >`
    UPDATE deliveries d
    SET state = 'sending', claimed_at = now(), claim_token = ${token}::uuid, attempts = d.attempts + 1, updated_at = now()
    FROM subscribers s
    WHERE d.digest_id = ${digestId}::uuid AND d.id BETWEEN ${range.fromId} AND ${range.toId}
      AND s.id = d.subscriber_id AND s.status = 'active' AND d.variant_id IS NOT NULL
      AND (d.state = 'pending' OR (d.state = 'sending' AND d.claimed_at < now() - make_interval(secs => ${leaseSeconds})))
    RETURNING d.id, d.variant_id, d.attempts, s.id AS subscriber_id, s.email, s.token_version`;
  const deliveries = rows
    .map((r) => ({
      id: r.id,
      variantId: r.variant_id,
      attempts: r.attempts,
      subscriberId: r.subscriber_id,
      email: r.email,
      tokenVersion: r.token_version,
    }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  return { token, deliveries };
}

export interface Acceptance {
  id: bigint;
  /** The claim that sent it. */
  token: string;
  messageId: string;
  response: string;
  acceptedAt: Date;
}

/**
 * Marks several deliveries accepted, each with its own message id, answer and time: one statement.
 * An acceptance is a fact, so it is written while the claim is still this attempt's, and also when
 * the row went back to pending meanwhile (its lease ran out while the write was retried); never
 * over a row another attempt claimed since or settled. Returns the ids now recorded as accepted
 * (rows an earlier try already stored, whose answer was lost with its connection, included).
 */
export async function markAcceptedMany(db: Db, rows: Acceptance[]): Promise<Set<bigint>> {
  if (rows.length === 0) return new Set();
  const ids = rows.map((r) => r.id);
  const stored = await db.$queryRaw<{ id: bigint }[]>`
    WITH written AS (
      UPDATE deliveries d SET state = 'accepted', message_id = v.message_id, smtp_response = v.response,
        sent_at = v.sent_at, last_error = NULL, claimed_at = NULL, claim_token = NULL, updated_at = now()
      FROM unnest(${ids}::bigint[], ${rows.map((r) => r.token)}::uuid[], ${rows.map((r) => r.messageId)}::text[],
                  ${rows.map((r) => r.response.slice(0, 500))}::text[], ${rows.map((r) => r.acceptedAt.toISOString())}::timestamptz[])
        AS v(id, token, message_id, response, sent_at)
      WHERE d.id = v.id AND ((d.state = 'sending' AND d.claim_token = v.token) OR d.state = 'pending')
      RETURNING d.id)
    SELECT id FROM written
    UNION SELECT id FROM deliveries WHERE id = ANY(${ids}::bigint[]) AND state = 'accepted'`;
  return new Set(stored.map((r) => r.id));
}

export interface AcceptanceRecorderOptions {
  maxRows?: number;
  /** Told about each failed write before it is tried again. */
  onRetry?: (err: unknown, attempt: number) => void;
  /** Longest wait between two tries (ms). */
  maxDelayMs?: number;
}

/**
 * Records acceptances as they happen, grouping those that arrive together (group commit): the
 * first is written at once; those accepted while that write is in flight go in the next
 * statement. Each caller still waits until its own row is written before it sends anything else,
 * so mail accepted but not yet recorded stays bounded by the messages in flight, exactly as with
 * one UPDATE per message; only the number of statements (and commits) drops.
 *
 * A write that fails (a dropped connection, a restarting database) is tried again, with backoff,
 * until it is stored: an accepted delivery is never handed back to be sent again. The promise
 * resolves to false when the row was no longer this claim's to write (see markAcceptedMany).
 */
export function createAcceptanceRecorder(
  db: Db,
  opts: AcceptanceRecorderOptions = {},
): (row: Acceptance) => Promise<boolean> {
  const maxRows = opts.maxRows ?? 500;
  const maxDelayMs = opts.maxDelayMs ?? 5_000;
  let queued: { row: Acceptance; resolve: (stored: boolean) => void }[] = [];
  let writing = false;
  const write = async (batch: Acceptance[]): Promise<Set<bigint>> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await markAcceptedMany(db, batch);
      } catch (err) {
        opts.onRetry?.(err, attempt);
        await new Promise((r) => setTimeout(r, Math.min(maxDelayMs, 50 * 2 ** Math.min(attempt, 10))));
      }
    }
  };
  const drain = async () => {
    writing = true;
    while (queued.length) {
      const batch = queued.slice(0, maxRows);
      queued = queued.slice(batch.length);
      const stored = await write(batch.map((b) => b.row));
      for (const b of batch) b.resolve(stored.has(b.row.id));
    }
    writing = false;
  };
  return (row) =>
    new Promise<boolean>((resolve) => {
      queued.push({ row, resolve });
      if (!writing) void drain();
    });
}

/** Fails a delivery for good, if this claim still owns it. */
export async function markFailed(db: Db, token: string, id: bigint, error: string): Promise<boolean> {
  const n = await db.$executeRaw`
    UPDATE deliveries SET state = 'failed', last_error = ${error.slice(0, 500)}, claimed_at = NULL, claim_token = NULL, updated_at = now()
    WHERE id = ${id} AND state = 'sending' AND claim_token = ${token}::uuid`;
  return n > 0;
}

/**
 * Hands claimed deliveries back (temporary failure, a paused digest, a worker stopping), if this
 * claim still owns them; `undoAttempt` when they were never tried (or never reached the reader).
 */
export async function release(
  db: Db,
  token: string,
  ids: bigint[],
  error: string | null,
  undoAttempt = false,
): Promise<number> {
  if (ids.length === 0) return 0;
  return db.$executeRaw`
    UPDATE deliveries SET state = 'pending', claimed_at = NULL, claim_token = NULL, last_error = coalesce(${error}, last_error),
      attempts = greatest(0, attempts - ${undoAttempt ? 1 : 0}), updated_at = now()
    WHERE id = ANY(${ids}::bigint[]) AND state = 'sending' AND claim_token = ${token}::uuid`;
}

/**
 * Renews this claim on the rows it still holds, so a live worker's claims never look abandoned.
 * Returns how many of `ids` are no longer this claim's while still unsettled (released by the
 * reconciler, or claimed by another attempt): more than 0 means the lease was lost.
 */
export async function renewClaims(db: Db, token: string, ids: bigint[]): Promise<number> {
  if (ids.length === 0) return 0;
  const [row] = await db.$queryRaw<{ lost: bigint }[]>`
    WITH renewed AS (
      UPDATE deliveries SET claimed_at = now()
      WHERE id = ANY(${ids}::bigint[]) AND state = 'sending' AND claim_token = ${token}::uuid
      RETURNING id)
    SELECT count(*) AS lost FROM deliveries
    WHERE id = ANY(${ids}::bigint[]) AND state IN ('pending', 'sending') AND claim_token IS DISTINCT FROM ${token}::uuid
      AND id NOT IN (SELECT id FROM renewed)`;
  return Number(row?.lost ?? 0);
}

/**
 * Splits a digest's pending deliveries into id ranges of at most `size` rows (one send job each),
 * leaving out rows inside `covered` ranges (those a live job will take).
 */
export async function pendingRanges(
  db: Db,
  digestId: string,
  size: number,
  olderThanSeconds = 0,
  covered: SendRange[] = [],
): Promise<SendRange[]> {
  const rows = await db.$queryRaw<{ from_id: bigint; to_id: bigint }[]>`
    SELECT min(id) AS from_id, max(id) AS to_id
    FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / ${size} AS bucket
          FROM deliveries
          WHERE digest_id = ${digestId}::uuid AND state = 'pending'
            AND updated_at <= now() - make_interval(secs => ${olderThanSeconds})
            AND NOT EXISTS (SELECT 1 FROM unnest(${covered.map((r) => r.fromId)}::bigint[], ${covered.map((r) => r.toId)}::bigint[]) AS c(f, t)
                            WHERE deliveries.id BETWEEN c.f AND c.t)) t
    GROUP BY bucket ORDER BY 1`;
  return rows.map((r) => ({ fromId: r.from_id, toId: r.to_id }));
}

export interface DeliveryCounts {
  total: number;
  sent: number;
  failed: number;
  pending: number;
  skipped: number;
}

export async function deliveryCounts(db: Db, digestId: string): Promise<DeliveryCounts> {
  const [row] = await db.$queryRaw<{ total: bigint; sent: bigint; failed: bigint; pending: bigint; skipped: bigint }[]>`
    SELECT count(*) AS total,
      count(*) FILTER (WHERE state = 'accepted') AS sent,
      count(*) FILTER (WHERE state = 'failed') AS failed,
      count(*) FILTER (WHERE state IN ('pending', 'sending')) AS pending,
      count(*) FILTER (WHERE state = 'skipped') AS skipped
    FROM deliveries WHERE digest_id = ${digestId}::uuid`;
  return {
    total: Number(row!.total),
    sent: Number(row!.sent),
    failed: Number(row!.failed),
    pending: Number(row!.pending),
    skipped: Number(row!.skipped),
  };
}

/** Marks the digest sent once no delivery is left pending or in flight. */
export async function completeIfDone(db: Db, digestId: string): Promise<boolean> {
  const n = await db.$executeRaw`
    UPDATE digests SET status = 'sent', completed_at = now(), updated_at = now()
    WHERE id = ${digestId}::uuid AND status = 'sending'
      AND NOT EXISTS (SELECT 1 FROM deliveries WHERE digest_id = ${digestId}::uuid AND state IN ('pending', 'sending'))`;
  return n > 0;
}

/** Whether some delivery of the range is claimed and its claim was renewed within the lease. */
export async function holdsFreshClaims(
  db: Db,
  digestId: string,
  range: SendRange,
  leaseSeconds: number,
): Promise<boolean> {
  const [row] = await db.$queryRaw<{ fresh: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM deliveries
      WHERE digest_id = ${digestId}::uuid AND id BETWEEN ${range.fromId} AND ${range.toId} AND state = 'sending'
        AND claimed_at >= now() - make_interval(secs => ${leaseSeconds})) AS fresh`;
  return row?.fresh ?? false;
}

/** Claims that outlived their lease (their worker died): back to pending, for anyone to take. */
export async function releaseExpiredClaims(db: Db, leaseSeconds: number): Promise<number> {
  return db.$executeRaw`
    UPDATE deliveries SET state = 'pending', claimed_at = NULL, claim_token = NULL, updated_at = now() - make_interval(secs => ${leaseSeconds})
    WHERE state = 'sending' AND claimed_at < now() - make_interval(secs => ${leaseSeconds})`;
}

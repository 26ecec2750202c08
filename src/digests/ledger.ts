/**
 * The delivery ledger: one row per digest and subscriber, moved pending → sending → accepted /
 * failed / skipped, each move one SQL statement. PostgreSQL is the truth about who got what.
 */
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
export async function claimRange(
  db: Db,
  digestId: string,
  range: SendRange,
  leaseSeconds: number,
): Promise<ClaimedDelivery[]> {
  const rows = await db.$queryRaw<
    { id: bigint; variant_id: number; attempts: number; subscriber_id: string; email: string; token_version: number }[]
  >`
    UPDATE deliveries d
    SET state = 'sending', claimed_at = now(), attempts = d.attempts + 1, updated_at = now()
    FROM subscribers s
    WHERE d.digest_id = ${digestId}::uuid AND d.id BETWEEN ${range.fromId} AND ${range.toId}
      AND s.id = d.subscriber_id AND s.status = 'active' AND d.variant_id IS NOT NULL
      AND (d.state = 'pending' OR (d.state = 'sending' AND d.claimed_at < now() - make_interval(secs => ${leaseSeconds})))
    RETURNING d.id, d.variant_id, d.attempts, s.id AS subscriber_id, s.email, s.token_version`;
  return rows
    .map((r) => ({
      id: r.id,
      variantId: r.variant_id,
      attempts: r.attempts,
      subscriberId: r.subscriber_id,
      email: r.email,
      tokenVersion: r.token_version,
    }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

export interface Acceptance {
  id: bigint;
  messageId: string;
  response: string;
  acceptedAt: Date;
}

/** Marks several deliveries accepted, each with its own message id, answer and time: one statement. */
export async function markAcceptedMany(db: Db, rows: Acceptance[]): Promise<void> {
  if (rows.length === 0) return;
  await db.$executeRaw`
    UPDATE deliveries d SET state = 'accepted', message_id = v.message_id, smtp_response = v.response,
      sent_at = v.sent_at, last_error = NULL, claimed_at = NULL, updated_at = now()
    FROM unnest(${rows.map((r) => r.id)}::bigint[], ${rows.map((r) => r.messageId)}::text[],
                ${rows.map((r) => r.response.slice(0, 500))}::text[], ${rows.map((r) => r.acceptedAt.toISOString())}::timestamptz[])
      AS v(id, message_id, response, sent_at)
    WHERE d.id = v.id`;
}

/**
 * Records acceptances as they happen, grouping those that arrive together (group commit): the
 * first is written at once; those accepted while that write is in flight go in the next
 * statement. Each caller still waits until its own row is written before it sends anything else,
 * so mail accepted but not yet recorded stays bounded by the messages in flight, exactly as with
 * one UPDATE per message; only the number of statements (and commits) drops.
 */
export function createAcceptanceRecorder(db: Db, maxRows = 500): (row: Acceptance) => Promise<void> {
  let queued: { row: Acceptance; resolve: () => void; reject: (err: unknown) => void }[] = [];
  let writing = false;
  const drain = async () => {
    writing = true;
    while (queued.length) {
      const batch = queued.slice(0, maxRows);
      queued = queued.slice(batch.length);
      try {
        await markAcceptedMany(
          db,
          batch.map((b) => b.row),
        );
        for (const b of batch) b.resolve();
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    writing = false;
  };
  return (row) =>
    new Promise<void>((resolve, reject) => {
      queued.push({ row, resolve, reject });
      if (!writing) void drain();
    });
}

export async function markFailed(db: Db, id: bigint, error: string): Promise<void> {
  await db.$executeRaw`
    UPDATE deliveries SET state = 'failed', last_error = ${error.slice(0, 500)}, claimed_at = NULL, updated_at = now() WHERE id = ${id}`;
}

/** Hands a claimed delivery back (temporary failure, or a worker stopping); `undoAttempt` when it was never tried. */
export async function release(db: Db, ids: bigint[], error: string | null, undoAttempt = false): Promise<void> {
  if (ids.length === 0) return;
  await db.$executeRaw`
    UPDATE deliveries SET state = 'pending', claimed_at = NULL, last_error = coalesce(${error}, last_error),
      attempts = attempts - ${undoAttempt ? 1 : 0}, updated_at = now()
    WHERE id = ANY(${ids}::bigint[]) AND state = 'sending'`;
}

/** Renews this attempt's claim on rows it still holds, so a live worker's claims never look abandoned. */
export async function renewClaims(db: Db, ids: bigint[]): Promise<void> {
  if (ids.length === 0) return;
  await db.$executeRaw`UPDATE deliveries SET claimed_at = now() WHERE id = ANY(${ids}::bigint[]) AND state = 'sending'`;
}

/** Splits a digest's pending deliveries into id ranges of at most `size` rows (one send job each). */
export async function pendingRanges(
  db: Db,
  digestId: string,
  size: number,
  olderThanSeconds = 0,
): Promise<SendRange[]> {
  const rows = await db.$queryRaw<{ from_id: bigint; to_id: bigint }[]>`
    SELECT min(id) AS from_id, max(id) AS to_id
    FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / ${size} AS bucket
          FROM deliveries
          WHERE digest_id = ${digestId}::uuid AND state = 'pending'
            AND updated_at <= now() - make_interval(secs => ${olderThanSeconds})) t
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

/** Claims that outlived their lease (their worker died): back to pending, for anyone to take. */
export async function releaseExpiredClaims(db: Db, leaseSeconds: number): Promise<number> {
  return db.$executeRaw`
    UPDATE deliveries SET state = 'pending', claimed_at = NULL, updated_at = now() - make_interval(secs => ${leaseSeconds})
    WHERE state = 'sending' AND claimed_at < now() - make_interval(secs => ${leaseSeconds})`;
}

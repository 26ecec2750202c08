/**
 * Bounce and complaint rates, per digest and over a window of days, from the delivery ledger and
 * the feedback events: a delivery counts once however many reports name it.
 * - bounce rate = deliveries that hard-bounced (or became hard after soft bounces) / accepted
 * - complaint rate = deliveries complained about / accepted
 * `pauseVerdict` compares a digest's rates with BOUNCE_RATE_THRESHOLD and COMPLAINT_RATE_THRESHOLD
 * (once FEEDBACK_MIN_SENT deliveries were accepted): the send path's breaker
 * (`createFeedbackBreaker`) pauses a digest on it.
 */
import type { Db } from "../db";

export interface Rates {
  accepted: number;
  hardBounced: number;
  softBounced: number;
  complained: number;
  bounceRate: number | null;
  complaintRate: number | null;
}

export interface DigestRates extends Rates {
  digestId: string;
  day: string;
  frequency: string;
  status: string;
}

interface Counts {
  accepted: number;
  hard: number;
  soft: number;
  complained: number;
}

const rates = (c: Counts): Rates => ({
  accepted: c.accepted,
  hardBounced: c.hard,
  softBounced: c.soft,
  complained: c.complained,
  bounceRate: c.accepted > 0 ? c.hard / c.accepted : null,
  complaintRate: c.accepted > 0 ? c.complained / c.accepted : null,
});

/** Hard = a hard-bounce event, or a soft one that made the address suppressed. */
const countsSql = `
  count(DISTINCT f.delivery_id) FILTER (WHERE f.kind = 'hard_bounce' OR (f.kind = 'soft_bounce' AND f.effect LIKE 'suppressed%'))::int AS hard,
  count(DISTINCT f.delivery_id) FILTER (WHERE f.kind = 'soft_bounce')::int AS soft,
  count(DISTINCT f.delivery_id) FILTER (WHERE f.kind = 'complaint')::int AS complained`;

/** The most recent digests (newest first) with their rates. */
export async function recentDigestRates(db: Db, limit = 20): Promise<DigestRates[]> {
  const rows = await db.$queryRawUnsafe<(Counts & { id: string; day: Date; frequency: string; status: string })[]>(
    `SELECT g.id, g.day, g.frequency::text AS frequency, g.status::text AS status,
       (SELECT count(*)::int FROM deliveries d WHERE d.digest_id = g.id AND d.state = 'accepted') AS accepted,
       c.hard, c.soft, c.complained
     FROM (SELECT * FROM digests ORDER BY day DESC, frequency LIMIT $1) g
     LEFT JOIN LATERAL (SELECT ${countsSql} FROM feedback_events f WHERE f.digest_id = g.id) c ON true
     ORDER BY g.day DESC, g.frequency`,
    limit,
  );
  return rows.map((r) => ({
    digestId: r.id,
    day: r.day.toISOString().slice(0, 10),
    frequency: r.frequency,
    status: r.status,
    ...rates(r),
  }));
}

export async function digestRates(db: Db, digestId: string): Promise<Rates> {
  const [row] = await db.$queryRawUnsafe<Counts[]>(
    `SELECT (SELECT count(*)::int FROM deliveries d WHERE d.digest_id = $1::uuid AND d.state = 'accepted') AS accepted, c.*
     FROM (SELECT ${countsSql} FROM feedback_events f WHERE f.digest_id = $1::uuid) c`,
    digestId,
  );
  return rates(row ?? { accepted: 0, hard: 0, soft: 0, complained: 0 });
}

/** Deliveries accepted in the last `days` days, and which of them bounced or were complained about. */
export async function windowRates(db: Db, days = 30): Promise<Rates> {
  const [row] = await db.$queryRawUnsafe<Counts[]>(
    `WITH sent AS (SELECT id FROM deliveries WHERE state = 'accepted' AND sent_at > now() - make_interval(days => $1))
     SELECT (SELECT count(*)::int FROM sent) AS accepted, c.*
     FROM (SELECT ${countsSql} FROM feedback_events f JOIN sent ON sent.id = f.delivery_id) c`,
    days,
  );
  return rates(row ?? { accepted: 0, hard: 0, soft: 0, complained: 0 });
}

export interface Thresholds {
  bounceRate: number;
  complaintRate: number;
  minAccepted: number;
}

export type PauseVerdict = { pause: false; rates: Rates } | { pause: true; reason: string; rates: Rates };

export function pauseVerdict(r: Rates, t: Thresholds): PauseVerdict {
  if (r.accepted < t.minAccepted) return { pause: false, rates: r };
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  if (r.complaintRate !== null && r.complaintRate > t.complaintRate)
    return { pause: true, reason: `complaint rate ${pct(r.complaintRate)} over ${pct(t.complaintRate)}`, rates: r };
  if (r.bounceRate !== null && r.bounceRate > t.bounceRate)
    return { pause: true, reason: `bounce rate ${pct(r.bounceRate)} over ${pct(t.bounceRate)}`, rates: r };
  return { pause: false, rates: r };
}

/**
 * What the send path asks before each batch: should this digest pause, and why. Reports mostly
 * arrive after a digest went out, so the previous digest of the same frequency counts too: a list
 * whose last issue bounced or drew complaints over the thresholds does not start the next one
 * until a person looks (`digest resume`, which makes this digest ignore the rates).
 * Verdicts are kept `cacheMs` per digest, so a large send asks the database a few times a minute.
 */
export function createFeedbackBreaker(db: Db, t: Thresholds, cacheMs = 10_000) {
  const cache = new Map<string, { at: number; verdict: PauseVerdict }>();
  const ask = async (digestId: string): Promise<PauseVerdict> => {
    const [digest] = await db.$queryRaw<{ day: Date; frequency: string; overridden: boolean }[]>`
      SELECT day, frequency::text AS frequency, feedback_override_at IS NOT NULL AS overridden
      FROM digests WHERE id = ${digestId}::uuid`;
    if (!digest || digest.overridden)
      return { pause: false, rates: rates({ accepted: 0, hard: 0, soft: 0, complained: 0 }) };
    const own = pauseVerdict(await digestRates(db, digestId), t);
    if (own.pause) return own;
    const [previous] = await db.$queryRaw<{ id: string; day: Date }[]>`
      SELECT id, day FROM digests
      WHERE frequency::text = ${digest.frequency} AND day < ${digest.day} AND status IN ('sent', 'sending', 'paused')
      ORDER BY day DESC LIMIT 1`;
    if (!previous) return own;
    const before = pauseVerdict(await digestRates(db, previous.id), t);
    if (!before.pause) return own;
    return { ...before, reason: `${before.reason} on the ${previous.day.toISOString().slice(0, 10)} digest` };
  };
  return async (digestId: string): Promise<PauseVerdict> => {
    const hit = cache.get(digestId);
    if (hit && Date.now() - hit.at < cacheMs) return hit.verdict;
    const verdict = await ask(digestId);
    cache.set(digestId, { at: Date.now(), verdict });
    return verdict;
  };
}
export type FeedbackBreaker = ReturnType<typeof createFeedbackBreaker>;

/** The thresholds from the configuration. */
export const thresholdsOf = (config: {
  BOUNCE_RATE_THRESHOLD: number;
  COMPLAINT_RATE_THRESHOLD: number;
  FEEDBACK_MIN_SENT: number;
}): Thresholds => ({
  bounceRate: config.BOUNCE_RATE_THRESHOLD,
  complaintRate: config.COMPLAINT_RATE_THRESHOLD,
  minAccepted: config.FEEDBACK_MIN_SENT,
});

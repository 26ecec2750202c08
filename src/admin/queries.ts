/**
 * What the admin area reads from PostgreSQL: subscriber search and the figures. Read-only.
 */
import type { Db, Prisma } from "../db";
import type { SubscriberStatus } from "../generated/prisma/enums";
import { isUuid } from "../errors";

export const subscriberStatuses = [
  "pending",
  "active",
  "unsubscribed",
  "bounced",
  "complained",
] as const satisfies readonly SubscriberStatus[];

export interface SubscriberSearch {
  /** A fragment of the address, case-insensitive. */
  q?: string;
  status?: SubscriberStatus;
  limit: number;
  /** Opaque: the `nextCursor` of the previous page. */
  cursor?: string;
}

export interface SubscriberRow {
  id: string;
  email: string;
  status: SubscriberStatus;
  frequency: string;
  topics: string[];
  createdAt: Date;
  confirmedAt: Date | null;
  unsubscribedAt: Date | null;
}

/** Prisma passes `contains` to LIKE as it is: `%` and `_` in a search must match themselves. */
const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

const encodeCursor = (row: { createdAt: Date; id: string }) =>
  Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString("base64url");

/** Cursors this API wrote: an ISO time PostgreSQL can hold (years 1900-9998) and a real UUID. */
export function decodeCursor(cursor: string): { createdAt: Date; id: string } | undefined {
  const parts = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  if (parts.length !== 2) return undefined;
  const [iso, id] = parts as [string, string];
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/.test(iso) || !isUuid(id)) return undefined;
  const createdAt = new Date(iso);
  const year = createdAt.getUTCFullYear();
  if (Number.isNaN(createdAt.getTime()) || year < 1900 || year > 9998) return undefined;
  return { createdAt, id };
}

/** Newest first, keyset-paginated on (created_at, id) so pages stay stable while people subscribe. */
export async function searchSubscribers(
  db: Db,
  search: SubscriberSearch,
): Promise<{ subscribers: SubscriberRow[]; nextCursor: string | null }> {
  const after = search.cursor ? decodeCursor(search.cursor) : undefined;
  const where: Prisma.SubscriberWhereInput = {
    ...(search.q ? { email: { contains: escapeLike(search.q), mode: "insensitive" } } : {}),
    ...(search.status ? { status: search.status } : {}),
    ...(after
      ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] }
      : {}),
  };
  const rows = await db.subscriber.findMany({
    where,
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: search.limit + 1,
    include: { topics: { include: { topic: { select: { slug: true } } } } },
  });
  const page = rows.slice(0, search.limit);
  return {
    subscribers: page.map((s) => ({
      id: s.id,
      email: s.email,
      status: s.status,
      frequency: s.frequency,
      topics: s.topics.map((t) => t.topic.slug).sort(),
      createdAt: s.createdAt,
      confirmedAt: s.confirmedAt,
      unsubscribedAt: s.unsubscribedAt,
    })),
    nextCursor: rows.length > search.limit ? encodeCursor(page[page.length - 1]!) : null,
  };
}

export const statsDefinitions = {
  window: "The last `days` UTC days, today included.",
  subscribersByState: "Subscribers stored now, by status (all time, not only the window).",
  growth:
    "Per UTC day, from the consent log (it survives the purge of unconfirmed addresses): signups = people who asked to subscribe (web form, or imported pending); " +
    "activated = people who became active (confirmed, imported as opted in, resubscribed); left = people who unsubscribed, hard-bounced or complained; net = activated - left. Each person counts once per day and column.",
  deliveries: "Digest deliveries created per UTC day, by state (pending, sending, accepted, failed, skipped).",
  bounceRate:
    "Distinct people hard-bounced in the window / deliveries attempted in the window (accepted + failed). Null when nothing was attempted.",
  unsubscribeRate:
    "Distinct people who unsubscribed in the window / deliveries accepted in the window. Null when nothing was accepted.",
  complaintRate:
    "Distinct people who complained (spam reports) in the window / deliveries accepted in the window. Gmail and Yahoo want it under 0.3%, ideally under 0.1%.",
} as const;

export interface Stats {
  window: { days: number; since: string; until: string };
  subscribers: { byState: Record<SubscriberStatus, number>; total: number };
  growth: { day: string; signups: number; activated: number; left: number; net: number }[];
  deliveries: {
    day: string;
    pending: number;
    sending: number;
    accepted: number;
    failed: number;
    skipped: number;
    total: number;
  }[];
  rates: {
    deliveriesAttempted: number;
    deliveriesAccepted: number;
    bounces: number;
    unsubscribes: number;
    complaints: number;
    bounceRate: number | null;
    unsubscribeRate: number | null;
    complaintRate: number | null;
  };
  definitions: typeof statsDefinitions;
}

const dayString = (d: Date) => d.toISOString().slice(0, 10);
const ratio = (n: number, d: number) => (d === 0 ? null : Math.round((n / d) * 1e6) / 1e6);

/**
 * Writes the final counts of each finished digest of the window that has none yet, once: a sent
 * digest's rows no longer change, so the figures read its totals instead of its rows. Digests that
 * pruning already folded (partly) are left to be read from their rows and figures. Safe to run
 * twice at once (the second insert finds the rows there).
 */
export async function settleFinishedDigests(db: Db, since: Date): Promise<number> {
  return db.$executeRaw`
    INSERT INTO delivery_totals (digest_id, day, pending, sending, accepted, failed, skipped)
    SELECT x.digest_id, x.created_at::date,
      COUNT(*) FILTER (WHERE x.state = 'pending'),
      COUNT(*) FILTER (WHERE x.state = 'sending'),
      COUNT(*) FILTER (WHERE x.state = 'accepted'),
      COUNT(*) FILTER (WHERE x.state = 'failed'),
      COUNT(*) FILTER (WHERE x.state = 'skipped')
    FROM digests g JOIN deliveries x ON x.digest_id = g.id
    WHERE g.status = 'sent' AND g.updated_at >= ${since}
      AND NOT EXISTS (SELECT 1 FROM delivery_totals t WHERE t.digest_id = g.id)
      AND NOT EXISTS (SELECT 1 FROM delivery_figures f WHERE f.digest_id = g.id)
    GROUP BY 1, 2
    ON CONFLICT (digest_id, day) DO NOTHING`;
}

async function countByState(db: Db): Promise<Record<SubscriberStatus, number>> {
  const byStateRows = await db.subscriber.groupBy({ by: ["status"], _count: { _all: true } });
  const byState = Object.fromEntries(subscriberStatuses.map((s) => [s, 0])) as Record<SubscriberStatus, number>;
  for (const row of byStateRows) byState[row.status] = row._count._all;
  return byState;
}

/** Per day of the window: who signed up, who became active, who left (each person once a day). */
async function growthByDay(db: Db, since: Date, today: Date): Promise<Stats["growth"]> {
  const growth = await db.$queryRaw<{ day: Date; signups: number; activated: number; left: number }[]>`
    WITH days AS (SELECT generate_series(${since}::date, ${today}::date, interval '1 day')::date AS day),
    events AS (
      SELECT created_at::date AS day, action::text AS action, COALESCE(subscriber_id::text, email_hash) AS who
      FROM consent_events WHERE created_at >= ${since}
    )
    SELECT d.day,
      COUNT(DISTINCT e.who) FILTER (WHERE e.action = 'subscribe')::int AS signups,
      COUNT(DISTINCT e.who) FILTER (WHERE e.action IN ('confirm', 'import', 'resubscribe'))::int AS activated,
      COUNT(DISTINCT e.who) FILTER (WHERE e.action IN ('unsubscribe', 'bounce', 'complaint'))::int AS "left"
    FROM days d LEFT JOIN events e ON e.day = d.day
    GROUP BY d.day ORDER BY d.day`;
  return growth.map((g) => ({
    day: dayString(g.day),
    signups: g.signups,
    activated: g.activated,
    left: g.left,
    net: g.activated - g.left,
  }));
}

/** Per day of the window: the deliveries in each state, from the totals, the live rows and the kept figures. */
async function deliveriesByDay(db: Db, since: Date, today: Date): Promise<Stats["deliveries"]> {
  const deliveries = await db.$queryRaw<
    { day: Date; pending: number; sending: number; accepted: number; failed: number; skipped: number }[]
  >`
    WITH days AS (SELECT generate_series(${since}::date, ${today}::date, interval '1 day')::date AS day),
    -- Finished digests: their totals, one row per digest and day (settleFinishedDigests).
    settled AS (
      SELECT day, SUM(pending) AS pending, SUM(sending) AS sending, SUM(accepted) AS accepted,
        SUM(failed) AS failed, SUM(skipped) AS skipped
      FROM delivery_totals WHERE day >= ${since}::date GROUP BY 1
    ),
    -- The others (still sending, paused, or pruned before they were settled): their rows, found
    -- through their digest, so the rows of finished digests are never scanned. A digest whose rows
    -- were made in the window was assembled in it, so it was updated in it.
    live AS (
      SELECT x.created_at::date AS day,
        COUNT(*) FILTER (WHERE x.state = 'pending') AS pending,
        COUNT(*) FILTER (WHERE x.state = 'sending') AS sending,
        COUNT(*) FILTER (WHERE x.state = 'accepted') AS accepted,
        COUNT(*) FILTER (WHERE x.state = 'failed') AS failed,
        COUNT(*) FILTER (WHERE x.state = 'skipped') AS skipped
      FROM digests g JOIN deliveries x ON x.digest_id = g.id
      WHERE g.updated_at >= ${since} AND x.created_at >= ${since}
        AND NOT EXISTS (SELECT 1 FROM delivery_totals t WHERE t.digest_id = g.id)
      GROUP BY 1
    ),
    -- Rows older than DELIVERY_RETENTION_DAYS live on as per-day figures (src/digests/retention.ts).
    kept AS (
      SELECT day, SUM(pending) AS pending, SUM(sending) AS sending, SUM(accepted) AS accepted,
        SUM(failed) AS failed, SUM(skipped) AS skipped
      FROM delivery_figures f
      WHERE day >= ${since}::date AND NOT EXISTS (SELECT 1 FROM delivery_totals t WHERE t.digest_id = f.digest_id)
      GROUP BY 1
    )
    SELECT d.day,
      (COALESCE(s.pending, 0) + COALESCE(l.pending, 0) + COALESCE(k.pending, 0))::int AS pending,
      (COALESCE(s.sending, 0) + COALESCE(l.sending, 0) + COALESCE(k.sending, 0))::int AS sending,
      (COALESCE(s.accepted, 0) + COALESCE(l.accepted, 0) + COALESCE(k.accepted, 0))::int AS accepted,
      (COALESCE(s.failed, 0) + COALESCE(l.failed, 0) + COALESCE(k.failed, 0))::int AS failed,
      (COALESCE(s.skipped, 0) + COALESCE(l.skipped, 0) + COALESCE(k.skipped, 0))::int AS skipped
    FROM days d LEFT JOIN settled s ON s.day = d.day LEFT JOIN live l ON l.day = d.day LEFT JOIN kept k ON k.day = d.day
    ORDER BY d.day`;
  return deliveries.map((d) => ({
    day: dayString(d.day),
    pending: d.pending,
    sending: d.sending,
    accepted: d.accepted,
    failed: d.failed,
    skipped: d.skipped,
    total: d.pending + d.sending + d.accepted + d.failed + d.skipped,
  }));
}

/** The window's rates: the people who bounced, unsubscribed or complained, over the deliveries. */
async function ratesOf(db: Db, since: Date, deliveryRows: Stats["deliveries"]): Promise<Stats["rates"]> {
  const [people] = await db.$queryRaw<{ bounces: number; unsubscribes: number; complaints: number }[]>`
    SELECT
      COUNT(DISTINCT COALESCE(subscriber_id::text, email_hash)) FILTER (WHERE action = 'bounce')::int AS bounces,
      COUNT(DISTINCT COALESCE(subscriber_id::text, email_hash)) FILTER (WHERE action = 'unsubscribe')::int AS unsubscribes,
      COUNT(DISTINCT COALESCE(subscriber_id::text, email_hash)) FILTER (WHERE action = 'complaint')::int AS complaints
    FROM consent_events WHERE created_at >= ${since}`;
  const accepted = deliveryRows.reduce((n, d) => n + d.accepted, 0);
  const attempted = accepted + deliveryRows.reduce((n, d) => n + d.failed, 0);
  const { bounces = 0, unsubscribes = 0, complaints = 0 } = people ?? {};
  return {
    deliveriesAttempted: attempted,
    deliveriesAccepted: accepted,
    bounces,
    unsubscribes,
    complaints,
    bounceRate: ratio(bounces, attempted),
    unsubscribeRate: ratio(unsubscribes, accepted),
    complaintRate: ratio(complaints, accepted),
  };
}

/** The figures over the last `days` UTC days (today included). */
export async function subscriberStats(db: Db, days: number, now = new Date()): Promise<Stats> {
  const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const since = new Date(today.getTime() - (days - 1) * 86_400_000);
  const byState = await countByState(db);
  const growth = await growthByDay(db, since, today);
  await settleFinishedDigests(db, since);
  const deliveries = await deliveriesByDay(db, since, today);
  return {
    window: { days, since: dayString(since), until: dayString(today) },
    subscribers: { byState, total: Object.values(byState).reduce((a, b) => a + b, 0) },
    growth,
    deliveries,
    rates: await ratesOf(db, since, deliveries),
    definitions: statsDefinitions,
  };
}

/** One subscriber as the admin page shows them: choices, consent log, latest deliveries. */
export async function subscriberDetail(db: Db, id: string) {
  const subscriber = await db.subscriber.findUnique({
    where: { id },
    include: {
      topics: { include: { topic: { select: { slug: true, name: true } } } },
      follows: { orderBy: [{ kind: "asc" }, { createdAt: "asc" }], select: { kind: true, value: true } },
      consentEvents: {
        orderBy: { createdAt: "desc" },
        take: 100,
        select: { action: true, source: true, detail: true, ip: true, createdAt: true },
      },
      deliveries: {
        orderBy: { createdAt: "desc" },
        take: 50,
        select: {
          state: true,
          attempts: true,
          lastError: true,
          smtpResponse: true,
          sentAt: true,
          createdAt: true,
          variantId: true,
          digest: { select: { id: true, day: true, frequency: true } },
        },
      },
    },
  });
  if (!subscriber) return undefined;
  const [deliveryCount, suppression] = await Promise.all([
    db.delivery.count({ where: { subscriberId: id } }),
    db.suppression.findFirst({
      where: { email: subscriber.email, liftedAt: null },
      select: { reason: true, source: true, createdAt: true },
    }),
  ]);
  const { tokenVersion: _tokenVersion, ...rest } = subscriber;
  return { ...rest, deliveryCount, suppression };
}

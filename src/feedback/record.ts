/**
 * Turning one reported fact into its effects, once. Every source (the inbound listener, the IMAP
 * reader, each relay's webhook) ends here with a `FeedbackFact`; in one transaction:
 * 1. the fact is inserted under its dedupe key (a replay or a duplicate inserts nothing and stops here),
 * 2. a hard bounce or a complaint puts the address on the suppression list and changes the
 *    subscriber's status; a soft bounce is counted and, on SOFT_BOUNCE_LIMIT deliveries in a row,
 *    becomes a hard one; a mailto: unsubscribe unsubscribes,
 * 3. each change is written to the consent log with its source.
 * So a report is applied once or not at all, and a failure leaves nothing half-done (the sender
 * of the report is then told to try again).
 */
import type { ConsentSource, Db, Prisma } from "../db";
import type { FeedbackKind, SubscriberStatus } from "../generated/prisma/enums";
import { recordConsent } from "../subscriptions";
import type { Suppressions } from "../suppression";

export type FeedbackSource =
  "dsn" | "arf" | "mailto" | "webhook:ses" | "webhook:postmark" | "webhook:sendgrid" | "webhook:mailgun";

/** Who a fact is about: a delivery (VERP, or our Message-ID echoed by a relay), a subscriber, or only an address. */
export type FeedbackTarget = { deliveryId: bigint; email?: string } | { subscriberId: string } | { email: string };

export interface FeedbackFact {
  kind: FeedbackKind;
  source: FeedbackSource;
  channel: "smtp" | "imap" | "http";
  /** Names the fact: the same report twice gives the same key. */
  dedupeKey: string;
  target: FeedbackTarget;
  /** Enhanced status code or the relay's own classification. */
  status?: string;
  detail?: string;
}

export type FeedbackOutcome =
  { applied: false; reason: "duplicate" } | { applied: true; effect: string; subscriberId?: string; digestId?: string };

export interface FeedbackDeps {
  db: Db;
  suppressions: Suppressions;
  softBounceLimit: number;
}

interface Resolved {
  subscriberId?: string;
  email?: string;
  status?: SubscriberStatus;
  deliveryId?: bigint;
  digestId?: string;
}

async function resolve(tx: Prisma.TransactionClient, target: FeedbackTarget): Promise<Resolved> {
  if ("deliveryId" in target) {
    const rows = await tx.$queryRaw<
      { id: bigint; digest_id: string; subscriber_id: string; email: string; status: SubscriberStatus }[]
    >`
      SELECT d.id, d.digest_id, s.id AS subscriber_id, s.email, s.status
      FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.id = ${target.deliveryId}`;
    const row = rows[0];
    // A relay's word (target.email) must agree with the delivery it names, or the delivery is not used.
    if (row && (!target.email || target.email.toLowerCase() === row.email.toLowerCase()))
      return {
        subscriberId: row.subscriber_id,
        email: row.email,
        status: row.status,
        deliveryId: row.id,
        digestId: row.digest_id,
      };
    return target.email ? resolve(tx, { email: target.email }) : {};
  }
  const where = "subscriberId" in target ? { id: target.subscriberId } : { email: target.email };
  const s =
    "email" in where
      ? await tx.subscriber.findFirst({
          where: { email: { equals: where.email, mode: "insensitive" } },
          select: { id: true, email: true, status: true },
        })
      : await tx.subscriber.findUnique({ where, select: { id: true, email: true, status: true } });
  if (s) return { subscriberId: s.id, email: s.email, status: s.status };
  return "email" in target ? { email: target.email } : {};
}

const consentSource = (source: FeedbackSource): ConsentSource =>
  source.startsWith("webhook:") ? "webhook" : (source as ConsentSource);

/** True when the subscriber's last `limit` accepted deliveries (up to this one) all soft-bounced. */
async function softBouncesInARow(
  tx: Prisma.TransactionClient,
  r: Resolved,
  limit: number,
): Promise<{ inARow: number }> {
  if (r.deliveryId !== undefined) {
    const [row] = await tx.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM (
        SELECT d.id, EXISTS (SELECT 1 FROM feedback_events f WHERE f.delivery_id = d.id AND f.kind = 'soft_bounce') AS soft
        FROM deliveries d
        WHERE d.subscriber_id = ${r.subscriberId}::uuid AND d.id <= ${r.deliveryId} AND d.state = 'accepted'
        ORDER BY d.id DESC LIMIT ${limit}) last
      WHERE soft`;
    return { inARow: row?.n ?? 0 };
  }
  // Confirmations have no delivery rows: soft bounces of the last 30 days without one count.
  const [row] = await tx.$queryRaw<{ n: number }[]>`
    SELECT count(*)::int AS n FROM feedback_events
    WHERE subscriber_id = ${r.subscriberId}::uuid AND delivery_id IS NULL AND kind = 'soft_bounce'
      AND created_at > now() - interval '30 days'`;
  return { inARow: row?.n ?? 0 };
}

export async function recordFeedback(deps: FeedbackDeps, fact: FeedbackFact): Promise<FeedbackOutcome> {
  const { db } = deps;
  return db.$transaction(async (tx) => {
    const r = await resolve(tx, fact.target);
    const inserted = await tx.$queryRaw<{ id: bigint }[]>`
      INSERT INTO feedback_events (dedupe_key, kind, source, channel, subscriber_id, delivery_id, digest_id, status, detail, created_at)
      VALUES (${fact.dedupeKey.slice(0, 300)}, ${fact.kind}::"FeedbackKind", ${fact.source}, ${fact.channel},
              ${r.subscriberId ?? null}::uuid, ${r.deliveryId ?? null}::bigint, ${r.digestId ?? null}::uuid,
              ${(fact.status ?? "").slice(0, 100)}, ${(fact.detail ?? "").slice(0, 500)}, now())
      ON CONFLICT (dedupe_key) DO NOTHING
      RETURNING id`;
    const eventId = inserted[0]?.id;
    if (eventId === undefined) return { applied: false, reason: "duplicate" } as const;

    const effect = await applyEffect(tx, deps, fact, r);
    await tx.feedbackEvent.update({ where: { id: eventId }, data: { effect } });
    return { applied: true, effect, subscriberId: r.subscriberId, digestId: r.digestId } as const;
  });
}

/** What each effect works with: the transaction, the fact, whom it is about, and the consent log. */
interface Effect {
  tx: Prisma.TransactionClient;
  deps: FeedbackDeps;
  fact: FeedbackFact;
  r: Resolved;
  email: string;
  log: (action: "bounce" | "complaint" | "unsubscribe", extra?: Record<string, unknown>) => Promise<unknown>;
}

/** The consent log's detail of every change this fact makes. */
function consentDetail(fact: FeedbackFact, r: Resolved) {
  return {
    source: fact.source,
    channel: fact.channel,
    ...(fact.status ? { status: fact.status } : {}),
    ...(r.digestId ? { digestId: r.digestId, deliveryId: r.deliveryId!.toString() } : {}),
    ...(fact.detail ? { detail: fact.detail.slice(0, 300) } : {}),
  };
}

async function applyEffect(
  tx: Prisma.TransactionClient,
  deps: FeedbackDeps,
  fact: FeedbackFact,
  r: Resolved,
): Promise<string> {
  if (!r.email) return "unattributed";
  const email = r.email;
  const source = consentSource(fact.source);
  const detail = consentDetail(fact, r);
  const log: Effect["log"] = async (action, extra = {}) =>
    recordConsent(tx, {
      subscriberId: r.subscriberId ?? null,
      email,
      action,
      source,
      detail: { ...detail, ...extra },
    });
  const e: Effect = { tx, deps, fact, r, email, log };

  switch (fact.kind) {
    case "hard_bounce":
      return hardBounce(e, "hard_bounce");
    case "complaint":
      return complain(e);
    case "soft_bounce":
      return softBounce(e);
    case "unsubscribe":
      return unsubscribe(e);
  }
}

async function complain({ tx, deps, fact, r, email, log }: Effect): Promise<string> {
  await deps.suppressions.suppress(tx, { email, reason: "complaint", source: fact.source, detail: fact.status });
  if (r.subscriberId && r.status !== "complained") {
    await tx.subscriber.update({ where: { id: r.subscriberId }, data: { status: "complained" } });
  }
  await log("complaint", { previousStatus: r.status ?? null });
  return "suppressed";
}

async function softBounce(e: Effect): Promise<string> {
  if (!e.r.subscriberId) return "counted";
  const { inARow } = await softBouncesInARow(e.tx, e.r, e.deps.softBounceLimit);
  if (inARow >= e.deps.softBounceLimit) return hardBounce(e, "soft_bounces", { softBouncesInARow: inARow });
  return "counted";
}

async function unsubscribe({ tx, r, log }: Effect): Promise<string> {
  if (!r.subscriberId || r.status === "unsubscribed") return "already";
  await tx.subscriber.update({
    where: { id: r.subscriberId },
    data: { status: "unsubscribed", unsubscribedAt: new Date() },
  });
  await log("unsubscribe", { previousStatus: r.status ?? null });
  return "unsubscribed";
}

async function hardBounce(
  { tx, deps, fact, r, email, log }: Effect,
  reason: "hard_bounce" | "soft_bounces",
  extra: Record<string, unknown> = {},
): Promise<string> {
  await deps.suppressions.suppress(tx, { email, reason, source: fact.source, detail: fact.status });
  // A complaint is the stronger fact and stays; unsubscribed people are left unsubscribed.
  if (r.subscriberId && (r.status === "active" || r.status === "pending")) {
    await tx.subscriber.update({ where: { id: r.subscriberId }, data: { status: "bounced" } });
  }
  await log("bounce", { previousStatus: r.status ?? null, ...extra });
  return reason === "hard_bounce" ? "suppressed" : "suppressed after soft bounces";
}

import { Prisma, type Db, type Frequency, type Subscriber } from "../db";
import { recordConsent, type ConsentEntry, type RequestContext } from "./consent-log";
import { newSubscribersCte } from "./create";
import { replaceTopics, resolveTopicSlugsCached } from "./topics";

/** A repeated subscribe sends its email (confirmation or reminder) at most this often (a few minutes). */
export const CONFIRMATION_RESEND_COOLDOWN_MS = 5 * 60_000;

export interface NewSubscription {
  /** Already canonical (normalizeEmail). */
  email: string;
  /** Topic slugs; none means every topic. */
  topicSlugs: string[];
  frequency: Frequency;
}

/** What the web form's request did: always the same shape, whatever the address's state. */
export interface SubscribeResult {
  /** The outbox row; the `subscription-request` job (queue `emails`) takes it from here. */
  requestRowId: string;
}

/**
 * The web form's double opt-in, as the request sees it: one statement that stores a new address
 * as a pending subscriber (with topics and consent entry, `newSubscribersCte`) and, whatever the
 * address's state, one outbox row. The request does the same work for a new, pending, active,
 * unsubscribed or suppressed address, so neither its answer nor its timing tells them apart; the
 * job decides what the request means (`processSubscriptionRequest`). Unknown topics: InvalidInput.
 */
export async function subscribe(
  db: Db,
  input: NewSubscription,
  context: RequestContext = {},
): Promise<SubscribeResult> {
  const topicIds = await resolveTopicSlugsCached(db, input.topicSlugs);
  const rows = await db.$queryRaw<{ id: string }[]>`
    WITH ${newSubscribersCte([
      {
        email: input.email,
        status: "pending",
        frequency: input.frequency,
        topicIds,
        consent: {
          action: "subscribe",
          source: "web_form",
          detail: { status: "pending", topics: [...new Set(input.topicSlugs)].sort(), frequency: input.frequency },
          ip: context.ip,
          userAgent: context.userAgent,
        },
      },
    ])}, r AS (
      INSERT INTO subscription_requests (email, topic_ids, frequency, created, ip, user_agent, request_id, created_at)
      SELECT ${input.email}, ${topicIds}::int[], ${input.frequency}::"Frequency", EXISTS (SELECT 1 FROM s),
             ${context.ip?.slice(0, 64) ?? null}, ${context.userAgent?.slice(0, 300) ?? null},
             ${context.requestId?.slice(0, 64) ?? null}, now()
      RETURNING id
    )
    SELECT id::text FROM r`;
  return { requestRowId: rows[0]!.id };
}

/**
 * What a subscribe request meant, decided by the job:
 * - `confirm`: send the confirmation (new address, still pending, or reopened after leaving);
 * - `remind`: an active reader asked again: send their preferences link, change nothing;
 * - `nothing`: suppressed (bounced, complained, blocked by an operator), already processed, or gone.
 */
export type RequestDecision =
  { send: "confirm" | "remind"; outcome: string; subscriber: Subscriber } | { send: "nothing"; outcome: string };

export interface ProcessDeps {
  db: Db;
  isSuppressed(db: Prisma.TransactionClient, email: string): Promise<boolean>;
}

/**
 * Applies one outbox row, once (the row is claimed in the transaction): a still-pending subscriber
 * takes the new topics and frequency; one who left (unsubscribed, bounced, complained) is reopened
 * as pending with every older link revoked; an active one is left unchanged. A suppressed address
 * is left unchanged and gets nothing. The address is dropped from the row once it is processed.
 */
export async function processSubscriptionRequest(deps: ProcessDeps, requestRowId: string): Promise<RequestDecision> {
  return deps.db.$transaction(async (tx) => {
    const [request] = await tx.$queryRaw<
      {
        email: string | null;
        topic_ids: number[];
        frequency: Frequency;
        created: boolean;
        ip: string | null;
        user_agent: string | null;
      }[]
    >`SELECT email, topic_ids, frequency, created, ip, user_agent FROM subscription_requests
      WHERE id = ${BigInt(requestRowId)} AND processed_at IS NULL FOR UPDATE SKIP LOCKED`;
    if (!request?.email) return { send: "nothing", outcome: "already processed" } as const;
    const decision = await decide(tx, deps, request as typeof request & { email: string });
    await tx.subscriptionRequest.update({
      where: { id: BigInt(requestRowId) },
      data: { processedAt: new Date(), outcome: decision.outcome, email: null, ip: null, userAgent: null },
    });
    return decision;
  });
}

async function decide(
  tx: Prisma.TransactionClient,
  deps: ProcessDeps,
  request: {
    email: string;
    topic_ids: number[];
    frequency: Frequency;
    created: boolean;
    ip: string | null;
    user_agent: string | null;
  },
): Promise<RequestDecision> {
  const subscriber = await tx.subscriber.findUnique({ where: { email: request.email } });
  if (!subscriber) return { send: "nothing", outcome: "gone" };
  if (await deps.isSuppressed(tx, request.email)) return { send: "nothing", outcome: "suppressed" };
  if (request.created) return { send: "confirm", outcome: "created", subscriber };
  if (subscriber.status === "active") return { send: "remind", outcome: "already_active", subscriber };

  const context = { ip: request.ip ?? undefined, userAgent: request.user_agent ?? undefined };
  const topics = await tx.topic.findMany({
    where: { id: { in: request.topic_ids } },
    select: { id: true, slug: true },
  });
  const detail = { topics: topics.map((t) => t.slug).sort(), frequency: request.frequency };
  const topicIds = topics.map((t) => t.id);
  if (subscriber.status === "pending") {
    const updated = await applyChoices(
      tx,
      subscriber,
      topicIds,
      { frequency: request.frequency },
      {
        action: "subscribe",
        detail: { ...detail, repeated: true },
        context,
      },
    );
    return { send: "confirm", outcome: "resent", subscriber: updated };
  }
  // unsubscribed, bounced or complained (and not suppressed): a fresh double opt-in, older links die.
  const reopened = await applyChoices(
    tx,
    subscriber,
    topicIds,
    { status: "pending", frequency: request.frequency, tokenVersion: { increment: 1 }, confirmationSentAt: null },
    { action: "resubscribe", detail: { ...detail, previousStatus: subscriber.status, pending: true }, context },
  );
  return { send: "confirm", outcome: "reopened", subscriber: reopened };
}

/** A repeated request's choices on an existing subscriber: the row, the topics, the consent entry. */
async function applyChoices(
  tx: Prisma.TransactionClient,
  subscriber: Subscriber,
  topicIds: number[],
  data: Prisma.SubscriberUpdateInput,
  consent: Pick<ConsentEntry, "action" | "detail" | "context">,
): Promise<Subscriber> {
  const updated = await tx.subscriber.update({ where: { id: subscriber.id }, data });
  await replaceTopics(tx, subscriber.id, topicIds);
  await recordConsent(tx, { subscriberId: subscriber.id, email: subscriber.email, source: "web_form", ...consent });
  return updated;
}

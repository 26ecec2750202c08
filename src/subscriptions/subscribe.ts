import { Prisma, type Db, type Frequency, type Subscriber } from "../db";
import { recordConsent, type ConsentEntry, type RequestContext } from "./consent-log";
import { insertNewSubscribers } from "./create";
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
 * The web form's double opt-in, as the request sees it: one INSERT of the outbox row, and nothing
 * else. The request does the same work for a new, pending, active, unsubscribed or suppressed
 * address (and for one that does not exist yet), so neither its answer nor its timing tells them
 * apart; the job creates the subscriber if the address is new (with topics and consent entry,
 * dated when the request was made) and decides what the request means (`processSubscriptionRequest`).
 * Unknown topics: InvalidInput (from the topic cache, before anything is stored).
 */
export async function subscribe(
  db: Db,
  input: NewSubscription,
  context: RequestContext = {},
): Promise<SubscribeResult> {
  const topicIds = await resolveTopicSlugsCached(db, input.topicSlugs);
  const rows = await db.$queryRaw<{ id: string }[]>`
    INSERT INTO subscription_requests (email, topic_ids, frequency, created, ip, user_agent, request_id, created_at)
    VALUES (${input.email}, ${topicIds}::int[], ${input.frequency}::"Frequency", false,
            ${context.ip?.slice(0, 64) ?? null}, ${context.userAgent?.slice(0, 300) ?? null},
            ${context.requestId?.slice(0, 64) ?? null}, now())
    RETURNING id::text`;
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
    const [request] = await tx.$queryRaw<(StoredRequest & { email: string | null })[]>`
      SELECT email, topic_ids, frequency, ip, user_agent, created_at FROM subscription_requests
      WHERE id = ${BigInt(requestRowId)} AND processed_at IS NULL FOR UPDATE SKIP LOCKED`;
    if (!request?.email) return { send: "nothing", outcome: "already processed" } as const;
    const stored = { ...request, email: request.email };
    const created = await createIfNew(tx, stored);
    const decision = await decide(tx, deps, { ...stored, created });
    await tx.subscriptionRequest.update({
      where: { id: BigInt(requestRowId) },
      data: { processedAt: new Date(), created, outcome: decision.outcome, email: null, ip: null, userAgent: null },
    });
    return decision;
  });
}

/** An outbox row as the job reads it. */
interface StoredRequest {
  email: string;
  topic_ids: number[];
  frequency: Frequency;
  ip: string | null;
  user_agent: string | null;
  created_at: Date;
}

/**
 * A new address becomes a pending subscriber, with its topics and the consent entry of the request
 * (its time, address and browser), through the one creation function. True when this request created it.
 */
async function createIfNew(tx: Prisma.TransactionClient, request: StoredRequest): Promise<boolean> {
  const topics = await tx.topic.findMany({ where: { id: { in: request.topic_ids } }, select: { slug: true } });
  const made = await insertNewSubscribers(tx, [
    {
      email: request.email,
      status: "pending",
      frequency: request.frequency,
      topicIds: request.topic_ids,
      consent: {
        action: "subscribe",
        source: "web_form",
        detail: { status: "pending", topics: topics.map((t) => t.slug).sort(), frequency: request.frequency },
        ip: request.ip,
        userAgent: request.user_agent,
        at: request.created_at,
      },
    },
  ]);
  return made.length > 0;
}

async function decide(
  tx: Prisma.TransactionClient,
  deps: ProcessDeps,
  request: StoredRequest & { created: boolean },
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

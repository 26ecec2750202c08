import { Prisma, type ConsentAction, type ConsentSource, type Db, type Frequency, type Subscriber } from "../db";
import { emailHash, recordConsent, type DbClient, type RequestContext } from "./consent-log";
import { replaceTopics, resolveTopicSlugs, resolveTopicSlugsCached } from "./topics";

/** A repeated subscribe re-sends the confirmation at most this often (a few minutes). */
export const CONFIRMATION_RESEND_COOLDOWN_MS = 5 * 60_000;

export interface NewSubscription {
  /** Already normalised (normalizeEmail). */
  email: string;
  /** Topic slugs; none means every topic. */
  topicSlugs: string[];
  frequency: Frequency;
}

/**
 * What happened, for metrics and logs only: the reader always sees the same answer, so nobody can
 * learn from the web form whether an address is subscribed.
 */
export type SubscribeOutcome = "created" | "resent" | "recently_sent" | "already_active" | "reopened";

export interface SubscribeResult {
  outcome: SubscribeOutcome;
  subscriberId: string;
  /** True when a confirmation email should be queued now. */
  sendConfirmation: boolean;
  /** The subscriber's state after the request (what the confirmation job id is made of). */
  tokenVersion: number;
  confirmationSentAt: Date | null;
}

const isUniqueViolation = (err: unknown) => err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2002";

/**
 * Creates a subscriber with topics and the consent entry that explains it, or returns the existing
 * one untouched. Used by the web form (pending, "subscribe") and by imports ("import", pending for
 * people who never opted in, active for those who did elsewhere).
 */
export async function createSubscriber(
  db: DbClient,
  input: NewSubscription & {
    status: "pending" | "active";
    action: ConsentAction;
    source: ConsentSource;
    context?: RequestContext;
    detail?: Prisma.InputJsonValue;
  },
): Promise<{ created: boolean; subscriber: Subscriber }> {
  const existing = await db.subscriber.findUnique({ where: { email: input.email } });
  if (existing) return { created: false, subscriber: existing };
  const topicIds = await resolveTopicSlugs(db, input.topicSlugs);
  const subscriber = await db.subscriber.create({
    data: {
      email: input.email,
      status: input.status,
      frequency: input.frequency,
      confirmedAt: input.status === "active" ? new Date() : null,
    },
  });
  await replaceTopics(db, subscriber.id, topicIds);
  await recordConsent(db, {
    subscriberId: subscriber.id,
    email: subscriber.email,
    action: input.action,
    source: input.source,
    detail: {
      status: input.status,
      topics: [...new Set(input.topicSlugs)].sort(),
      frequency: input.frequency,
      ...(input.detail as object | undefined),
    },
    context: input.context,
  });
  return { created: true, subscriber };
}

/**
 * For imports (CSV, CLI): one person, atomically. `optedIn` people (consent given elsewhere, with
 * proof) become active; the others pending, and the caller queues their confirmation with
 * `enqueueConfirmation(queues.emails, { subscriberId }, subscriber)`. Existing addresses are left
 * untouched (`created: false`).
 */
export function importSubscriber(
  db: Db,
  input: NewSubscription & {
    optedIn: boolean;
    source?: ConsentSource;
    context?: RequestContext;
    detail?: Prisma.InputJsonValue;
  },
): Promise<{ created: boolean; subscriber: Subscriber }> {
  return db
    .$transaction((tx) =>
      createSubscriber(tx, {
        ...input,
        status: input.optedIn ? "active" : "pending",
        action: "import",
        source: input.source ?? "cli",
      }),
    )
    .catch(async (err) => {
      if (!isUniqueViolation(err)) throw err;
      return { created: false, subscriber: await db.subscriber.findUniqueOrThrow({ where: { email: input.email } }) };
    });
}

/**
 * The common case, a new address, in one statement (one round trip, atomic on its own): the
 * pending subscriber, their topics and the consent entry. Null when the address exists already.
 */
async function createPendingInOneStatement(
  db: Db,
  input: NewSubscription,
  context: RequestContext,
): Promise<SubscribeResult | null> {
  const topicIds = await resolveTopicSlugsCached(db, input.topicSlugs);
  const detail = JSON.stringify({
    status: "pending",
    topics: [...new Set(input.topicSlugs)].sort(),
    frequency: input.frequency,
  });
  const rows = await db.$queryRaw<{ id: string; token_version: number }[]>`
    WITH s AS (
      INSERT INTO subscribers (id, email, status, frequency, created_at, updated_at)
      VALUES (gen_random_uuid(), ${input.email}, 'pending', ${input.frequency}::"Frequency", now(), now())
      ON CONFLICT (email) DO NOTHING
      RETURNING id, token_version
    ), t AS (
      INSERT INTO subscriber_topics (subscriber_id, topic_id) SELECT s.id, topic_id FROM s, unnest(${topicIds}::int[]) AS topic_id
    ), c AS (
      INSERT INTO consent_events (subscriber_id, email_hash, action, source, detail, ip, user_agent, created_at)
      SELECT s.id, ${emailHash(input.email)}, 'subscribe', 'web_form', ${detail}::jsonb, ${context.ip?.slice(0, 64) ?? null}, ${context.userAgent?.slice(0, 300) ?? null}, now() FROM s
    )
    SELECT id::text, token_version FROM s`;
  const [row] = rows;
  return row
    ? {
        outcome: "created",
        sendConfirmation: true,
        subscriberId: row.id,
        tokenVersion: row.token_version,
        confirmationSentAt: null,
      }
    : null;
}

/**
 * The web form's double opt-in. New address: a pending subscriber. Still pending: the new choice
 * of topics is kept and the confirmation re-sent unless one went out in the last few minutes.
 * Unsubscribed, bounced or complained: a new opt-in (pending again, older links revoked).
 * Already active: nothing changes (changing topics needs the link from an email).
 */
export async function subscribe(
  db: Db,
  input: NewSubscription,
  context: RequestContext = {},
  opts: { now?: Date; resendCooldownMs?: number } = {},
): Promise<SubscribeResult> {
  const now = opts.now ?? new Date();
  const cooldown = opts.resendCooldownMs ?? CONFIRMATION_RESEND_COOLDOWN_MS;
  const attempt = () =>
    db.$transaction(async (tx): Promise<SubscribeResult> => {
      const created = await createSubscriber(tx, {
        ...input,
        status: "pending",
        action: "subscribe",
        source: "web_form",
        context,
      });
      const subscriber = created.subscriber;
      const state = {
        subscriberId: subscriber.id,
        tokenVersion: subscriber.tokenVersion,
        confirmationSentAt: subscriber.confirmationSentAt,
      };
      if (created.created) return { outcome: "created", sendConfirmation: true, ...state };

      if (subscriber.status === "active") return { outcome: "already_active", sendConfirmation: false, ...state };

      const topicIds = await resolveTopicSlugs(tx, input.topicSlugs);
      const detail = { topics: [...new Set(input.topicSlugs)].sort(), frequency: input.frequency };
      if (subscriber.status === "pending") {
        await tx.subscriber.update({ where: { id: subscriber.id }, data: { frequency: input.frequency } });
        await replaceTopics(tx, subscriber.id, topicIds);
        await recordConsent(tx, {
          subscriberId: subscriber.id,
          email: subscriber.email,
          action: "subscribe",
          source: "web_form",
          detail: { ...detail, repeated: true },
          context,
        });
        const recentlySent =
          subscriber.confirmationSentAt && now.getTime() - subscriber.confirmationSentAt.getTime() < cooldown;
        return recentlySent
          ? { outcome: "recently_sent", sendConfirmation: false, ...state }
          : { outcome: "resent", sendConfirmation: true, ...state };
      }

      // unsubscribed, bounced or complained: a fresh double opt-in, and every older link dies.
      await tx.subscriber.update({
        where: { id: subscriber.id },
        data: {
          status: "pending",
          frequency: input.frequency,
          tokenVersion: { increment: 1 },
          confirmationSentAt: null,
        },
      });
      await replaceTopics(tx, subscriber.id, topicIds);
      await recordConsent(tx, {
        subscriberId: subscriber.id,
        email: subscriber.email,
        action: "resubscribe",
        source: "web_form",
        detail: { ...detail, previousStatus: subscriber.status, pending: true },
        context,
      });
      return {
        outcome: "reopened",
        sendConfirmation: true,
        subscriberId: subscriber.id,
        tokenVersion: subscriber.tokenVersion + 1,
        confirmationSentAt: null,
      };
    });
  try {
    return (await createPendingInOneStatement(db, input, context)) ?? (await attempt());
  } catch (err) {
    // Two requests for one new address at once: the second insert loses; run it again as a repeat.
    if (isUniqueViolation(err)) return attempt();
    throw err;
  }
}

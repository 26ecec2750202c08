import type { Job, Queue } from "bullmq";
import type { Db } from "../db";
import type { Logger } from "../logger";
import type { Mailer } from "../mail/mailer";
import { listHeaders } from "../mail/list-headers";
import type { Suppressions } from "../suppression";
import type { Tokens } from "./tokens";
import type { ReminderRenderer } from "./confirmation-email";
import { enqueueConfirmation } from "./confirmation-job";
import { linkUrls } from "./links";
import { CONFIRMATION_RESEND_COOLDOWN_MS, processSubscriptionRequest } from "./subscribe";
import { JobName } from "../queue/queues";

/**
 * The second half of a subscribe request (queue `emails`). The web form only stored the request
 * (`subscribe`, the outbox row); here it is applied and its email chosen: a confirmation link, or
 * for an active reader a reminder with their preferences link (job `reminder`), or nothing for a
 * suppressed address. So the form's answer and timing are the same whatever the address's state.
 */
export const SUBSCRIPTION_REQUEST_JOB = JobName.emails.subscriptionRequest;
export const REMINDER_JOB = JobName.emails.reminder;

export interface SubscriptionRequestJobData {
  requestRowId: string;
  requestId?: string;
}

/** One job per outbox row: the id makes a second relay of the same row harmless. */
export const subscriptionRequestJobOptions = (data: SubscriptionRequestJobData) => ({
  jobId: `subscription-request-${data.requestRowId}`,
});

export function enqueueSubscriptionRequest(queue: Queue, data: SubscriptionRequestJobData) {
  return queue.add(SUBSCRIPTION_REQUEST_JOB, data, subscriptionRequestJobOptions(data));
}

export interface SubscriptionRequestJobDeps {
  db: Db;
  suppressions: Suppressions;
  emailQueue: Queue;
}

export function subscriptionRequestJobHandler(deps: SubscriptionRequestJobDeps) {
  return async (job: Job<SubscriptionRequestJobData>, log: Logger): Promise<string> => {
    const decision = await processSubscriptionRequest(
      { db: deps.db, isSuppressed: (tx, email) => deps.suppressions.isSuppressed(tx, email) },
      job.data.requestRowId,
    );
    const data = { subscriberId: "", requestId: job.data.requestId };
    if (decision.send === "confirm") {
      await enqueueConfirmation(
        deps.emailQueue,
        { ...data, subscriberId: decision.subscriber.id },
        decision.subscriber,
      );
    } else if (decision.send === "remind") {
      const s = decision.subscriber;
      await deps.emailQueue.add(
        REMINDER_JOB,
        { ...data, subscriberId: s.id },
        { jobId: `reminder-${s.id}-${s.confirmationSentAt?.getTime() ?? "never"}` },
      );
    }
    log.info({ outcome: decision.outcome }, "subscribe request applied");
    return decision.outcome;
  };
}

/**
 * Relays outbox rows nobody took (Redis was away when the request was answered, or the job was
 * lost): PostgreSQL keeps them until they are processed.
 */
export async function relayUnprocessedRequests(db: Db, queue: Queue, olderThanMs = 60_000, limit = 1000) {
  const rows = await db.subscriptionRequest.findMany({
    where: { processedAt: null, createdAt: { lt: new Date(Date.now() - olderThanMs) } },
    select: { id: true, requestId: true },
    orderBy: { createdAt: "asc" },
    take: limit,
  });
  for (const r of rows)
    await enqueueSubscriptionRequest(queue, { requestRowId: r.id.toString(), requestId: r.requestId ?? undefined });
  return rows.length;
}

/** Processed rows hold no address; they are dropped after a week. */
export async function purgeProcessedRequests(db: Db, days = 7) {
  const { count } = await db.subscriptionRequest.deleteMany({
    where: { processedAt: { lt: new Date(Date.now() - days * 24 * 3600_000) } },
  });
  return count;
}

export interface ReminderJobDeps {
  db: Db;
  mailer: Mailer;
  tokens: Tokens;
  suppressions: Suppressions;
  render: ReminderRenderer;
  baseUrl: () => string;
  unsubscribeMailto?: string;
  cooldownMs?: number;
}

/** Sends an active reader their preferences link, at most once per cooldown; changes nothing else. */
export function reminderJobHandler(deps: ReminderJobDeps) {
  const cooldownMs = deps.cooldownMs ?? CONFIRMATION_RESEND_COOLDOWN_MS;
  return async (job: Job<{ subscriberId: string }>, log: Logger): Promise<string> => {
    const { subscriberId } = job.data;
    const subscriber = await deps.db.subscriber.findUnique({ where: { id: subscriberId } });
    if (!subscriber || subscriber.status !== "active") return "skipped: not active";
    if (await deps.suppressions.isSuppressed(deps.db, subscriber.email)) return "skipped: suppressed";
    const now = new Date();
    const previous = subscriber.confirmationSentAt;
    // The same claim as the confirmation's: one email per cooldown, however many requests. The
    // confirmation email itself (sent before the reader confirmed) does not count.
    const count = await deps.db.$executeRaw`
      UPDATE subscribers SET confirmation_sent_at = ${now}
      WHERE id = ${subscriberId}::uuid AND status = 'active'
        AND (confirmation_sent_at IS NULL OR confirmation_sent_at < ${new Date(now.getTime() - cooldownMs)}
             OR confirmation_sent_at <= confirmed_at)`;
    if (count === 0) return "skipped: sent recently";
    const baseUrl = deps.baseUrl();
    const links = linkUrls(deps.tokens, baseUrl, subscriber);
    const email = await deps.render({ email: subscriber.email, preferencesUrl: links.preferences });
    try {
      const result = await deps.mailer.send({
        kind: "notice",
        to: subscriber.email,
        subject: email.subject,
        html: email.html,
        text: email.text,
        headers: listHeaders({ baseUrl, unsubscribeToken: links.unsubscribeToken, mailto: deps.unsubscribeMailto }),
      });
      log.info({ subscriberId, messageId: result.messageId }, "preferences reminder sent");
      return "sent";
    } catch (err) {
      await deps.db.subscriber.updateMany({
        where: { id: subscriberId, confirmationSentAt: now },
        data: { confirmationSentAt: previous },
      });
      throw err;
    }
  };
}

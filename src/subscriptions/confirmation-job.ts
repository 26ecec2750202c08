import { DelayedError, UnrecoverableError, type Job, type Queue } from "bullmq";
import type { Db, Subscriber } from "../db";
import type { Logger } from "../logger";
import type { Mailer } from "../mail/mailer";
import { classifySendError } from "../mail/failure";
import type { JobContext } from "../queue/workers";
import { listHeaders } from "../mail/list-headers";
import type { Suppressions } from "../suppression";
import type { Tokens } from "./tokens";
import type { ConfirmationRenderer } from "./confirmation-email";
import { linkUrls } from "./links";
import { recordConsent } from "./consent-log";
import { CONFIRMATION_RESEND_COOLDOWN_MS } from "./subscribe";
import { JobName } from "../queue/queues";

/**
 * The queue contract: queue `emails`, job name `confirmation`, data `{ subscriberId, requestId? }`.
 * Whoever queues one (the subscribe request, the CSV import, the sweeper) goes through
 * `enqueueConfirmation` or `enqueueConfirmations`.
 */
export const CONFIRMATION_JOB = JobName.emails.confirmation;
export interface ConfirmationJobData {
  subscriberId: string;
  requestId?: string;
}

/**
 * Queues a confirmation email. The job id names the subscriber's state (token version, last
 * confirmation sent), so every click between two sends makes the same job, and the first click
 * after a send makes a new one. The handler's claim below is what really guarantees one email
 * per cooldown, across jobs and workers. A job that failed for good is removed, so its id never
 * blocks the sweeper or the next subscribe from queueing the email again.
 */
export async function enqueueConfirmation(queue: Queue, data: ConfirmationJobData, state: ConfirmationState) {
  const job = confirmationJob(data, state);
  return queue.add(job.name, job.data, job.opts);
}

/** Many confirmations in one round trip (the CSV import, the sweeper), each queued as `enqueueConfirmation` does. */
export async function enqueueConfirmations(
  queue: Queue,
  items: { data: ConfirmationJobData; state: ConfirmationState }[],
) {
  if (items.length === 0) return [];
  return queue.addBulk(items.map(({ data, state }) => confirmationJob(data, state)));
}

/** What the job id is made of: the subscriber's token version and when their last confirmation went out. */
export interface ConfirmationState {
  tokenVersion: number;
  confirmationSentAt: Date | null;
}

function confirmationJob(data: ConfirmationJobData, state: ConfirmationState) {
  const jobId = `confirmation-${data.subscriberId}-v${state.tokenVersion}-${state.confirmationSentAt?.getTime() ?? "never"}`;
  return { name: CONFIRMATION_JOB, data, opts: { jobId, removeOnFail: true } };
}

export interface ConfirmationJobDeps {
  db: Db;
  mailer: Mailer;
  tokens: Tokens;
  render: ConfirmationRenderer;
  baseUrl: () => string;
  /** The per-subscriber mailto: for List-Unsubscribe (undefined: none). */
  unsubscribeMailto?: (subscriberId: string) => string | undefined;
  /** The envelope sender naming this subscriber (VERP), so a bounce of the confirmation finds them. */
  returnPath?: (subscriberId: string) => string;
  confirmTtlHours: number;
  purgeDays: number;
  cooldownMs?: number;
  /** The suppression list: suppressed addresses get no confirmation, a hard bounce puts the address there. */
  suppressions?: Suppressions;
  /** Longest wait between two tries while the mail transport is down (default 5 minutes). */
  outageRetryMaxMs?: number;
}

export type ConfirmationJobResult =
  "sent" | "skipped: not pending" | "skipped: sent recently" | "skipped: no such subscriber" | "skipped: suppressed";

export function confirmationJobHandler(deps: ConfirmationJobDeps) {
  const cooldownMs = deps.cooldownMs ?? CONFIRMATION_RESEND_COOLDOWN_MS;
  return async (job: Job<ConfirmationJobData>, log: Logger, context?: JobContext): Promise<ConfirmationJobResult> => {
    const { subscriberId } = job.data;
    const subscriber = await deps.db.subscriber.findUnique({
      where: { id: subscriberId },
      include: { topics: { include: { topic: true } } },
    });
    if (!subscriber) return "skipped: no such subscriber";
    if (subscriber.status !== "pending") return "skipped: not pending";
    if (await deps.suppressions?.isSuppressed(deps.db, subscriber.email)) return "skipped: suppressed";
    const claim = await claimSend(deps.db, subscriber, cooldownMs);
    if (!claim) return "skipped: sent recently";
    try {
      const result = await sendConfirmation(deps, subscriber);
      log.info({ subscriberId, messageId: result.messageId }, "confirmation email sent");
      return "sent";
    } catch (err) {
      return failed(deps, { job, log, context }, subscriber, claim, err);
    }
  };
}

type PendingSubscriber = Subscriber & { topics: { topic: { name: string } }[] };
/** The claim of one send: when it was made, and the last send it replaced (given back on failure). */
type Claim = { now: Date; previous: Date | null };

/** Claims the send: one conditional update, so concurrent jobs (or workers) send one email. */
async function claimSend(db: Db, subscriber: Subscriber, cooldownMs: number): Promise<Claim | undefined> {
  const now = new Date();
  const { count } = await db.subscriber.updateMany({
    where: {
      id: subscriber.id,
      status: "pending",
      OR: [{ confirmationSentAt: null }, { confirmationSentAt: { lt: new Date(now.getTime() - cooldownMs) } }],
    },
    data: { confirmationSentAt: now },
  });
  return count === 0 ? undefined : { now, previous: subscriber.confirmationSentAt };
}

async function sendConfirmation(deps: ConfirmationJobDeps, subscriber: PendingSubscriber) {
  const baseUrl = deps.baseUrl();
  const links = linkUrls(deps.tokens, baseUrl, subscriber);
  const email = await deps.render({
    email: subscriber.email,
    confirmUrl: links.confirm,
    topics: subscriber.topics.map((t) => t.topic.name).sort(),
    frequency: subscriber.frequency,
    ttlHours: deps.confirmTtlHours,
    purgeDays: deps.purgeDays,
  });
  // The instrumented mailer counts and times it under this kind.
  return deps.mailer.send({
    kind: "confirmation",
    to: subscriber.email,
    subject: email.subject,
    html: email.html,
    text: email.text,
    // "Not me" for mail providers: their unsubscribe button stops even this pending request.
    headers: listHeaders({
      baseUrl,
      unsubscribeToken: links.unsubscribeToken,
      mailto: deps.unsubscribeMailto?.(subscriber.id),
    }),
    returnPath: deps.returnPath?.(subscriber.id),
  });
}

/** A send that failed: decides by whose fault it was. Always throws (the job's outcome). */
async function failed(
  deps: ConfirmationJobDeps,
  { job, log, context }: { job: Job<ConfirmationJobData>; log: Logger; context?: JobContext },
  subscriber: Subscriber,
  claim: Claim,
  err: unknown,
): Promise<never> {
  const failure = classifySendError(err);
  if (failure.scope === "message" && failure.kind === "permanent") {
    // This email was refused (not the reader): keep the claim, so the sweeper does not send
    // it every few minutes; the reader's next subscribe tries again after the cooldown.
    throw new UnrecoverableError(`confirmation email refused: ${failure.message}`);
  }
  // Give the claim back, so a retry (or the next subscribe) may send.
  await deps.db.subscriber.updateMany({
    where: { id: subscriber.id, confirmationSentAt: claim.now },
    data: { confirmationSentAt: claim.previous },
  });
  if (failure.isHardBounce) {
    await markBounced(deps, subscriber.email, subscriber.id, failure.message);
    throw new UnrecoverableError(`confirmation refused by the server: ${failure.message}`);
  }
  if (failure.scope === "transport" && context?.token) {
    // Our side is down (login, sender, connection): wait it out without using up attempts,
    // however long it lasts; the wait grows with the job's age, up to outageRetryMaxMs.
    const outageRetryMaxMs = deps.outageRetryMaxMs ?? 5 * 60_000;
    const waitMs = Math.min(outageRetryMaxMs, Math.max(1_000, (Date.now() - job.timestamp) / 2));
    log.warn(
      { subscriberId: subscriber.id, err: failure.message, retryInMs: waitMs },
      "confirmation waits for the mail transport",
    );
    await job.moveToDelayed(Date.now() + waitMs, context.token);
    throw new DelayedError();
  }
  throw failure;
}

/** A 5xx for the recipient: the address does not take mail, so stop trying, say why, suppress it. */
async function markBounced(deps: ConfirmationJobDeps, email: string, subscriberId: string, reason: string) {
  await deps.db.$transaction(async (tx) => {
    await deps.suppressions?.suppress(tx, {
      email,
      reason: "hard_bounce",
      source: "smtp",
      detail: reason.slice(0, 300),
    });
    const s = await tx.subscriber.findUnique({ where: { id: subscriberId }, select: { email: true, status: true } });
    if (!s || s.status !== "pending") return;
    await tx.subscriber.update({ where: { id: subscriberId }, data: { status: "bounced" } });
    await recordConsent(tx, {
      subscriberId,
      email: s.email,
      action: "bounce",
      source: "smtp",
      detail: { reason: reason.slice(0, 300), email: "confirmation" },
    });
  });
}

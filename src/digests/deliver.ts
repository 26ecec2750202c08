/**
 * One delivery of a claimed batch: build the reader's message from the compiled variant, send it,
 * record the acceptance (retried until stored, never handed back), or act on the failure by whose
 * fault it is (mail/failure.ts): a recipient refused for good bounces that subscriber only; a
 * message refused fails that delivery only; a transport fault bounces nobody, hands the row back
 * and pauses the digest (breaker.ts).
 */
import { recordConsent } from "../subscriptions";
import type { Logger } from "../logger";
import { classifySendError, unusableAddress, type SendError } from "../mail/failure";
import { listHeaders } from "../mail/list-headers";
import { personalise, type CompiledVariant } from "../mail/personal-message";
import type { Acceptance, ClaimedDelivery } from "./ledger";
import { markFailed, release } from "./ledger";
import { pauseDigest, pauseOnFailureShare } from "./breaker";
import { persist } from "./persist";
import type { SendSlot } from "./send-rate";
import type { BatchOutcome, SenderDeps } from "./batch-types";

/** The batch one delivery belongs to: its claim and what it has done so far. */
export interface BatchRun {
  digestId: string;
  token: string;
  outcome: BatchOutcome;
  /** This claim's rows not settled yet. */
  unfinished: Set<bigint>;
  log: Logger;
  /** The last temporary failure, for the job's error. */
  lastTemporary?: string;
}

export interface DeliverDeps extends SenderDeps {
  variant: (id: number) => Promise<CompiledVariant>;
  recordAcceptance: (row: Acceptance) => Promise<boolean>;
  /** The domain of MAIL_FROM, for the Message-IDs. */
  domain: string;
}

/** The reader's own message, and its Message-ID (deterministic per delivery). */
async function buildMessage(deps: DeliverDeps, run: BatchRun, d: ClaimedDelivery) {
  const { config, tokens } = deps;
  const unsubscribeToken = tokens.sign("unsubscribe", d.subscriberId, d.tokenVersion);
  const compiledVariant = await deps.variant(d.variantId);
  // Deterministic per delivery: a receiving server can recognise a copy re-sent after a crash.
  const messageId = `digest-${run.digestId}-${d.id}@${deps.domain}`;
  const raw = personalise(compiledVariant, {
    to: d.email,
    messageId,
    date: new Date(),
    unsubscribeUrl: `${config.BASE_URL}/unsubscribe/${unsubscribeToken}`,
    preferencesUrl: `${config.BASE_URL}/preferences/${tokens.sign("manage", d.subscriberId, d.tokenVersion)}`,
    headers: listHeaders({
      baseUrl: config.BASE_URL,
      unsubscribeToken,
      mailto: deps.returnPaths.unsubscribeMailto(d.subscriberId),
    }),
  });
  return { raw, messageId };
}

/** Sends one claimed delivery and settles its row. Throws only when the ledger or the variant fails. */
export async function deliverOne(
  deps: DeliverDeps,
  run: BatchRun,
  d: ClaimedDelivery,
  slot: SendSlot = { done: () => undefined },
): Promise<void> {
  // An address no transport can use is refused for good here, not retried SEND_MAX_ATTEMPTS times.
  const unusable = unusableAddress(d.email);
  if (unusable) return settleFailure(deps, run, d, unusable);
  const { raw, messageId } = await buildMessage(deps, run, d);
  let failure: SendError;
  try {
    // The app's mailer counts and times every send (sent, failed, latency) by this kind.
    const result = await deps.mailer
      .sendRaw(
        // The envelope sender names this delivery, so a bounce that comes back later finds it.
        { from: deps.returnPaths.forDelivery(d.id), to: d.email },
        raw,
        `<${messageId}>`,
        { kind: "digest" },
      )
      // The server has answered: the send rate counts this message from now on by its real time.
      .finally(() => slot.done());
    return await recordAccepted(deps, run, d, result);
  } catch (caught) {
    failure = classifySendError(caught);
  }
  return settleFailure(deps, run, d, failure);
}

/** Accepted: recorded, retried until stored, never handed back. */
async function recordAccepted(
  deps: DeliverDeps,
  run: BatchRun,
  d: ClaimedDelivery,
  result: { messageId: string; response: string; acceptedAt: Date },
): Promise<void> {
  const stored = await deps.recordAcceptance({ id: d.id, token: run.token, ...result });
  run.unfinished.delete(d.id);
  if (stored) {
    run.outcome.accepted++;
    return;
  }
  run.outcome.unrecorded++;
  run.log.warn({ deliveryId: d.id.toString() }, "accepted, but another attempt had taken the delivery over");
}

async function settleFailure(deps: DeliverDeps, run: BatchRun, d: ClaimedDelivery, failure: SendError) {
  const { db, config } = deps;
  run.unfinished.delete(d.id);
  if (failure.scope === "transport") return pauseForTransport(deps, run, d, failure);
  if (failure.kind === "temporary" && d.attempts < config.SEND_MAX_ATTEMPTS) {
    await persist(() => release(db, run.token, [d.id], failure.message));
    run.outcome.retry++;
    run.lastTemporary = failure.message;
    return;
  }
  if (!(await persist(() => markFailed(db, run.token, d.id, failure.message)))) return;
  run.outcome.failed++;
  if (failure.isHardBounce) {
    run.outcome.bounced++;
    await bounce(deps, run, d, failure);
  }
  const paused = await persist(() => pauseOnFailureShare(db, config, run.digestId));
  if (paused) {
    run.log.warn({ digestId: run.digestId, reason: paused }, "digest paused: too many deliveries failed");
    run.outcome.paused = paused;
    deps.pauseWatch.stopped(run.digestId, paused);
  }
}

/** Our fault or the path's: nobody is bounced, the delivery waits, the digest pauses. */
async function pauseForTransport(deps: DeliverDeps, run: BatchRun, d: ClaimedDelivery, failure: SendError) {
  const { db, config } = deps;
  run.outcome.handedBack++;
  await persist(() => release(db, run.token, [d.id], failure.message, true));
  if (await persist(() => pauseDigest(db, config, run.digestId, "transport", failure.message)))
    run.log.warn({ digestId: run.digestId, reason: failure.message }, "digest paused: the mail transport fails");
  run.outcome.paused = failure.message;
  deps.pauseWatch.stopped(run.digestId, failure.message);
}

/** A 5xx at RCPT TO (or an unusable address): that address does not take mail. Only that subscriber is touched. */
async function bounce(deps: DeliverDeps, run: BatchRun, d: ClaimedDelivery, err: SendError) {
  deps.metrics.emailsBounced.inc();
  await persist(() =>
    deps.db.$transaction(async (tx) => {
      await tx.subscriber.updateMany({
        where: { id: d.subscriberId, status: "active" },
        data: { status: "bounced" },
      });
      await recordConsent(tx, {
        subscriberId: d.subscriberId,
        email: d.email,
        action: "bounce",
        source: "smtp",
        detail: { digestId: run.digestId, deliveryId: d.id.toString(), response: err.message },
      });
      await deps.suppressions.suppress(tx, {
        email: d.email,
        reason: "hard_bounce",
        source: "smtp",
        detail: err.message.slice(0, 300),
      });
    }),
  );
  run.log.warn({ deliveryId: d.id.toString(), response: err.message }, "hard bounce: subscriber marked bounced");
}

/**
 * Sending one batch of deliveries: claim them (with a token that fences every later write), build
 * each reader's message from the compiled variant, send through the mailer, and record each
 * acceptance as it happens.
 *
 * What a failure does depends on whose fault it is (the mail layer says, see mail/failure.ts):
 * a recipient refused for good bounces that subscriber only; a message refused fails that
 * delivery only; a transport fault bounces nobody, hands the rows back and pauses the digest
 * (breaker.ts). The lanes of a batch stop together: when one fails, when the job is cancelled or
 * loses its lock, when the claim was taken over, or when the process stops; what they had not
 * started yet is handed back at once.
 */
import type { Db } from "../db";
import { recordConsent } from "../subscriptions";
import type { Config } from "../config";
import type { Logger } from "../logger";
import type { Mailer } from "../mail/mailer";
import { classifySendError, type SendError } from "../mail/failure";
import type { Metrics } from "../observability/metrics";
import type { Tokens } from "../subscriptions";
import type { Suppressions } from "../suppression";
import { listHeaders } from "../mail/list-headers";
import { compileVariant, personalise, type CompiledVariant } from "../mail/personal-message";
import {
  claimRange,
  completeIfDone,
  createAcceptanceRecorder,
  markFailed,
  release,
  renewClaims,
  skipInactive,
  type ClaimedDelivery,
  type SendRange,
} from "./ledger";
import type { SendRateLimiter } from "./send-rate";
import type { ReturnPaths } from "../feedback";
import { pauseDigest, pauseOnFailureShare } from "./breaker";
import type { PauseWatch } from "./pause-watch";

export interface SenderDeps {
  db: Db;
  config: Config;
  mailer: Mailer;
  tokens: Tokens;
  metrics: Metrics;
  suppressions: Suppressions;
  rateLimit: SendRateLimiter;
  /** The envelope sender per delivery (VERP) and the per-reader mailto: unsubscribe address. */
  returnPaths: ReturnPaths;
  log: Logger;
  /** True once the process is shutting down: stop taking new messages, hand the rest back. */
  stopping: () => boolean;
  /** Queues a fresh job for rows handed back by a stopping worker, so another worker takes them at once. */
  requeue: (digestId: string, range: SendRange) => Promise<void>;
  /** Tells running batches that their digest paused (this process at once, others within a second). */
  pauseWatch: PauseWatch;
}

export interface BatchOutcome {
  claimed: number;
  accepted: number;
  failed: number;
  bounced: number;
  skipped: number;
  /** Temporary failures handed back for a later attempt. */
  retry: number;
  /** Never tried (or never reached the reader) and handed back: the worker stopped, the digest paused... */
  handedBack: number;
  /** Set when this batch paused the digest, or found it paused. */
  paused?: string;
  /** Accepted by the server but no longer this claim's to record (another attempt took the row). */
  unrecorded: number;
}

/** Thrown when some deliveries failed temporarily: BullMQ retries the job with backoff. */
export class TemporarySendFailure extends Error {
  constructor(
    readonly outcome: BatchOutcome,
    lastError: string,
  ) {
    super(`${outcome.retry} deliveries failed temporarily (last: ${lastError}); retrying later`);
    this.name = "TemporarySendFailure";
  }
}

/** Thrown when the batch stopped early because its claim or its job was lost: BullMQ retries it. */
export class BatchInterrupted extends Error {
  constructor(reason: string) {
    super(`send batch interrupted: ${reason}`);
    this.name = "BatchInterrupted";
  }
}

const retryDelay = (attempt: number) => Math.min(2_000, 50 * 2 ** attempt);

/** Tries a ledger write a few times (a dropped connection is common and short), then gives up. */
async function persist<T>(write: () => Promise<T>, tries = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (attempt >= tries) throw err;
      await new Promise((r) => setTimeout(r, retryDelay(attempt)));
    }
  }
}

export function createSender(deps: SenderDeps) {
  const { db, config, mailer, tokens, metrics } = deps;
  const compiled = new Map<number, CompiledVariant>();
  // Shared by every batch of this process, so acceptances from concurrent batches share statements.
  const recordAcceptance = createAcceptanceRecorder(db, {
    onRetry: (err, attempt) =>
      deps.log.warn({ err: (err as Error).message, attempt }, "could not record acceptances: trying again"),
  });
  const domain = (config.MAIL_FROM.match(/@([^>\s]+)/)?.[1] ?? "localhost").toLowerCase();

  async function variant(id: number): Promise<CompiledVariant> {
    let v = compiled.get(id);
    if (!v) {
      const row = await db.digestVariant.findUniqueOrThrow({
        where: { id },
        select: { subject: true, html: true, text: true },
      });
      v = compileVariant(row, config.MAIL_FROM);
      // At most ~50 KB each: a bounded cache keeps a worker well inside its heap.
      if (compiled.size >= 1000) compiled.clear();
      compiled.set(id, v);
    }
    return v;
  }

  /** A 5xx at RCPT TO: that address does not take mail. Only that subscriber is touched. */
  async function bounce(digestId: string, d: ClaimedDelivery, err: SendError, log: Logger) {
    metrics.emailsBounced.inc();
    await persist(() =>
      db.$transaction(async (tx) => {
        await tx.subscriber.updateMany({
          where: { id: d.subscriberId, status: "active" },
          data: { status: "bounced" },
        });
        await recordConsent(tx, {
          subscriberId: d.subscriberId,
          email: d.email,
          action: "bounce",
          source: "smtp",
          detail: { digestId, deliveryId: d.id.toString(), response: err.message },
        });
        await deps.suppressions.suppress(tx, {
          email: d.email,
          reason: "hard_bounce",
          source: "smtp",
          detail: err.message.slice(0, 300),
        });
      }),
    );
    log.warn({ deliveryId: d.id.toString(), response: err.message }, "hard bounce: subscriber marked bounced");
  }

  return {
    async sendBatch(
      digestId: string,
      range: SendRange,
      log: Logger,
      context: { signal?: AbortSignal } = {},
    ): Promise<BatchOutcome> {
      const outcome: BatchOutcome = {
        claimed: 0,
        accepted: 0,
        failed: 0,
        bounced: 0,
        skipped: 0,
        retry: 0,
        handedBack: 0,
        unrecorded: 0,
      };
      outcome.skipped = await skipInactive(db, digestId, range);
      const { token, deliveries: claimed } = await claimRange(db, digestId, range, config.DELIVERY_LEASE_SECONDS);
      outcome.claimed = claimed.length;
      const queue = [...claimed];
      const unfinished = new Set(claimed.map((d) => d.id));
      let lastTemporary: string | undefined;
      let interrupted: string | undefined;
      let laneError: Error | undefined;

      // One signal for every lane: the first reason to stop wins, the rest are ignored.
      const stop = new AbortController();
      const handBacks: Promise<unknown>[] = [];
      const handBack = (rows: ClaimedDelivery[], error: string | null) => {
        if (!rows.length) return;
        for (const d of rows) unfinished.delete(d.id);
        outcome.handedBack += rows.length;
        handBacks.push(
          persist(() =>
            release(
              db,
              token,
              rows.map((d) => d.id),
              error,
              true,
            ),
          ).catch((err: unknown) =>
            log.warn(
              { err: (err as Error).message, rows: rows.length },
              "could not hand rows back: they return when their lease expires",
            ),
          ),
        );
      };
      const halt = (reason: string) => {
        if (stop.signal.aborted) return;
        stop.abort(reason);
        // What no lane has started yet goes back now, not after the messages in flight.
        handBack(queue.splice(0), null);
      };
      const onJobAbort = () => {
        interrupted ??= `job ${String(context.signal?.reason ?? "cancelled")}`;
        halt(interrupted);
      };
      context.signal?.addEventListener("abort", onJobAbort);
      if (context.signal?.aborted) onJobAbort();
      // Paused by another batch, the feedback check or another worker: stop with the messages in flight.
      const unwatch = deps.pauseWatch.watch(digestId, (reason) => {
        outcome.paused ??= reason;
        halt(`paused: ${reason}`);
      });

      // While this batch works, keep its claim fresh: only a dead worker's claims expire. A claim
      // that was taken over (or a renewal that keeps failing) stops the batch.
      let renewFailures = 0;
      const heartbeat = setInterval(
        () =>
          void renewClaims(db, token, [...unfinished])
            .then((lost) => {
              renewFailures = 0;
              if (lost > 0) {
                interrupted ??= `${lost} claimed deliveries were taken over`;
                halt(interrupted);
              }
            })
            .catch((err: unknown) => {
              renewFailures += 1;
              log.warn({ err: (err as Error).message, renewFailures }, "could not renew claims");
              // The lease is about to run out: stop before another worker takes the rows.
              if (renewFailures >= 3) {
                interrupted ??= "claims could not be renewed";
                halt(interrupted);
              }
            }),
        Math.max(250, (config.DELIVERY_LEASE_SECONDS * 1000) / 4),
      );
      const stopWatch = setInterval(() => {
        if (deps.stopping()) halt("worker stopping");
      }, 100);

      const sendOne = async (d: ClaimedDelivery): Promise<void> => {
        const unsubscribeToken = tokens.sign("unsubscribe", d.subscriberId, d.tokenVersion);
        const compiledVariant = await variant(d.variantId);
        // Deterministic per delivery: a receiving server can recognise a copy re-sent after a crash.
        const messageId = `digest-${digestId}-${d.id}@${domain}`;
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
        let failure: SendError;
        try {
          // The app's mailer counts and times every send (sent, failed, latency) by this kind.
          const result = await mailer.sendRaw(
            // The envelope sender names this delivery, so a bounce that comes back later finds it.
            { from: deps.returnPaths.forDelivery(d.id), to: d.email },
            raw,
            `<${messageId}>`,
            { kind: "digest" },
          );
          // Accepted: recorded, retried until stored, never handed back.
          const stored = await recordAcceptance({ id: d.id, token, ...result });
          unfinished.delete(d.id);
          if (stored) outcome.accepted++;
          else {
            outcome.unrecorded++;
            log.warn({ deliveryId: d.id.toString() }, "accepted, but another attempt had taken the delivery over");
          }
          return;
        } catch (caught) {
          failure = classifySendError(caught);
        }
        if (failure.scope === "transport") {
          // Our fault or the path's: nobody is bounced, the delivery waits, the digest pauses.
          unfinished.delete(d.id);
          outcome.handedBack++;
          await persist(() => release(db, token, [d.id], failure.message, true));
          if (await persist(() => pauseDigest(db, config, digestId, "transport", failure.message)))
            log.warn({ digestId, reason: failure.message }, "digest paused: the mail transport fails");
          outcome.paused = failure.message;
          deps.pauseWatch.stopped(digestId, failure.message);
          return;
        }
        if (failure.kind === "temporary" && d.attempts < config.SEND_MAX_ATTEMPTS) {
          unfinished.delete(d.id);
          await persist(() => release(db, token, [d.id], failure.message));
          outcome.retry++;
          lastTemporary = failure.message;
          return;
        }
        unfinished.delete(d.id);
        if (!(await persist(() => markFailed(db, token, d.id, failure.message)))) return;
        outcome.failed++;
        if (failure.isHardBounce) {
          outcome.bounced++;
          await bounce(digestId, d, failure, log);
        }
        const paused = await persist(() => pauseOnFailureShare(db, config, digestId));
        if (paused) {
          log.warn({ digestId, reason: paused }, "digest paused: too many deliveries failed");
          outcome.paused = paused;
          deps.pauseWatch.stopped(digestId, paused);
        }
      };

      const lane = async () => {
        for (;;) {
          if (stop.signal.aborted) return;
          const d = queue.shift();
          if (!d) return;
          try {
            await deps.rateLimit(1);
            if (stop.signal.aborted) {
              handBack([d], null);
              return;
            }
            await sendOne(d);
          } catch (err) {
            // Not a send failure: the ledger, the variant, the rate limiter. Every lane stops.
            laneError ??= err instanceof Error ? err : new Error(String(err));
            if (unfinished.has(d.id)) handBack([d], null);
            halt(`lane failed: ${(err as Error).message}`);
            return;
          }
        }
      };
      try {
        // allSettled: the claims stay renewed until the last lane has finished its message.
        await Promise.allSettled(Array.from({ length: Math.min(config.SEND_CONCURRENCY, claimed.length) }, lane));
      } finally {
        clearInterval(heartbeat);
        clearInterval(stopWatch);
        unwatch();
        context.signal?.removeEventListener("abort", onJobAbort);
      }
      await Promise.all(handBacks);
      if (deps.stopping() && outcome.handedBack > 0 && !outcome.paused && !interrupted && !laneError) {
        // Rows handed back by a stopping worker: another worker may take them now.
        await deps
          .requeue(digestId, range)
          .catch((err: unknown) =>
            log.warn({ err: (err as Error).message }, "could not re-queue the rows handed back: the reconciler will"),
          );
      }
      await completeIfDone(db, digestId);
      log.info(
        { digestId, from: range.fromId.toString(), to: range.toId.toString(), ...outcome, interrupted },
        "send batch done",
      );
      if (laneError) throw laneError;
      if (interrupted) throw new BatchInterrupted(interrupted);
      if (outcome.retry > 0 && !outcome.paused)
        throw new TemporarySendFailure(outcome, lastTemporary ?? "temporary failure");
      return outcome;
    },
  };
}

export type Sender = ReturnType<typeof createSender>;

/**
 * Sending one batch of deliveries: claim them, build each reader's message from the compiled
 * variant, send over the pooled transport, and record each acceptance as it happens.
 */
import type { Db } from "../db";
import { recordConsent } from "../subscriptions/consent-log";
import type { Config } from "../config";
import type { Logger } from "../logger";
import type { Mailer } from "../mail/mailer";
import { SendError, classifySmtpError } from "../mail/mailer";
import type { Metrics } from "../observability/metrics";
import type { Tokens } from "../subscriptions/tokens";
import { listHeaders } from "../mail/list-headers";
import { compileVariant, personalise, type CompiledVariant } from "./personal-message";
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
import type { ReturnPaths } from "../feedback/return-path";

export interface SenderDeps {
  db: Db;
  config: Config;
  mailer: Mailer;
  tokens: Tokens;
  metrics: Metrics;
  rateLimit: SendRateLimiter;
  /** The envelope sender per delivery (VERP) and the per-reader mailto: unsubscribe address. */
  returnPaths: ReturnPaths;
  /** True once the process is shutting down: stop taking new messages, hand the rest back. */
  stopping: () => boolean;
}

export interface BatchOutcome {
  claimed: number;
  accepted: number;
  failed: number;
  bounced: number;
  skipped: number;
  /** Temporary failures handed back for a later attempt. */
  retry: number;
  /** Never tried because the worker is stopping. */
  handedBack: number;
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

/** Recipient refused at RCPT TO with a 5xx: the address does not work, a hard bounce. */
const isHardBounce = (err: SendError) => {
  const cause = err.cause as { code?: string; command?: string } | undefined;
  return err.kind === "permanent" && (cause?.code === "EENVELOPE" || /RCPT/i.test(cause?.command ?? ""));
};

export function createSender(deps: SenderDeps) {
  const { db, config, mailer, tokens, metrics } = deps;
  const compiled = new Map<number, CompiledVariant>();
  // Shared by every batch of this process, so acceptances from concurrent batches share statements.
  const recordAcceptance = createAcceptanceRecorder(db);
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

  async function sendOne(
    digestId: string,
    d: ClaimedDelivery,
    outcome: BatchOutcome,
    log: Logger,
  ): Promise<string | undefined> {
    const unsubscribeToken = tokens.sign("unsubscribe", d.subscriberId, d.tokenVersion);
    const unsubscribeUrl = `${config.BASE_URL}/unsubscribe/${unsubscribeToken}`;
    const compiledVariant = await variant(d.variantId);
    // Deterministic per delivery: a receiving server can recognise a copy re-sent after a crash.
    const messageId = `digest-${digestId}-${d.id}@${domain}`;
    const raw = personalise(compiledVariant, {
      to: d.email,
      messageId,
      date: new Date(),
      unsubscribeUrl,
      preferencesUrl: `${config.BASE_URL}/preferences/${tokens.sign("manage", d.subscriberId, d.tokenVersion)}`,
      headers: listHeaders({
        baseUrl: config.BASE_URL,
        unsubscribeToken,
        mailto: deps.returnPaths.unsubscribeMailto(d.subscriberId),
      }),
    });
    try {
      // The app's mailer counts and times every send (sent, failed, latency) by this kind.
      // The envelope sender names this delivery, so a bounce that comes back later finds it.
      const envelope = { from: deps.returnPaths.forDelivery(d.id), to: d.email };
      const result = await mailer.sendRaw(envelope, raw, `<${messageId}>`, { kind: "digest" });
      await recordAcceptance({ id: d.id, ...result });
      outcome.accepted++;
      return undefined;
    } catch (caught) {
      const err = classifySmtpError(caught);
      if (err.kind === "temporary" && d.attempts < config.SEND_MAX_ATTEMPTS) {
        await release(db, [d.id], err.message);
        outcome.retry++;
        return err.message;
      }
      await markFailed(db, d.id, err.message);
      outcome.failed++;
      if (isHardBounce(err)) {
        outcome.bounced++;
        metrics.emailsBounced.inc();
        await db.$transaction(async (tx) => {
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
        });
        log.warn({ deliveryId: d.id.toString(), response: err.message }, "hard bounce: subscriber marked bounced");
      }
      return undefined;
    }
  }

  return {
    async sendBatch(digestId: string, range: SendRange, log: Logger): Promise<BatchOutcome> {
      const outcome: BatchOutcome = {
        claimed: 0,
        accepted: 0,
        failed: 0,
        bounced: 0,
        skipped: 0,
        retry: 0,
        handedBack: 0,
      };
      outcome.skipped = await skipInactive(db, digestId, range);
      const claimed = await claimRange(db, digestId, range, config.DELIVERY_LEASE_SECONDS);
      outcome.claimed = claimed.length;
      let next = 0;
      let lastTemporary: string | undefined;
      const handBack: bigint[] = [];
      // While this batch works, keep its claim fresh: only a dead worker's claims expire.
      const unfinished = new Set(claimed.map((d) => d.id));
      const heartbeat = setInterval(
        () =>
          void renewClaims(db, [...unfinished]).catch((err) =>
            log.warn({ err: (err as Error).message }, "could not renew claims"),
          ),
        Math.max(250, (config.DELIVERY_LEASE_SECONDS * 1000) / 4),
      );
      const lane = async () => {
        while (next < claimed.length) {
          const d = claimed[next++]!;
          if (deps.stopping()) {
            handBack.push(d.id);
            unfinished.delete(d.id);
            continue;
          }
          await deps.rateLimit(1);
          lastTemporary = (await sendOne(digestId, d, outcome, log)) ?? lastTemporary;
          unfinished.delete(d.id);
        }
      };
      try {
        await Promise.all(Array.from({ length: Math.min(config.SEND_CONCURRENCY, claimed.length) }, lane));
      } finally {
        clearInterval(heartbeat);
      }
      if (handBack.length) {
        await release(db, handBack, null, true);
        outcome.handedBack = handBack.length;
      }
      await completeIfDone(db, digestId);
      log.info({ digestId, from: range.fromId.toString(), to: range.toId.toString(), ...outcome }, "send batch done");
      if (outcome.retry > 0) throw new TemporarySendFailure(outcome, lastTemporary ?? "temporary failure");
      return outcome;
    },
  };
}

export type Sender = ReturnType<typeof createSender>;

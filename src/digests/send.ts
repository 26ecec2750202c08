/**
 * Sending one batch of deliveries: claim them (with a token that fences every later write), hand
 * them to a few lanes that each send one message at a time within the shared send rate
 * (deliver.ts: build, send, record the acceptance or act on the failure by whose fault it is),
 * and report what happened. The lanes of a batch stop together (batch-control.ts): when one
 * fails, when the job is cancelled or loses its lock, when the claim was taken over, when the
 * digest pauses or when the process stops; what they had not started yet is handed back at once.
 */
import type { Logger } from "../logger";
import { compileVariant, type CompiledVariant } from "../mail/personal-message";
import {
  claimRange,
  completeIfDone,
  createAcceptanceRecorder,
  skipInactive,
  type ClaimedDelivery,
  type SendRange,
} from "./ledger";
import { startBatchControl, type BatchControl } from "./batch-control";
import { deliverOne, type BatchRun, type DeliverDeps } from "./deliver";
import type { SendSlot } from "./send-rate";
import {
  BatchInterrupted,
  emptyOutcome,
  TemporarySendFailure,
  type BatchOutcome,
  type SenderDeps,
} from "./batch-types";

export { BatchInterrupted, TemporarySendFailure, type BatchOutcome, type SenderDeps } from "./batch-types";

export function createSender(deps: SenderDeps) {
  const deliverDeps: DeliverDeps = {
    ...deps,
    variant: variantCache(deps),
    // Shared by every batch of this process, so acceptances from concurrent batches share statements.
    recordAcceptance: createAcceptanceRecorder(deps.db, {
      onRetry: (err, attempt) =>
        deps.log.warn({ err: (err as Error).message, attempt }, "could not record acceptances: trying again"),
    }),
    domain: (deps.config.MAIL_FROM.match(/@([^>\s]+)/)?.[1] ?? "localhost").toLowerCase(),
  };

  return {
    async sendBatch(
      digestId: string,
      range: SendRange,
      log: Logger,
      context: { signal?: AbortSignal } = {},
    ): Promise<BatchOutcome> {
      const { db, config } = deps;
      const outcome = emptyOutcome();
      outcome.skipped = await skipInactive(db, digestId, range);
      const claimedFrom = Date.now();
      const { token, deliveries: claimed } = await claimRange(db, digestId, range, config.DELIVERY_LEASE_SECONDS);
      outcome.claimed = claimed.length;
      const queue = [...claimed];
      const control = startBatchControl(deps, {
        digestId,
        token,
        claimedFrom,
        queue,
        jobSignal: context.signal,
        onPaused: (reason) => (outcome.paused ??= reason),
        log,
      });
      const run: BatchRun = { digestId, token, outcome, unfinished: control.unfinished, log };
      let laneError: Error | undefined;
      const lane = () =>
        runLane(deliverDeps, run, control, queue).catch((err: Error) => {
          laneError ??= err;
        });
      try {
        // allSettled: the claims stay renewed until the last lane has finished its message.
        await Promise.allSettled(Array.from({ length: Math.min(config.SEND_CONCURRENCY, claimed.length) }, lane));
      } finally {
        await control.finish();
      }
      outcome.handedBack += control.handedBack();
      const interrupted = control.interrupted();
      if (deps.stopping() && outcome.handedBack > 0 && !outcome.paused && !interrupted && !laneError)
        await requeueHandedBack(deps, digestId, range, log);
      await completeIfDone(db, digestId);
      log.info(
        { digestId, from: range.fromId.toString(), to: range.toId.toString(), ...outcome, interrupted },
        "send batch done",
      );
      if (laneError) throw laneError;
      if (interrupted) throw new BatchInterrupted(interrupted);
      if (outcome.retry > 0 && !outcome.paused)
        throw new TemporarySendFailure(outcome, run.lastTemporary ?? "temporary failure");
      return outcome;
    },
  };
}

export type Sender = ReturnType<typeof createSender>;

/** Each variant compiled once per process (at most ~50 KB each: a bounded cache keeps a worker inside its heap). */
function variantCache(deps: SenderDeps): (id: number) => Promise<CompiledVariant> {
  const compiled = new Map<number, CompiledVariant>();
  return async (id) => {
    let v = compiled.get(id);
    if (!v) {
      const row = await deps.db.digestVariant.findUniqueOrThrow({
        where: { id },
        select: { subject: true, html: true, text: true },
      });
      v = compileVariant(row, deps.config.MAIL_FROM);
      if (compiled.size >= 1000) compiled.clear();
      compiled.set(id, v);
    }
    return v;
  };
}

/**
 * One lane: takes the next claimed delivery, waits for its turn in the shared send rate, sends
 * it. A lane that fails for anything but a send failure (the ledger, the variant, the rate
 * limiter) stops every lane and rethrows.
 */
async function runLane(deps: DeliverDeps, run: BatchRun, control: BatchControl, queue: ClaimedDelivery[]) {
  for (;;) {
    if (control.signal.aborted) return;
    const d = queue.shift();
    if (!d) return;
    let slot: SendSlot | undefined;
    try {
      slot = await deps.rateLimit();
      if (control.signal.aborted || !control.leaseHeld()) {
        control.handBack([d], null);
        return;
      }
      await deliverOne(deps, run, d, slot);
    } catch (err) {
      if (run.unfinished.has(d.id)) control.handBack([d], null);
      control.halt(`lane failed: ${(err as Error).message}`);
      throw err instanceof Error ? err : new Error(String(err));
    } finally {
      // Not sent after all (stopped, refused before sending, failed before the server): the place goes back.
      slot?.done(false);
    }
  }
}

/** Rows handed back by a stopping worker: another worker may take them now, not after the reconciler. */
async function requeueHandedBack(deps: SenderDeps, digestId: string, range: SendRange, log: Logger) {
  await deps
    .requeue(digestId, range)
    .catch((err: unknown) =>
      log.warn({ err: (err as Error).message }, "could not re-queue the rows handed back: the reconciler will"),
    );
}

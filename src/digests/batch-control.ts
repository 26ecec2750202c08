/**
 * What stops the lanes of one batch, together: the job cancelled or its lock lost, the digest
 * paused (here or elsewhere), the claim taken over or no longer renewable, the worker stopping,
 * a lane failing. The first reason wins; whatever no lane has started yet is handed back at once
 * (attempt not counted), not after the messages in flight.
 */
import type { Db } from "../db";
import type { Config } from "../config";
import type { Logger } from "../logger";
import { release, renewClaims, type ClaimedDelivery } from "./ledger";
import type { PauseWatch } from "./pause-watch";
import { persist } from "./persist";

export interface BatchControlDeps {
  db: Db;
  config: Config;
  log: Logger;
  pauseWatch: PauseWatch;
  stopping: () => boolean;
}

export interface BatchControl {
  /** Aborted once the batch must stop. */
  signal: AbortSignal;
  /** Stops every lane (the first reason wins) and hands back what none has started. */
  halt(reason: string): void;
  /** Hands these rows back now (attempt not counted). */
  handBack(rows: ClaimedDelivery[], error: string | null): void;
  /** Why the batch stopped early, if its claim or its job was lost (then the job is retried). */
  interrupted(): string | undefined;
  /** How many rows were handed back so far. */
  handedBack(): number;
  /** This claim's rows not settled yet (their claim is renewed while the batch runs). */
  unfinished: Set<bigint>;
  /**
   * False (and the batch interrupted) once the claim may have lapsed: no renewal for 3/4 of the
   * lease, e.g. the process was held up (SIGSTOP, a long pause) while another worker may have taken
   * the rows. A lane asks before each send, so a worker that lost its lease starts no new message.
   */
  leaseHeld(): boolean;
  /** Stops the timers and listeners, then waits for the hand-backs to be written (or given up). */
  finish(): Promise<void>;
}

export function startBatchControl(
  deps: BatchControlDeps,
  batch: {
    digestId: string;
    token: string;
    /** When the claim's statement was sent (its lease runs from no earlier than this). */
    claimedFrom: number;
    /** The rows no lane has started yet (the lanes take from it). */
    queue: ClaimedDelivery[];
    jobSignal?: AbortSignal;
    /** Told when the digest paused while this batch ran. */
    onPaused: (reason: string) => void;
    log: Logger;
  },
): BatchControl {
  const { db } = deps;
  const { log } = batch;
  const stop = new AbortController();
  const unfinished = new Set(batch.queue.map((d) => d.id));
  const handBacks: Promise<unknown>[] = [];
  let handedBack = 0;
  let interrupted: string | undefined;

  const handBack = (rows: ClaimedDelivery[], error: string | null) => {
    if (!rows.length) return;
    for (const d of rows) unfinished.delete(d.id);
    handedBack += rows.length;
    const ids = rows.map((d) => d.id);
    handBacks.push(
      persist(() => release(db, batch.token, ids, error, true)).catch((err: unknown) =>
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
    handBack(batch.queue.splice(0), null);
  };
  const interrupt = (reason: string) => {
    interrupted ??= reason;
    halt(interrupted);
  };

  const onJobAbort = () => interrupt(`job ${String(batch.jobSignal?.reason ?? "cancelled")}`);
  batch.jobSignal?.addEventListener("abort", onJobAbort);
  if (batch.jobSignal?.aborted) onJobAbort();
  // Paused by another batch, the feedback check or another worker: stop with the messages in flight.
  const unwatch = deps.pauseWatch.watch(batch.digestId, (reason) => {
    batch.onPaused(reason);
    halt(`paused: ${reason}`);
  });
  // When the claim was last known fresh: taken before the claim's statement or the renewal's, so
  // never later than the claimed_at that PostgreSQL wrote.
  let freshSince = batch.claimedFrom;
  const leaseMs = deps.config.DELIVERY_LEASE_SECONDS * 1000;
  const heartbeat = startHeartbeat(deps, batch.token, unfinished, interrupt, log, (at) => (freshSince = at));
  const stopWatch = setInterval(() => {
    if (deps.stopping()) halt("worker stopping");
  }, 100);

  return {
    signal: stop.signal,
    halt,
    handBack,
    interrupted: () => interrupted,
    handedBack: () => handedBack,
    unfinished,
    leaseHeld() {
      if (Date.now() - freshSince < leaseMs * 0.75) return true;
      interrupt("the claim's lease may have run out (no renewal for 3/4 of it): another worker may have the rows");
      return false;
    },
    async finish() {
      clearInterval(heartbeat);
      clearInterval(stopWatch);
      unwatch();
      batch.jobSignal?.removeEventListener("abort", onJobAbort);
      await Promise.all(handBacks);
    },
  };
}

/**
 * While the batch works, keeps its claim fresh: only a dead worker's claims expire. A claim that
 * was taken over, or a renewal that keeps failing (the lease is about to run out), stops the batch
 * before another worker takes the rows.
 */
function startHeartbeat(
  deps: BatchControlDeps,
  token: string,
  unfinished: Set<bigint>,
  interrupt: (reason: string) => void,
  log: Logger,
  renewed: (startedAt: number) => void,
): NodeJS.Timeout {
  let renewFailures = 0;
  return setInterval(
    () => {
      const startedAt = Date.now();
      void renewClaims(deps.db, token, [...unfinished])
        .then((lost) => {
          renewFailures = 0;
          renewed(startedAt);
          if (lost > 0) interrupt(`${lost} claimed deliveries were taken over`);
        })
        .catch((err: unknown) => {
          renewFailures += 1;
          log.warn({ err: (err as Error).message, renewFailures }, "could not renew claims");
          if (renewFailures >= 3) interrupt("claims could not be renewed");
        });
    },
    Math.max(250, (deps.config.DELIVERY_LEASE_SECONDS * 1000) / 4),
  );
}

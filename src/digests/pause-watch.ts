/**
 * A pause reaches the batches already sending. The breaker's checks run before a batch starts, so
 * without this a batch that started before a pause would go on to its last message, and reports
 * arriving during a long batch would pause nothing until the next one. Batches of this process stop
 * at once when one of them pauses the digest; every `everyMs` each process asks, for the digests it
 * is sending, whether they were paused elsewhere (one status query) and whether they should pause
 * now (`check`, e.g. the feedback rates).
 */
import type { Db } from "../db";
import type { Logger } from "../logger";

export type OnDigestStop = (reason: string) => void;

export interface PauseWatch {
  /** Calls `onStop` once the digest is paused (or failed); returns the function that stops watching. */
  watch(digestId: string, onStop: OnDigestStop): () => void;
  /** This process paused the digest: its running batches stop now. */
  stopped(digestId: string, reason: string): void;
}

export interface PauseWatchOptions {
  everyMs?: number;
  /** Pauses the digest if it should be paused now and returns the reason; undefined to go on. */
  check?: (digestId: string) => Promise<string | undefined>;
}

export function createPauseWatch(db: Db, log: Logger, { everyMs = 1_000, check }: PauseWatchOptions = {}): PauseWatch {
  const running = new Map<string, Set<OnDigestStop>>();
  let timer: NodeJS.Timeout | undefined;

  const stopped = (digestId: string, reason: string) => {
    for (const onStop of [...(running.get(digestId) ?? [])]) onStop(reason);
  };

  const poll = async () => {
    if (running.size === 0) return;
    const digests = await db.digest.findMany({
      where: { id: { in: [...running.keys()] }, status: { in: ["paused", "failed"] } },
      select: { id: true, status: true, pauseReason: true },
    });
    for (const d of digests) stopped(d.id, d.pauseReason ?? `digest ${d.status}`);
    if (!check) return;
    for (const digestId of running.keys()) {
      const reason = await check(digestId);
      if (reason) stopped(digestId, reason);
    }
  };

  return {
    stopped,
    watch(digestId, onStop) {
      const set = running.get(digestId) ?? new Set<OnDigestStop>();
      running.set(digestId, set);
      set.add(onStop);
      if (!timer) {
        timer = setInterval(
          () =>
            void poll().catch((err: unknown) =>
              log.debug({ err: (err as Error).message }, "could not check the status of the digests being sent"),
            ),
          everyMs,
        );
        timer.unref();
      }
      return () => {
        set.delete(onStop);
        if (set.size === 0) running.delete(digestId);
        if (running.size === 0 && timer) {
          clearInterval(timer);
          timer = undefined;
        }
      };
    },
  };
}

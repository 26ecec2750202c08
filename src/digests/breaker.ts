/**
 * The circuit breaker of the digest engine. When the fault is ours (the SMTP server refuses our
 * login or our sender, the connection is gone) or a run fails too many readers for good, sending
 * one more message only does harm: the digest is `paused`, with the reason, and its deliveries
 * wait as `pending`. A paused digest is never marked sent.
 *
 * A pause caused by the transport resumes by itself: after a wait that doubles with each pause
 * (SEND_PAUSE_BASE_SECONDS up to SEND_PAUSE_MAX_SECONDS), one send job (or the reconciler) wins
 * the probe, asks the server (`mailer.verify()`), and on success sets the digest sending again;
 * if the fault is still there, the next message pauses it again, for longer. A pause caused by
 * failures (a share of hard bounces) or by feedback (bounce or complaint rates from reports after
 * sending, this digest's or the previous one's) waits for a person: `npx newsletter digest resume`.
 */
import type { Db } from "../db";
import type { Config } from "../config";
import type { Logger } from "../logger";
import type { Mailer } from "../mail/mailer";
import type { Queues } from "../queue/queues";
import { promoteSendJobs } from "./jobs";
import { queueLostWork } from "./reconcile";

/** transport: the server or our login; failures: a share of hard bounces in this run; feedback: bounce or
 * complaint rates reported after sending (see feedback/rates.ts). Only transport pauses end by themselves. */
export type PauseCause = "transport" | "failures" | "feedback";

export type Gate = { go: true } | { go: false; until: Date };

/** Seconds to wait after the n-th pause (n ≥ 1). */
export const pauseBackoffSeconds = (config: Config, n: number) =>
  Math.min(config.SEND_PAUSE_MAX_SECONDS, config.SEND_PAUSE_BASE_SECONDS * 2 ** Math.max(0, n - 1));

/**
 * Pauses a sending digest. Only the first of several lanes or jobs that hit the same fault
 * pauses it (and counts a pause); returns whether this call did.
 */
export async function pauseDigest(
  db: Db,
  config: Config,
  digestId: string,
  cause: PauseCause,
  reason: string,
): Promise<boolean> {
  const n = await db.$executeRaw`
    UPDATE digests SET status = 'paused', pause_reason = ${`${cause}: ${reason}`.slice(0, 500)}, paused_at = now(),
      pause_count = pause_count + 1,
      resume_at = CASE WHEN ${cause} = 'transport'
        THEN now() + make_interval(secs => least(${config.SEND_PAUSE_MAX_SECONDS}::float8,
                                                 ${config.SEND_PAUSE_BASE_SECONDS}::float8 * power(2, pause_count)))
        ELSE NULL END,
      updated_at = now()
    WHERE id = ${digestId}::uuid AND status = 'sending'`;
  return n > 0;
}

/**
 * Sets a paused digest sending again. `command`: a person did it (the backoff starts over);
 * `probe`: the server answered again (the next pause waits longer).
 */
export async function resumeDigest(db: Db, digestId: string, by: "probe" | "command"): Promise<boolean> {
  const n = await db.$executeRaw`
    UPDATE digests SET status = 'sending', pause_reason = NULL, paused_at = NULL, resume_at = NULL,
      pause_count = CASE WHEN ${by} = 'command' THEN 0 ELSE pause_count END,
      -- A person resumed a pause for the feedback rates: they no longer pause this digest.
      feedback_override_at = CASE WHEN ${by} = 'command' AND pause_reason LIKE 'feedback:%' THEN now()
                                  ELSE feedback_override_at END,
      updated_at = now()
    WHERE id = ${digestId}::uuid AND status = 'paused'`;
  return n > 0;
}

/**
 * Pauses the digest when more than the configured share of its attempted deliveries failed for
 * good; returns the reason when the share is exceeded (whoever paused it).
 */
export async function pauseOnFailureShare(db: Db, config: Config, digestId: string): Promise<string | undefined> {
  const [row] = await db.$queryRaw<{ failed: bigint; accepted: bigint }[]>`
    SELECT count(*) FILTER (WHERE state = 'failed') AS failed, count(*) FILTER (WHERE state = 'accepted') AS accepted
    FROM deliveries WHERE digest_id = ${digestId}::uuid AND state IN ('failed', 'accepted')`;
  const failed = Number(row?.failed ?? 0);
  const attempted = failed + Number(row?.accepted ?? 0);
  if (failed < config.SEND_PAUSE_MIN_FAILURES || failed <= config.SEND_PAUSE_FAILURE_SHARE * attempted)
    return undefined;
  const reason = `${failed} of ${attempted} deliveries failed for good (more than ${Math.round(config.SEND_PAUSE_FAILURE_SHARE * 100)}%); check the list and the server's answers, then resume`;
  // Paused now or by another batch a moment ago: either way, this batch stops too.
  await pauseDigest(db, config, digestId, "failures", reason);
  return reason;
}

/**
 * Whether a send job of this digest may go on now. A paused digest whose wait is over gets one
 * probe (the caller that wins the conditional update asks the server); the others wait.
 */
export async function sendGate(
  deps: { db: Db; config: Config; mailer: Mailer; log: Logger },
  digestId: string,
): Promise<Gate> {
  const { db, config, mailer, log } = deps;
  const digest = await db.digest.findUnique({
    where: { id: digestId },
    select: { status: true, resumeAt: true, pauseCount: true, pauseReason: true },
  });
  if (!digest || digest.status !== "paused") return { go: true };
  const now = Date.now();
  if (!digest.resumeAt) return { go: false, until: new Date(now + config.SEND_PAUSE_MAX_SECONDS * 1000) };
  if (digest.resumeAt.getTime() > now) return { go: false, until: digest.resumeAt };
  // Claim the probe: the others look again when it should be over.
  const probeWindowMs = 30_000;
  const claimed = await db.$executeRaw`
    UPDATE digests SET resume_at = now() + make_interval(secs => ${probeWindowMs / 1000})
    WHERE id = ${digestId}::uuid AND status = 'paused' AND resume_at <= now()`;
  if (claimed === 0) return { go: false, until: new Date(now + Math.min(probeWindowMs, 1000)) };
  try {
    await withTimeout(mailer.verify(), 20_000);
  } catch (err) {
    const reason = `probe failed: ${(err as Error).message}`.slice(0, 400);
    const wait = pauseBackoffSeconds(config, digest.pauseCount + 1);
    await db.$executeRaw`
      UPDATE digests SET pause_count = pause_count + 1, pause_reason = ${`transport: ${reason}`},
        resume_at = now() + make_interval(secs => ${wait}), updated_at = now()
      WHERE id = ${digestId}::uuid AND status = 'paused'`;
    log.warn({ digestId, reason, retryInSeconds: wait }, "digest still paused: the mail server does not answer");
    return { go: false, until: new Date(Date.now() + wait * 1000) };
  }
  if (await resumeDigest(db, digestId, "probe"))
    log.info({ digestId, after: digest.pauseReason }, "digest resumed: the mail server answers again");
  return { go: true };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The resume command (CLI and admin API): the digest sends again at once. Its send jobs waiting
 * out the pause run now, and rows no job covers (Redis lost them) get new jobs.
 */
export async function resumeByCommand(
  deps: { db: Db; config: Config; queues: Queues },
  digestId: string,
): Promise<{ resumed: boolean; promoted: number; queued: number }> {
  const resumed = await resumeDigest(deps.db, digestId, "command");
  const promoted = await promoteSendJobs(deps.queues, digestId);
  const queued = await queueLostWork(deps, digestId, 0, `resumed-${Date.now()}`);
  return { resumed, promoted, queued };
}

/** The pause as the status commands show it. */
export function pauseView(d: {
  status: string;
  pauseReason: string | null;
  pausedAt: Date | null;
  resumeAt: Date | null;
}) {
  if (d.status !== "paused") return {};
  return {
    pauseReason: d.pauseReason,
    pausedAt: d.pausedAt,
    // null: only `digest resume` (or the admin API) resumes it.
    resumeAt: d.resumeAt,
  };
}

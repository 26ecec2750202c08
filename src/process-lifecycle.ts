/**
 * How a process of the product ends, in one place for every role (web, worker, inbound, the web
 * cluster's primary) and the command line.
 *
 * - SIGTERM/SIGINT (and a cluster primary's stop message): stop gracefully, exit 0. A second
 *   signal exits at once with 1.
 * - An unhandled rejection or an uncaught exception is a bug whose consequences nobody can know:
 *   some promise chain (a send lane, a renewal timer, a listener) stopped half-way. Carrying on
 *   would leave the process looking healthy while part of it is dead, so it is logged once as
 *   `fatal` with structured fields (`fault`, `role`, `err.message`, `err.stack`), the process stops
 *   gracefully (the web server finishes its requests, send lanes hand their untouched rows back,
 *   queues and connections close, all within SHUTDOWN_TIMEOUT_SECONDS), and it exits with
 *   FAULT_EXIT_CODE so the supervisor (systemd, Docker's restart policy, Kubernetes) starts a
 *   fresh one. That is safe here: an interrupted job is redelivered by BullMQ, and the claim
 *   tokens (src/digests/ledger.ts) keep a job the old process still held from writing over the
 *   new attempt.
 */
import type { Logger } from "./logger";

/** Exit code after an unhandled rejection or uncaught exception (sysexits' EX_SOFTWARE). */
export const FAULT_EXIT_CODE = 70;

/** How long after the graceful stop's own deadline the process is ended regardless. */
const HARD_STOP_MARGIN_MS = 5_000;

export interface ProcessLifecycle {
  /** What stops this process gracefully (the running app, the cluster's processes). */
  onStop(stop: () => Promise<void>): void;
  /** Stops gracefully (once, however often it is called) and exits with `code`. */
  shutdown(reason: string, code: number): Promise<void>;
}

export interface LifecycleOptions {
  log: Logger;
  role: string;
  /** The graceful stop's own deadline (SHUTDOWN_TIMEOUT_SECONDS); the process ends 5 s after it regardless. */
  stopTimeoutMs: number;
  /** Also handle SIGINT/SIGTERM (the long-running roles; the command line keeps Node's default). */
  signals?: boolean;
  /** Said on stderr to the person at the terminal after a fault, besides the log line. */
  tellOperator?: (message: string) => void;
  /** For tests: the process and how it exits. */
  proc?: NodeJS.Process;
  exit?: (code: number) => void;
}

const describe = (err: unknown) =>
  err instanceof Error
    ? { name: err.name, message: err.message, stack: err.stack }
    : { name: typeof err, message: String(err) };

export function installProcessLifecycle(opts: LifecycleOptions): ProcessLifecycle {
  const proc = opts.proc ?? process;
  const exit = opts.exit ?? ((code: number) => proc.exit(code));
  const { log, role } = opts;
  let stopApp: (() => Promise<void>) | undefined;
  let stopping: Promise<void> | undefined;
  let signals = 0;

  const shutdown = (reason: string, code: number): Promise<void> =>
    (stopping ??= (async () => {
      log.info({ reason, role }, "shutting down");
      // The graceful stop has its own deadline; this one is for a stop that hangs all the same.
      const hard = setTimeout(() => {
        log.error({ reason, role }, "graceful stop did not finish: exiting now");
        exit(code || 1);
      }, opts.stopTimeoutMs + HARD_STOP_MARGIN_MS);
      hard.unref();
      try {
        await stopApp?.();
        log.info({ reason, role }, "stopped");
      } catch (err) {
        log.error({ reason, role, err: describe(err) }, "the graceful stop failed");
        code ||= 1;
      }
      clearTimeout(hard);
      exit(code);
    })());

  const fault = (kind: "unhandledRejection" | "uncaughtException") => (err: unknown) => {
    if (stopping) {
      // Already on the way out: note it, and let the stop under way finish.
      log.error({ fault: kind, role, err: describe(err) }, `${kind} while stopping`);
      return;
    }
    log.fatal(
      { fault: kind, role, err: describe(err), exitCode: FAULT_EXIT_CODE },
      `${kind}: stopping gracefully, then exiting ${FAULT_EXIT_CODE} so the supervisor restarts the process`,
    );
    opts.tellOperator?.(
      `Internal error (${kind}): ${describe(err).message}\nThis is a bug; the process stops (exit code ${FAULT_EXIT_CODE}).`,
    );
    void shutdown(kind, FAULT_EXIT_CODE);
  };
  proc.on("unhandledRejection", fault("unhandledRejection"));
  proc.on("uncaughtException", fault("uncaughtException"));

  if (opts.signals) {
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals > 1) {
        log.warn({ signal, role }, "second signal: exiting now");
        exit(1);
        return;
      }
      void shutdown(signal, 0);
    };
    proc.on("SIGINT", onSignal);
    proc.on("SIGTERM", onSignal);
  }

  return {
    onStop(stop) {
      stopApp = stop;
    },
    shutdown,
  };
}

/**
 * Telling "the connection to PostgreSQL went away" apart from "the query was wrong", and riding
 * out the first. A restarted or failed-over database, a `pg_terminate_backend`, a pooler that
 * recycles connections: each makes the query in flight fail, and the next one, on a fresh
 * connection from the pool, works. Commands that only read (waiting for a digest, its status) try
 * again; a wrong query or a missing row is never retried.
 */

/** SQLSTATE codes and socket errors of a lost or refused connection. */
const LOST_CODES = new Set([
  "57P01", // admin_shutdown: pg_terminate_backend, or a fast shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now: starting up or shutting down
  "53300", // too_many_connections
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "P1001", // Prisma: can't reach the database server
  "P1002", // Prisma: the database server timed out
  "P1017", // Prisma: the server closed the connection
  "P2024", // Prisma: timed out fetching a connection from the pool
]);
const LOST_KINDS = new Set(["ConnectionClosed", "DatabaseNotReachable", "SocketTimeout", "TooManyConnections"]);
const LOST_MESSAGE =
  /connection terminated|terminating connection|server closed the connection|connection error|Connection ended|Client was closed|not queryable|ECONNRESET|ECONNREFUSED/i;

interface ErrorFields {
  code?: unknown;
  originalCode?: unknown;
  kind?: unknown;
  message?: unknown;
  cause?: unknown;
  meta?: { driverAdapterError?: unknown };
  errors?: unknown;
}

/** True when the error's own code, kind or message (not what it wraps) says the connection was lost. */
function saysLost(o: ErrorFields): boolean {
  // An SQLSTATE of class 08 is a connection exception.
  for (const code of [o.code, o.originalCode])
    if (typeof code === "string" && (LOST_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  if (typeof o.kind === "string" && LOST_KINDS.has(o.kind)) return true;
  return typeof o.message === "string" && LOST_MESSAGE.test(o.message);
}

/** True when `err` (or anything it wraps) says the connection was lost or refused. */
export function isConnectionLoss(err: unknown): boolean {
  const seen = new Set<unknown>();
  const visit = (e: unknown): boolean => {
    if (!e || typeof e !== "object" || seen.has(e)) return false;
    seen.add(e);
    const o = e as ErrorFields;
    if (saysLost(o)) return true;
    if (Array.isArray(o.errors) && o.errors.some(visit)) return true;
    return visit(o.cause) || visit(o.meta?.driverAdapterError);
  };
  return visit(err);
}

export interface RetryOptions {
  /** Give up (throw the last error) after this time, as a Date.now() value. Default: 60 s from the first try. */
  deadline?: number;
  /** Called each time a lost connection is ridden out, before waiting. */
  onLoss?: (err: unknown, attempt: number) => void;
  /** First wait, doubled each time up to `maxMs`. Defaults 100 ms and 2 s. */
  baseMs?: number;
  maxMs?: number;
}

/**
 * Runs `fn`; when it fails because the connection was lost, waits and runs it again, until it
 * succeeds or `deadline` passes. Use it only around work that is safe to run twice (reads).
 */
export async function retryThroughConnectionLoss<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const deadline = opts.deadline ?? Date.now() + 60_000;
  const base = opts.baseMs ?? 100;
  const max = opts.maxMs ?? 2_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isConnectionLoss(err) || Date.now() >= deadline) throw err;
      opts.onLoss?.(err, attempt);
      const wait = Math.min(max, base * 2 ** Math.min(attempt - 1, 10));
      await new Promise((r) => setTimeout(r, Math.max(0, Math.min(wait, deadline - Date.now()))));
    }
  }
}

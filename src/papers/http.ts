/**
 * GET with a time-out, retries with exponential backoff, and respect for 429 / Retry-After.
 * The timings are options so tests run in milliseconds against a local server.
 */
import { SourceError } from "./types";

export interface HttpRetryOptions {
  /** Time-out of one attempt. Default 15 000 ms. */
  timeoutMs?: number;
  /** Attempts after the first one. Default 4. */
  retries?: number;
  /** First backoff; doubled each retry, with jitter. Default 1 000 ms. */
  backoffMs?: number;
  /** Longest backoff. Default 30 000 ms. */
  maxBackoffMs?: number;
  /** A Retry-After longer than this fails the fetch instead of stalling the job. Default 120 000 ms. */
  maxRetryAfterMs?: number;
  /** Waits; replaced in tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Identifies us to the API. */
  userAgent?: string;
}

export const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Milliseconds to wait from a Retry-After header (seconds or an HTTP date), or null. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  const value = header.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

const retryableStatus = (status: number) => status === 429 || status === 408 || status >= 500;

type Settled = Required<Omit<HttpRetryOptions, "userAgent">> & { userAgent: string };

function withDefaults(opts: HttpRetryOptions): Settled {
  return {
    timeoutMs: opts.timeoutMs ?? 15_000,
    retries: opts.retries ?? 4,
    backoffMs: opts.backoffMs ?? 1_000,
    maxBackoffMs: opts.maxBackoffMs ?? 30_000,
    maxRetryAfterMs: opts.maxRetryAfterMs ?? 120_000,
    sleep: opts.sleep ?? defaultSleep,
    userAgent: opts.userAgent ?? "daily-papers-newsletter",
  };
}

/** A request that got no answer (time-out, no network, refused): always worth another try. */
function unanswered(err: unknown, url: string, timeoutMs: number): SourceError {
  const code = ((err as { cause?: { code?: unknown } }).cause?.code ?? "") as string;
  const offline = ["ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ENETUNREACH", "EHOSTUNREACH"].includes(code);
  const reason =
    (err as Error).name === "TimeoutError"
      ? `timed out after ${timeoutMs} ms`
      : offline
        ? `cannot reach ${new URL(url).host} (${code}: no network, or the host is down)`
        : (err as Error).message;
  return new SourceError(`GET ${url} failed: ${reason}`, { retryable: true, cause: err });
}

type Attempt = { ok: true; body: string } | { ok: false; error: SourceError; retryAfter: number | null };

/**
 * One GET: the body, or the retryable error with the wait the server asked for (Retry-After).
 * Throws when another try is pointless: a status that is not retryable, or a Retry-After too long.
 */
async function attemptGet(url: string, o: Settled): Promise<Attempt> {
  let res: Response;
  let body: string;
  try {
    res = await fetch(url, {
      signal: AbortSignal.timeout(o.timeoutMs),
      headers: { accept: "application/json, application/atom+xml;q=0.9, */*;q=0.1", "user-agent": o.userAgent },
    });
    body = await res.text();
  } catch (err) {
    return { ok: false, error: unanswered(err, url, o.timeoutMs), retryAfter: null };
  }
  if (res.ok) return { ok: true, body };
  // The body says why (Hugging Face: {"error":"..."}): keep a short excerpt for the log.
  const why = body.replace(/\s+/g, " ").trim().slice(0, 300);
  const error = new SourceError(`GET ${url} answered ${res.status}${why ? `: ${why}` : ""}`, {
    status: res.status,
    retryable: retryableStatus(res.status),
  });
  if (!error.retryable) throw error;
  const retryAfter = parseRetryAfter(res.headers.get("retry-after"));
  if (retryAfter !== null && retryAfter > o.maxRetryAfterMs)
    throw new SourceError(
      `GET ${url} answered ${res.status} with Retry-After ${Math.round(retryAfter / 1000)} s: giving up for now`,
      { status: res.status, retryable: true },
    );
  return { ok: false, error, retryAfter };
}

/** The body of a successful GET as text; throws a SourceError once the retries are spent. */
export async function getText(url: string, opts: HttpRetryOptions = {}): Promise<string> {
  const o = withDefaults(opts);
  let lastError: SourceError | undefined;
  for (let attempt = 0; attempt <= o.retries; attempt++) {
    let wait = Math.min(o.maxBackoffMs, o.backoffMs * 2 ** attempt) * (0.75 + Math.random() * 0.5);
    const result = await attemptGet(url, o);
    if (result.ok) return result.body;
    lastError = result.error;
    if (result.retryAfter !== null) wait = Math.max(wait, result.retryAfter);
    if (attempt < o.retries) await o.sleep(wait);
  }
  throw new SourceError(`${lastError?.message ?? `GET ${url} failed`} (after ${o.retries + 1} attempts)`, {
    retryable: true,
    status: lastError?.options.status,
  });
}

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

/** The body of a successful GET as text; throws a SourceError once the retries are spent. */
export async function getText(url: string, opts: HttpRetryOptions = {}): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const retries = opts.retries ?? 4;
  const backoffMs = opts.backoffMs ?? 1_000;
  const maxBackoffMs = opts.maxBackoffMs ?? 30_000;
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? 120_000;
  const sleep = opts.sleep ?? defaultSleep;
  let lastError: SourceError | undefined;
  for (let attempt = 0; attempt <= retries; attempt++) {
    let wait = Math.min(maxBackoffMs, backoffMs * 2 ** attempt) * (0.75 + Math.random() * 0.5);
    try {
      const res = await fetch(url, {
        signal: AbortSignal.timeout(timeoutMs),
        headers: {
          accept: "application/json, application/atom+xml;q=0.9, */*;q=0.1",
          "user-agent": opts.userAgent ?? "daily-papers-newsletter",
        },
      });
      const body = await res.text();
      if (res.ok) return body;
      // The body says why (Hugging Face: {"error":"..."}): keep a short excerpt for the log.
      const why = body.replace(/\s+/g, " ").trim().slice(0, 300);
      lastError = new SourceError(`GET ${url} answered ${res.status}${why ? `: ${why}` : ""}`, {
        status: res.status,
        retryable: retryableStatus(res.status),
      });
      if (!lastError.retryable) throw lastError;
      const retryAfter = parseRetryAfter(res.headers.get("retry-after"));
      if (retryAfter !== null) {
        if (retryAfter > maxRetryAfterMs) {
          throw new SourceError(
            `GET ${url} answered ${res.status} with Retry-After ${Math.round(retryAfter / 1000)} s: giving up for now`,
            {
              status: res.status,
              retryable: true,
            },
          );
        }
        wait = Math.max(wait, retryAfter);
      }
    } catch (err) {
      if (err instanceof SourceError && (!err.retryable || err.message.includes("Retry-After"))) throw err;
      if (!(err instanceof SourceError)) {
        const code = ((err as { cause?: { code?: unknown } }).cause?.code ?? "") as string;
        const offline = ["ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ENETUNREACH", "EHOSTUNREACH"].includes(code);
        const reason =
          (err as Error).name === "TimeoutError"
            ? `timed out after ${timeoutMs} ms`
            : offline
              ? `cannot reach ${new URL(url).host} (${code}: no network, or the host is down)`
              : (err as Error).message;
        lastError = new SourceError(`GET ${url} failed: ${reason}`, { retryable: true, cause: err });
      }
    }
    if (attempt < retries) await sleep(wait);
  }
  throw new SourceError(`${lastError?.message ?? `GET ${url} failed`} (after ${retries + 1} attempts)`, {
    retryable: true,
    status: lastError?.options.status,
  });
}

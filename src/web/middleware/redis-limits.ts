import type { Request, RequestHandler } from "express";
import type { Redis } from "ioredis";
import { AppError } from "../../errors";
import type { Logger } from "../../logger";

/**
 * Several fixed-window rate limits counted in ONE Redis round trip: a request that is limited per
 * IP and per address (POST /subscribe) pays one script call instead of one call per limit.
 * Counters are plain Redis keys (`<prefix>:ratelimit:<name>:<key>`) that expire with their window,
 * so the limits hold across every web process and machine.
 */
export interface LimitRule {
  /** What is limited, part of the key: e.g. "subscribe-ip". */
  name: string;
  limit: number;
  windowMs: number;
}

export interface LimitCheck {
  rule: LimitRule;
  key: string;
}

export interface LimitVerdict {
  /** The first rule over its limit, in the order given; undefined when every rule allows. */
  exceeded?: LimitRule;
  /** Seconds until the exceeded rule's window ends (Retry-After). */
  retryAfterSeconds: number;
}

// For each key: INCR; the first hit of a window sets its expiry. Returns count and ms left per key.
const SCRIPT = `
local out = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    redis.call('PEXPIRE', key, ARGV[i])
    ttl = tonumber(ARGV[i])
  end
  out[#out + 1] = n
  out[#out + 1] = ttl
end
return out`;

type WithCommand = Redis & { rateLimitHits(n: number, ...args: (string | number)[]): Promise<number[]> };

export function createRedisLimits(redis: Redis, prefix: string) {
  const r = redis as WithCommand;
  if (typeof r.rateLimitHits !== "function") r.defineCommand("rateLimitHits", { lua: SCRIPT });
  return {
    /** Counts one hit on every check and says whether one is over its limit. */
    async hit(checks: LimitCheck[]): Promise<LimitVerdict> {
      const keys = checks.map((c) => `${prefix}:ratelimit:${c.rule.name}:${c.key}`);
      const reply = await r.rateLimitHits(keys.length, ...keys, ...checks.map((c) => c.rule.windowMs));
      for (let i = 0; i < checks.length; i++) {
        const { rule } = checks[i]!;
        if (Number(reply[2 * i]) > rule.limit)
          return { exceeded: rule, retryAfterSeconds: Math.max(1, Math.ceil(Number(reply[2 * i + 1]) / 1000)) };
      }
      return { retryAfterSeconds: 0 };
    },
  };
}

export type RedisLimits = ReturnType<typeof createRedisLimits>;

/** The 429's hint: when to try again, and the rule. */
export function limitHint(retryAfterSeconds: number, rule: LimitRule): string {
  const when =
    retryAfterSeconds < 120
      ? `${Math.ceil(retryAfterSeconds)} seconds`
      : `${Math.ceil(retryAfterSeconds / 60)} minutes`;
  return `Please try again in ${when} (at most ${rule.limit} every ${Math.ceil(rule.windowMs / 60_000)} minutes).`;
}

export interface LimitsMiddlewareOptions {
  limits: RedisLimits;
  /** The counters this request hits, in the order their refusals take precedence. */
  checks(req: Request): LimitCheck[];
  /** The 429's message for a rule over its limit. */
  message(rule: LimitRule): string;
  log: Logger;
}

/**
 * Every limit of a route in one Redis round trip. Over a limit: 429 with Retry-After (seconds),
 * answered by the central error handler (a page for browsers, JSON for JSON callers). Redis down:
 * the request goes through (and the log says so) rather than refusing everyone.
 */
export function limitsMiddleware(opts: LimitsMiddlewareOptions): RequestHandler {
  return (req, res, next) => {
    opts.limits.hit(opts.checks(req)).then(
      (verdict) => {
        if (!verdict.exceeded) return next();
        res.setHeader("Retry-After", String(verdict.retryAfterSeconds));
        next(
          new AppError(opts.message(verdict.exceeded), 429, {
            code: "rate_limited",
            hint: limitHint(verdict.retryAfterSeconds, verdict.exceeded),
          }),
        );
      },
      (err: unknown) => {
        (req.log ?? opts.log).warn(
          { err: err instanceof Error ? err.message : String(err) },
          "rate limits not checked (Redis did not answer): request let through",
        );
        next();
      },
    );
  };
}

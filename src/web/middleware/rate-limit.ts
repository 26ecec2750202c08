import type { Request, RequestHandler, Response } from "express";
import type { Redis } from "ioredis";
import { rateLimit } from "express-rate-limit";
import { RedisStore, type RedisReply } from "rate-limit-redis";
import { AppError } from "../../errors";

/**
 * A fixed-window rate limit kept in Redis, so it holds across every web process. Over the limit:
 * 429 with Retry-After (seconds) and the standard RateLimit headers, answered by the central error
 * handler (a page for browsers, JSON for JSON callers).
 */
export interface RedisRateLimitOptions {
  redis: Redis;
  /** Key prefix (the installation's QUEUE_PREFIX), so test runs and installations never share counters. */
  prefix: string;
  /** What is limited, part of the key: e.g. "subscribe-ip". */
  name: string;
  limit: number;
  windowMs: number;
  /** Default: the client IP (IPv6 grouped by /56). */
  key?: (req: Request, res: Response) => string;
  message: string;
}

export function redisRateLimit(opts: RedisRateLimitOptions): RequestHandler {
  const minutes = Math.ceil(opts.windowMs / 60_000);
  return rateLimit({
    windowMs: opts.windowMs,
    limit: opts.limit,
    standardHeaders: "draft-8",
    legacyHeaders: false,
    // Redis down: let the request through (and say so in the log) rather than refuse everyone.
    passOnStoreError: true,
    ...(opts.key ? { keyGenerator: opts.key } : {}),
    store: new RedisStore({
      prefix: `${opts.prefix}:ratelimit:${opts.name}:`,
      sendCommand: (command: string, ...args: string[]) => opts.redis.call(command, ...args) as Promise<RedisReply>,
    }),
    handler: (_req, res, next) => {
      const retryAfter = Number(res.getHeader("Retry-After")) || opts.windowMs / 1000;
      next(
        new AppError(opts.message, 429, {
          code: "rate_limited",
          hint: `Please try again in ${retryAfter < 120 ? `${Math.ceil(retryAfter)} seconds` : `${Math.ceil(retryAfter / 60)} minutes`} (at most ${opts.limit} every ${minutes} minutes).`,
        }),
      );
    },
  });
}

import type { Redis } from "ioredis";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";

/** Waits until `n` more emails may go out. The budget lives in Redis, so it holds across every worker. */
export type SendRateLimiter = (n: number) => Promise<void>;

export function createSendRateLimiter(redis: Redis, prefix: string, perSecond: number): SendRateLimiter {
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `${prefix}:send-rate`,
    points: perSecond,
    duration: 1,
  });
  return async (n) => {
    let remaining = n;
    while (remaining > 0) {
      const take = Math.min(remaining, perSecond);
      try {
        await limiter.consume("global", take);
        remaining -= take;
      } catch (res) {
        if (!(res instanceof RateLimiterRes)) throw res;
        await new Promise((r) => setTimeout(r, Math.max(5, res.msBeforeNext)));
      }
    }
  };
}

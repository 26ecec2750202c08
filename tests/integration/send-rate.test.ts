/**
 * The send rate is one schedule in Redis shared by every worker. Two limiters on two connections
 * stand for two worker processes, each with several lanes taking one email at a time as fast as
 * they are let through: in no one-second window do more than the rate + 10% go out, and the rate
 * is reached. At a high rate the reservations come in chunks (one Redis call for many emails).
 */
import { expect } from "@jest/globals";
import { busiestWindow } from "../helpers/windows";
import crypto from "node:crypto";
import IORedis, { type Redis } from "ioredis";
import { createSendRateLimiter } from "../../src/digests/send-rate";

const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

async function run(perSecond: number, seconds: number, connections: Redis[], lanes: number) {
  const prefix = `test-rate-${crypto.randomUUID()}`;
  const times: number[] = [];
  const calls = { n: 0 };
  const limiters = connections.map((redis) => {
    const take = createSendRateLimiter(redis, prefix, perSecond);
    return async (n: number) => {
      calls.n++;
      await take(n);
    };
  });
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    limiters.flatMap((take) =>
      Array.from({ length: lanes }, async () => {
        while (Date.now() < until) {
          await take(1);
          times.push(Date.now());
        }
      }),
    ),
  );
  await connections[0]!.del(`${prefix}:send-rate:gcra`);
  return { times, calls: calls.n };
}

describe("the send rate across two worker processes", () => {
  let connections: Redis[];
  beforeAll(() => {
    connections = [new IORedis(redisUrl), new IORedis(redisUrl)];
  });
  afterAll(async () => {
    for (const c of connections) await c.quit();
  });

  it.each([
    [40, 3],
    [2000, 3],
  ])(
    "at %i emails per second, no one-second window holds more than the rate + 10%%, and the rate is reached",
    async (rate, seconds) => {
      const { times } = await run(rate, seconds, connections, 5);
      expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(Math.floor(rate * 1.1));
      // Reached: over the run as a whole, at least 85% of the rate (timers on a busy machine lag).
      expect(times.length).toBeGreaterThanOrEqual(rate * seconds * 0.85);
    },
    30_000,
  );

  it("at a high rate the reservations are made in chunks, not one Redis call per email", async () => {
    const prefix = `test-rate-${crypto.randomUUID()}`;
    const redis = new IORedis(redisUrl);
    try {
      const take = createSendRateLimiter(redis, prefix, 100_000);
      // Count the reservations this limiter makes (the script is defined on the connection).
      const own = redis as unknown as { sendRateReserve: (...args: string[]) => Promise<string> };
      const reserve = own.sendRateReserve.bind(redis);
      let reservations = 0;
      own.sendRateReserve = (...args) => {
        reservations++;
        return reserve(...args);
      };
      for (let i = 0; i < 2_000; i++) await take(1);
      // 2,000 emails in chunks of 50 (1% of the rate, at most 50).
      expect(reservations).toBe(40);
      await redis.del(`${prefix}:send-rate:gcra`);
    } finally {
      await redis.quit();
    }
  });
});

/**
 * The send rate is one sliding window in Redis shared by every worker. Two limiters on two
 * connections stand for two worker processes, each with several lanes taking one email at a time
 * as fast as they are let through: in no one-second window do more than the rate + 10% go out, and
 * the rate is reached. A message in flight holds its place until it is answered. At a high rate
 * the places are taken in chunks (one Redis call for many emails).
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
    return async () => {
      calls.n++;
      return take();
    };
  });
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    limiters.flatMap((take) =>
      Array.from({ length: lanes }, async () => {
        while (Date.now() < until) {
          const slot = await take();
          times.push(Date.now());
          slot.done();
        }
      }),
    ),
  );
  await connections[0]!.del(`${prefix}:send-rate:window`, `${prefix}:send-rate:tat`);
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

  it("at a high rate the places are taken in chunks, not one Redis call per email", async () => {
    const prefix = `test-rate-${crypto.randomUUID()}`;
    const redis = new IORedis(redisUrl);
    try {
      const take = createSendRateLimiter(redis, prefix, 100_000);
      // Count the calls this limiter makes, and those that ask for places (the script is defined on the connection).
      const own = redis as unknown as { sendRateAcquire: (...args: string[]) => Promise<[number, string]> };
      const acquire = own.sendRateAcquire.bind(redis);
      let calls = 0;
      let asking = 0;
      own.sendRateAcquire = (...args) => {
        calls++;
        if (Number(args[7]) > 0) asking++;
        return acquire(...args);
      };
      for (let i = 0; i < 2_000; i++) (await take()).done();
      // 2,000 emails in chunks of 50 (1% of the rate, at most 50); the answers ride along or share a call.
      expect(asking).toBe(40);
      expect(calls).toBeLessThan(200);
      await redis.del(`${prefix}:send-rate:window`, `${prefix}:send-rate:tat`);
    } finally {
      await redis.quit();
    }
  });

  it("when every place is taken by messages still in flight, then nobody starts until one is answered and a second has passed", async () => {
    const prefix = `test-rate-${crypto.randomUUID()}`;
    const [a, b] = connections.map((redis) => createSendRateLimiter(redis, prefix, 5));
    // 5 a second + a burst of 1: six messages may be out at once, in flight or answered within the second.
    const held = [];
    for (let i = 0; i < 6; i++) held.push(await (i % 2 ? a! : b!)());
    let seventh = false;
    const next = b!().then((slot) => {
      seventh = true;
      return slot;
    });
    // The slow server has not answered any of them after 1.5 s: still six in the window.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(seventh).toBe(false);
    const answeredAt = Date.now();
    for (const slot of held) slot.done();
    (await next).done();
    expect(Date.now() - answeredAt).toBeGreaterThanOrEqual(950);
    await connections[0]!.del(`${prefix}:send-rate:window`, `${prefix}:send-rate:tat`);
  }, 20_000);
});

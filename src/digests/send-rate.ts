import type { Redis } from "ioredis";

/** Waits until `n` more emails may go out. The budget lives in Redis, so it holds across every worker. */
export type SendRateLimiter = (n: number) => Promise<void>;

/**
 * A reservation against one shared schedule (GCRA, the "virtual scheduling" form of a token
 * bucket): Redis keeps the theoretical arrival time `tat` of the next email. Each caller moves it
 * on by n / rate seconds and is told how long to wait before sending; by construction the sends
 * of all workers together are spaced 1/rate apart, with at most `burst` early. So in any window of
 * one second at most rate + burst go out (burst is 5% of the rate, at least 1), where a fixed
 * window let twice the rate through at a window's edge. Redis's clock decides, not the workers'.
 */
const reserveScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - burst * interval - now
if wait < 0 then wait = 0 end
local nextTat = tat + n * interval
redis.call('SET', KEYS[1], tostring(nextTat), 'PX', math.ceil(nextTat - now + 1000))
return tostring(wait)
`;

type WithReserve = Redis & {
  sendRateReserve(key: string, interval: string, n: string, burst: string): Promise<string>;
};

/**
 * Reservations are taken `chunk` emails at a time (1% of the rate, 1 to 50) and handed out to this
 * process's lanes: one Redis call per chunk instead of one per email, which at a high rate was a
 * round trip in front of every message. The bound holds: each process can be at most one chunk
 * ahead of the schedule, so with up to 5 processes the sends stay within rate + 5% burst + 5%.
 * Tokens left unused for a second after their time are dropped, never saved up for a burst.
 */
export function createSendRateLimiter(
  redis: Redis,
  prefix: string,
  perSecond: number,
  opts: { chunk?: number } = {},
): SendRateLimiter {
  const key = `${prefix}:send-rate:gcra`;
  const interval = 1000 / perSecond;
  const burst = Math.max(1, Math.floor(perSecond * 0.05));
  const chunk = opts.chunk ?? Math.max(1, Math.min(50, Math.floor(perSecond / 100)));
  // EVALSHA after the first call: the script is not sent with every email.
  if (!("sendRateReserve" in redis)) redis.defineCommand("sendRateReserve", { numberOfKeys: 1, lua: reserveScript });
  const client = redis as WithReserve;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  let available = 0;
  let readyAt = 0;
  let refilling: Promise<void> | undefined;
  const refill = async (n: number) => {
    const wait = Number(await client.sendRateReserve(key, String(interval), String(n), String(burst)));
    readyAt = Date.now() + wait;
    available += n;
  };

  return async (n) => {
    for (;;) {
      if (available > 0 && Date.now() - readyAt > 1000) available = 0; // stale: not a reserve for later
      if (available >= n) {
        available -= n;
        const wait = readyAt - Date.now();
        if (wait > 0) await sleep(wait);
        return;
      }
      refilling ??= refill(Math.max(chunk, n - available)).finally(() => (refilling = undefined));
      await refilling;
    }
  };
}

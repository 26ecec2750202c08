import crypto from "node:crypto";
import type { Redis } from "ioredis";

/** A turn to send one email; `done` once the server answered (or `done(false)` when it was never sent). */
export interface SendSlot {
  done(sent?: boolean): void;
}

/** Waits until one more email may go out. The budget lives in Redis, so it holds across every worker. */
export type SendRateLimiter = () => Promise<SendSlot>;

/**
 * A sliding window over the times the messages actually reached the server, shared in Redis by
 * every worker: a sorted set holds each message of the last second, scored by when the server
 * answered it, and each message still in flight, scored into the future (it may arrive any
 * moment). A message may start only while fewer than `limit` (the rate + a 5% burst) are in the
 * set, so in ANY one-second window at the server at most `limit` arrive, the first second of a
 * send included: the last message to arrive in a window started while every other one was
 * either in flight or had arrived less than a second before, so all were counted. (A schedule of
 * start times could not promise that: messages reserved while nodemailer's pool was still
 * opening its connections arrived together.) A GCRA schedule (`tat`) on top spaces the starts
 * 1/rate apart, so the window is not spent in one burst. The price: a message holds its place
 * from its start until a second after its answer, so a server that takes d seconds per message
 * sees at most rate / (1 + d) per second from a saturated sender. Redis's clock decides.
 *
 * ARGV: interval ms, burst, limit, window ms, lease ms, wanted, owner, first sequence number,
 * then pairs (member, ms since its answer; -1 when never sent). Returns {granted, wait ms}.
 */
const acquireScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local lease = tonumber(ARGV[5])
local want = tonumber(ARGV[6])
for i = 9, #ARGV, 2 do
  local ago = tonumber(ARGV[i + 1])
  if ago < 0 then redis.call('ZREM', KEYS[1], ARGV[i])
  else redis.call('ZADD', KEYS[1], 'XX', now - ago + 1, ARGV[i]) end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local free = limit - redis.call('ZCARD', KEYS[1])
local tat = tonumber(redis.call('GET', KEYS[2]) or '0')
if tat < now then tat = now end
local granted = 0
local wait = 0
if want > 0 then
  if free <= 0 then
    local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    wait = tonumber(first[2]) + window - now
  elseif tat - burst * interval > now then
    wait = tat - burst * interval - now
  else
    -- As many as the GCRA schedule lets go now (the burst, then one per interval): spaced, not in a clump.
    local conforming = math.floor((now - tat) / interval + burst) + 1
    granted = math.min(want, free, conforming)
    local seq = tonumber(ARGV[8])
    for i = 0, granted - 1 do
      redis.call('ZADD', KEYS[1], now + lease, ARGV[7] .. ':' .. (seq + i))
    end
    tat = tat + granted * interval
    redis.call('SET', KEYS[2], tostring(tat), 'PX', math.ceil(tat - now + window))
  end
end
redis.call('PEXPIRE', KEYS[1], lease + window * 2)
return {granted, tostring(math.max(0, wait))}
`;

type WithAcquire = Redis & {
  sendRateAcquire(window: string, tat: string, ...args: string[]): Promise<[number, string]>;
};

/** Longest a message may stay in flight before its place is freed anyway (its worker died). */
const LEASE_MS = 120_000;
/** How long a process waits before asking again while every place is taken by messages in flight. */
const POLL_MS = 20;

/**
 * Places are taken `chunk` at a time (1% of the rate, 1 to 50) and handed to this process's lanes:
 * one Redis call for many emails at a high rate; places unused for a second are given back. The
 * answers are reported with the next call (at most a few ms later), each with its own time.
 */
export function createSendRateLimiter(
  redis: Redis,
  prefix: string,
  perSecond: number,
  opts: { chunk?: number } = {},
): SendRateLimiter {
  const keys = [`${prefix}:send-rate:window`, `${prefix}:send-rate:tat`];
  // The schedule's burst: 5% of the rate, none below 20/s (a burst of 1 let two go at once after
  // every wait, and they queued on one connection). The window holds the rate + 5% (at least 1).
  const burst = Math.floor(perSecond * 0.05);
  const limit = perSecond + Math.max(1, burst);
  const settings = [String(1000 / perSecond), String(burst), String(limit), "1000", String(LEASE_MS)];
  const chunk = opts.chunk ?? Math.max(1, Math.min(50, Math.floor(perSecond / 100)));
  // EVALSHA after the first call: the script is not sent with every email.
  if (!("sendRateAcquire" in redis)) redis.defineCommand("sendRateAcquire", { numberOfKeys: 2, lua: acquireScript });
  const client = redis as WithAcquire;
  const owner = crypto.randomUUID();
  let seq = 0;
  const spare: { member: string; at: number }[] = [];
  const waiters: { resolve: (slot: SendSlot) => void; reject: (err: unknown) => void }[] = [];
  const answered: { member: string; at: number; sent: boolean }[] = [];
  let pumping = false;

  const slot = (member: string): SendSlot => {
    let settled = false;
    return {
      done(sent = true) {
        if (settled) return;
        settled = true;
        answered.push({ member, at: Date.now(), sent });
        void pump();
      },
    };
  };

  /** One round trip: reports the answers so far and asks for `want` places. */
  const exchange = async (want: number): Promise<number> => {
    giveBackStale();
    const report = answered.splice(0);
    const now = Date.now();
    const pairs = report.flatMap((a) => [a.member, a.sent ? String(Math.max(0, now - a.at)) : "-1"]);
    let reply: [number, string];
    try {
      reply = await client.sendRateAcquire(keys[0]!, keys[1]!, ...settings, String(want), owner, String(seq), ...pairs);
    } catch (err) {
      answered.unshift(...report);
      throw err;
    }
    const [granted, wait] = reply;
    for (let i = 0; i < granted; i++) spare.push({ member: `${owner}:${seq + i}`, at: now });
    seq += granted;
    while (spare.length && waiters.length) waiters.shift()!.resolve(slot(spare.shift()!.member));
    if (spare.length) setTimeout(() => giveBackStale() && void pump(), 1100).unref();
    return granted > 0 ? 0 : Number(wait);
  };
  /** Places unused for a second are given back, never saved up for a burst. */
  const giveBackStale = () => {
    const before = answered.length;
    while (spare.length && Date.now() - spare[0]!.at > 1000) answered.push({ ...spare.shift()!, sent: false });
    return answered.length > before;
  };

  const pump = async () => {
    if (pumping) return;
    pumping = true;
    try {
      while (waiters.length || answered.length) {
        // Answers alone wait a moment, so that a few share one call.
        if (!waiters.length) await sleep(5);
        const wait = await exchange(waiters.length ? Math.max(chunk, waiters.length) : 0);
        if (wait > 0 && waiters.length) await sleep(Math.min(wait, POLL_MS));
      }
    } catch (err) {
      for (const w of waiters.splice(0)) w.reject(err);
    } finally {
      pumping = false;
    }
  };

  return () => {
    const ready = spare.shift();
    if (ready) return Promise.resolve(slot(ready.member));
    return new Promise<SendSlot>((resolve, reject) => {
      waiters.push({ resolve, reject });
      void pump();
    });
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

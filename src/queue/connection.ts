import IORedis, { type Redis } from "ioredis";

/**
 * One ioredis connection. Workers block on Redis, so BullMQ needs `maxRetriesPerRequest: null`;
 * producers (queues, rate limits) fail fast instead, so a request never hangs on a dead Redis.
 */
export function createRedis(url: string, purpose: "worker" | "client"): Redis {
  return new IORedis(url, {
    maxRetriesPerRequest: purpose === "worker" ? null : 2,
    enableOfflineQueue: purpose === "worker",
    connectionName: `daily-papers-${purpose}`,
    lazyConnect: false,
  });
}

/** Resolves once the connection is ready; a clear error if Redis does not answer in time. */
export async function waitUntilReady(redis: Redis, url: string, timeoutMs = 10_000): Promise<void> {
  if (redis.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new Error(
          `Redis at ${url.replace(/\/\/[^@]*@/, "//***@")} did not answer within ${timeoutMs} ms: check REDIS_URL or start Redis`,
        ),
      );
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off("ready", onReady);
    };
    redis.on("ready", onReady);
  });
}

/** Closes politely when connected, at once otherwise (a quit() to a dead server would wait forever). */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === "ready") {
    await Promise.race([redis.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 2_000).unref())]);
  }
  redis.disconnect(false);
}

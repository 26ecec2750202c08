/**
 * What a command needs, built from the same pieces as the app (src/app.ts) and closed when it is
 * done: the configuration, a quiet logger, PostgreSQL (migrated), Redis and the queues.
 */
import type { Config } from "../config";
import { createDb, type Db } from "../db";
import { createLogger, type Logger } from "../logger";
import { ensureDatabase, migrateAtStart, resolvePostgres } from "../infra/postgres";
import { pendingMigrations } from "../infra/migrations";
import { resolveRedis } from "../infra/redis";
import { closeRedis, createRedis, waitUntilReady } from "../queue/connection";
import { createQueues, type Queues } from "../queue/queues";
import { retryThroughConnectionLoss } from "../infra/connection-loss";

/**
 * Commands print for people on stdout, so the logger only speaks up for warnings unless LOG_LEVEL
 * is set: then it logs at that level, `info` included (the default `info` is the app's, not the CLI's).
 */
export const commandLogLevel = (config: Config, env: NodeJS.ProcessEnv = process.env): string =>
  env.LOG_LEVEL?.trim() ? config.LOG_LEVEL : "warn";

export const commandLogger = (config: Config): Logger =>
  createLogger(commandLogLevel(config), { app: "daily-papers", role: "cli" });

export async function openDatabase(config: Config, log: Logger): Promise<{ db: Db; close(): Promise<void> }> {
  const postgres = await resolvePostgres(
    { configuredUrl: config.DATABASE_URL, probeUrl: config.DEFAULT_DATABASE_PROBE, dataDir: config.dataDir },
    log,
  );
  try {
    // A connection dropped while checking (a restarting database) is tried again; migrating is not.
    const pending = await retryThroughConnectionLoss(async () => {
      await ensureDatabase(postgres.url);
      return pendingMigrations(postgres.url);
    });
    if (pending.length) await migrateAtStart(postgres.url, log);
  } catch (err) {
    await postgres.stop();
    throw err;
  }
  const db = createDb(postgres.url, { poolSize: 4 });
  return {
    db,
    async close() {
      await db.$disconnect().catch(() => undefined);
      await postgres.stop();
    },
  };
}

/**
 * The queues on the Redis the workers use. A Redis started just for this command would vanish
 * with the jobs in it when the command ends, so that case is refused.
 */
export async function openQueues(config: Config, log: Logger): Promise<{ queues: Queues; close(): Promise<void> }> {
  const redisInfo = await resolveRedis(
    { configuredUrl: config.REDIS_URL, probeUrl: config.DEFAULT_REDIS_PROBE, dataDir: config.dataDir },
    log,
  );
  if (redisInfo.origin === "spawned") {
    await redisInfo.stop();
    throw new Error(
      "No Redis is running (REDIS_URL is unset and nothing answers on 127.0.0.1:6379): start the app or Redis first, or set REDIS_URL, so the jobs this command queues reach the workers.",
    );
  }
  const connection = createRedis(redisInfo.url, "worker");
  try {
    await waitUntilReady(connection, redisInfo.url);
  } catch (err) {
    await closeRedis(connection);
    throw err;
  }
  const queues = createQueues(connection, config.QUEUE_PREFIX);
  return {
    queues,
    async close() {
      await queues.close();
      await closeRedis(connection);
    },
  };
}

/**
 * The services every role needs, connected in order: PostgreSQL (found or started, created,
 * migrated), Redis (found or started, one connection for producers and one for workers), the
 * queues and the mailer. Kept apart from src/app.ts, which only wires features onto them; the CLI's
 * commands open just the part they need (src/cli/context.ts). A failure at any step closes what
 * the earlier steps opened, in reverse order.
 */
import path from "node:path";
import type { Config } from "../config";
import type { Logger } from "../logger";
import { createDb } from "../db";
import type { Infrastructure } from "../deps";
import { ensureDatabase, migrateAtStart, redact, resolvePostgres } from "./postgres";
import { pendingMigrations } from "./migrations";
import { resolveRedis } from "./redis";
import { closeRedis, createRedis, waitUntilReady } from "../queue/connection";
import { createQueues } from "../queue/queues";
import type { Mailer } from "../mail/mailer";
import { createOutboxMailer, createSmtpMailer } from "../mail/transports";

type Cleanups = (() => Promise<unknown>)[];

/** PostgreSQL found or started, the database created if missing and migrated: its URL and where it came from. */
async function openPostgres(config: Config, log: Logger, cleanups: Cleanups) {
  const postgres = await resolvePostgres(
    { configuredUrl: config.DATABASE_URL, probeUrl: config.DEFAULT_DATABASE_PROBE, dataDir: config.dataDir },
    log,
  );
  cleanups.push(() => postgres.stop());
  if (await ensureDatabase(postgres.url)) log.info({ url: redact(postgres.url) }, "database created");
  const pending = await pendingMigrations(postgres.url);
  if (pending.length) await migrateAtStart(postgres.url, log);
  return postgres;
}

/** Redis found or started, with its two connections ready and the queues on it. */
async function openRedis(config: Config, log: Logger, cleanups: Cleanups) {
  const redisInfo = await resolveRedis(
    { configuredUrl: config.REDIS_URL, probeUrl: config.DEFAULT_REDIS_PROBE, dataDir: config.dataDir },
    log,
  );
  cleanups.push(() => redisInfo.stop());
  const redis = createRedis(redisInfo.url, "client");
  cleanups.push(() => closeRedis(redis));
  const workerRedis = createRedis(redisInfo.url, "worker");
  cleanups.push(() => closeRedis(workerRedis));
  await Promise.all([waitUntilReady(redis, redisInfo.url), waitUntilReady(workerRedis, redisInfo.url)]);
  // Producers fail fast when Redis is away (a request never hangs on it); workers wait for it.
  const queues = createQueues(redis, config.QUEUE_PREFIX, (queue, err) =>
    log.warn({ queue, err: err.message }, "queue connection error"),
  );
  cleanups.push(() => queues.close());
  return { redisInfo, redis, workerRedis, queues };
}

/** SMTP when SMTP_URL is set, else the outbox (files under DATA_DIR/outbox). */
function createMailer(config: Config, outboxDir: string): Mailer {
  return config.SMTP_URL
    ? createSmtpMailer(config.SMTP_URL, {
        from: config.MAIL_FROM,
        dkim: config.dkim,
        maxConnections: Math.min(config.SEND_CONCURRENCY, 10),
      })
    : createOutboxMailer(outboxDir, { from: config.MAIL_FROM, dkim: config.dkim });
}

export async function connectInfrastructure(config: Config, log: Logger): Promise<Infrastructure> {
  const cleanups: Cleanups = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((err) => log.warn({ err: (err as Error).message }, "cleanup step failed"));
    cleanups.length = 0;
  };
  try {
    const postgres = await openPostgres(config, log, cleanups);
    const db = createDb(postgres.url);
    cleanups.push(() => db.$disconnect());
    const { redisInfo, redis, workerRedis, queues } = await openRedis(config, log, cleanups);
    const outboxDir = path.join(config.dataDir, "outbox");
    const mailer = createMailer(config, outboxDir);
    cleanups.push(() => mailer.close());
    log.info(
      { postgres: postgres.origin, redis: redisInfo.origin, mail: config.SMTP_URL ? "smtp" : `outbox (${outboxDir})` },
      "infrastructure ready",
    );
    return {
      config,
      log,
      db,
      redis,
      workerRedis,
      queues,
      mailer,
      databaseUrl: postgres.url,
      redisUrl: redisInfo.url,
      outboxDir,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

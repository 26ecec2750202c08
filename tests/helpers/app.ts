import crypto from "node:crypto";
import IORedis from "ioredis";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../src/config";
import { startApp, type AppOptions, type RunningApp, type Roles } from "../../src/app";
import { createLogger } from "../../src/logger";
import { createTestDatabase, dropTestDatabase } from "./db";

/** Removes a test run's keys once nothing writes them any more (the app has stopped). */
export async function deleteKeys(redisUrl: string, pattern: string): Promise<void> {
  const redis = new IORedis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    for await (const keys of redis.scanStream({ match: pattern, count: 500 })) {
      if ((keys as string[]).length) await redis.unlink(...(keys as string[]));
    }
  } catch {
    // Redis gone (a test killed it): nothing to clean.
  } finally {
    redis.disconnect();
  }
}

/** Paper API addresses that answer nothing (connection refused on loopback). */
export const OFFLINE_PAPER_APIS = {
  HF_API_URL: "http://127.0.0.1:9",
  ARXIV_API_URL: "http://127.0.0.1:9/api/query",
} as const;

export interface TestApp extends RunningApp {
  /** Stops the app and drops its database and queue keys. */
  destroy(): Promise<void>;
  dataDir: string;
}

/**
 * The real app, in this process, on port 0, with its own database (copied from the migrated
 * template), its own Redis key prefix and its own data folder. `env` overrides any setting.
 */
export async function startTestApp(
  env: Record<string, string> = {},
  roles: Partial<Roles> = {},
  options: Pick<AppOptions, "httpsGet"> = {},
): Promise<TestApp> {
  const databaseUrl = env.DATABASE_URL ?? (await createTestDatabase());
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "papers-test-"));
  const prefix = `test-${crypto.randomUUID()}`;
  const config = loadConfig({
    NODE_ENV: "test",
    PORT: "0",
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
    QUEUE_PREFIX: prefix,
    DATA_DIR: dataDir,
    SECRET: crypto.randomBytes(32).toString("hex"),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    DISABLE_SCHEDULES: "true",
    SHUTDOWN_TIMEOUT_SECONDS: "10",
    // Nothing in a test may reach the internet: paper APIs point at a closed loopback port
    // unless a test serves them (tests/helpers/replay-server.ts).
    ...OFFLINE_PAPER_APIS,
    ...env,
  });
  const app = await startApp({
    config,
    roles: { web: true, worker: true, schedules: false, ...roles },
    log: createLogger(config.LOG_LEVEL),
    ...options,
  });
  return Object.assign(app, {
    dataDir,
    async destroy() {
      await app.stop();
      await deleteKeys(app.redisUrl, `${config.QUEUE_PREFIX}:*`);
      if (!env.DATABASE_URL) await dropTestDatabase(databaseUrl);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

import { loadConfig } from "../config";
import { createLogger } from "../logger";
import { connectInfrastructure, type Infrastructure } from "../app";

/**
 * Runs a command with the same infrastructure the app uses (PostgreSQL migrated, Redis, queues,
 * mailer), then closes it. Logs stay quiet unless LOG_LEVEL asks for more.
 */
export async function withInfrastructure<T>(fn: (infra: Infrastructure) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL === "info" ? "warn" : config.LOG_LEVEL, { app: "daily-papers", role: "cli" });
  const infra = await connectInfrastructure(config, log);
  try {
    return await fn(infra);
  } finally {
    await infra.close();
  }
}

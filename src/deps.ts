/**
 * The dependencies built once at start-up (src/app.ts). No feature imports this bag: each declares
 * the few it uses (`SubscriptionsDeps`, `PapersDeps`, `DigestsDeps`, `FeedbackFeatureDeps`,
 * `AdminDeps`), and the compiler checks at the wiring that this bag provides them.
 */
import type { Redis } from "ioredis";
import type { Config } from "./config";
import type { Logger } from "./logger";
import type { Db } from "./db";
import type { Queues } from "./queue/queues";
import type { Mailer } from "./mail/mailer";
import type { Tokens } from "./subscriptions";
import type { Suppressions } from "./suppression";
import type { ReturnPaths } from "./mail/return-path";
import type { Metrics } from "./observability/metrics";
import type { Views } from "./web/views";

/** The services every role needs: PostgreSQL (migrated), Redis, queues, the mailer. */
export interface Infrastructure {
  config: Config;
  log: Logger;
  db: Db;
  redis: Redis;
  workerRedis: Redis;
  queues: Queues;
  mailer: Mailer;
  databaseUrl: string;
  redisUrl: string;
  outboxDir: string;
  close(): Promise<void>;
}

/**
 * Everything a feature may depend on, built once in src/app.ts. `mailer` is the instrumented one: every
 * send is counted and timed by kind (pass the message's `kind`, an `EmailKind` of src/mail/mailer.ts).
 */
export interface AppDeps extends Infrastructure {
  tokens: Tokens;
  /** The suppression list: every path that mails reads it. */
  suppressions: Suppressions;
  /** VERP return paths and mailto: unsubscribe addresses, signed (src/mail/return-path.ts). */
  returnPaths: ReturnPaths;
  metrics: Metrics;
  views: Views;
  /** True once this process has begun to stop: long jobs hand their remaining work back. */
  stopping: () => boolean;
}

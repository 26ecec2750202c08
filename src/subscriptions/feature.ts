import crypto from "node:crypto";
import type { RequestHandler } from "express";
import { ipKeyGenerator } from "express-rate-limit";
import type { Redis } from "ioredis";
import type { Config } from "../config";
import type { Db } from "../db";
import type { Logger } from "../logger";
import type { Mailer } from "../mail/mailer";
import type { Metrics } from "../observability/metrics";
import type { Suppressions } from "../suppression";
import type { Views } from "../web/views";
import type { Feature } from "../feature";
import type { JobHandlers } from "../queue/workers";
import { JobName, QueueName, SchedulerId, type Queues } from "../queue/queues";
import { createCsrf } from "../web/middleware/csrf";
import { createRedisLimits, limitsMiddleware, type LimitRule } from "../web/middleware/redis-limits";
import { normalizeEmail } from "./email-address";
import { createConfirmationRenderer, createReminderRenderer } from "./confirmation-email";
import { CONFIRMATION_JOB, confirmationJobHandler } from "./confirmation-job";
import { purgeUnconfirmed } from "./purge";
import { requeueUnsentConfirmations } from "./unsent-confirmations";
import {
  purgeProcessedRequests,
  relayUnprocessedRequests,
  reminderJobHandler,
  REMINDER_JOB,
  subscriptionRequestJobHandler,
  SUBSCRIPTION_REQUEST_JOB,
} from "./subscription-request-job";
import { subscriptionRoutes } from "./routes";
import { createRequestRelay } from "./request-relay";
import type { Tokens } from "./tokens";

export const PURGE_PENDING_JOB = JobName.maintenance.purgePending;
export const REQUEUE_CONFIRMATIONS_JOB = JobName.maintenance.requeueUnsentConfirmations;
const HOUR = 3600_000;

/** What the subscriptions feature needs, built once in src/app.ts. */
export interface SubscriptionsDeps {
  config: Config;
  db: Db;
  log: Logger;
  redis: Redis;
  queues: Queues;
  mailer: Mailer;
  views: Views;
  metrics: Metrics;
  tokens: Tokens;
  suppressions: Suppressions;
  /** The signed envelope sender and mailto: unsubscribe address of a confirmation (src/mail/return-path.ts). */
  returnPaths: {
    forConfirmation(subscriberId: string): string;
    unsubscribeMailto(subscriberId: string): string | undefined;
  };
}

/**
 * The subscribe limits, shared by every web process through Redis: per client address (IPv6 by
 * /56) and per mailbox (keyed by a hash, so Redis never holds the address), both counted in one
 * round trip before anything else is done with the request.
 */
function subscribeLimits({ config, redis, log }: SubscriptionsDeps): RequestHandler {
  const perIp: LimitRule = { name: "subscribe-ip", limit: config.SUBSCRIBE_LIMIT_PER_IP, windowMs: HOUR };
  const perAddress: LimitRule = {
    name: "subscribe-address",
    limit: config.SUBSCRIBE_LIMIT_PER_ADDRESS,
    windowMs: HOUR,
  };
  return limitsMiddleware({
    limits: createRedisLimits(redis, config.QUEUE_PREFIX),
    checks: (req) => {
      const checks = [{ rule: perIp, key: ipKeyGenerator(req.ip ?? "") }];
      const email = (req.body as { email?: unknown } | undefined)?.email;
      const address = typeof email === "string" ? normalizeEmail(email.slice(0, 300)) : undefined;
      if (address?.ok)
        checks.push({
          rule: perAddress,
          key: crypto.createHash("sha256").update(address.email).digest("hex").slice(0, 32),
        });
      return checks;
    },
    message: (rule) =>
      rule === perIp
        ? "Too many subscribe requests from your network."
        : "Too many subscribe requests for this address.",
    log,
  });
}

/** The daily purge of never-confirmed subscribers; the relay of requests and confirmations whose jobs were lost. */
function maintenanceHandlers({ config, db, queues, log, suppressions }: SubscriptionsDeps): JobHandlers[QueueName] {
  return {
    [PURGE_PENDING_JOB]: async (_job, jobLog) => {
      const result = await purgeUnconfirmed(db, config.PENDING_PURGE_DAYS, (email) => suppressions.keyOf(email));
      const requests = await purgeProcessedRequests(db);
      (jobLog ?? log).info({ ...result, requests }, "purged unconfirmed subscribers and processed requests");
      return result;
    },
    [REQUEUE_CONFIRMATIONS_JOB]: async (_job, jobLog) => {
      const relayed = await relayUnprocessedRequests(db, queues[QueueName.emails]);
      const requeued = await requeueUnsentConfirmations(db, queues[QueueName.emails]);
      if (requeued || relayed)
        (jobLog ?? log).warn({ requeued, relayed }, "subscribe requests and confirmations queued again (jobs lost)");
      return { requeued, relayed };
    },
  };
}

/**
 * Subscriptions as a feature of the running product: the public pages and form posts, the
 * confirmation email job, and the daily purge of never-confirmed subscribers.
 */
export function subscriptionsFeature(deps: SubscriptionsDeps): Feature {
  const { config, db, tokens, metrics, mailer, queues, views, log, suppressions } = deps;
  // Links are built from the settled configuration (src/app.ts settles BASE_URL before building features).
  const baseUrl = () => config.BASE_URL;
  const limits = subscribeLimits(deps);
  const csrf = createCsrf({ secret: config.SECRET, secure: config.BASE_URL.startsWith("https:") });
  const render = createConfirmationRenderer();

  return {
    routers: [
      subscriptionRoutes({
        db,
        tokens,
        views,
        metrics,
        requestRelay: createRequestRelay(queues[QueueName.emails], log),
        csrf,
        limits,
        suppressions,
        baseUrl,
        confirmTtlHours: config.CONFIRM_TOKEN_TTL_HOURS,
      }),
    ],
    handlers: {
      [QueueName.emails]: {
        [CONFIRMATION_JOB]: confirmationJobHandler({
          db,
          mailer,
          tokens,
          render,
          baseUrl,
          unsubscribeMailto: (id) => deps.returnPaths.unsubscribeMailto(id),
          returnPath: (id) => deps.returnPaths.forConfirmation(id),
          confirmTtlHours: config.CONFIRM_TOKEN_TTL_HOURS,
          purgeDays: config.PENDING_PURGE_DAYS,
          suppressions,
          outageRetryMaxMs: config.CONFIRMATION_RETRY_MAX_SECONDS * 1000,
        }),
        [SUBSCRIPTION_REQUEST_JOB]: subscriptionRequestJobHandler({
          db,
          suppressions,
          emailQueue: queues[QueueName.emails],
        }),
        [REMINDER_JOB]: reminderJobHandler({
          db,
          mailer,
          tokens,
          suppressions,
          render: createReminderRenderer(),
          baseUrl,
          unsubscribeMailto: config.UNSUBSCRIBE_MAILTO,
        }),
      },
      [QueueName.maintenance]: maintenanceHandlers(deps),
    },
    schedules: [
      // Daily, at a quiet hour away from the digest.
      {
        id: SchedulerId.purgePending,
        queue: queues[QueueName.maintenance],
        repeat: { pattern: "17 3 * * *", tz: "UTC" },
        name: PURGE_PENDING_JOB,
      },
      {
        id: SchedulerId.requeueUnsentConfirmations,
        queue: queues[QueueName.maintenance],
        repeat: { every: 60_000 },
        name: REQUEUE_CONFIRMATIONS_JOB,
      },
    ],
  };
}

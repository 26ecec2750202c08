/**
 * The one place the product is wired together: configuration in, running roles out.
 * Every dependency is built here (the services by connectInfrastructure, src/infra/connect.ts) and
 * passed to the features that use it.
 */
import express from "express";
import type { Redis } from "ioredis";
import type { Config } from "./config";
import { createLogger, type Logger } from "./logger";
import type { Db } from "./db";
import { connectInfrastructure } from "./infra/connect";
import { allQueueNames, type Queues } from "./queue/queues";
import { mergeHandlers, startWorkers, type Workers } from "./queue/workers";
import { upsertSchedules } from "./queue/schedules";
import { listenHttp, listenOperations, type HttpServer } from "./web/server";
import { shutdownOnce } from "./shutdown";
import type { Feature } from "./feature";
import { createTokens } from "./subscriptions";
import { createSuppressions } from "./suppression";
import { createReturnPaths } from "./mail/return-path";
import { createMetrics } from "./observability/metrics";
import type { Mailer } from "./mail/mailer";
import { createWebApp } from "./web/app";
import { createViews } from "./web/views";
import { healthRoutes } from "./web/routes/health";
import { devOutboxRoutes } from "./web/routes/dev-outbox";
import { metricsRoutes } from "./observability/metrics-routes";
import { instrumentMailer } from "./observability/instrument-mailer";
import { adminFeature } from "./admin";
import { redisRevokedSessions } from "./admin";
import { digestsFeature } from "./digests";
import { papersFeature } from "./papers";
import { subscriptionsFeature } from "./subscriptions";
import { fromRoot } from "./paths";
import { feedbackFeature, startInbound, type RunningInbound } from "./feedback";
import type { HttpsGet } from "./feedback";
import type { AppDeps, Infrastructure } from "./deps";

export type { AppDeps, Infrastructure } from "./deps";

export interface Roles {
  /** Serve HTTP. */
  web: boolean;
  /** Run BullMQ workers. */
  worker: boolean;
  /** Keep the job schedulers (daily ingest, digest, housekeeping) registered. */
  schedules: boolean;
  /** Listen for what comes back: the inbound SMTP listener and the IMAP bounce mailbox (src/feedback). */
  inbound?: boolean;
}

export interface AppOptions {
  config: Config;
  roles: Roles;
  log?: Logger;
  /** How the SNS webhook fetches signing certificates (tests hand it a local one). */
  httpsGet?: HttpsGet;
}

/** What the running product exposes to the entry points, the CLI and the tests. */
export interface RunningApp {
  config: Config;
  log: Logger;
  db: Db;
  redis: Redis;
  queues: Queues;
  mailer: Mailer;
  deps: AppDeps;
  databaseUrl: string;
  redisUrl: string;
  /** Set when the web role runs. */
  url?: string;
  port?: number;
  /** Set when a worker without the web role serves /metrics (METRICS_PORT). */
  metricsUrl?: string;
  /** Set when the inbound role runs: the SMTP listener's port. */
  inboundPort?: number;
  inbound?: RunningInbound;
  stop(): Promise<void>;
}

/**
 * /healthz and /metrics: served by the web role, and on METRICS_PORT (any role). On the public port
 * /metrics needs METRICS_TOKEN in production; on its own port it is open (scraped from inside).
 */
function operationsRouters(deps: AppDeps, where: "public" | "own-port"): express.Router[] {
  const { config, db, redis } = deps;
  return [
    healthRoutes({ postgres: () => db.$queryRaw`SELECT 1`, redis: () => redis.ping() }),
    metricsRoutes({
      metrics: deps.metrics,
      queues: allQueueNames.map((name) => deps.queues[name]),
      log: deps.log,
      token: config.METRICS_TOKEN,
      pausedDigests: async () =>
        (await db.digest.findMany({ where: { status: "paused" }, select: { day: true, frequency: true } })).map(
          (d) => ({ day: d.day.toISOString().slice(0, 10), frequency: d.frequency }),
        ),
      openWithoutToken: where === "own-port" || config.NODE_ENV !== "production",
    }),
  ];
}

/** Features contribute routes, job handlers and schedules; this is where they are assembled. */
function buildFeatures(deps: AppDeps, opts: { httpsGet?: HttpsGet } = {}): Feature[] {
  const { config } = deps;
  const devOutbox = config.NODE_ENV !== "production" && deps.mailer.kind === "outbox";
  const features: Feature[] = [
    subscriptionsFeature(deps),
    papersFeature(deps),
    digestsFeature(deps, { stopping: deps.stopping }),
    feedbackFeature(deps, { httpsGet: opts.httpsGet }),
    ...(devOutbox ? [{ routers: [devOutboxRoutes(deps.outboxDir, deps.views)] }] : []),
  ];
  return [
    {
      routers: [
        express
          .Router()
          .use("/static", express.static(fromRoot("templates", "static"), { maxAge: "1h" }))
          // Browsers and feed readers ask for /favicon.ico whatever the page links: the same icon.
          .get("/favicon.ico", (_req, res) => res.redirect(301, "/static/favicon.svg")),
      ],
    },
    { routers: operationsRouters(deps, "public") },
    // The admin area mounts the features' operator routes behind its own gate.
    adminFeature(
      { ...deps, revokedSessions: redisRevokedSessions(deps.redis, config.QUEUE_PREFIX) },
      {
        apiRouters: features.flatMap((f) => f.adminApiRouters ?? []),
        pageRouters: features.flatMap((f) => f.adminPageRouters ?? []),
      },
    ),
    ...features,
  ];
}

/**
 * The configuration as the running product sees it, frozen. Without BASE_URL, links follow the port
 * the server listens on (the one the OS chose with PORT=0, in tests).
 */
export function settleConfig(config: Config, listeningPort?: number): Readonly<Config> {
  const followsPort = config.baseUrlDefaulted && listeningPort !== undefined;
  return Object.freeze(followsPort ? { ...config, BASE_URL: `http://localhost:${listeningPort}` } : { ...config });
}

function buildDeps(infra: Infrastructure, config: Config, stopping: () => boolean): AppDeps {
  const metrics = createMetrics();
  return {
    ...infra,
    config,
    mailer: instrumentMailer(infra.mailer, metrics),
    tokens: createTokens(config.SECRET, config.SECRET_PREVIOUS),
    suppressions: createSuppressions(config.SECRET, config.SECRET_PREVIOUS),
    returnPaths: createReturnPaths({
      bounceAddress: config.BOUNCE_ADDRESS,
      unsubscribeAddress: config.UNSUBSCRIBE_MAILTO,
      secret: config.SECRET,
      previousSecrets: config.SECRET_PREVIOUS,
    }),
    metrics,
    views: createViews(),
    stopping,
  };
}

/** What a running process holds, in the order it is stopped. */
interface Running {
  server?: HttpServer;
  operations?: { url: string; close(): Promise<void> };
  inbound?: RunningInbound;
  workers?: Workers;
  scheduleKeeper?: NodeJS.Timeout;
}

async function stopRunning(running: Running, infra: Infrastructure, forceAfterMs: number): Promise<void> {
  clearInterval(running.scheduleKeeper);
  await running.server?.close(forceAfterMs);
  await running.operations?.close();
  await running.inbound?.stop();
  await running.workers?.close();
  await infra.close();
}

/** Registers the job schedulers, runs the features' catch-up, and keeps the schedulers registered. */
async function keepSchedules(features: Feature[], deps: AppDeps): Promise<NodeJS.Timeout> {
  const { config, log } = deps;
  const schedules = features.flatMap((f) => f.schedules ?? []);
  await upsertSchedules(schedules);
  for (const feature of features)
    await feature.catchUp?.().catch((err) => log.warn({ err: (err as Error).message }, "start-up catch-up failed"));
  // Upserted again now and then: after Redis was flushed or replaced, the schedules (and with
  // them the reconciler that rebuilds lost work from PostgreSQL) come back by themselves.
  const keeper = setInterval(
    () =>
      void upsertSchedules(schedules).catch((err) =>
        log.warn({ err: (err as Error).message }, "could not refresh job schedulers"),
      ),
    Math.min(60, config.RECONCILE_EVERY_SECONDS) * 1000,
  );
  keeper.unref();
  return keeper;
}

/** Starts each role this process runs, recording in `running` what it started. */
async function startRoles(running: Running, features: Feature[], deps: AppDeps, roles: Roles): Promise<void> {
  const { config, log } = deps;
  for (const feature of features) await feature.init?.();
  // Pages first: the workers, the schedules and the start-up catch-up (which queues an ingest) are
  // not needed to answer one, so on a first run /healthz answers seconds sooner.
  running.server?.serve(
    createWebApp({
      log,
      views: deps.views,
      routers: features.flatMap((f) => f.routers ?? []),
      rawBodyRouters: features.flatMap((f) => f.rawBodyRouters ?? []),
      metrics: deps.metrics,
      trustProxy: config.TRUST_PROXY,
      secure: config.BASE_URL.startsWith("https:"),
    }),
  );
  if (roles.worker) {
    running.workers = startWorkers(mergeHandlers(...features.map((f) => f.handlers ?? {})), {
      connection: deps.workerRedis,
      prefix: config.QUEUE_PREFIX,
      concurrency: config.WORKER_CONCURRENCY,
      log,
    });
  }
  if (roles.inbound) running.inbound = await startInbound(deps);
  if (roles.schedules && !config.DISABLE_SCHEDULES) running.scheduleKeeper = await keepSchedules(features, deps);
  if (config.METRICS_PORT !== undefined && (roles.web || roles.worker)) {
    // A worker sends the emails, so its counters live in its own process: Prometheus scrapes each
    // process here. A web process serves it here too, so production needs no METRICS_TOKEN.
    const app = createWebApp({ log, views: deps.views, routers: operationsRouters(deps, "own-port"), secure: false });
    running.operations = await listenOperations(config.METRICS_PORT, app, log);
  }
}

export async function startApp(opts: AppOptions): Promise<RunningApp> {
  const log = opts.log ?? createLogger(opts.config.LOG_LEVEL, { app: "daily-papers" });
  const infra = await connectInfrastructure(opts.config, log);
  const running: Running = {};
  let stopRequested = false;
  let deps: AppDeps;
  try {
    if (opts.roles.web) running.server = await listenHttp(opts.config.PORT);
    deps = buildDeps(infra, settleConfig(opts.config, running.server?.port), () => stopRequested);
    await startRoles(running, buildFeatures(deps, { httpsGet: opts.httpsGet }), deps, opts.roles);
  } catch (err) {
    await stopRunning(running, infra, 0);
    throw err;
  }
  const { config } = deps;
  const stop = shutdownOnce(
    () => {
      stopRequested = true;
      return stopRunning(running, infra, Math.min(5_000, (config.SHUTDOWN_TIMEOUT_SECONDS * 1000) / 2));
    },
    { timeoutSeconds: config.SHUTDOWN_TIMEOUT_SECONDS, log },
  );
  const port = running.server?.port;
  return {
    config,
    log,
    db: infra.db,
    redis: infra.redis,
    queues: infra.queues,
    mailer: deps.mailer,
    deps,
    databaseUrl: infra.databaseUrl,
    redisUrl: infra.redisUrl,
    url: port !== undefined ? `http://localhost:${port}` : undefined,
    port,
    metricsUrl: running.operations?.url,
    inbound: running.inbound,
    inboundPort: running.inbound?.smtp.port,
    stop,
  };
}

/**
 * WEB_CONCURRENCY: the web role on every core. One Node process serves HTTP on one core; with
 * WEB_CONCURRENCY=N the primary process forks N web processes (node:cluster: they share the
 * listening port and the primary hands out connections round-robin). The primary serves nothing
 * itself: it finds PostgreSQL and Redis once (so N processes never start N embedded servers or
 * migrate at once), passes their addresses on, replaces a process that dies, and on SIGTERM/SIGINT
 * asks every process to stop (each finishes its requests) before it exits.
 */
import cluster, { type Worker } from "node:cluster";
import type { Config } from "../config";
import type { Logger } from "../logger";
import { resolvePostgres, ensureDatabase, migrateAtStart, redact } from "../infra/postgres";
import { pendingMigrations } from "../infra/migrations";
import { resolveRedis } from "../infra/redis";
import type { ProcessLifecycle } from "../process-lifecycle";

/** The message a web process gets from the primary when it must stop (a signal may reach it too). */
export const STOP_MESSAGE = "daily-papers:stop";

export const isClusterWorker = () => cluster.isWorker;

export async function runWebCluster(
  config: Config,
  log: Logger,
  role: string,
  lifecycle: ProcessLifecycle,
): Promise<void> {
  const postgres = await resolvePostgres(
    { configuredUrl: config.DATABASE_URL, probeUrl: config.DEFAULT_DATABASE_PROBE, dataDir: config.dataDir },
    log,
  );
  if (await ensureDatabase(postgres.url)) log.info({ url: redact(postgres.url) }, "database created");
  if ((await pendingMigrations(postgres.url)).length) await migrateAtStart(postgres.url, log);
  const redis = await resolveRedis(
    { configuredUrl: config.REDIS_URL, probeUrl: config.DEFAULT_REDIS_PROBE, dataDir: config.dataDir },
    log,
  );
  const env = { DATABASE_URL: postgres.url, REDIS_URL: redis.url };
  cluster.setupPrimary({ args: [role] });

  let stopping = false;
  const fork = () => cluster.fork(env);
  cluster.on("exit", (worker: Worker, code, signal) => {
    if (stopping) return;
    log.error({ pid: worker.process.pid, code, signal }, "a web process died: starting another");
    setTimeout(() => !stopping && fork(), 1_000).unref();
  });
  for (let i = 0; i < config.WEB_CONCURRENCY; i++) fork();
  log.info({ processes: config.WEB_CONCURRENCY }, "web processes started");

  // On a signal or a fault (src/process-lifecycle.ts): stop every web process, then exit.
  lifecycle.onStop(async () => {
    stopping = true;
    log.info("stopping the web processes");
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.once("exit", () => resolve());
            // An IPC message, not a signal: a terminal's Ctrl-C already signalled the whole group,
            // and a second signal would make a process give up waiting for its requests.
            w.send(STOP_MESSAGE, (err: Error | null) => err && w.process.kill("SIGTERM"));
          }),
      ),
    );
    await Promise.all([postgres.stop(), redis.stop()]);
  });
}

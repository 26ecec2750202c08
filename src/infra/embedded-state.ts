/**
 * Where the embedded fallbacks run, written down under DATA_DIR, so that every process of this
 * checkout finds the same instance and a killed owner's leftovers never block the next start.
 *
 * `npm start` with nothing configured starts an embedded PostgreSQL (data in DATA_DIR/postgres)
 * and, if it must, a redis-server on a free port. It writes DATA_DIR/embedded-postgres.json and
 * DATA_DIR/embedded-redis.json: the owner's pid, the server's pid, port and URL. Then:
 * - `npx newsletter ...` (or a second `npm start`) beside it reads the file and, while the owner is
 *   alive, uses that instance instead of starting another (it cannot: one cluster, one folder);
 * - when the owner was killed (SIGKILL, a crash, a power cut), its servers may still run, orphaned,
 *   holding the folder (postmaster.pid) and a port: the next start stops them and starts afresh;
 * - a clean stop removes the file.
 */
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "../logger";

export type EmbeddedService = "postgres" | "redis";

export interface EmbeddedState {
  /** The process that started the server and stops it (npm start). */
  ownerPid: number;
  /** The server's own process. */
  pid: number;
  port: number;
  url: string;
  startedAt: string;
}

export const stateFile = (dataDir: string, service: EmbeddedService) => path.join(dataDir, `embedded-${service}.json`);

export function readState(dataDir: string, service: EmbeddedService): EmbeddedState | undefined {
  try {
    const state = JSON.parse(fs.readFileSync(stateFile(dataDir, service), "utf8")) as Partial<EmbeddedState>;
    if (
      typeof state.ownerPid === "number" &&
      typeof state.pid === "number" &&
      typeof state.port === "number" &&
      typeof state.url === "string"
    )
      return state as EmbeddedState;
  } catch {
    /* no file, or a half-written one: as if none */
  }
  return undefined;
}

/** Written to a temporary file and renamed, so a reader never sees half of it. */
export function writeState(dataDir: string, service: EmbeddedService, state: Omit<EmbeddedState, "startedAt">): void {
  const file = stateFile(dataDir, service);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify({ ...state, startedAt: new Date().toISOString() }, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

/** Removes the file if this process wrote it (another may have taken over since). */
export function removeState(dataDir: string, service: EmbeddedService): void {
  if (readState(dataDir, service)?.ownerPid === process.pid) fs.rmSync(stateFile(dataDir, service), { force: true });
}

/**
 * True while a process with this pid exists (EPERM: it exists, another user's) and is not a
 * zombie (a killed orphan whose new parent does not reap it still answers kill(pid, 0)).
 */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc (not Linux): kill(pid, 0) is all we know
  }
}

/** The command line of a running process ("" when it is gone or unreadable). */
function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return "";
  }
}

/** True when `pid` is alive and its command line mentions `program` (a reused pid is not ours). */
export const isRunning = (pid: number, program: string) =>
  isAlive(pid) && (commandLine(pid) === "" || commandLine(pid).includes(program));

/**
 * A live owner other than this process: its instance is the one to use. A state file of this
 * very process (pid reused after a reboot) does not count.
 */
export function liveOwnerState(dataDir: string, service: EmbeddedService): EmbeddedState | undefined {
  const state = readState(dataDir, service);
  return state && state.ownerPid !== process.pid && isAlive(state.ownerPid) ? state : undefined;
}

/**
 * Stops a server left running by a dead owner: `signal` first (PostgreSQL: SIGINT is its fast
 * shutdown), SIGKILL if it is still there after `timeoutMs`. Resolves once it is gone.
 */
export async function stopOrphan(
  pid: number,
  what: string,
  log: Logger,
  opts: { signal?: NodeJS.Signals; timeoutMs?: number } = {},
): Promise<void> {
  log.warn({ pid, what }, "a server left running by a process that was killed: stopping it before starting afresh");
  const gone = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (!isAlive(pid)) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return !isAlive(pid);
  };
  try {
    process.kill(pid, opts.signal ?? "SIGTERM");
  } catch {
    return; // gone already
  }
  if (await gone(opts.timeoutMs ?? 15_000)) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  await gone(5_000);
}

import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "../logger";
import { freePort, portAnswers, waitFor } from "./net";
import { isRunning, liveOwnerState, readState, removeState, stopOrphan, writeState } from "./embedded-state";

export interface ResolvedRedis {
  url: string;
  /** `shared`: the redis-server another running process of this DATA_DIR started (src/infra/embedded-state.ts). */
  origin: "configured" | "local" | "spawned" | "shared";
  stop(): Promise<void>;
}

export class RedisUnavailableError extends Error {
  constructor() {
    super(
      "No Redis: REDIS_URL is unset, nothing answers on 127.0.0.1:6379, and no redis-server is on PATH.\n" +
        "Start one with 'docker compose up -d redis', or install your OS package (e.g. 'apt-get install redis-server'), or set REDIS_URL.",
    );
    this.name = "RedisUnavailableError";
  }
}

function findOnPath(binary: string, searchPath = process.env.PATH ?? ""): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, binary);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/**
 * REDIS_URL if set; else the default address if it answers; else the redis-server a running
 * process of this DATA_DIR started; else a redis-server from PATH (stopping one a killed owner
 * left running first).
 */
export async function resolveRedis(
  opts: { configuredUrl?: string; probeUrl: string; dataDir: string; searchPath?: string },
  log: Logger,
): Promise<ResolvedRedis> {
  if (opts.configuredUrl) return { url: opts.configuredUrl, origin: "configured", stop: async () => {} };
  const probe = new URL(opts.probeUrl);
  if (await portAnswers(probe.hostname, Number(probe.port || 6379))) {
    return { url: opts.probeUrl, origin: "local", stop: async () => {} };
  }
  const owner = liveOwnerState(opts.dataDir, "redis");
  if (owner && (await portAnswers("127.0.0.1", owner.port))) {
    log.info({ ownerPid: owner.ownerPid, port: owner.port }, "using the redis-server of the running process");
    return { url: owner.url, origin: "shared", stop: async () => {} };
  }
  const orphan = readState(opts.dataDir, "redis");
  if (!owner && orphan && isRunning(orphan.pid, "redis-server")) await stopOrphan(orphan.pid, "redis-server", log);
  const binary = findOnPath("redis-server", opts.searchPath);
  if (!binary) throw new RedisUnavailableError();
  const port = await freePort();
  log.info({ binary, port }, "nothing answers on the default Redis address: starting redis-server");
  const child: ChildProcess = spawn(
    binary,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdio: "ignore",
    },
  );
  await waitFor(() => portAnswers("127.0.0.1", port, 200), 10_000, "the redis-server we started");
  const url = `redis://127.0.0.1:${port}`;
  fs.mkdirSync(opts.dataDir, { recursive: true });
  writeState(opts.dataDir, "redis", { ownerPid: process.pid, pid: child.pid ?? 0, port, url });
  return {
    url,
    origin: "spawned",
    stop: async () => {
      removeState(opts.dataDir, "redis");
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "../logger";
import { freePort, portAnswers, waitFor } from "./net";

export interface ResolvedRedis {
  url: string;
  origin: "configured" | "local" | "spawned";
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

/** REDIS_URL if set; else the default address if it answers; else a redis-server from PATH. */
export async function resolveRedis(
  opts: { configuredUrl?: string; probeUrl: string; searchPath?: string },
  log: Logger,
): Promise<ResolvedRedis> {
  if (opts.configuredUrl) return { url: opts.configuredUrl, origin: "configured", stop: async () => {} };
  const probe = new URL(opts.probeUrl);
  if (await portAnswers(probe.hostname, Number(probe.port || 6379))) {
    return { url: opts.probeUrl, origin: "local", stop: async () => {} };
  }
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
  return {
    url: `redis://127.0.0.1:${port}`,
    origin: "spawned",
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

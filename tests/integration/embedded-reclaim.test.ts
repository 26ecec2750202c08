/**
 * The embedded fallbacks write where they run (DATA_DIR/embedded-*.json), so the command line
 * beside a running `npm start` uses the same PostgreSQL and Redis, and a start after the owner was
 * killed with SIGKILL reclaims what it left running instead of refusing to start.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { runTs, type RunningProcess } from "../helpers/process";
import { isAlive, readState } from "../../src/infra/embedded-state";

/** `npm start` with nothing configured and nothing answering on the default addresses. */
const startProduct = (dataDir: string): RunningProcess =>
  runTs("src/main.ts", ["all"], {
    PORT: "0",
    LOG_LEVEL: "info",
    SHUTDOWN_TIMEOUT_SECONDS: "15",
    DISABLE_SCHEDULES: "true",
    PAPERS_SOURCE: "sample",
    DATABASE_URL: "",
    REDIS_URL: "",
    DATA_DIR: dataDir,
    DEFAULT_DATABASE_PROBE: "postgresql://postgres@127.0.0.1:1/newsletter",
    DEFAULT_REDIS_PROBE: "redis://127.0.0.1:1",
  });

describe("the embedded PostgreSQL and redis-server of npm start", () => {
  it("when the CLI runs beside it, then it uses them; when npm start is killed with SIGKILL, then the next start reclaims what it left", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "papers-embedded-"));
    let first: RunningProcess | undefined;
    let second: RunningProcess | undefined;
    try {
      first = startProduct(dataDir);
      await first.waitForOutput(/running at http/, 90_000);
      const postgres = readState(dataDir, "postgres")!;
      const redis = readState(dataDir, "redis")!;
      expect(postgres).toMatchObject({ ownerPid: first.child.pid });
      expect(redis).toMatchObject({ ownerPid: first.child.pid, url: `redis://127.0.0.1:${redis.port}` });
      expect(isAlive(postgres.pid) && isAlive(redis.pid)).toBe(true);

      // The command line finds both: the digest command needs the database and the workers' Redis
      // (a Redis of its own is refused), and the bundled papers are in that database.
      const cli = runTs("bin/newsletter.js", ["digest", "send", "--date", "2025-12-10"], {
        DATABASE_URL: "",
        REDIS_URL: "",
        DATA_DIR: dataDir,
        DEFAULT_DATABASE_PROBE: "postgresql://postgres@127.0.0.1:1/newsletter",
        DEFAULT_REDIS_PROBE: "redis://127.0.0.1:1",
        LOG_LEVEL: "debug", // the command line shows info lines from debug on
      });
      expect({ exit: await cli.exited, output: cli.output() }).toMatchObject({ exit: { code: 0 } });
      expect(cli.output()).toContain("using the embedded PostgreSQL of the running process");
      expect(cli.output()).toContain("using the redis-server of the running process");
      expect(cli.output()).toMatch(/Queued the daily digest|was already assembled/);

      // Killed: its PostgreSQL and redis-server keep running, orphaned.
      first.child.kill("SIGKILL");
      await first.exited;
      expect(isAlive(postgres.pid) && isAlive(redis.pid)).toBe(true);

      second = startProduct(dataDir);
      await second.waitForOutput(/running at http/, 90_000);
      expect(second.output()).toContain("a server left running by a process that was killed");
      expect(isAlive(postgres.pid) || isAlive(redis.pid)).toBe(false);
      expect(readState(dataDir, "postgres")).toMatchObject({ ownerPid: second.child.pid });
      expect(readState(dataDir, "redis")).toMatchObject({ ownerPid: second.child.pid });
      // The data survived the reclaim: the digest the command line created is in the new server's database.
      const client = new pg.Client({ connectionString: readState(dataDir, "postgres")!.url });
      await client.connect();
      const digests = await client.query<{ n: string }>("SELECT count(*) AS n FROM digests WHERE day = '2025-12-10'");
      await client.end();
      expect(Number(digests.rows[0]!.n)).toBe(1);
      second.child.kill("SIGTERM");
      expect((await second.exited).code).toBe(0);
      expect(fs.existsSync(path.join(dataDir, "embedded-postgres.json"))).toBe(false);
      expect(fs.existsSync(path.join(dataDir, "embedded-redis.json"))).toBe(false);
    } finally {
      first?.child.kill("SIGKILL");
      second?.child.kill("SIGKILL");
      for (const service of ["postgres", "redis"] as const) {
        const pid = readState(dataDir, service)?.pid;
        if (pid && isAlive(pid)) process.kill(pid, service === "postgres" ? "SIGINT" : "SIGTERM");
      }
    }
  }, 180_000);
});

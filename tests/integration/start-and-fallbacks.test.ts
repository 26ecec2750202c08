import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildDist, runBuilt, runTs, type RunningProcess } from "../helpers/process";
import { dropTestDatabase, unusedDatabaseUrl } from "../helpers/db";
import { deleteKeys } from "../helpers/app";

/** `npm start` as a user runs it: the real entry point in its own process. */
const startProduct = (env: Record<string, string | undefined>, role = "all"): RunningProcess =>
  runTs("src/main.ts", [role], {
    PORT: "0",
    LOG_LEVEL: "info",
    SHUTDOWN_TIMEOUT_SECONDS: "15",
    DISABLE_SCHEDULES: "true",
    ...env,
  });

const tmpDataDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "papers-start-"));

async function stopAndExpectCleanExit(p: RunningProcess, withinMs: number) {
  const started = Date.now();
  p.child.kill("SIGTERM");
  const { code } = await p.exited;
  expect(code).toBe(0);
  expect(Date.now() - started).toBeLessThan(withinMs);
  expect(p.output()).toContain('"msg":"stopped"');
}

describe("npm start", () => {
  beforeAll(() => buildDist(), 300_000);

  it("when started as npm start does (compiled JavaScript, no TypeScript loader), then it serves the home page with its templates, static files and bundled papers", async () => {
    const databaseUrl = unusedDatabaseUrl();
    const prefix = `test-start-built-${Date.now()}`;
    const p = runBuilt("src/main.ts", ["all"], {
      PORT: "0",
      LOG_LEVEL: "info",
      DISABLE_SCHEDULES: "true",
      PAPERS_SOURCE: "sample",
      DATABASE_URL: databaseUrl,
      DATA_DIR: tmpDataDir(),
      QUEUE_PREFIX: prefix,
    });
    try {
      const [, url] = await p.waitForOutput(/running at (http:\/\/localhost:\d+)/, 170_000);
      const cmdline = fs.readFileSync(`/proc/${p.child.pid}/cmdline`, "utf8").split("\0");
      expect(cmdline).not.toContain("tsx");
      expect(cmdline.join(" ")).toContain(path.join("dist", "src", "main.js"));
      const home = await fetch(`${url}/`);
      expect(home.status).toBe(200);
      expect(await home.text()).toContain('name="email"');
      expect((await fetch(`${url}/static/site.css`)).status).toBe(200);
      await stopAndExpectCleanExit(p, 15_000);
    } finally {
      p.child.kill("SIGKILL");
      await dropTestDatabase(databaseUrl);
      await deleteKeys("redis://127.0.0.1:6379", `${prefix}:*`);
    }
    // A fresh database created, migrated and filled with the sample: give a loaded machine time.
  }, 180_000);

  it("when the database is missing, then it is created and migrated, /healthz answers 200, and SIGTERM stops everything cleanly", async () => {
    const databaseUrl = unusedDatabaseUrl();
    const prefix = `test-start-${Date.now()}`;
    const p = startProduct({ DATABASE_URL: databaseUrl, DATA_DIR: tmpDataDir(), QUEUE_PREFIX: prefix });
    try {
      const [, url] = await p.waitForOutput(/running at (http:\/\/localhost:\d+)/);
      const res = await fetch(`${url}/healthz`);
      expect(res.status).toBe(200);
      expect(p.output()).toContain("database created");
      await stopAndExpectCleanExit(p, 15_000);
    } finally {
      p.child.kill("SIGKILL");
      await dropTestDatabase(databaseUrl);
      await deleteKeys("redis://127.0.0.1:6379", `${prefix}:*`);
    }
  });

  it("when a setting is invalid, then the process stops with a message naming it", async () => {
    const p = startProduct({ PORT: "not-a-port", DATA_DIR: tmpDataDir() });
    const { code } = await p.exited;
    expect(code).toBe(1);
    expect(p.output()).toMatch(/PORT: .*got "not-a-port"/);
  });

  it("when nothing answers on the default PostgreSQL and Redis addresses, then an embedded PostgreSQL and a redis-server from PATH are started", async () => {
    const dataDir = tmpDataDir();
    const p = startProduct({
      DATABASE_URL: "",
      REDIS_URL: "",
      DATA_DIR: dataDir,
      DEFAULT_DATABASE_PROBE: "postgresql://postgres@127.0.0.1:1/newsletter",
      DEFAULT_REDIS_PROBE: "redis://127.0.0.1:1",
    });
    try {
      const [, url] = await p.waitForOutput(/running at (http:\/\/localhost:\d+)/, 90_000);
      expect(p.output()).toContain("embedded PostgreSQL started");
      expect(p.output()).toContain("starting redis-server");
      expect(p.output()).toMatch(/"postgres":"embedded","redis":"spawned"/);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect(fs.existsSync(path.join(dataDir, "postgres", "cluster", "PG_VERSION"))).toBe(true);
      await stopAndExpectCleanExit(p, 20_000);
    } finally {
      p.child.kill("SIGKILL");
    }
  }, 120_000);

  it("when no Redis answers and none is on PATH, then it stops and says how to get one", async () => {
    const p = startProduct({
      DATABASE_URL: "",
      REDIS_URL: "",
      DATA_DIR: tmpDataDir(),
      DEFAULT_REDIS_PROBE: "redis://127.0.0.1:1",
      PATH: tmpDataDir(), // an empty folder: no redis-server anywhere on PATH
    });
    const { code } = await p.exited;
    expect(code).toBe(1);
    expect(p.output()).toContain("docker compose up -d redis");
  });

  it("when the worker role runs alone, then it serves no HTTP and stops cleanly", async () => {
    const prefix = `test-worker-${Date.now()}`;
    const p = startProduct({ DATABASE_URL: "", DATA_DIR: tmpDataDir(), QUEUE_PREFIX: prefix }, "worker");
    try {
      await p.waitForOutput(/worker running/);
      expect(p.output()).not.toContain("running at");
      await stopAndExpectCleanExit(p, 15_000);
    } finally {
      p.child.kill("SIGKILL");
      await deleteKeys("redis://127.0.0.1:6379", `${prefix}:*`);
    }
  });
});

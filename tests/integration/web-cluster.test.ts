import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildDist, runBuilt } from "../helpers/process";
import { dropTestDatabase, unusedDatabaseUrl } from "../helpers/db";
import { deleteKeys } from "../helpers/app";
import { waitUntil } from "../helpers/seed";

const childrenOf = (pid: number) =>
  fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);

describe("the web role with WEB_CONCURRENCY", () => {
  beforeAll(() => buildDist(), 300_000);

  it("when WEB_CONCURRENCY=2, then two processes serve one port, a dead one is replaced, and SIGTERM stops them all", async () => {
    const databaseUrl = unusedDatabaseUrl();
    const prefix = `test-cluster-${Date.now()}`;
    const p = runBuilt("src/main.ts", ["web"], {
      WEB_CONCURRENCY: "2",
      PORT: "0",
      LOG_LEVEL: "info",
      DISABLE_SCHEDULES: "true",
      DATABASE_URL: databaseUrl,
      QUEUE_PREFIX: prefix,
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "papers-cluster-")),
    });
    const primary = p.child.pid!;
    try {
      const running = () => [...p.output().matchAll(/running at (http:\/\/localhost:\d+)/g)].map((m) => m[1]);
      const urls = await waitUntil(
        "two web processes",
        () => Promise.resolve(running().length >= 2 && running()),
        90_000,
      );
      expect(new Set(urls).size).toBe(1);
      const url = urls[0]!;
      // The primary migrated the new database once, before forking.
      expect(p.output().match(/database created/g)).toHaveLength(1);
      const first = childrenOf(primary);
      expect(first).toHaveLength(2);
      for (let i = 0; i < 6; i++) expect((await fetch(`${url}/healthz`)).status).toBe(200);

      process.kill(first[0]!, "SIGKILL");
      const replaced = await waitUntil(
        "a new web process",
        () => {
          const now = childrenOf(primary);
          return Promise.resolve(now.length === 2 && !now.includes(first[0]!) && now);
        },
        60_000,
      );
      expect(replaced).toContain(first[1]);
      await waitUntil("the new process listening", () => Promise.resolve(running().length >= 3), 60_000);
      for (let i = 0; i < 6; i++) expect((await fetch(`${url}/healthz`)).status).toBe(200);

      p.child.kill("SIGTERM");
      const { code } = await p.exited;
      expect(code).toBe(0);
      for (const pid of replaced) expect(fs.existsSync(`/proc/${pid}/status`)).toBe(false);
    } finally {
      p.child.kill("SIGKILL");
      await dropTestDatabase(databaseUrl);
      await deleteKeys("redis://127.0.0.1:6379", `${prefix}:*`);
    }
    // Three processes start in this test: on a loaded 2-core machine that alone can take a minute.
  }, 300_000);
});

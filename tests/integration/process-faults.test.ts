/**
 * An unhandled rejection is handled on purpose (src/process-lifecycle.ts): logged as fatal with
 * structured fields, a graceful stop, exit code 70 so the supervisor restarts the process.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startSmtpServer } from "../helpers/smtp";
import { startTestApp } from "../helpers/app";
import { seedManyReaders, seedPapers, waitUntil } from "../helpers/seed";
import { runTs } from "../helpers/process";
import { queueAssembly } from "../../src/digests/jobs";
import { FAULT_EXIT_CODE } from "../../src/process-lifecycle";

const DAY = "2024-12-10";
const FIXTURE = "tests/fixtures/processes/planted-rejection.ts";

/** The JSON log lines of a process's output. */
const logLines = (output: string) =>
  output
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown> & { msg: string; level: number });

describe("when a worker hits an unhandled rejection in the middle of a send", () => {
  it("then it logs it as fatal, stops gracefully (handing its rows back), exits 70, and a new worker sends the rest once", async () => {
    const readers = 80;
    const smtp = await startSmtpServer();
    smtp.setDelay(50);
    const secret = crypto.randomBytes(32).toString("hex");
    const settings = { SMTP_URL: smtp.url, SECRET: secret, SEND_CONCURRENCY: "2", SEND_BATCH_SIZE: "80" };
    const app = await startTestApp(settings, { web: false, worker: false });
    const worker = runTs(FIXTURE, ["worker"], {
      ...settings,
      DATABASE_URL: app.databaseUrl,
      REDIS_URL: app.redisUrl,
      QUEUE_PREFIX: app.config.QUEUE_PREFIX,
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "papers-fault-")),
      DISABLE_SCHEDULES: "true",
      SHUTDOWN_TIMEOUT_SECONDS: "10",
      LOG_LEVEL: "info",
    });
    let second: Awaited<ReturnType<typeof startTestApp>> | undefined;
    try {
      await seedPapers(app.db, [{ title: "A paper", upvotes: 1, day: DAY }]);
      await seedManyReaders(app.db, readers);
      await worker.waitForOutput(/worker running/);
      await queueAssembly(app.queues, { day: DAY, frequency: "daily" });
      await smtp.waitForCount(5, 30_000);
      worker.child.kill("SIGUSR2");
      const exit = await worker.exited;

      expect(exit).toEqual({ code: FAULT_EXIT_CODE, signal: null });
      const lines = logLines(worker.output());
      const fatal = lines.find((l) => l.level === 60);
      expect(fatal).toMatchObject({
        fault: "unhandledRejection",
        role: "worker",
        exitCode: FAULT_EXIT_CODE,
        err: { name: "Error", message: "a bug nobody caught" },
      });
      expect((fatal!.err as { stack: string }).stack).toContain("planted-rejection.ts");
      // The graceful stop ran after the fatal line: nothing is left claimed.
      const messages = lines.map((l) => l.msg);
      expect(messages.indexOf("stopped")).toBeGreaterThan(messages.indexOf(fatal!.msg));
      expect(await app.db.delivery.count({ where: { state: "sending" } })).toBe(0);
      const accepted = await app.db.delivery.count({ where: { state: "accepted" } });
      expect(accepted).toBe(smtp.received.length);
      expect(accepted).toBeLessThan(readers);

      // The supervisor's restart: a new worker sends the rest, nobody twice.
      second = await startTestApp(
        { ...settings, DATABASE_URL: app.databaseUrl, QUEUE_PREFIX: app.config.QUEUE_PREFIX },
        { web: false },
      );
      smtp.setDelay(0);
      await waitUntil(
        "the rest to be sent",
        async () => (await app.db.digest.findFirst())?.status === "sent",
        30_000,
        200,
      );
      expect(smtp.received).toHaveLength(readers);
      expect(new Set(smtp.received.map((e) => e.envelopeTo[0])).size).toBe(readers);
    } finally {
      worker.child.kill("SIGKILL");
      await second?.destroy();
      await app.destroy();
      await smtp.close();
    }
  }, 60_000);
});

describe("when a command hits an unhandled rejection", () => {
  it("then it says so on stderr, logs it as fatal and exits 70", async () => {
    const app = await startTestApp({}, { web: false, worker: false });
    try {
      const cli = runTs(FIXTURE, ["cli", "digest", "send", "--date", DAY, "--wait", "--timeout", "30"], {
        DATABASE_URL: app.databaseUrl,
        REDIS_URL: app.redisUrl,
        QUEUE_PREFIX: app.config.QUEUE_PREFIX,
        LOG_LEVEL: "warn",
      });
      await seedPapers(app.db, [{ title: "A paper", upvotes: 1, day: DAY }]);
      await cli.waitForOutput(/Queued the daily digest/);
      cli.child.kill("SIGUSR2");
      expect(await cli.exited).toEqual({ code: FAULT_EXIT_CODE, signal: null });
      expect(cli.output()).toContain(
        `Internal error (unhandledRejection): a bug nobody caught\nThis is a bug; the process stops (exit code ${FAULT_EXIT_CODE}).`,
      );
      expect(logLines(cli.output()).find((l) => l.level === 60)).toMatchObject({
        fault: "unhandledRejection",
        role: "cli",
        err: { message: "a bug nobody caught" },
      });
    } finally {
      await app.destroy();
    }
  }, 60_000);
});

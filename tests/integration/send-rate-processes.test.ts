/**
 * The send rate holds across worker processes: two real workers (the compiled `worker` role, as
 * `npm run start:worker` runs it) share one digest, and the SMTP server under the test's control
 * notes when each message arrives. In no one-second window, the first one included, do the two
 * together deliver more than SEND_RATE_PER_SECOND + 10%; every reader gets one copy, and both
 * processes did part of it.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "@jest/globals";
import { busiestWindow } from "../helpers/windows";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp";
import { startTestApp, type TestApp } from "../helpers/app";
import { seedManyReaders, seedPapers, waitUntil } from "../helpers/seed";
import { buildDist, runBuilt, type RunningProcess } from "../helpers/process";
import { queueAssembly } from "../../src/digests/jobs";

const DAY = "2024-12-10";
const RATE = 25;
const READERS = 150;

describe("the send rate across two worker processes", () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  const workers: RunningProcess[] = [];

  beforeAll(async () => {
    buildDist();
    smtp = await startSmtpServer();
    const settings = {
      SMTP_URL: smtp.url,
      SECRET: crypto.randomBytes(32).toString("hex"),
      SEND_RATE_PER_SECOND: String(RATE),
      SEND_BATCH_SIZE: "10",
      SEND_CONCURRENCY: "3",
    };
    app = await startTestApp(settings, { web: false, worker: false });
    for (let i = 0; i < 2; i++)
      workers.push(
        runBuilt("src/main.ts", ["worker"], {
          ...settings,
          DATABASE_URL: app.databaseUrl,
          REDIS_URL: app.redisUrl,
          QUEUE_PREFIX: app.config.QUEUE_PREFIX,
          DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "papers-rate-")),
          DISABLE_SCHEDULES: "true",
          LOG_LEVEL: "info",
        }),
      );
    await Promise.all(workers.map((w) => w.waitForOutput(/worker running/, 60_000)));
  }, 90_000);
  afterAll(async () => {
    for (const w of workers) w.child.kill("SIGTERM");
    await Promise.all(workers.map((w) => w.exited));
    await app?.destroy();
    await smtp?.close();
  });

  it("then no one-second window, the first included, holds more than the rate + 10%; each reader gets one copy, and both workers sent", async () => {
    await seedPapers(app.db, [{ title: "A paper", upvotes: 1, day: DAY }]);
    await seedManyReaders(app.db, READERS);
    await queueAssembly(app.queues, { day: DAY, frequency: "daily" });
    await waitUntil(
      "the digest to be sent",
      async () => (await app.db.digest.findFirst())?.status === "sent",
      60_000,
      200,
    );

    const digests = smtp.received.filter((m) => /^Message-ID: <digest-/m.test(m.raw));
    expect(digests).toHaveLength(READERS);
    expect(new Set(digests.flatMap((m) => m.envelopeTo)).size).toBe(READERS);
    // In any one-second window, the first included (while nodemailer's pools open their
    // connections): the messages arrive at the server within the rate + 10%.
    const times = digests.map((m) => m.at);
    const busiest = busiestWindow(times, 1000);
    expect(busiest).toBeLessThanOrEqual(Math.floor(RATE * 1.1));
    // Both processes took send batches (their logs name each completed job).
    for (const w of workers) expect(w.output()).toMatch(/"job":"send-batch"[^\n]*"msg":"job completed"/);
    // And the rate was used, not merely respected: 150 emails at 25/s take about 6 s.
    const span = Math.max(...digests.map((m) => m.at)) - Math.min(...digests.map((m) => m.at));
    expect(span).toBeGreaterThanOrEqual(((READERS - RATE * 1.1) / RATE) * 1000);
  }, 90_000);
});

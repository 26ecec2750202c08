import crypto from "node:crypto";
import { startSmtpServer } from "../helpers/smtp";
import { startTestApp, type TestApp } from "../helpers/app";
import { seedManyReaders, seedPapers, seedReaders, waitUntil } from "../helpers/seed";
import { runTs } from "../helpers/process";
import { queueAssembly } from "../../src/digests/jobs";

const DAY = "2024-12-10";

describe("npx newsletter digest send|status", () => {
  it("when an operator sends a day's digest and waits, then a running worker sends it and status reports the counts", async () => {
    const smtp = await startSmtpServer();
    const secret = crypto.randomBytes(32).toString("hex");
    const app = await startTestApp({ SMTP_URL: smtp.url, SECRET: secret }, { web: false });
    const env = {
      DATABASE_URL: app.databaseUrl,
      REDIS_URL: app.redisUrl,
      QUEUE_PREFIX: app.config.QUEUE_PREFIX,
      SECRET: secret,
      SMTP_URL: smtp.url,
      LOG_LEVEL: "warn",
    };
    try {
      await seedPapers(app.db, [{ title: "A paper", upvotes: 1, day: DAY }]);
      await seedReaders(app.db, [{ email: "a@example.org" }, { email: "b@example.org" }, { email: "c@example.org" }]);
      const send = runTs("bin/newsletter.js", ["digest", "send", "--date", DAY, "--wait"], env);
      expect((await send.exited).code).toBe(0);
      expect(send.output()).toContain("Done: 3 sent, 0 failed, 0 skipped of 3.");
      expect(smtp.received).toHaveLength(3);

      const status = runTs("bin/newsletter.js", ["digest", "status", "--date", DAY, "--json"], env);
      expect((await status.exited).code).toBe(0);
      expect(JSON.parse(status.output().trim().split("\n").pop()!)).toMatchObject({
        day: DAY,
        status: "sent",
        total: 3,
        sent: 3,
        failed: 0,
        pending: 0,
      });

      const bad = runTs("bin/newsletter.js", ["digest", "send", "--date", "2024-02-31"], env);
      expect((await bad.exited).code).toBe(1);
      expect(bad.output()).toContain("--date 2024-02-31 is not a real day");
    } finally {
      await app.destroy();
      await smtp.close();
    }
  }, 60_000);
});

describe("npx newsletter digest send --wait with no worker running", () => {
  it("when nothing sends within --timeout, then it stops waiting with a clear error and the digest stays queued", async () => {
    const app = await startTestApp({}, { web: false, worker: false });
    const env = {
      DATABASE_URL: app.databaseUrl,
      REDIS_URL: app.redisUrl,
      QUEUE_PREFIX: app.config.QUEUE_PREFIX,
      LOG_LEVEL: "warn",
    };
    try {
      await seedPapers(app.db, [{ title: "A paper", upvotes: 1, day: DAY }]);
      const send = runTs("bin/newsletter.js", ["digest", "send", "--date", DAY, "--wait", "--timeout", "1"], env);
      expect((await send.exited).code).toBe(1);
      expect(send.output()).toContain(
        `Still sending after 1 s; 'npx newsletter digest status --date ${DAY}' shows how far it got.`,
      );
      expect(await app.queues.digests.getWaitingCount()).toBe(1);
    } finally {
      await app.destroy();
    }
  }, 60_000);
});

describe("when a worker is stopped in the middle of a batch", () => {
  it("then it hands back what it has not sent, leaves nothing half-done, and the next worker sends the rest exactly once", async () => {
    const readers = 100;
    const smtp = await startSmtpServer();
    smtp.setDelay(40);
    const secret = crypto.randomBytes(32).toString("hex");
    const settings = { SMTP_URL: smtp.url, SECRET: secret, SEND_CONCURRENCY: "2", SEND_BATCH_SIZE: "100" };
    const first = await startTestApp(settings);
    let second: TestApp | undefined;
    try {
      await seedPapers(first.db, [{ title: "A paper", upvotes: 1, day: DAY }]);
      await seedManyReaders(first.db, readers);
      await queueAssembly(first.queues, { day: DAY, frequency: "daily" });
      await smtp.waitForCount(10);
      const started = Date.now();
      await first.stop();
      expect(Date.now() - started).toBeLessThan(5_000);

      const states = await first.deps.db.$queryRaw<{ state: string; n: bigint; max_attempts: number }[]>`
        SELECT state::text, count(*) AS n, max(attempts) AS max_attempts FROM deliveries GROUP BY state ORDER BY state`;
      expect(states.find((s) => s.state === "sending")).toBeUndefined();
      const accepted = Number(states.find((s) => s.state === "accepted")?.n ?? 0);
      const pending = states.find((s) => s.state === "pending");
      expect(accepted).toBe(smtp.received.length);
      expect(Number(pending?.n)).toBe(readers - accepted);
      expect(pending?.max_attempts).toBe(0); // handed back untried: no attempt counted

      second = await startTestApp(
        {
          ...settings,
          DATABASE_URL: first.databaseUrl,
          QUEUE_PREFIX: first.config.QUEUE_PREFIX,
          DISABLE_SCHEDULES: "false",
          RECONCILE_EVERY_SECONDS: "1",
          DELIVERY_LEASE_SECONDS: "1",
        },
        { web: false, schedules: true },
      );
      smtp.setDelay(0);
      await waitUntil(
        "the rest to be sent",
        async () => (await second!.db.digest.findFirst())?.status === "sent",
        60_000,
        200,
      );
      expect(smtp.received).toHaveLength(readers);
      expect(new Set(smtp.received.map((e) => e.envelopeTo[0])).size).toBe(readers);
    } finally {
      await second?.destroy();
      await first.destroy();
      await smtp.close();
    }
  }, 90_000);
});

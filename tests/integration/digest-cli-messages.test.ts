import crypto from "node:crypto";
import { startTestApp } from "../helpers/app";
import { runTs } from "../helpers/process";
import { seedPapers, seedReaders } from "../helpers/seed";
import { startSmtpServer } from "../helpers/smtp";

const DAY = "2024-12-10";

describe("the digest commands say what happened", () => {
  it("when a day is sent twice, a day without papers is asked for, and status is read, then each says so in words", async () => {
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
      await seedReaders(app.db, [{ email: "a@example.org" }, { email: "b@example.org" }]);
      const first = runTs("bin/newsletter.js", ["digest", "send", "--date", DAY, "--wait"], env);
      expect((await first.exited).code).toBe(0);
      expect(first.output()).toContain("Queued the daily digest of Tuesday 10 December 2024 (1 paper,");

      const again = runTs("bin/newsletter.js", ["digest", "send", "--date", DAY], env);
      expect((await again.exited).code).toBe(0);
      expect(again.output()).toContain(
        "was already assembled: nothing new was queued and nobody gets a second copy (2 of 2 readers settled: 2 sent, 0 failed, 0 skipped; 0 pending)",
      );

      const weekend = runTs("bin/newsletter.js", ["digest", "send", "--date", "2024-12-07"], env);
      expect((await weekend.exited).code).toBe(0);
      expect(weekend.output()).toContain("Warning: no papers were featured on Saturday 7 December 2024");
      expect(weekend.output()).not.toContain("0 of 0");
      expect(await app.db.digest.count({ where: { day: new Date("2024-12-07") } })).toBe(0);

      const status = runTs("bin/newsletter.js", ["digest", "status", "--date", DAY], env);
      expect((await status.exited).code).toBe(0);
      expect(status.output()).toContain("The daily digest of Tuesday 10 December 2024: sent");
      expect(status.output()).toContain("2 of 2 readers settled: 2 sent, 0 failed, 0 skipped; 0 pending");
      expect(status.output()).toMatch(/assembled \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC into 1 variant, finished/);
      expect(smtp.received).toHaveLength(2);
      // Quiet by default (LOG_LEVEL=warn above: not a word of the logger); LOG_LEVEL=info shows the
      // info lines (here: which PostgreSQL it found), as it says, not only at debug.
      const probed = { ...env, DATABASE_URL: "", DEFAULT_DATABASE_PROBE: app.databaseUrl };
      const quiet = runTs("bin/newsletter.js", ["digest", "status", "--date", DAY], probed);
      expect((await quiet.exited).code).toBe(0);
      expect(quiet.output()).not.toContain("using the PostgreSQL that answers on the default address");
      const told = runTs("bin/newsletter.js", ["digest", "status", "--date", DAY], { ...probed, LOG_LEVEL: "info" });
      expect((await told.exited).code).toBe(0);
      expect(told.output()).toContain("using the PostgreSQL that answers on the default address");
      expect(told.output()).toContain("The daily digest of Tuesday 10 December 2024: sent");
    } finally {
      await app.destroy();
      await smtp.close();
    }
  }, 300_000);
});

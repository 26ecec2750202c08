/**
 * Claims are fenced, seen from outside: a worker process frozen (SIGSTOP) past its lease while
 * another worker takes its rows over and sends them can, once it runs again, neither overwrite
 * the newer attempt's records nor go on sending; and an acceptance record that fails (the
 * group-commit UPDATE refused by the database) is retried until stored, never handed back to be
 * sent again.
 */
import { expect } from "@jest/globals";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp";
import { startTestApp, type TestApp } from "../helpers/app";
import { seedManyReaders, seedPapers, waitUntil } from "../helpers/seed";
import { runTs, type RunningProcess } from "../helpers/process";
import { queueAssembly } from "../../src/digests/jobs";
import type { Db } from "../../src/db";

const DAY = "2024-12-10";

const digestSent = (db: Db) =>
  waitUntil(
    "the digest to be sent",
    async () => (await db.digest.findFirst({ where: { day: new Date(DAY) } }))?.status === "sent",
    90_000,
    200,
  );

/** How many copies each reader received, over every server. */
function copies(...servers: TestSmtpServer[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of servers) for (const [to, n] of s.countsByRecipient()) counts.set(to, (counts.get(to) ?? 0) + n);
  return counts;
}

describe("when a worker process is frozen past its lease and another worker takes its rows over", () => {
  it("then, running again, it overwrites none of the newer attempt's records and its lanes stop", async () => {
    const readers = 40;
    const lanes = 2;
    const secret = crypto.randomBytes(32).toString("hex");
    // Each worker talks to its own server, so what each sent (and each answer it recorded) can be told apart.
    const smtpA = await startSmtpServer({ acceptedReply: "OK: queued by the frozen worker" });
    const smtpB = await startSmtpServer({ acceptedReply: "OK: queued by the second worker" });
    smtpA.setDelay(150);
    smtpB.setDelay(150);
    const web = await startTestApp({ SECRET: secret }, { worker: false });
    const common = {
      DATABASE_URL: web.databaseUrl,
      REDIS_URL: web.redisUrl,
      QUEUE_PREFIX: web.config.QUEUE_PREFIX,
      SECRET: secret,
      SEND_CONCURRENCY: String(lanes),
      SEND_BATCH_SIZE: "100",
      DELIVERY_LEASE_SECONDS: "2",
      RECONCILE_EVERY_SECONDS: "1",
    };
    let frozen: RunningProcess | undefined;
    let second: TestApp | undefined;
    try {
      await seedPapers(web.db, [{ title: "Diffusion models, again", upvotes: 12, day: DAY }]);
      await seedManyReaders(web.db, readers);
      frozen = runTs("workers/index.ts", [], {
        ...common,
        SMTP_URL: smtpA.url,
        DISABLE_SCHEDULES: "true",
        LOG_LEVEL: "info",
        DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "papers-frozen-")),
      });
      await frozen.waitForOutput(/worker running/);
      await queueAssembly(web.queues, { day: DAY, frequency: "daily" });
      await smtpA.waitForCount(6, 60_000);
      frozen.child.kill("SIGSTOP");
      const stoppedAt = Date.now();
      // Past the lease (2 s): its claims look abandoned. The second worker's reconciler hands them over.
      await new Promise((r) => setTimeout(r, 2_500));
      second = await startTestApp(
        { ...common, SMTP_URL: smtpB.url, DISABLE_SCHEDULES: "false" },
        { web: false, worker: true, schedules: true },
      );
      // Resume the frozen worker while the second one still holds the rows (claimed under its own token).
      await smtpB.waitForCount(8, 60_000);
      const heldBySecond = await web.db.delivery.count({ where: { state: "sending" } });
      frozen.child.kill("SIGCONT");
      const resumedAt = Date.now();
      await digestSent(web.db);
      // Give the resumed worker time to do whatever it still would.
      await new Promise((r) => setTimeout(r, 3_000));

      const rows = await web.db.delivery.findMany();
      expect(rows.every((r) => r.state === "accepted" && r.claimToken === null)).toBe(true);
      // Nothing the frozen worker recorded is dated after it was frozen: what it sent once it ran
      // again was no longer its claim to record (the second worker's records stand).
      const byFrozen = rows.filter((r) => r.smtpResponse?.includes("frozen worker"));
      expect(byFrozen.every((r) => r.sentAt!.getTime() < stoppedAt)).toBe(true);
      expect(rows.filter((r) => r.smtpResponse?.includes("second worker")).length).toBe(readers - byFrozen.length);
      // Its lanes stopped: after it ran again, at most the messages it had in flight reached its server.
      const lateFromFrozen = smtpA.received.filter((m) => m.at >= resumedAt).length;
      expect(lateFromFrozen).toBeLessThanOrEqual(lanes);
      // Every reader got the digest; second copies within the bound (the frozen worker's sends in flight).
      const counts = copies(smtpA, smtpB);
      expect(counts.size).toBe(readers);
      const duplicates = [...counts.values()].reduce((sum, n) => sum + n - 1, 0);
      console.log(
        `frozen past the lease: ${smtpA.received.length} sent by the frozen worker (${lateFromFrozen} after it resumed), ${smtpB.received.length} by the second, ${heldBySecond} rows held by the second at the resume, duplicates ${duplicates}`,
      );
      expect(heldBySecond).toBeGreaterThan(0);
      expect(duplicates).toBeLessThanOrEqual(lanes);
      // It knew why it stopped: its lease had lapsed while it was frozen, or its renewal found the
      // rows taken over, whichever it noticed first.
      expect(frozen.output()).toMatch(/claimed deliveries were taken over|lease may have run out/);
    } finally {
      frozen?.child.kill("SIGCONT");
      frozen?.child.kill("SIGKILL");
      await second?.destroy();
      await web.destroy();
      await smtpA.close();
      await smtpB.close();
    }
  }, 150_000);
});

describe("when recording acceptances fails again and again (the group-commit UPDATE refused)", () => {
  it("then each is retried until stored: no reader gets a second copy and no accepted row is handed back", async () => {
    const readers = 60;
    const smtp = await startSmtpServer();
    smtp.setDelay(20);
    const app = await startTestApp({ SMTP_URL: smtp.url, SEND_CONCURRENCY: "4", SEND_BATCH_SIZE: "20" });
    try {
      await seedPapers(app.db, [{ title: "Diffusion models, again", upvotes: 12, day: DAY }]);
      await seedManyReaders(app.db, readers);
      // The database refuses the first 5 statements that mark deliveries accepted (the whole
      // group fails), and notes any row that goes from sending back to pending.
      await app.db.$executeRawUnsafe(`CREATE SEQUENCE accept_refusals`);
      await app.db.$executeRawUnsafe(`CREATE TABLE handed_back (id bigint, at timestamptz DEFAULT now())`);
      await app.db.$executeRawUnsafe(`
        CREATE FUNCTION refuse_acceptances() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.state = 'accepted' AND OLD.state <> 'accepted' AND currval_or_next() <= 5 THEN
            RAISE EXCEPTION 'acceptance refused (test)';
          END IF;
          IF NEW.state = 'pending' AND OLD.state = 'sending' THEN
            INSERT INTO handed_back (id) VALUES (NEW.id);
          END IF;
          RETURN NEW;
        END $$`);
      // One number per statement: the first row of a statement draws it, the others of the same statement reuse it.
      await app.db.$executeRawUnsafe(`
        CREATE FUNCTION currval_or_next() RETURNS bigint LANGUAGE plpgsql AS $$
        DECLARE tx bigint := txid_current();
        BEGIN
          IF current_setting('test.refusal_tx', true) = tx::text THEN
            RETURN current_setting('test.refusal_n')::bigint;
          END IF;
          PERFORM set_config('test.refusal_tx', tx::text, true);
          PERFORM set_config('test.refusal_n', nextval('accept_refusals')::text, true);
          RETURN current_setting('test.refusal_n')::bigint;
        END $$`);
      await app.db.$executeRawUnsafe(
        `CREATE TRIGGER refuse_acceptances BEFORE UPDATE ON deliveries FOR EACH ROW EXECUTE FUNCTION refuse_acceptances()`,
      );

      await queueAssembly(app.queues, { day: DAY, frequency: "daily" });
      await digestSent(app.db);

      const [{ refusals }] = await app.db.$queryRawUnsafe<[{ refusals: bigint }]>(
        `SELECT last_value AS refusals FROM accept_refusals`,
      );
      expect(Number(refusals)).toBeGreaterThan(5); // the 5 refusals happened, and later writes went through
      expect(await app.db.delivery.groupBy({ by: ["state"], _count: true })).toEqual([
        { state: "accepted", _count: readers },
      ]);
      expect(await app.db.$queryRawUnsafe(`SELECT id FROM handed_back`)).toEqual([]);
      const counts = smtp.countsByRecipient();
      expect(counts.size).toBe(readers);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
      // Each row was tried once: nothing went back to be sent again.
      expect(await app.db.delivery.count({ where: { attempts: { not: 1 } } })).toBe(0);
    } finally {
      await app.destroy();
      await smtp.close();
    }
  }, 120_000);
});

/**
 * Acceptances recorded in groups: every delivery gets its own message id, answer and time, and
 * acceptances that arrive together share one statement.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createDb, type Db } from "../../src/db";
import { loadConfig } from "../../src/config";
import { createLogger } from "../../src/logger";
import { assembleDigest } from "../../src/digests/assemble";
import { claimRange, createAcceptanceRecorder, markFailed, release, renewClaims } from "../../src/digests/ledger";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { seedManyReaders, seedPapers } from "../helpers/seed";

const DAY = "2024-12-10";

describe("recording acceptances", () => {
  let url: string;
  let db: Db;
  let dataDir: string;

  beforeAll(async () => {
    url = await createTestDatabase();
    db = createDb(url, { poolSize: 4 });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "papers-acceptance-"));
    await seedPapers(db, [{ title: "Diffusion models, again", upvotes: 12, day: DAY }]);
    await seedManyReaders(db, 50);
  });
  afterAll(async () => {
    await db?.$disconnect();
    if (url) await dropTestDatabase(url);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("when 50 acceptances arrive at once, then each row gets its own values and they share a few statements", async () => {
    const config = loadConfig({ SECRET: "s".repeat(40), DATA_DIR: dataDir, LOG_LEVEL: "silent" });
    const { digestId } = await assembleDigest(
      { db, config, log: createLogger("silent") },
      { day: DAY, frequency: "daily" },
    );
    const { token, deliveries: claimed } = await claimRange(db, digestId, { fromId: 0n, toId: 9_000_000_000n }, 60);
    expect(claimed).toHaveLength(50);

    let statements = 0;
    const counting = new Proxy(db, {
      get: (target, prop) => {
        if (prop === "$queryRaw") statements++;
        const value: unknown = Reflect.get(target, prop);
        return typeof value === "function" ? (value.bind(target) as unknown) : value;
      },
    });
    const record = createAcceptanceRecorder(counting);
    const acceptedAt = (i: number) => new Date(Date.UTC(2024, 11, 10, 8, 0, i));
    await Promise.all(
      claimed.map((d, i) =>
        record({
          id: d.id,
          token,
          messageId: `<m${i}@example.org>`,
          response: `250 2.0.0 Ok: queued as ${i}`,
          acceptedAt: acceptedAt(i),
        }),
      ),
    );

    // The first is written alone, the 49 that arrived meanwhile together.
    expect(statements).toBe(2);
    const rows = await db.delivery.findMany({ where: { digestId }, orderBy: { id: "asc" } });
    expect(rows.every((r) => r.state === "accepted" && r.claimedAt === null && r.lastError === null)).toBe(true);
    claimed.forEach((d, i) => {
      const row = rows.find((r) => r.id === d.id)!;
      expect(row.messageId).toBe(`<m${i}@example.org>`);
      expect(row.smtpResponse).toBe(`250 2.0.0 Ok: queued as ${i}`);
      expect(row.sentAt?.toISOString()).toBe(acceptedAt(i).toISOString());
    });
  });

  it("when the write fails, then it is tried again until stored and no caller sees the error", async () => {
    const { digestId } = await assembleDigest(
      {
        db,
        config: loadConfig({ SECRET: "s".repeat(40), DATA_DIR: dataDir, LOG_LEVEL: "silent" }),
        log: createLogger("silent"),
      },
      { day: DAY, frequency: "daily" },
    );
    await db.delivery.updateMany({ where: { digestId }, data: { state: "pending" } });
    const { token, deliveries } = await claimRange(db, digestId, { fromId: 0n, toId: 9_000_000_000n }, 60);
    let failures = 3;
    const flaky = new Proxy(db, {
      get: (target, prop) => {
        if (prop === "$queryRaw" && failures > 0) {
          failures--;
          return () => Promise.reject(new Error("Connection terminated unexpectedly"));
        }
        const value: unknown = Reflect.get(target, prop);
        return typeof value === "function" ? (value.bind(target) as unknown) : value;
      },
    });
    const retries: number[] = [];
    const record = createAcceptanceRecorder(flaky, { onRetry: (_err, attempt) => retries.push(attempt) });
    const row = (i: number) => ({
      id: deliveries[i]!.id,
      token,
      messageId: `<${i}@x>`,
      response: "250 ok",
      acceptedAt: new Date(),
    });
    const results = await Promise.all([record(row(0)), record(row(1)), record(row(2))]);
    expect(results).toEqual([true, true, true]);
    expect(retries.length).toBeGreaterThanOrEqual(3);
    expect(await db.delivery.count({ where: { digestId, state: "accepted" } })).toBe(3);
  });

  it("when another attempt has claimed the row since, then the old claim cannot record, fail, release or renew it", async () => {
    const { digestId } = await assembleDigest(
      {
        db,
        config: loadConfig({ SECRET: "s".repeat(40), DATA_DIR: dataDir, LOG_LEVEL: "silent" }),
        log: createLogger("silent"),
      },
      { day: DAY, frequency: "daily" },
    );
    await db.delivery.updateMany({ where: { digestId }, data: { state: "pending", messageId: null } });
    const range = { fromId: 0n, toId: 9_000_000_000n };
    const old = await claimRange(db, digestId, range, 60);
    const [d] = old.deliveries;
    // The old worker's lease runs out (it stalled); the reconciler hands the row to another attempt.
    await db.delivery.updateMany({ where: { digestId }, data: { claimedAt: new Date(Date.now() - 120_000) } });
    const taken = await claimRange(db, digestId, range, 60);
    expect(taken.deliveries.map((x) => x.id)).toContain(d!.id);

    expect(await renewClaims(db, old.token, [d!.id])).toBe(1);
    expect(await release(db, old.token, [d!.id], "late 4xx")).toBe(0);
    expect(await markFailed(db, old.token, d!.id, "late 5xx")).toBe(false);
    const record = createAcceptanceRecorder(db);
    expect(
      await record({ id: d!.id, token: old.token, messageId: "<old@x>", response: "250", acceptedAt: new Date() }),
    ).toBe(false);
    const row = await db.delivery.findUniqueOrThrow({ where: { id: d!.id } });
    expect(row).toMatchObject({ state: "sending", claimToken: taken.token, lastError: null, messageId: null });
    // The new owner's writes go through.
    expect(await markFailed(db, taken.token, d!.id, "5.1.1 no such user")).toBe(true);
  });
});

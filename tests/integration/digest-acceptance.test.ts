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
import { claimRange, createAcceptanceRecorder } from "../../src/digests/ledger";
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
    const claimed = await claimRange(db, digestId, { fromId: 0n, toId: 9_000_000_000n }, 60);
    expect(claimed).toHaveLength(50);

    let statements = 0;
    const counting = new Proxy(db, {
      get: (target, prop) => {
        if (prop === "$executeRaw") statements++;
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

  it("when the write fails, then every caller of that group gets the error and the next acceptance is written again", async () => {
    let fail = true;
    const flaky = {
      $executeRaw: (...args: unknown[]) =>
        fail ? Promise.reject(new Error("connection lost")) : Promise.resolve(args.length),
    } as unknown as Db;
    const record = createAcceptanceRecorder(flaky);
    const row = (id: number) => ({
      id: BigInt(id),
      messageId: `<${id}@x>`,
      response: "250 ok",
      acceptedAt: new Date(),
    });
    const results = await Promise.allSettled([record(row(1)), record(row(2)), record(row(3))]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    fail = false;
    await expect(record(row(4))).resolves.toBeUndefined();
  });
});

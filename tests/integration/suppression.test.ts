import { expect } from "@jest/globals";
import crypto from "node:crypto";
import { createDb, type Db } from "../../src/db";
import { createSuppressions } from "../../src/suppression";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";

describe("suppression list", () => {
  let url: string;
  let db: Db;
  const list = createSuppressions(crypto.randomBytes(32).toString("hex"));

  beforeAll(async () => {
    url = await createTestDatabase();
    db = createDb(url, { poolSize: 2 });
  });
  afterAll(async () => {
    await db.$disconnect();
    await dropTestDatabase(url);
  });

  it("when an address is suppressed twice, then one entry keeps the first reason until lifted", async () => {
    await list.suppress(db, { email: "ada@example.com", reason: "hard_bounce", source: "smtp", detail: "550 5.1.1" });
    await list.suppress(db, { email: "ada@example.com", reason: "complaint", source: "arf" });
    expect(await list.isSuppressed(db, "ada@example.com")).toBe(true);
    expect(await list.isSuppressed(db, "bob@example.com")).toBe(false);
    const [entry, ...rest] = await list.list(db);
    expect(rest).toHaveLength(0);
    expect(entry).toMatchObject({ email: "ada@example.com", reason: "hard_bounce", source: "smtp" });

    expect(await list.lift(db, "ada@example.com", "admin")).toBe(true);
    expect(await list.lift(db, "ada@example.com", "admin")).toBe(false);
    expect(await list.isSuppressed(db, "ada@example.com")).toBe(false);
    expect(await list.list(db, { includeLifted: true })).toEqual([
      expect.objectContaining({ liftedBy: "admin", liftedAt: expect.any(Date) }),
    ]);

    await list.suppress(db, { email: "ada@example.com", reason: "complaint", source: "arf" });
    expect(await list.list(db)).toEqual([expect.objectContaining({ reason: "complaint", liftedAt: null })]);
  });

  it("when the address is forgotten after erasure, then the keyed hash still blocks it and no address is kept", async () => {
    await list.suppress(db, { email: "gone@example.com", reason: "complaint", source: "arf" });
    await list.forget(db, "gone@example.com");
    expect(await list.isSuppressed(db, "gone@example.com")).toBe(true);
    const rows = await db.suppression.findMany({ where: { addressHash: list.keyOf("gone@example.com") } });
    expect(rows).toEqual([expect.objectContaining({ email: null })]);
    expect(rows[0]!.addressHash).not.toBe(crypto.createHash("sha256").update("gone@example.com").digest("hex"));
  });

  it("when SECRET was rotated, then entries stored under the earlier secret still block, lift and stay single", async () => {
    const oldSecret = crypto.randomBytes(32).toString("hex");
    const before = createSuppressions(oldSecret);
    await before.suppress(db, { email: "rotated@example.com", reason: "hard_bounce", source: "dsn" });
    const after = createSuppressions(crypto.randomBytes(32).toString("hex"), [oldSecret]);
    expect(await after.isSuppressed(db, "rotated@example.com")).toBe(true);
    await after.suppress(db, { email: "rotated@example.com", reason: "complaint", source: "arf" });
    expect(await db.suppression.count({ where: { email: "rotated@example.com" } })).toBe(1);
    expect(await after.lift(db, "rotated@example.com", "admin")).toBe(true);
    expect(await after.isSuppressed(db, "rotated@example.com")).toBe(false);
  });
});

/**
 * The admin figures over a year must not read a year of delivery rows (36 million at 100,000
 * readers: 17 s in the year bench). A finished digest's counts are written once to
 * `delivery_totals` and read from there; digests still going out are counted from their rows;
 * pruned rows from `delivery_figures`; nothing is counted twice.
 */
import crypto from "node:crypto";
import { expect } from "@jest/globals";
import { startTestApp, type TestApp } from "../helpers/app";
import { seedManyReaders } from "../helpers/seed";
import { pruneDeliveries } from "../../src/digests/retention";
import type { Stats } from "../../src/admin/queries";

const ADMIN_TOKEN = `admin-${crypto.randomBytes(16).toString("hex")}`;
const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, accept: "application/json" };
const daysAgo = (n: number) => {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - n, 12));
};
const dayOf = (d: Date) => d.toISOString().slice(0, 10);

describe("admin figures from finished digests' totals", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_TOKEN });
    await seedManyReaders(app.db, 20, "figures.example");
  });
  afterAll(async () => {
    await app?.destroy();
  });

  const stats = async (days = 30) => {
    const res = await fetch(`${app.url}/admin/api/stats?days=${days}`, { headers: auth });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Stats;
    return (day: Date) => {
      const d = body.deliveries.find((x) => x.day === dayOf(day))!;
      return { pending: d.pending, accepted: d.accepted, failed: d.failed, total: d.total };
    };
  };

  async function digest(
    day: Date,
    status: "sent" | "sending",
    stateOf: (i: number) => "pending" | "accepted" | "failed",
  ) {
    const row = await app.db.digest.create({ data: { day, frequency: "daily", status } });
    const readers = await app.db.subscriber.findMany({ orderBy: { email: "asc" } });
    await app.db.delivery.createMany({
      data: readers.map((r, i) => ({ digestId: row.id, subscriberId: r.id, state: stateOf(i), createdAt: day })),
    });
    return row;
  }

  it("then a sent digest is counted once from its totals, a sending one from its rows, and pruning changes nothing", async () => {
    const a = await digest(daysAgo(3), "sent", (i) => (i < 2 ? "failed" : "accepted"));
    const b = await digest(daysAgo(1), "sending", (i) => (i < 5 ? "pending" : "accepted"));

    let figures = await stats();
    expect(figures(daysAgo(3))).toEqual({ pending: 0, accepted: 18, failed: 2, total: 20 });
    expect(figures(daysAgo(1))).toEqual({ pending: 5, accepted: 15, failed: 0, total: 20 });
    // The finished digest was settled; the one still sending was not.
    const settled = await app.db.deliveryTotals.findMany();
    expect(settled.map((t) => [t.digestId, t.accepted, t.failed])).toEqual([[a.id, 18, 2]]);

    // The sending digest goes on: its figures follow its rows until it is sent, then it is settled.
    await app.db.delivery.updateMany({ where: { digestId: b.id, state: "pending" }, data: { state: "accepted" } });
    figures = await stats();
    expect(figures(daysAgo(1))).toEqual({ pending: 0, accepted: 20, failed: 0, total: 20 });
    await app.db.digest.update({ where: { id: b.id }, data: { status: "sent" } });
    figures = await stats();
    expect(figures(daysAgo(1))).toEqual({ pending: 0, accepted: 20, failed: 0, total: 20 });
    expect(await app.db.deliveryTotals.count({ where: { digestId: b.id } })).toBe(1);

    // Pruning the settled digest folds its rows into delivery_figures too: still counted once.
    expect(await pruneDeliveries(app.db, { retentionDays: 2 })).toEqual({ digests: 1, rows: 20 });
    figures = await stats();
    expect(figures(daysAgo(3))).toEqual({ pending: 0, accepted: 18, failed: 2, total: 20 });

    // Read from the totals, not the rows: the year's figures are a few rows per digest.
    await app.db.delivery.deleteMany({ where: { digestId: b.id } });
    figures = await stats(366);
    expect(figures(daysAgo(1))).toEqual({ pending: 0, accepted: 20, failed: 0, total: 20 });
  });
});

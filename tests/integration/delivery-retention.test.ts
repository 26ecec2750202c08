import crypto from "node:crypto";
import { startTestApp, type TestApp } from "../helpers/app";
import { seedManyReaders, waitUntil } from "../helpers/seed";
import { PRUNE_DELIVERIES_JOB, pruneDeliveries } from "../../src/digests/retention";
import type { Stats } from "../../src/admin/queries";
import type { Db } from "../../src/db";

const ADMIN_TOKEN = `admin-${crypto.randomBytes(16).toString("hex")}`;
const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, accept: "application/json" };

const daysAgo = (n: number, hour = 12) => {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - n, hour));
};
const dayOf = (d: Date) => d.toISOString().slice(0, 10);

type State = "pending" | "sending" | "accepted" | "failed" | "skipped";
/** The state of reader i's delivery: a mix of every state, so each figure is checked. */
const stateOf = (i: number): State =>
  i % 10 === 0 ? "failed" : i % 10 === 1 ? "skipped" : i % 10 === 2 ? "pending" : i % 10 === 3 ? "sending" : "accepted";

/**
 * A digest of `day` with one delivery per reader of `domain`; rows of odd readers are created a
 * day after the digest's day (a digest sent across midnight), so figures span two days.
 */
async function digestWithDeliveries(db: Db, day: Date, frequency: "daily" | "weekly", domain: string) {
  const digest = await db.digest.create({ data: { day, frequency, status: "sent" } });
  const readers = await db.subscriber.findMany({
    where: { email: { endsWith: `@${domain}` } },
    orderBy: { email: "asc" },
  });
  await db.delivery.createMany({
    data: readers.map((r, i) => ({
      digestId: digest.id,
      subscriberId: r.id,
      state: stateOf(i),
      createdAt: new Date(day.getTime() + (i % 2) * 86_400_000),
    })),
  });
  return { digest, readers: readers.length };
}

async function status(app: TestApp, day: Date, frequency = "daily") {
  const res = await fetch(`${app.url}/admin/api/digests/${dayOf(day)}?frequency=${frequency}`, { headers: auth });
  expect(res.status).toBe(200);
  const body = (await res.json()) as Record<string, unknown>;
  return { total: body.total, sent: body.sent, failed: body.failed, pending: body.pending, status: body.status };
}

async function stats(app: TestApp, days: number): Promise<Stats> {
  const res = await fetch(`${app.url}/admin/api/stats?days=${days}`, { headers: auth });
  expect(res.status).toBe(200);
  return (await res.json()) as Stats;
}

describe("delivery retention (DELIVERY_RETENTION_DAYS)", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ADMIN_TOKEN, DELIVERY_RETENTION_DAYS: "30" });
    await seedManyReaders(app.db, 47, "retention.example");
  });
  afterAll(async () => {
    await app?.destroy();
  });

  it("when digests are older than the retention, then their rows become per-day figures and the status and admin figures stay the same", async () => {
    const old = await digestWithDeliveries(app.db, daysAgo(45), "daily", "retention.example");
    const oldWeekly = await digestWithDeliveries(app.db, daysAgo(40), "weekly", "retention.example");
    const recent = await digestWithDeliveries(app.db, daysAgo(29), "daily", "retention.example");
    const beforeStatus = [await status(app, daysAgo(45)), await status(app, daysAgo(40), "weekly")];
    const beforeStats = await stats(app, 60);
    expect(beforeStatus[0]).toEqual({ total: 47, sent: 27, failed: 5, pending: 10, status: "sent" });
    expect(beforeStats.deliveries.find((d) => d.day === dayOf(daysAgo(45)))?.total).toBe(24);

    // Chunks of 7 rows: 47 rows take 7 statements per digest, the last one short.
    const result = await pruneDeliveries(app.db, { retentionDays: 30, chunk: 7 });
    expect(result).toEqual({ digests: 2, rows: 94 });

    expect(await app.db.delivery.count({ where: { digestId: { in: [old.digest.id, oldWeekly.digest.id] } } })).toBe(0);
    expect(await app.db.delivery.count({ where: { digestId: recent.digest.id } })).toBe(47);
    const figures = await app.db.deliveryFigures.findMany({
      where: { digestId: old.digest.id },
      orderBy: { day: "asc" },
    });
    // Even readers (24) on the digest's day, odd readers (23) the day after.
    expect(figures.map((f) => ({ day: dayOf(f.day), ...counts(f) }))).toEqual([
      { day: dayOf(daysAgo(45)), pending: 5, sending: 0, accepted: 14, failed: 5, skipped: 0 },
      { day: dayOf(daysAgo(44)), pending: 0, sending: 5, accepted: 13, failed: 0, skipped: 5 },
    ]);
    expect([await status(app, daysAgo(45)), await status(app, daysAgo(40), "weekly")]).toEqual(beforeStatus);
    expect(await stats(app, 60)).toEqual(beforeStats);

    // Again, or after a stop half-way: nothing counted twice.
    expect(await pruneDeliveries(app.db, { retentionDays: 30, chunk: 7 })).toEqual({ digests: 0, rows: 0 });
    expect(await stats(app, 60)).toEqual(beforeStats);

    // "Delete me" still takes a reader's kept rows with them; the figures of the past stay.
    const someone = await app.db.subscriber.findFirstOrThrow({ where: { email: { endsWith: "@retention.example" } } });
    await app.db.subscriber.delete({ where: { id: someone.id } });
    expect((await status(app, daysAgo(45))).total).toBe(47);
    expect((await status(app, daysAgo(29))).total).toBe(46);
  });

  it("when the prune job runs on a worker, then it folds what is older than DELIVERY_RETENTION_DAYS", async () => {
    const old = await digestWithDeliveries(app.db, daysAgo(31), "daily", "retention.example");
    const job = await app.queues.maintenance.add(PRUNE_DELIVERIES_JOB, {});
    await waitUntil("the prune job", async () => (await job.getState()) === "completed");
    expect(await app.db.delivery.count({ where: { digestId: old.digest.id } })).toBe(0);
    expect((await status(app, daysAgo(31))).total).toBe(old.readers);
    // The digest of 29 days ago is inside the retention: kept.
    expect(await app.db.delivery.count({ where: { digest: { day: daysAgo(29, 0), frequency: "daily" } } })).toBe(46);
  });
});

describe("the prune schedule", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(
      { DISABLE_SCHEDULES: "false", DIGEST_TZ: "Europe/Paris" },
      {
        web: false,
        worker: false,
        schedules: true,
      },
    );
  });
  afterAll(async () => {
    await app?.destroy();
  });

  it("when the schedule role starts, then the daily prune is registered in DIGEST_TZ", async () => {
    expect(await app.queues.maintenance.getJobScheduler("deliveries-prune")).toMatchObject({
      name: PRUNE_DELIVERIES_JOB,
      pattern: "45 3 * * *",
      tz: "Europe/Paris",
    });
  });
});

function counts(f: { pending: number; sending: number; accepted: number; failed: number; skipped: number }) {
  return { pending: f.pending, sending: f.sending, accepted: f.accepted, failed: f.failed, skipped: f.skipped };
}

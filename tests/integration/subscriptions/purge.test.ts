import { emailHash } from "../../../src/subscriptions/consent-log";
import { PURGE_PENDING_JOB, subscriptionsFeature } from "../../../src/subscriptions/feature";
import { QueueName } from "../../../src/queue/queues";
import { eventually, startSubscriptionsApp, uniqueEmail, type SubscriptionsFixture } from "../../helpers/subscriptions";

describe("purging unconfirmed subscribers", () => {
  let f: SubscriptionsFixture;
  beforeAll(async () => {
    f = await startSubscriptionsApp({ PENDING_PURGE_DAYS: "3" });
  });
  afterAll(async () => {
    await f?.close();
  });

  const daysAgo = (d: number) => new Date(Date.now() - d * 24 * 3600_000);

  it("when the maintenance job runs, then pending subscribers older than PENDING_PURGE_DAYS are erased (and logged), everyone else stays", async () => {
    const db = f.app.db;
    const stale = await db.subscriber.create({
      data: { email: uniqueEmail("stale"), createdAt: daysAgo(4), confirmationSentAt: daysAgo(4) },
    });
    const resentRecently = await db.subscriber.create({
      data: { email: uniqueEmail("resent"), createdAt: daysAgo(5), confirmationSentAt: daysAgo(1) },
    });
    const young = await db.subscriber.create({ data: { email: uniqueEmail("young"), createdAt: daysAgo(2) } });
    const active = await db.subscriber.create({
      data: { email: uniqueEmail("active"), status: "active", confirmedAt: daysAgo(10), createdAt: daysAgo(10) },
    });
    const left = await db.subscriber.create({
      data: { email: uniqueEmail("left"), status: "unsubscribed", createdAt: daysAgo(10) },
    });

    const job = await f.app.queues[QueueName.maintenance].add(PURGE_PENDING_JOB, {});
    await eventually(async () => (await job.getState()) === "completed", 10_000, "purge job completed");
    expect((await f.app.queues[QueueName.maintenance].getJob(job.id!))!.returnvalue).toEqual({ purged: 1 });

    const remaining = (await db.subscriber.findMany({ select: { id: true } })).map((s) => s.id).sort();
    expect(remaining).toEqual([resentRecently.id, young.id, active.id, left.id].sort());
    // As for "delete me": no plain hash of the address is left, only the keyed one.
    expect(await db.consentEvent.count({ where: { emailHash: emailHash(stale.email) } })).toBe(0);
    const log = await db.consentEvent.findMany({ where: { emailHash: f.app.deps.suppressions.keyOf(stale.email) } });
    expect(log).toEqual([expect.objectContaining({ action: "delete", source: "system", subscriberId: null })]);
  });

  it("when the feature is built, then the purge is scheduled daily on the maintenance queue", () => {
    const feature = subscriptionsFeature(f.app.deps);
    expect(feature.schedules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          id: "purge-pending",
          name: PURGE_PENDING_JOB,
          repeat: { pattern: "17 3 * * *", tz: "UTC" },
          queue: f.app.queues.maintenance,
        }),
      ]),
    );
  });
});

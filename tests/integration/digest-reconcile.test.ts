/**
 * The reconciler re-queues only lost work: with no worker running, round after round, the sends
 * queue keeps one job per range (its depth is the true backlog); a job lost from Redis, or one
 * that failed for good, is replaced by exactly one.
 */
import { startTestApp, type TestApp } from "../helpers/app";
import { seedManyReaders, seedPapers } from "../helpers/seed";
import { assembleDigest } from "../../src/digests/assemble";
import { queueSendBatches } from "../../src/digests/jobs";
import { pendingRanges } from "../../src/digests/ledger";
import { reconcile } from "../../src/digests/reconcile";

const DAY = "2024-12-10";

describe("when no worker runs and the reconciler runs round after round", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ SEND_BATCH_SIZE: "5", DELIVERY_LEASE_SECONDS: "1" }, { worker: false });
  });
  afterAll(async () => {
    await app?.destroy();
  });

  it("then the queue depth stays the number of ranges, and only a lost job is replaced", async () => {
    await seedPapers(app.db, [{ title: "A paper", upvotes: 1, day: DAY }]);
    await seedManyReaders(app.db, 50);
    const { digestId } = await assembleDigest(
      { db: app.db, config: app.config, log: app.log },
      { day: DAY, frequency: "daily" },
    );
    const ranges = await pendingRanges(app.db, digestId, 5);
    expect(ranges).toHaveLength(10);
    await queueSendBatches(app.queues, digestId, ranges, { attempts: 3, backoffMs: 100 });
    const depth = async () =>
      (await app.queues.sends.getJobCounts("waiting", "delayed", "prioritized")) as Record<string, number>;
    const total = async () => Object.values(await depth()).reduce((a, b) => a + b, 0);
    expect(await total()).toBe(10);

    // The rows are older than the lease: the old reconciler queued them all again each round.
    await new Promise((r) => setTimeout(r, 1_500));
    const depths: number[] = [];
    for (let round = 0; round < 3; round++) {
      await reconcile({ db: app.db, config: app.config, queues: app.queues, log: app.log });
      depths.push(await total());
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(depths).toEqual([10, 10, 10]);

    // One job lost (Redis trimmed, a hand removal): exactly one new job for its rows.
    const [lost] = await app.queues.sends.getJobs(["waiting"], 0, 0);
    await lost!.remove();
    expect(await total()).toBe(9);
    await reconcile({ db: app.db, config: app.config, queues: app.queues, log: app.log });
    await reconcile({ db: app.db, config: app.config, queues: app.queues, log: app.log });
    expect(await total()).toBe(10);
    const jobs = await app.queues.sends.getJobs(["waiting"], 0, -1);
    const covered = jobs.flatMap((j) => {
      const d = j.data as { fromId: string; toId: string };
      return [[BigInt(d.fromId), BigInt(d.toId)] as const];
    });
    const rows = await app.db.delivery.findMany({ where: { digestId }, select: { id: true } });
    // Every row is covered by exactly one job.
    for (const { id } of rows) expect(covered.filter(([f, t]) => id >= f && id <= t)).toHaveLength(1);
  });

  it("then a digest stuck in assembly keeps one assembly job, however many rounds run, and a lost one is replaced once", async () => {
    // Its assembly failed half-way (the database went away) or waits for a worker: "assembling", older than the lease.
    const { id } = await app.db.digest.create({
      data: { day: new Date("2024-12-11"), frequency: "daily", status: "assembling" },
    });
    await app.db.$executeRaw`UPDATE digests SET updated_at = now() - interval '1 hour' WHERE id = ${id}::uuid`;
    const assemblies = async () =>
      (await app.queues.digests.getJobs(["waiting", "delayed", "prioritized", "active"], 0, -1)).filter(
        (j) => j.name === "assemble" && (j.data as { day: string }).day === "2024-12-11",
      );
    const depths: number[] = [];
    for (let round = 0; round < 3; round++) {
      await reconcile({ db: app.db, config: app.config, queues: app.queues, log: app.log });
      depths.push((await assemblies()).length);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(depths).toEqual([1, 1, 1]);

    const [job] = await assemblies();
    await job!.remove();
    await reconcile({ db: app.db, config: app.config, queues: app.queues, log: app.log });
    await reconcile({ db: app.db, config: app.config, queues: app.queues, log: app.log });
    expect(await assemblies()).toHaveLength(1);
  });
});

/**
 * The real pipeline end to end: worker role processes (the product's own entry point), assembly
 * queued the way the schedule queues it, every email sent to the sink. Timed from the moment the
 * assembly job is queued; finished when the sink has counted every reader and the digest is sent.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { createRedis, closeRedis, waitUntilReady } from "../src/queue/connection";
import { createQueues } from "../src/queue/queues";
import { queueAssembly } from "../src/digests/jobs";
import { BENCH_DAY } from "./database";
import { cpuSeconds, loadNow, peakRssMb, rssMb, runBuilt, type Child } from "./proc";
import type { Sink } from "./sink";

export interface WorkerSettings {
  processes: number;
  sendBatchSize: number;
  sendConcurrency: number;
  workerConcurrency: number;
  /** Extra node options for the worker processes (e.g. --max-old-space-size=160). */
  nodeArgs?: string[];
  /** Write a V8 CPU profile of each worker into this directory. */
  cpuProfDir?: string;
}

export interface PipelineResult {
  readers: number;
  /** Deliveries the assembly made (readers whose topics match no paper of the day get none). */
  deliveries: number;
  variants: number;
  /** From queueing the assembly job to the digest being assembled (variants rendered, delivery rows written). */
  assemblyMs: number;
  /** From queueing the assembly job to the last email accepted by the sink. */
  totalMs: number;
  /** From the end of assembly to the last email accepted. */
  sendMs: number;
  /** Readers / totalMs. */
  emailsPerSecond: number;
  /** Readers / sendMs. */
  sendPhaseEmailsPerSecond: number;
  sinkCounted: number;
  accepted: number;
  sinkExact: boolean;
  /** RSS of each worker once started, before any work (MB). */
  workerIdleRssMb: number[];
  /** Peak RSS of each worker process (VmHWM), MB. */
  workerPeakRssMb: number[];
  /** CPU seconds used by each worker during the run. */
  workerCpuSeconds: number[];
  sinkCpuSeconds: number;
  /** Transactions committed in the run's database during the run (pg_stat_database), per email. */
  commitsPerEmail: number;
  /**
   * Each worker's RSS (MB) when the sink had counted 25, 50, 75 and 100% of the readers: flat
   * memory means the later quarters are no higher than the first.
   */
  workerRssByProgressMb: { progress: number; rssMb: number[] }[];
  /** The INSERT of the delivery rows inside assembly (ms), from the worker's "digest assembled" log line. */
  deliveryInsertMs?: number;
  /** Load average (1, 5, 15 min) when the run started. */
  loadAverage: number[];
  /** CPU profiles of the workers, with the part of each that covers the run (ms since the process started). */
  profiles: { file: string; fromMs: number; toMs: number }[];
}

export async function runPipeline(opts: {
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  secret: string;
  sink: Sink;
  readers: number;
  workers: WorkerSettings;
  timeoutMs: number;
  log: (line: string) => void;
}): Promise<PipelineResult> {
  const { workers: w, sink } = opts;
  const env = {
    NODE_ENV: "production",
    DATABASE_URL: opts.databaseUrl,
    REDIS_URL: opts.redisUrl,
    QUEUE_PREFIX: opts.queuePrefix,
    SMTP_URL: sink.url,
    SECRET: opts.secret,
    BASE_URL: "https://papers.bench.example",
    SEND_RATE_PER_SECOND: "1000000",
    SEND_BATCH_SIZE: String(w.sendBatchSize),
    SEND_CONCURRENCY: String(w.sendConcurrency),
    WORKER_CONCURRENCY: String(w.workerConcurrency),
    DISABLE_SCHEDULES: "true",
    LOG_LEVEL: "info",
    // As `npm run start:worker` runs them: two malloc arenas instead of one per thread.
    MALLOC_ARENA_MAX: "2",
    DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "bench-worker-")),
  };
  const profileDir = w.cpuProfDir;
  if (profileDir) fs.mkdirSync(profileDir, { recursive: true });
  const before = profileDir ? new Set(fs.readdirSync(profileDir)) : new Set<string>();
  const nodeArgs = [...(w.nodeArgs ?? []), ...(profileDir ? ["--cpu-prof", "--cpu-prof-dir", profileDir] : [])];
  const children: Child[] = Array.from({ length: w.processes }, () => runBuilt("workers/index.ts", env, { nodeArgs }));
  const redis = createRedis(opts.redisUrl, "worker");
  const queues = createQueues(redis, opts.queuePrefix);
  const client = new pg.Client({ connectionString: opts.databaseUrl });
  try {
    await waitUntilReady(redis, opts.redisUrl);
    await client.connect();
    await Promise.all(children.map((c) => c.waitForOutput(/worker running/, 180_000)));
    const cpuBefore = children.map((c) => cpuSeconds(c.pid) ?? 0);
    const idleRss = children.map((c) => rssMb(c.pid) ?? NaN);
    const sinkCpuBefore = cpuSeconds(sink.pid) ?? 0;
    const sinkBefore = sink.mark();
    const commits = async () =>
      Number(
        (
          await client.query<{ n: string }>(
            "SELECT pg_stat_get_db_xact_commit(oid) AS n FROM pg_database WHERE datname = current_database()",
          )
        ).rows[0]!.n,
      );
    await client.query("SELECT pg_stat_clear_snapshot()");
    const commitsBefore = await commits();

    const loadAverage = loadNow();
    const started = Date.now();
    await queueAssembly(queues, { day: BENCH_DAY, frequency: "daily" });
    let assembledAt: number | undefined;
    let expected = opts.readers;
    let lastProgress = 0;
    const quarters = [0.25, 0.5, 0.75, 1];
    const rssByProgress: { progress: number; rssMb: number[] }[] = [];
    for (;;) {
      const { rows } = await client.query<{ assembled_at: Date | null; status: string }>(
        "SELECT assembled_at, status FROM digests WHERE day = $1::date AND frequency = 'daily'",
        [BENCH_DAY],
      );
      const digest = rows[0];
      if (digest?.assembled_at && assembledAt === undefined) {
        assembledAt = digest.assembled_at.getTime();
        // Readers whose topics match none of the day's papers get no digest: they are not expected.
        expected = Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM deliveries")).rows[0]!.n);
        opts.log(
          `  assembled after ${assembledAt - started} ms: ${expected} deliveries` +
            (expected < opts.readers ? ` (${opts.readers - expected} readers have no paper in their topics)` : ""),
        );
      }
      const counted = sink.messages() - sinkBefore;
      while (quarters.length && counted >= quarters[0]! * expected)
        rssByProgress.push({ progress: quarters.shift()!, rssMb: children.map((c) => rssMb(c.pid) ?? NaN) });
      if (digest?.status === "sent" && counted >= expected) break;
      if (Date.now() - lastProgress > 5_000) {
        lastProgress = Date.now();
        opts.log(`  ${counted} / ${expected} emails at the sink after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }
      if (Date.now() - started > opts.timeoutMs) {
        const { rows: states } = await client.query<{ state: string; n: string; error: string | null }>(
          "SELECT state::text, count(*) AS n, max(last_error) AS error FROM deliveries GROUP BY state",
        );
        throw new Error(
          `pipeline did not finish within ${opts.timeoutMs} ms: sink counted ${counted} of ${opts.readers}, digest ${digest?.status ?? "missing"}; deliveries: ${states.map((r) => `${r.state} ${r.n}${r.error ? ` (${r.error})` : ""}`).join(", ")}`,
        );
      }
      for (const c of children)
        if (c.child.exitCode !== null)
          throw new Error(`a worker exited (${c.child.exitCode}):\n${c.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // Anything extra (a message sent twice) would arrive within moments: give it the chance to.
    await new Promise((r) => setTimeout(r, 500));
    const sinkCounted = sink.messages() - sinkBefore;
    const { rows: stats } = await client.query<{ accepted: string; last: Date; variants: string }>(
      `SELECT count(*) FILTER (WHERE state = 'accepted') AS accepted, max(sent_at) AS last,
              (SELECT count(*) FROM digest_variants) AS variants
       FROM deliveries`,
    );
    const last = stats[0]!.last.getTime();
    const assemblyMs = (assembledAt ?? started) - started;
    const totalMs = last - started;
    const sendMs = last - (assembledAt ?? started);
    const result: PipelineResult = {
      readers: opts.readers,
      deliveries: expected,
      variants: Number(stats[0]!.variants),
      assemblyMs,
      totalMs,
      sendMs,
      emailsPerSecond: expected / (totalMs / 1000),
      sendPhaseEmailsPerSecond: expected / (sendMs / 1000),
      sinkCounted,
      accepted: Number(stats[0]!.accepted),
      sinkExact: sinkCounted === expected,
      workerIdleRssMb: idleRss,
      workerPeakRssMb: children.map((c) => peakRssMb(c.pid) ?? NaN),
      workerCpuSeconds: children.map((c, i) => (cpuSeconds(c.pid) ?? NaN) - cpuBefore[i]!),
      sinkCpuSeconds: (cpuSeconds(sink.pid) ?? NaN) - sinkCpuBefore,
      commitsPerEmail: NaN,
      workerRssByProgressMb: rssByProgress,
      deliveryInsertMs: children
        .map((c) => Number(/"insertMs":(\d+)[^\n]*"msg":"digest assembled"/.exec(c.output())?.[1]))
        .find((ms) => Number.isFinite(ms)),
      loadAverage,
      profiles: [],
    };
    const finished = Date.now();
    await Promise.all(children.map((c) => c.stop()));
    // Read once the workers' connections are closed: a backend reports its counts when it exits.
    await new Promise((r) => setTimeout(r, 200));
    await client.query("SELECT pg_stat_clear_snapshot()");
    result.commitsPerEmail = ((await commits()) - commitsBefore) / expected;
    if (profileDir) {
      // Profile files are named CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile.
      for (const f of fs.readdirSync(profileDir).filter((f) => f.endsWith(".cpuprofile") && !before.has(f))) {
        const child = children.find((c) => f.includes(`.${c.pid}.`));
        if (child)
          result.profiles.push({
            file: path.join(profileDir, f),
            fromMs: started - child.spawnedAt,
            toMs: finished - child.spawnedAt,
          });
      }
    }
    return result;
  } finally {
    await Promise.all(children.map((c) => c.stop(5_000)));
    await client.end().catch(() => undefined);
    await queues.close();
    await closeRedis(redis);
    fs.rmSync(env.DATA_DIR, { recursive: true, force: true });
  }
}

/** Removes every key of this run's queue prefix (the bench never touches other prefixes). */
export async function dropQueueKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = createRedis(redisUrl, "client");
  try {
    await waitUntilReady(redis, redisUrl);
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    await closeRedis(redis);
  }
}

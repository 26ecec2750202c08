/**
 * `npm run bench`: the send pipeline end to end at two sizes with its two baselines, and the
 * subscribe endpoint under load beside a bare one. Prints a table, writes bench/results/<time>.json.
 * Everything is on loopback, in databases and a queue prefix of its own, removed at the end.
 */
import crypto from "node:crypto";
import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { createLogger } from "../src/logger";
import { BenchDatabases, seedReaders } from "./database";
import { startSink, type Sink } from "./sink";
import { dropQueueKeys, runPipeline } from "./pipeline";
import { naiveBaseline, plainSendMailBaseline } from "./baselines";
import { runSubscribeLoad } from "./subscribe";
import { summariseProfiles } from "./profile";
import { checkTargets, machine, render, writeJson, type BenchReport, type SizeResult } from "./report";

const int = (min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
  return n;
};
const sizeList = (v: string) => {
  const sizes = v.split(",").map((s) => Number(s.trim().replace(/_/g, "")));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1))
    throw new InvalidArgumentError("expected sizes such as 5000,20000");
  return sizes.sort((a, b) => a - b);
};

const program = new Command("bench")
  .description("Benchmark the digest send pipeline and the subscribe endpoint on this machine")
  .option("--sizes <list>", "reader counts to run the pipeline at, comma-separated", sizeList, [5_000, 20_000])
  .option("--workers <n>", "worker processes", int(1), 2)
  .option("--send-batch-size <n>", "SEND_BATCH_SIZE of the workers", int(1), 1000)
  .option(
    "--send-concurrency <n>",
    "SEND_CONCURRENCY of the workers (also their SMTP pool size, at most 10)",
    int(1),
    10,
  )
  .option("--worker-concurrency <n>", "WORKER_CONCURRENCY of the workers", int(1), 4)
  .option(
    "--worker-node-options <options>",
    "extra node options for the worker processes, space-separated (e.g. --max-old-space-size=160)",
    "",
  )
  .option("--naive-sample <n>", "emails sent by baseline (a) (MJML per reader), extrapolated", int(10), 300)
  .option("--plain-count <n>", "emails sent by baseline (b) (plain sendMail), extrapolated", int(100), 5_000)
  .option("--duration <seconds>", "seconds of load on each subscribe endpoint", int(1), 10)
  .option("--connections <n>", "concurrent connections of the subscribe load", int(1), 10)
  .option("--skip-subscribe", "do not measure the subscribe endpoint")
  .option("--skip-pipeline", "do not measure the send pipeline")
  .option("--no-profile", "do not CPU-profile the workers at the largest size")
  .option(
    "--database-server <url>",
    "PostgreSQL server (databases bench_* are created and dropped)",
    "postgresql://postgres@127.0.0.1:5432",
  )
  .option("--redis <url>", "Redis (keys under a bench-* prefix, removed at the end)", "redis://127.0.0.1:6379")
  .option("--out <dir>", "where the JSON result goes", path.join(__dirname, "results"));

interface Options {
  sizes: number[];
  workers: number;
  sendBatchSize: number;
  sendConcurrency: number;
  workerConcurrency: number;
  workerNodeOptions: string;
  naiveSample: number;
  plainCount: number;
  duration: number;
  connections: number;
  skipSubscribe?: boolean;
  skipPipeline?: boolean;
  profile: boolean;
  databaseServer: string;
  redis: string;
  out: string;
}

async function main() {
  const opts = program.parse().opts<Options>();
  const say = (line: string) => console.log(line);
  const log = createLogger("warn", { app: "bench" });
  const dbs = new BenchDatabases(opts.databaseServer, log);
  const prefixes: string[] = [];
  const secret = crypto.randomBytes(32).toString("hex");
  let sink: Sink | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await sink?.stop();
      for (const prefix of prefixes)
        await dropQueueKeys(opts.redis, prefix).catch((err) =>
          console.error(`could not remove Redis keys ${prefix}:*: ${err}`),
        );
      await dbs.dropAll().catch((err) => console.error(`could not drop the bench databases: ${err}`));
    })());
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  const report: BenchReport = {
    startedAt: new Date().toISOString(),
    machine: machine(),
    settings: { ...opts, out: undefined },
    sizes: [],
    targets: [],
  };
  say(
    `bench run ${dbs.run}: sizes ${opts.sizes.join(", ")}, ${opts.workers} worker process(es), batch ${opts.sendBatchSize}, send concurrency ${opts.sendConcurrency}, worker concurrency ${opts.workerConcurrency}`,
  );
  try {
    sink = await startSink();
    say(`smtp-sink on ${sink.url}`);
    if (!opts.skipPipeline) {
      const largest = Math.max(...opts.sizes);
      for (const size of opts.sizes) {
        say(`\n== ${size.toLocaleString("en-US")} readers`);
        const url = await dbs.fresh(`n${size}`);
        const seedStarted = Date.now();
        const seeded = await seedReaders(url, size);
        const seedMs = Date.now() - seedStarted;
        say(`  seeded ${seeded.readers} readers, ${seeded.choices} distinct topic choices, in ${seedMs} ms`);
        const prefix = `bench-${dbs.run}-${size}`;
        prefixes.push(prefix);
        const profiling = opts.profile && size === largest;
        const pipeline = await runPipeline({
          databaseUrl: url,
          redisUrl: opts.redis,
          queuePrefix: prefix,
          secret,
          sink,
          readers: size,
          workers: {
            processes: opts.workers,
            sendBatchSize: opts.sendBatchSize,
            sendConcurrency: opts.sendConcurrency,
            workerConcurrency: opts.workerConcurrency,
            nodeArgs: opts.workerNodeOptions.split(/\s+/).filter(Boolean),
            cpuProfDir: profiling ? path.join(opts.out, "profiles", `${dbs.run}-${size}`) : undefined,
          },
          timeoutMs: Math.max(120_000, size * 10),
          log: say,
        });
        say(
          `  pipeline: ${pipeline.sinkCounted} at the sink in ${(pipeline.totalMs / 1000).toFixed(1)} s, ${Math.round(pipeline.emailsPerSecond)} emails/s`,
        );
        const connections = Math.min(opts.sendConcurrency, 10);
        say(`  baseline (a): naive MJML + sendMail, ${opts.naiveSample} emails`);
        const naive = await naiveBaseline({
          databaseUrl: url,
          sink,
          sample: opts.naiveSample,
          readers: size,
          connections,
        });
        say(`  baseline (b): plain pooled sendMail, ${Math.min(opts.plainCount, size)} emails`);
        const plain = await plainSendMailBaseline({
          databaseUrl: url,
          sink,
          count: Math.min(opts.plainCount, size),
          readers: size,
          connections,
          inFlight: 50,
        });
        report.sizes.push({
          pipeline,
          naive,
          plain,
          ratioToNaive: pipeline.emailsPerSecond / naive.emailsPerSecond,
          ratioToPlain: pipeline.emailsPerSecond / plain.emailsPerSecond,
          seeding: { readers: seeded.readers, choices: seeded.choices, ms: seedMs },
        } satisfies SizeResult);
        if (pipeline.profiles.length) report.profile = summariseProfiles(pipeline.profiles);
      }
    }
    if (!opts.skipSubscribe) {
      say(`\n== subscribe endpoint`);
      const url = await dbs.fresh("subscribe");
      const prefix = `bench-${dbs.run}-subscribe`;
      prefixes.push(prefix);
      report.subscribe = await runSubscribeLoad({
        databaseUrl: url,
        redisUrl: opts.redis,
        queuePrefix: prefix,
        secret,
        smtpUrl: sink.url,
        seconds: opts.duration,
        connections: opts.connections,
        log: say,
      });
    }
    report.targets = checkTargets(report.sizes, report.subscribe);
    say(`\n${render(report)}`);
    say(`\nwritten: ${writeJson(report, opts.out)}`);
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);

/**
 * `npm run bench`: the send pipeline end to end at two sizes with its two baselines, and the
 * subscribe endpoint under load beside a bare one. Prints a table, writes bench/results/<time>.json.
 * Everything is on loopback, in databases and a queue prefix of its own, removed at the end.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { createLogger } from "../src/logger";
import { BenchDatabases, seedReaders } from "./database";
import { startSink, type Sink } from "./sink";
import { dropQueueKeys, runPipeline } from "./pipeline";
import { multiProcessBaseline, naiveBaseline, prepareMessage } from "./baselines";
import { runSubscribeLoad } from "./subscribe";
import { summariseProfiles } from "./profile";
import { ensureBuilt } from "./proc";
import { runYear } from "./year";
import { checkTargets, machine, render, summarise, writeJson, type BenchReport, type SizeResult } from "./report";

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
  .option(
    "--workers <list>",
    "worker processes, or a list (1,2,4) for the scaling curve: each size runs once per count, baselines with as many processes",
    // In the order given: the first count is the one the targets and the summary use.
    (v: string) => [...new Set(v.split(",").map((x) => int(1)(x.trim())))],
    [2],
  )
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
  .option("--raw-count <n>", "emails sent by baseline (c) (raw pre-built MIME), extrapolated", int(100), 20_000)
  .option("--duration <seconds>", "seconds of load on each subscribe endpoint", int(1), 10)
  .option("--connections <n>", "concurrent connections of the subscribe load", int(1), 10)
  .option(
    "--web-concurrency <n>",
    "also load WEB_CONCURRENCY=n web processes beside a bare handler in as many processes (1: skip)",
    int(1),
    2,
  )
  .option("--skip-subscribe", "do not measure the subscribe endpoint")
  .option("--year", "only the year mode: a year of daily deliveries, then the daily queries timed on it")
  .option("--year-readers <n>", "readers of the year mode", int(1), 100_000)
  .option("--year-days <n>", "days of the year mode", int(2), 365)
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
  workers: number[];
  sendBatchSize: number;
  sendConcurrency: number;
  workerConcurrency: number;
  workerNodeOptions: string;
  naiveSample: number;
  plainCount: number;
  rawCount: number;
  duration: number;
  connections: number;
  webConcurrency: number;
  skipSubscribe?: boolean;
  skipPipeline?: boolean;
  year?: boolean;
  yearReaders: number;
  yearDays: number;
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
    `bench run ${dbs.run}: sizes ${opts.sizes.join(", ")}, ${opts.workers.join(", ")} worker process(es), batch ${opts.sendBatchSize}, send concurrency ${opts.sendConcurrency}, worker concurrency ${opts.workerConcurrency}`,
  );
  try {
    ensureBuilt();
    sink = await startSink();
    say(`smtp-sink on ${sink.url}`);
    if (opts.year) {
      say(`\n== a year: ${opts.yearDays} days of deliveries for ${opts.yearReaders.toLocaleString("en-US")} readers`);
      const url = await dbs.fresh("year");
      await seedReaders(url, opts.yearReaders);
      report.year = await runYear({ databaseUrl: url, readers: opts.yearReaders, days: opts.yearDays, log: say });
      await dbs.drop(url);
    }
    if (!opts.skipPipeline && !opts.year) {
      const largest = Math.max(...opts.sizes);
      const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "bench-baseline-"));
      let message: { file: string; rawBytes: number } | undefined;
      try {
        for (const size of opts.sizes) {
          for (const workers of opts.workers) {
            say(`\n== ${size.toLocaleString("en-US")} readers, ${workers} worker process(es)`);
            const url = await dbs.fresh(`n${size}_w${workers}`);
            const seedStarted = Date.now();
            const seeded = await seedReaders(url, size);
            const seedMs = Date.now() - seedStarted;
            say(`  seeded ${seeded.readers} readers, ${seeded.choices} distinct topic choices, in ${seedMs} ms`);
            message ??= await prepareMessage(url, scratch);
            const prefix = `bench-${dbs.run}-${size}-${workers}`;
            prefixes.push(prefix);
            const profiling = opts.profile && size === largest && workers === opts.workers[0];
            const pipeline = await runPipeline({
              databaseUrl: url,
              redisUrl: opts.redis,
              queuePrefix: prefix,
              secret,
              sink,
              readers: size,
              workers: {
                processes: workers,
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
              `  pipeline: ${pipeline.sinkCounted} at the sink in ${(pipeline.totalMs / 1000).toFixed(1)} s, ${Math.round(pipeline.emailsPerSecond)} emails/s (load ${pipeline.loadAverage.join(" ")})`,
            );
            const connections = Math.min(opts.sendConcurrency, 10);
            const naive =
              workers === opts.workers[0]
                ? (say(`  baseline (a): naive MJML + sendMail, ${opts.naiveSample} emails, 1 process`),
                  await naiveBaseline({
                    databaseUrl: url,
                    sink,
                    sample: opts.naiveSample,
                    readers: size,
                    connections,
                  }))
                : undefined;
            const baseline = async (kind: "plain" | "raw", count: number) => {
              say(
                `  baseline (${kind === "plain" ? "b" : "c"}): ${kind}, ${count} emails, ${workers} process(es) x ${connections} connections`,
              );
              const r = await multiProcessBaseline({
                kind,
                messageFile: message!.file,
                sink: sink!,
                processes: workers,
                connections,
                count,
                readers: size,
                inFlight: 50,
              });
              say(`    ${Math.round(r.emailsPerSecond)} emails/s (load ${r.loadAverage.join(" ")})`);
              return r;
            };
            const plain = await baseline("plain", Math.min(opts.plainCount, size));
            const raw = await baseline("raw", Math.min(opts.rawCount, size));
            report.sizes.push({
              workers,
              pipeline,
              naive,
              plain,
              raw,
              rawMessageBytes: message.rawBytes,
              ratioToNaive: naive ? pipeline.emailsPerSecond / naive.emailsPerSecond : undefined,
              ratioToPlain: pipeline.emailsPerSecond / plain.emailsPerSecond,
              ratioToRaw: pipeline.emailsPerSecond / raw.emailsPerSecond,
              sendPhaseRatioToRaw: pipeline.sendPhaseEmailsPerSecond / raw.emailsPerSecond,
              seeding: { readers: seeded.readers, choices: seeded.choices, ms: seedMs },
            } satisfies SizeResult);
            if (pipeline.profiles.length) report.profile = summariseProfiles(pipeline.profiles);
            await dbs.drop(url);
          }
        }
      } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
      }
    }
    if (!opts.skipSubscribe && !opts.year) {
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
      if (opts.webConcurrency > 1) {
        say(`\n== subscribe endpoint, ${opts.webConcurrency} processes each`);
        const clusterUrl = await dbs.fresh("subscribe_cluster");
        report.subscribeCluster = await runSubscribeLoad({
          databaseUrl: clusterUrl,
          redisUrl: opts.redis,
          queuePrefix: `${prefix}-cluster`,
          secret,
          smtpUrl: sink.url,
          seconds: opts.duration,
          connections: opts.connections,
          processes: opts.webConcurrency,
          log: say,
        });
        prefixes.push(`${prefix}-cluster`);
      }
    }
    report.targets = checkTargets(report.sizes, report.subscribe, opts.workers[0]!);
    report.summary = summarise(report, opts.workers[0]!);
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

/** The printed table and the JSON file of one bench run. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { PipelineResult } from "./pipeline";
import type { BaselineResult, MultiProcessBaseline } from "./baselines";
import type { SubscribeResult } from "./subscribe";
import type { ProfileSummary } from "./profile";
import type { YearResult } from "./year";

export interface SizeResult {
  /** Worker processes of the pipeline, and processes of baselines (b) and (c). */
  workers: number;
  pipeline: PipelineResult;
  /** (a), measured at the first worker count of a size only (one process: it is about rendering). */
  naive?: BaselineResult;
  plain: MultiProcessBaseline;
  raw: MultiProcessBaseline;
  /** Size of the pre-built MIME message of (c), bytes. */
  rawMessageBytes: number;
  /** Pipeline emails per second (end to end, from queueing the assembly) over each baseline's. */
  ratioToNaive?: number;
  ratioToPlain: number;
  ratioToRaw: number;
  /** The send phase alone (after assembly) over (c). */
  sendPhaseRatioToRaw: number;
  seeding: { readers: number; choices: number; ms: number };
}

/**
 * The headline figures under stable keys (scripts compare runs by these): the largest size at the
 * first worker count, and the subscribe endpoint.
 */
export interface BenchSummary {
  readers?: number;
  workers?: number;
  emailsPerSecond?: number;
  ratioToPlain?: number;
  ratioToRaw?: number;
  rawEmailsPerSecond?: number;
  plainEmailsPerSecond?: number;
  workerPeakRssMb?: number;
  subscribeRatio?: number;
  subscribeRequestsPerSecond?: number;
  bareRequestsPerSecond?: number;
  subscribeP99Ms?: number;
  /** WEB_CONCURRENCY web processes over as many bare ones, when measured. */
  subscribeClusterProcesses?: number;
  subscribeClusterRatio?: number;
  subscribeClusterP99Ms?: number;
  /** Load average when the figures above were taken (pipeline run, subscribe load). */
  pipelineLoadAverage?: number[];
  subscribeLoadAverage?: number[];
}

export interface BenchReport {
  startedAt: string;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    platform: string;
    loadAverageAtStart: number[];
  };
  settings: Record<string, unknown>;
  summary?: BenchSummary;
  sizes: SizeResult[];
  subscribe?: SubscribeResult;
  /** The same load on WEB_CONCURRENCY web processes beside as many bare ones. */
  subscribeCluster?: SubscribeResult;
  profile?: ProfileSummary;
  year?: YearResult;
  targets: { name: string; target: string; measured: string; met: boolean }[];
}

export function machine(): BenchReport["machine"] {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "?",
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

const n0 = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString("en-US") : "-");
const n1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : "-");
const n2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : "-");
const s = (ms: number) => `${n1(ms / 1000)} s`;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(rows[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

const primaryOf = (all: SizeResult[], workers: number) =>
  [...all.filter((x) => x.workers === workers)].sort((a, b) => b.pipeline.readers - a.pipeline.readers)[0];

export function summarise(report: BenchReport, workers: number): BenchSummary {
  const x = primaryOf(report.sizes, workers);
  const sub = report.subscribe;
  return {
    readers: x?.pipeline.readers,
    workers: x?.workers,
    emailsPerSecond: x?.pipeline.emailsPerSecond,
    ratioToPlain: x?.ratioToPlain,
    ratioToRaw: x?.ratioToRaw,
    rawEmailsPerSecond: x?.raw.emailsPerSecond,
    plainEmailsPerSecond: x?.plain.emailsPerSecond,
    workerPeakRssMb: x ? Math.max(...x.pipeline.workerPeakRssMb) : undefined,
    subscribeRatio: sub?.throughputRatio,
    subscribeRequestsPerSecond: sub?.real?.requestsPerSecond,
    bareRequestsPerSecond: sub?.bare.requestsPerSecond,
    subscribeP99Ms: sub?.real?.p99Ms,
    subscribeClusterProcesses: report.subscribeCluster?.processes,
    subscribeClusterRatio: report.subscribeCluster?.throughputRatio,
    subscribeClusterP99Ms: report.subscribeCluster?.real?.p99Ms,
    pipelineLoadAverage: x?.pipeline.loadAverage,
    subscribeLoadAverage: sub?.real?.loadAverage,
  };
}

/** The targets of the issue, checked against the largest size measured at the first worker count. */
export function checkTargets(
  all: SizeResult[],
  subscribe: SubscribeResult | undefined,
  workers: number,
): BenchReport["targets"] {
  const sizes = all.filter((x) => x.workers === workers);
  const largest = primaryOf(all, workers);
  const targets: BenchReport["targets"] = [];
  if (largest) {
    const p = largest.pipeline;
    targets.push({
      name: `pipeline vs raw pre-built MIME (c), ${workers} process(es) each`,
      target: ">= 0.80 at 100,000",
      measured: `${n2(largest.ratioToRaw)} at ${n0(p.readers)} (send phase ${n2(largest.sendPhaseRatioToRaw)})`,
      met: p.readers >= 100_000 && largest.ratioToRaw >= 0.8,
    });
    targets.push({
      name: `pipeline vs plain sendMail (b), ${workers} process(es) each`,
      target: ">= 1.5x",
      measured: `${n2(largest.ratioToPlain)}x`,
      met: largest.ratioToPlain >= 1.5,
    });
    targets.push({
      name: "emails per second (end to end)",
      target: ">= 1,000",
      measured: n0(p.emailsPerSecond),
      met: p.emailsPerSecond >= 1000,
    });
    const at100k = sizes.find((x) => x.pipeline.readers >= 100_000);
    targets.push({
      name: "100,000 delivered",
      target: "< 120 s",
      measured: at100k ? s(at100k.pipeline.totalMs) : "not run (use --sizes 100000)",
      met: !!at100k && at100k.pipeline.totalMs < 120_000 && at100k.pipeline.sinkExact,
    });
    const peak = Math.max(...(at100k ?? largest).pipeline.workerPeakRssMb);
    targets.push({
      name: `worker peak RSS at ${n0((at100k ?? largest).pipeline.readers)}`,
      target: "< 200 MB (at 100,000)",
      measured: `${n0(peak)} MB`,
      met: !!at100k && peak < 200,
    });
    targets.push({
      name: "sink counted exactly N",
      target: "every size",
      measured: all.map((x) => `${n0(x.pipeline.sinkCounted)}/${n0(x.pipeline.deliveries)}`).join(", "),
      met: all.every((x) => x.pipeline.sinkExact),
    });
  }
  if (subscribe?.real && subscribe.throughputRatio !== undefined) {
    targets.push({
      name: "subscribe throughput vs bare",
      target: ">= 60%",
      measured: `${n0(subscribe.throughputRatio * 100)}%`,
      met: subscribe.throughputRatio >= 0.6,
    });
    targets.push({
      name: "subscribe p99",
      target: "< 50 ms",
      measured: `${n1(subscribe.real.p99Ms)} ms`,
      met: subscribe.real.p99Ms < 50,
    });
  } else if (subscribe) {
    targets.push({
      name: "subscribe vs bare",
      target: ">= 60%, p99 < 50 ms",
      measured: subscribe.realMissing ?? "not measured",
      met: false,
    });
  }
  return targets;
}

export function render(report: BenchReport): string {
  const out: string[] = [];
  const m = report.machine;
  out.push(
    `Daily Papers bench, ${report.startedAt}: ${m.cpus} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, load ${m.loadAverageAtStart.join(" ")}`,
  );
  if (report.sizes.length) {
    out.push("", "Send pipeline (real workers, loopback smtp-sink)");
    const rows = [
      [
        "readers",
        "workers",
        "load at start",
        "variants",
        "assembly",
        "row insert",
        "last accepted",
        "emails/s",
        "send phase/s",
        "sink count",
        "worker RSS idle",
        "worker peak RSS",
        "worker CPU",
        "CPU ms/reader",
        "wall ms/reader",
        "commits/email",
      ],
    ];
    for (const x of report.sizes) {
      const p = x.pipeline;
      const cpu = p.workerCpuSeconds.reduce((a, b) => a + b, 0);
      rows.push([
        n0(p.readers),
        n0(x.workers),
        p.loadAverage.join(" "),
        n0(p.variants),
        s(p.assemblyMs),
        p.deliveryInsertMs !== undefined ? s(p.deliveryInsertMs) : "-",
        s(p.totalMs),
        n0(p.emailsPerSecond),
        n0(p.sendPhaseEmailsPerSecond),
        `${n0(p.sinkCounted)}${p.sinkExact ? " (exact)" : " (MISMATCH)"}`,
        p.workerIdleRssMb.map((v) => `${n0(v)} MB`).join(" + "),
        p.workerPeakRssMb.map((v) => `${n0(v)} MB`).join(" + "),
        `${n1(cpu)} s`,
        n2((cpu * 1000) / p.readers),
        n2(p.totalMs / p.readers),
        n2(p.commitsPerEmail),
      ]);
    }
    out.push(table(rows));
    out.push(
      "",
      "Worker RSS as the sink counted 25%, 50%, 75% and 100% of the readers (flat memory: no growth after the first quarter)",
    );
    for (const x of report.sizes)
      out.push(
        `  ${n0(x.pipeline.readers)} readers, ${x.workers} worker(s): ${x.pipeline.workerRssByProgressMb
          .map((q) => `${n0(q.progress * 100)}% ${q.rssMb.map((v) => n0(v)).join("+")} MB`)
          .join(", ")}`,
      );
    out.push(
      "",
      "Same sink, same run: (a) naive MJML + sendMail per reader, one process, on a sample; (b) plain pooled sendMail of one",
      "rendered message and (c) raw pre-built MIME (the limit), each in as many processes as the pipeline, same connections",
    );
    const b = [
      [
        "readers",
        "workers",
        "(a) emails/s",
        "pipeline / (a)",
        "(b) emails/s",
        "pipeline / (b)",
        "(c) emails/s",
        "(c) message",
        "(c) load",
        "pipeline / (c)",
        "send phase / (c)",
      ],
    ];
    for (const x of report.sizes) {
      b.push([
        n0(x.pipeline.readers),
        n0(x.workers),
        x.naive ? n0(x.naive.emailsPerSecond) : "-",
        x.ratioToNaive !== undefined ? `${n1(x.ratioToNaive)}x` : "-",
        n0(x.plain.emailsPerSecond),
        `${n2(x.ratioToPlain)}x`,
        n0(x.raw.emailsPerSecond),
        `${n1(x.rawMessageBytes / 1000)} kB`,
        x.raw.loadAverage.join(" "),
        n2(x.ratioToRaw),
        n2(x.sendPhaseRatioToRaw),
      ]);
    }
    out.push(table(b));
  }
  for (const sub of [report.subscribe, report.subscribeCluster].filter((x): x is SubscribeResult => !!x)) {
    out.push("", `POST /subscribe under load (autocannon, loopback), ${sub.processes} process(es) each`);
    const rows = [["endpoint", "body", "requests/s", "p50", "p99", "requests", "non-2xx", "errors", "load at start"]];
    for (const r of [sub.bare, sub.real].filter((x): x is NonNullable<typeof x> => !!x)) {
      rows.push([
        r.target === "bare" ? "bare Express + 1 INSERT" : "real POST /subscribe",
        r.mode,
        n0(r.requestsPerSecond),
        `${n1(r.p50Ms)} ms`,
        `${n1(r.p99Ms)} ms`,
        n0(r.requests),
        n0(r.non2xx),
        n0(r.errors),
        r.loadAverage.join(" "),
      ]);
    }
    out.push(table(rows));
    out.push(
      sub.real
        ? `real / bare throughput: ${n0((sub.throughputRatio ?? 0) * 100)}%`
        : `real endpoint not measured: ${sub.realMissing}`,
    );
  }
  if (report.profile) {
    const p = report.profile;
    out.push(
      "",
      `Where the workers' CPU went (V8 profile, ${n1(p.busyMs / 1000)} s busy of ${n1(p.totalMs / 1000)} s sampled)`,
    );
    out.push(
      table([
        ["area", "self time", "share"],
        ...p.byArea.map((a) => [a.area, `${n0(a.ms)} ms`, `${n0(a.share * 100)}%`]),
      ]),
    );
    out.push("");
    out.push(
      table([
        ["function", "self time", "share"],
        ...p.topFunctions.map((f) => [f.fn, `${n0(f.ms)} ms`, `${n1(f.share * 100)}%`]),
      ]),
    );
  }
  if (report.year) {
    const y = report.year;
    const gb = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
    out.push(
      "",
      `A year: ${n0(y.rows)} delivery rows (${n0(y.days)} days x ${n0(y.readers)} readers), table ${gb(y.tableBytes)} + indexes ${gb(y.indexBytes)}; filled in ${s(y.fillMs)}, indexes ${s(y.indexMs)}; load ${y.loadAverage.join(" ")}`,
    );
    out.push(
      table([
        ["daily query on it", "time (each run)", "detail"],
        ...y.timings.map((t) => [t.name, t.ms.map((m) => `${n0(m)} ms`).join(", "), t.detail ?? ""]),
      ]),
    );
  }
  if (report.targets.length) {
    out.push("", "Targets");
    out.push(
      table([
        ["target", "aim", "measured", "met"],
        ...report.targets.map((t) => [t.name, t.target, t.measured, t.met ? "yes" : "NO"]),
      ]),
    );
  }
  return out.join("\n");
}

export function writeJson(report: BenchReport, dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${report.startedAt.replace(/[:.]/g, "-")}.json`);
  fs.writeFileSync(file, JSON.stringify(report, null, 2) + "\n");
  return file;
}

/**
 * The obvious ways to send the same digest to the same sink, and the most the machine can do:
 *  (a) naive: MJML rendered for each reader (their own links in it), then `sendMail` with html,
 *      text and headers; in this process, measured on a sample and extrapolated;
 *  (b) plain pooled `sendMail` of a message rendered once (only the recipient changes);
 *  (c) raw: the whole MIME message built once, pushed through pooled nodemailer with `raw`
 *      (only the envelope and the To header change): no rendering, database or queue.
 * (b) and (c) run in as many processes as the pipeline has workers (bench/baseline-child.ts),
 * each with the connection count of a worker's pool and up to `inFlight` messages outstanding.
 */
import fs from "node:fs";
import path from "node:path";
import nodemailer from "nodemailer";
import MailComposer from "nodemailer/lib/mail-composer";
import type { Transporter } from "nodemailer";
import { renderDigest } from "../src/digests/render";
import { digestView, loadCandidates, topicNames } from "../src/digests/assemble";
import { selectPapers } from "../src/digests/select-papers";
import { Placeholder } from "../src/mail/personal-message";
import { listHeaders } from "../src/mail/list-headers";
import { createDb } from "../src/db";
import { BENCH_DAY } from "./database";
import type { Sink } from "./sink";
import { cpuSeconds, loadNow, peakRssMb, runTs, type Child } from "./proc";
import { RAW_RECIPIENT, type PreparedMessage } from "./baseline-message";

const BASE_URL = "https://papers.bench.example";
const FROM = "Daily Papers <papers@bench.example>";

export interface BaselineResult {
  messages: number;
  ms: number;
  emailsPerSecond: number;
  /** The time `readers` emails would take at this rate. */
  extrapolatedMs: number;
  sinkCounted: number;
  /** Average size of one message's HTML part (characters). */
  htmlChars: number;
}

async function digestFor(databaseUrl: string) {
  const db = createDb(databaseUrl, { poolSize: 2 });
  try {
    const candidates = await loadCandidates(db, BENCH_DAY, "daily");
    const names = await topicNames(db);
    return digestView(selectPapers(candidates, [], 10), names, {
      day: BENCH_DAY,
      frequency: "daily",
      baseUrl: BASE_URL,
    });
  } finally {
    await db.$disconnect();
  }
}

const personal = (s: string, i: number) =>
  s
    .replaceAll(Placeholder.unsubscribeUrl, `${BASE_URL}/unsubscribe/token-${i}`)
    .replaceAll(Placeholder.preferencesUrl, `${BASE_URL}/preferences/token-${i}`)
    .replaceAll(Placeholder.email, `baseline${i}@bench.example`);

function transport(sink: Sink, connections: number): Transporter {
  return nodemailer.createTransport({
    host: "127.0.0.1",
    port: sink.port,
    secure: false,
    pool: true,
    maxConnections: connections,
    maxMessages: Infinity,
  });
}

/** Runs `send(0..count-1)` with at most `inFlight` of them outstanding at once. */
async function drive(count: number, inFlight: number, send: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await send(next++);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, lane));
}

async function measure(
  sink: Sink,
  readers: number,
  messages: number,
  run: () => Promise<number>,
): Promise<BaselineResult> {
  const before = sink.mark();
  const started = process.hrtime.bigint();
  const htmlChars = await run();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  await sink.waitForMessages(before + messages, 10_000);
  const emailsPerSecond = messages / (ms / 1000);
  return {
    messages,
    ms,
    emailsPerSecond,
    extrapolatedMs: (readers / emailsPerSecond) * 1000,
    sinkCounted: sink.messages() - before,
    htmlChars,
  };
}

export async function naiveBaseline(opts: {
  databaseUrl: string;
  sink: Sink;
  sample: number;
  readers: number;
  connections: number;
}): Promise<BaselineResult> {
  const view = await digestFor(opts.databaseUrl);
  const transporter = transport(opts.sink, opts.connections);
  try {
    return await measure(opts.sink, opts.readers, opts.sample, async () => {
      let chars = 0;
      await drive(opts.sample, opts.connections, async (i) => {
        // The naive way: the whole template rendered for this reader.
        const content = await renderDigest(view);
        const html = personal(content.html, i);
        chars += html.length;
        await transporter.sendMail({
          from: FROM,
          to: `baseline${i}@bench.example`,
          subject: content.subject,
          html,
          text: personal(content.text, i),
          headers: listHeaders({ baseUrl: BASE_URL, unsubscribeToken: `token-${i}` }),
        });
      });
      return Math.round(chars / opts.sample);
    });
  } finally {
    transporter.close();
  }
}

/** The digest rendered once (the bench day's 8 papers) as plain fields and as one built MIME message. */
export async function prepareMessage(databaseUrl: string, dir: string): Promise<{ file: string; rawBytes: number }> {
  const content = await renderDigest(await digestFor(databaseUrl));
  const message: Omit<PreparedMessage, "rawBase64"> = {
    from: FROM,
    subject: content.subject,
    html: personal(content.html, 0),
    text: personal(content.text, 0),
    headers: listHeaders({ baseUrl: BASE_URL, unsubscribeToken: "token-0" }),
  };
  const raw = await new MailComposer({
    ...message,
    to: RAW_RECIPIENT,
    messageId: "<baseline@bench.example>",
    date: new Date(),
  })
    .compile()
    .build();
  const file = path.join(dir, "baseline-message.json");
  fs.writeFileSync(file, JSON.stringify({ ...message, rawBase64: raw.toString("base64") } satisfies PreparedMessage));
  return { file, rawBytes: raw.length };
}

export interface MultiProcessBaseline extends BaselineResult {
  processes: number;
  connectionsPerProcess: number;
  /** Peak RSS of each sender process (MB). */
  peakRssMb: number[];
  cpuSeconds: number[];
  loadAverage: number[];
}

/**
 * (b) plain pooled `sendMail`, or (c) raw pre-built MIME through pooled nodemailer (the most this
 * machine's send path can do), in `processes` processes with `connections` each, as the
 * pipeline's workers: all started, warmed up, then told to go at the same moment.
 */
export async function multiProcessBaseline(opts: {
  kind: "plain" | "raw";
  messageFile: string;
  sink: Sink;
  processes: number;
  connections: number;
  /** Messages in all, split across the processes. */
  count: number;
  readers: number;
  inFlight: number;
}): Promise<MultiProcessBaseline> {
  const perProcess = Math.ceil(opts.count / opts.processes);
  const messages = perProcess * opts.processes;
  const children: Child[] = Array.from({ length: opts.processes }, (_, i) =>
    runTs("bench/baseline-child.ts", {
      BASELINE_KIND: opts.kind,
      BASELINE_FILE: opts.messageFile,
      BASELINE_PORT: String(opts.sink.port),
      BASELINE_COUNT: String(perProcess),
      BASELINE_CONNECTIONS: String(opts.connections),
      BASELINE_IN_FLIGHT: String(opts.inFlight),
      BASELINE_TAG: `p${i}`,
    }),
  );
  try {
    await Promise.all(children.map((c) => c.waitForOutput(/^ready$/m, 180_000)));
    const cpuBefore = children.map((c) => cpuSeconds(c.pid) ?? 0);
    const loadAverage = loadNow();
    const before = opts.sink.mark();
    const started = process.hrtime.bigint();
    for (const c of children) c.child.kill("SIGUSR2");
    await Promise.all(children.map((c) => c.waitForOutput(/^done /m, Math.max(120_000, messages * 10))));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    await opts.sink.waitForMessages(before + messages, 10_000);
    const emailsPerSecond = messages / (ms / 1000);
    return {
      messages,
      ms,
      emailsPerSecond,
      extrapolatedMs: (opts.readers / emailsPerSecond) * 1000,
      sinkCounted: opts.sink.messages() - before,
      htmlChars: 0,
      processes: opts.processes,
      connectionsPerProcess: opts.connections,
      peakRssMb: children.map((c) => peakRssMb(c.pid) ?? NaN),
      cpuSeconds: children.map((c, i) => (cpuSeconds(c.pid) ?? NaN) - cpuBefore[i]!),
      loadAverage,
    };
  } finally {
    await Promise.all(children.map((c) => c.stop(5_000)));
  }
}

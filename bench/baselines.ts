/**
 * The obvious ways to send the same digest, in this process, to the same sink:
 *  (a) naive: MJML rendered for each reader (their own links in it), then `sendMail` with html,
 *      text and headers; measured on a sample and extrapolated;
 *  (b) plain pooled `sendMail` of a message rendered once (only the recipient changes).
 * Both use a pooled nodemailer transport with the connection count the pipeline's workers use,
 * and keep up to `inFlight` messages queued on the pool.
 */
import nodemailer from "nodemailer";
import type { Transporter } from "nodemailer";
import { renderDigest } from "../src/digests/render";
import { digestView, loadCandidates, topicNames } from "../src/digests/assemble";
import { selectPapers } from "../src/digests/select-papers";
import { Placeholder } from "../src/digests/personal-message";
import { listHeaders } from "../src/mail/list-headers";
import { createDb } from "../src/db";
import { BENCH_DAY } from "./database";
import type { Sink } from "./sink";

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

export async function plainSendMailBaseline(opts: {
  databaseUrl: string;
  sink: Sink;
  count: number;
  readers: number;
  connections: number;
  inFlight: number;
}): Promise<BaselineResult> {
  const content = await renderDigest(await digestFor(opts.databaseUrl));
  const html = personal(content.html, 0);
  const text = personal(content.text, 0);
  const headers = listHeaders({ baseUrl: BASE_URL, unsubscribeToken: "token-0" });
  const transporter = transport(opts.sink, opts.connections);
  try {
    // Connections opened before the clock starts, as the pipeline's pool is warm too.
    await drive(opts.connections, opts.connections, (i) =>
      transporter.sendMail({
        from: FROM,
        to: `warmup${i}@bench.example`,
        subject: content.subject,
        html,
        text,
        headers,
      }),
    );
    return await measure(opts.sink, opts.readers, opts.count, async () => {
      await drive(opts.count, opts.inFlight, (i) =>
        transporter.sendMail({
          from: FROM,
          to: `baseline${i}@bench.example`,
          subject: content.subject,
          html,
          text,
          headers,
        }),
      );
      return html.length;
    });
  } finally {
    transporter.close();
  }
}

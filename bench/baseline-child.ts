/**
 * One process of a multi-process baseline: the pipeline runs several worker processes, so a fair
 * baseline runs as many senders, each with the same pooled connections, started together.
 *
 * Reads the prepared message (bench/baselines.ts writes it) from BASELINE_FILE, opens its pool
 * (warm-up messages, not counted), prints "ready", waits for SIGUSR2 (the parent's "go", sent to
 * every process at once), sends BASELINE_COUNT messages with at most BASELINE_IN_FLIGHT
 * outstanding, and prints "done <ms>".
 *  - plain: `sendMail` with html, text and headers (nodemailer builds the MIME for each);
 *  - raw: the MIME built once; per message only the envelope and the To header change.
 */
import fs from "node:fs";
import nodemailer from "nodemailer";
import type { SendMailOptions } from "nodemailer";
import { RAW_RECIPIENT, type PreparedMessage } from "./baseline-message";

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

async function main() {
  const kind = env("BASELINE_KIND");
  const message = JSON.parse(fs.readFileSync(env("BASELINE_FILE"), "utf8")) as PreparedMessage;
  const count = Number(env("BASELINE_COUNT"));
  const connections = Number(env("BASELINE_CONNECTIONS"));
  const inFlight = Number(env("BASELINE_IN_FLIGHT"));
  const tag = env("BASELINE_TAG");
  const transporter = nodemailer.createTransport({
    host: "127.0.0.1",
    port: Number(env("BASELINE_PORT")),
    secure: false,
    pool: true,
    maxConnections: connections,
    maxMessages: Infinity,
  });
  const raw = Buffer.from(message.rawBase64, "base64");
  const at = raw.indexOf(RAW_RECIPIENT);
  if (at < 0) throw new Error("the prepared MIME has no recipient placeholder");
  const head = raw.subarray(0, at);
  const tail = raw.subarray(at + RAW_RECIPIENT.length);
  const options = (to: string): SendMailOptions =>
    kind === "raw"
      ? { envelope: { from: "papers@bench.example", to }, raw: Buffer.concat([head, Buffer.from(to), tail]) }
      : {
          from: message.from,
          to,
          subject: message.subject,
          html: message.html,
          text: message.text,
          headers: message.headers,
        };
  const drive = async (n: number, prefix: string) => {
    let next = 0;
    const lane = async () => {
      while (next < n) await transporter.sendMail(options(`${prefix}${next++}@bench.example`));
    };
    await Promise.all(Array.from({ length: Math.min(inFlight, n) }, lane));
  };
  // Connections opened before the clock starts, as the pipeline's pool is warm too.
  await drive(connections, `warmup-${tag}-`);
  const go = new Promise<void>((resolve) => process.once("SIGUSR2", () => resolve()));
  console.log("ready");
  await go;
  const started = process.hrtime.bigint();
  await drive(count, `${kind}-${tag}-`);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(`done ${ms}`);
  transporter.close();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);

/** `npx newsletter digest send|status`: the digest engine from the command line. */
import type { Command } from "commander";
import cliProgress from "cli-progress";
import { loadConfig } from "../config";
import type { Db } from "../db";
import type { Queues } from "../queue/queues";
import { commandLogger, openDatabase, openQueues } from "../cli/context";
import { dayToDate, digestRange, parseDay } from "./days";
import { longDay } from "../papers";
import { ensureDigest } from "./assemble";
import { queueAssembly } from "./jobs";
import { digestDeliveryCounts } from "./retention";
import { pauseView, resumeByCommand } from "./breaker";
import type { DeliveryCounts } from "./ledger";
import { isConnectionLoss, retryThroughConnectionLoss } from "../infra/connection-loss";

/** "3 of 5 readers settled: 2 sent, 1 failed, 0 skipped; 2 pending" */
const summary = (c: DeliveryCounts) =>
  c.total === 0
    ? "no reader had papers on their topics that day, so no email"
    : `${c.total - c.pending} of ${c.total} readers settled: ${c.sent} sent, ${c.failed} failed, ${c.skipped} skipped; ${c.pending} pending`;
import type { Frequency } from "../generated/prisma/enums";

const frequencyOption = (value: string): Frequency => {
  if (value !== "daily" && value !== "weekly") throw new Error(`--frequency must be daily or weekly (got ${value})`);
  return value;
};

/**
 * Says once on stderr that the database connection was lost and is being re-opened (the pool
 * opens a fresh connection for the next query), so an operator watching a wait knows why it paused.
 */
function connectionLossNotice(): (err: unknown) => void {
  let told = false;
  return (err) => {
    if (told) return;
    told = true;
    const reason = err instanceof Error ? err.message.trim().split("\n").pop() : String(err);
    console.error(`The database connection was lost (${reason}): reconnecting and waiting.`);
  };
}

/** PostgreSQL, and the workers' Redis when the command queues work; both closed afterwards. */
async function withStores<T>(needQueues: boolean, fn: (stores: { db: Db; queues?: Queues }) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const log = commandLogger(config);
  const database = await openDatabase(config, log);
  try {
    const queues = needQueues ? await openQueues(config, log) : undefined;
    try {
      return await fn({ db: database.db, queues: queues?.queues });
    } finally {
      await queues?.close();
    }
  } finally {
    await database.close();
  }
}

/** --date and --frequency, the same on every digest command. */
const withDayOptions = (command: Command) =>
  command
    .requiredOption("--date <YYYY-MM-DD>", "the featured day")
    .option("--frequency <daily|weekly>", "which digest", frequencyOption, "daily");

export function registerDigestCommands(program: Command): void {
  const digest = program.command("digest").description("assemble, send and inspect digests");
  registerSend(digest);
  registerResume(digest);
  registerStatus(digest);
}

type Reads = <T>(fn: () => Promise<T>, deadline?: number) => Promise<T>;
interface SendOptions {
  date: string;
  frequency: Frequency;
  wait?: boolean;
  timeout: number;
}

function registerSend(digest: Command): void {
  withDayOptions(digest.command("send"))
    .description("assemble and send a day's digest (a running worker sends it; sending again never doubles)")
    .option("--wait", "wait until every delivery is settled, with a progress bar")
    .option(
      "--timeout <seconds>",
      "with --wait: give up waiting after this long (the sending goes on)",
      (v) => Number(v),
      3600,
    )
    .action(async (opts: SendOptions) => {
      if (!Number.isFinite(opts.timeout) || opts.timeout <= 0) throw new Error("--timeout must be a number of seconds");
      const day = parseDay(opts.date, "--date");
      await withStores(true, async ({ db, queues }) => {
        // Every read and the idempotent INSERT below are tried again through a dropped connection.
        const onLoss = connectionLossNotice();
        const reads: Reads = (fn, deadline) => retryThroughConnectionLoss(fn, { onLoss, deadline });
        const digestId = await queueDigest(db, queues!, day, opts.frequency, reads);
        if (digestId === undefined || !opts.wait) return;
        await waitForSend(db, digestId, day, opts.timeout, reads);
        const counts = await reads(() => digestDeliveryCounts(db, digestId));
        console.log(
          `Done: ${counts.sent} sent, ${counts.failed} failed, ${counts.skipped} skipped of ${counts.total}.`,
        );
      });
    });
}

/** Creates the digest row and queues its assembly (both idempotent); says what happened. Undefined: no papers. */
async function queueDigest(
  db: Db,
  queues: Queues,
  day: string,
  frequency: Frequency,
  reads: Reads,
): Promise<string | undefined> {
  const { from, to } = digestRange(day, frequency);
  const papers = await reads(() =>
    db.paper.count({ where: { featuredOn: { gte: dayToDate(from), lte: dayToDate(to) } } }),
  );
  if (papers === 0) {
    console.error(
      `Warning: no papers were featured ${from === to ? `on ${longDay(day)}` : `from ${from} to ${to}`} (there are none at weekends): nothing was queued, nobody would get an email. 'npx newsletter ingest --date ${day}' fetches them if they are missing.`,
    );
    return undefined;
  }
  const { before, row } = await reads(async () => ({
    before: await db.digest.findUnique({
      where: { day_frequency: { day: dayToDate(day), frequency } },
    }),
    row: await ensureDigest(db, day, frequency),
  }));
  await queueAssembly(queues, { day, frequency });
  if (before?.assembledAt) {
    const counts = await reads(() => digestDeliveryCounts(db, row.id));
    console.log(
      `The ${frequency} digest of ${longDay(day)} was already assembled: nothing new was queued and nobody gets a second copy (${summary(counts)}${counts.pending ? "; the pending ones are handed to the workers again" : ""}).`,
    );
  } else {
    console.log(
      `Queued the ${frequency} digest of ${longDay(day)} (${papers} paper${papers === 1 ? "" : "s"}, id ${row.id}). A worker (npm start or npm run start:worker) assembles and sends it.`,
    );
  }
  return row.id;
}

/** --wait: polls the digest twice a second, with a progress bar, until it is sent or the timeout passes. */
async function waitForSend(db: Db, digestId: string, day: string, timeoutSeconds: number, reads: Reads) {
  const bar = new cliProgress.SingleBar(
    { format: "sending |{bar}| {value}/{total} settled · {sent} sent, {failed} failed", stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const since = Date.now();
  const deadline = since + timeoutSeconds * 1000;
  const stillSending = (why = "") =>
    new Error(
      `Still sending after ${timeoutSeconds} s${why}; 'npx newsletter digest status --date ${day}' shows how far it got.`,
    );
  let warned = false;
  for (;;) {
    const { current, counts } = await pollDigest(db, digestId, reads, deadline).catch((err: unknown) => {
      bar.stop();
      if (!isConnectionLoss(err)) throw err;
      const reason = err instanceof Error ? err.message.trim().split("\n").pop() : String(err);
      throw stillSending(` (the database connection was lost and did not come back: ${reason})`);
    });
    if (!current.assembledAt && !warned && Date.now() - since > 30_000) {
      warned = true;
      console.error(
        "Not assembled after 30 s: is a worker running (npm start or npm run start:worker) on this REDIS_URL and QUEUE_PREFIX?",
      );
    }
    if (Date.now() > deadline) {
      bar.stop();
      throw stillSending();
    }
    if (current.assembledAt) {
      if (!started) bar.start(counts.total, 0, counts);
      started = true;
      bar.update(counts.total - counts.pending, counts);
    }
    if (current.status === "sent") break;
    await new Promise((r) => setTimeout(r, 500));
  }
  bar.stop();
}

const pollDigest = (db: Db, digestId: string, reads: Reads, deadline: number) =>
  reads(
    async () => ({
      current: await db.digest.findUniqueOrThrow({ where: { id: digestId } }),
      counts: await digestDeliveryCounts(db, digestId),
    }),
    deadline,
  );

function registerResume(digest: Command): void {
  withDayOptions(digest.command("resume"))
    .description("resume a paused digest now (a pause for too many failures waits for this)")
    .action(async (opts: { date: string; frequency: Frequency }) => {
      const day = parseDay(opts.date, "--date");
      await withStores(true, async ({ db, queues }) => {
        const row = await db.digest.findUnique({
          where: { day_frequency: { day: dayToDate(day), frequency: opts.frequency } },
        });
        if (!row) throw new Error(`No ${opts.frequency} digest for ${day}.`);
        const config = loadConfig();
        const result = await resumeByCommand({ db, config, queues: queues! }, row.id);
        console.log(
          result.resumed
            ? `Resumed the ${opts.frequency} digest of ${day}: ${result.promoted} waiting send jobs run now, ${result.queued} new ones queued.`
            : `The ${opts.frequency} digest of ${day} was not paused (status ${row.status}); ${result.queued} send jobs queued for rows no job covered.`,
        );
      });
    });
}

function registerStatus(digest: Command): void {
  withDayOptions(digest.command("status"))
    .description("how far a day's digest got: total, sent, failed, pending")
    .option("--json", "print JSON")
    .action(async (opts: { date: string; frequency: Frequency; json?: boolean }) => {
      const day = parseDay(opts.date, "--date");
      await withStores(false, async ({ db }) => {
        const { row, status, variants } = await retryThroughConnectionLoss(() => readStatus(db, day, opts.frequency), {
          onLoss: connectionLossNotice(),
        });
        if (!row || !status)
          throw new Error(
            `No ${opts.frequency} digest for ${day} yet: 'npx newsletter digest send --date ${day}' creates it.`,
          );
        if (opts.json) return void console.log(JSON.stringify(status));
        printStatus(row, status, variants);
      });
    });
}

async function readStatus(db: Db, day: string, frequency: Frequency) {
  const row = await db.digest.findUnique({
    where: { day_frequency: { day: dayToDate(day), frequency } },
  });
  if (!row) return { row };
  const status = {
    id: row.id,
    day,
    frequency,
    status: row.status,
    ...pauseView(row),
    ...(await digestDeliveryCounts(db, row.id)),
  };
  return { row, status, variants: await db.digestVariant.count({ where: { digestId: row.id } }) };
}

type DigestStatus = Awaited<ReturnType<typeof readStatus>>;

function printStatus(
  row: NonNullable<DigestStatus["row"]>,
  status: NonNullable<DigestStatus["status"]>,
  variants: number,
) {
  const when = (d: Date | null) => (d ? `${d.toISOString().slice(0, 16).replace("T", " ")} UTC` : null);
  console.log(`The ${status.frequency} digest of ${longDay(status.day)}: ${row.status}`);
  console.log(`  ${summary(status)}`);
  if (row.assembledAt)
    console.log(
      `  assembled ${when(row.assembledAt)} into ${variants} variant${variants === 1 ? "" : "s"}${row.completedAt ? `, finished ${when(row.completedAt)}` : ""}`,
    );
  else console.log("  not assembled yet: is a worker running (npm start or npm run start:worker)?");
  console.log(`  id ${row.id}`);
}

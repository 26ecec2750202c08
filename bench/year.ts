/**
 * `npm run bench -- --year`: what a year of daily digests does to the database. Fills a year of
 * delivery rows (one per reader per day, as sending leaves them: accepted, a few failed, SMTP
 * response and Message-ID stored) for N readers, then times the queries a day needs on it, with
 * the product's own functions: assembling the next digest (its delivery rows inserted into the
 * full table), the digest status, the admin figures, unsubscribe, "delete me", "download my data",
 * and the retention job folding the oldest day.
 *
 * The fill drops the table's secondary indexes and builds them again afterwards (as a restore
 * would): a year of rows inserted one day at a time behind live indexes would take far longer, and
 * the state reached is the same. For the same reason the foreign-key triggers are off while it fills
 * (session_replication_role = replica); every row it writes references a real digest and reader.
 */
import crypto from "node:crypto";
import pg from "pg";
import { createDb } from "../src/db";
import { loadConfig } from "../src/config";
import { createLogger } from "../src/logger";
import { assembleDigest } from "../src/digests/assemble";
import { digestDeliveryCounts, pruneDeliveries } from "../src/digests/retention";
import { subscriberStats } from "../src/admin/queries";
import { unsubscribe } from "../src/subscriptions/unsubscribe";
import { eraseSubscriber, exportSubscriberData } from "../src/subscriptions/erase";
import { createSuppressions } from "../src/suppression";
import { BENCH_DAY } from "./database";
import { loadNow } from "./proc";

export interface YearTiming {
  name: string;
  /** Each run's milliseconds. */
  ms: number[];
  detail?: string;
}

export interface YearResult {
  readers: number;
  days: number;
  rows: number;
  fillMs: number;
  indexMs: number;
  tableBytes: number;
  indexBytes: number;
  timings: YearTiming[];
  loadAverage: number[];
}

const DAY_MS = 86_400_000;
const dayString = (d: Date) => d.toISOString().slice(0, 10);

async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, value };
}

export async function runYear(opts: {
  databaseUrl: string;
  readers: number;
  days: number;
  log: (line: string) => void;
}): Promise<YearResult> {
  const client = new pg.Client({ connectionString: opts.databaseUrl });
  await client.connect();
  const last = new Date(`${BENCH_DAY}T00:00:00Z`).getTime() - DAY_MS;
  const first = last - (opts.days - 1) * DAY_MS;
  let fillMs: number;
  let indexMs: number;
  try {
    await client.query("SET synchronous_commit = off");
    // As a restore does (pg_restore --disable-triggers): the rows reference real digests and
    // subscribers, so the per-row foreign-key checks are skipped while filling.
    await client.query("SET session_replication_role = replica");
    const { rows: indexes } = await client.query<{ name: string; def: string }>(
      `SELECT indexname AS name, indexdef AS def FROM pg_indexes
       WHERE tablename = 'deliveries' AND indexname <> 'deliveries_pkey'`,
    );
    for (const i of indexes) await client.query(`DROP INDEX ${pg.escapeIdentifier(i.name)}`);
    const fillStarted = Date.now();
    for (let d = 0; d < opts.days; d++) {
      const day = dayString(new Date(first + d * DAY_MS));
      const sentAt = `${day} 08:00:00`;
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO digests (id, day, frequency, status, assembled_at, completed_at, created_at, updated_at)
         VALUES (gen_random_uuid(), $1::date, 'daily', 'sent', $2::timestamp, $2::timestamp + interval '1 minute', $2::timestamp, $2::timestamp)
         RETURNING id`,
        [day, sentAt],
      );
      await client.query(
        `INSERT INTO deliveries (digest_id, subscriber_id, variant_id, state, attempts, smtp_response, message_id,
                                 claimed_at, sent_at, created_at, updated_at)
         SELECT $1::uuid, s.id, NULL,
           (CASE WHEN hashtext(s.id::text || $2) % 500 = 0 THEN 'failed' ELSE 'accepted' END)::"DeliveryState", 1,
           '250 2.0.0 Ok: queued as ' || substr(md5(s.id::text || $2), 1, 12),
           '<' || s.id || '.' || $2 || '@papers.bench.example>',
           $3::timestamp, $3::timestamp, $3::timestamp, $3::timestamp
         FROM subscribers s WHERE s.status = 'active'`,
        [rows[0]!.id, day, sentAt],
      );
      if ((d + 1) % 30 === 0 || d === opts.days - 1)
        opts.log(`  filled ${d + 1} of ${opts.days} days in ${((Date.now() - fillStarted) / 1000).toFixed(0)} s`);
    }
    fillMs = Date.now() - fillStarted;
    await client.query("SET session_replication_role = origin");
    const indexStarted = Date.now();
    for (const i of indexes) await client.query(i.def);
    await client.query("ANALYZE deliveries; ANALYZE digests; ANALYZE subscribers");
    indexMs = Date.now() - indexStarted;
    opts.log(`  indexes built again and analysed in ${(indexMs / 1000).toFixed(0)} s`);
  } finally {
    await client.end();
  }

  const db = createDb(opts.databaseUrl, { poolSize: 4 });
  const config = loadConfig({
    NODE_ENV: "production",
    DATABASE_URL: opts.databaseUrl,
    SECRET: crypto.randomBytes(32).toString("hex"),
    BASE_URL: "https://papers.bench.example",
  });
  const log = createLogger("warn", { app: "bench-year" });
  const timings: YearTiming[] = [];
  const record = (name: string, ms: number[], detail?: string) => {
    timings.push({ name, ms, detail });
    opts.log(`  ${name}: ${ms.map((m) => `${m.toFixed(0)} ms`).join(", ")}${detail ? ` (${detail})` : ""}`);
  };
  const loadAverage = loadNow();
  try {
    const [sizes] = await db.$queryRaw<{ rows: bigint; table: bigint; index: bigint }[]>`
      SELECT (SELECT count(*) FROM deliveries) AS rows, pg_table_size('deliveries') AS table,
             pg_indexes_size('deliveries') AS index`;
    const assembly = await time(() => assembleDigest({ db, config, log }, { day: BENCH_DAY, frequency: "daily" }));
    record(
      "assemble the next digest",
      [assembly.ms],
      `${assembly.value.deliveries} delivery rows, ${assembly.value.variants} variants`,
    );
    const midYear = await db.digest.findFirstOrThrow({
      where: { day: new Date(first + Math.floor(opts.days / 2) * DAY_MS) },
    });
    const runs = async (n: number, fn: (i: number) => Promise<unknown>) => {
      const ms: number[] = [];
      for (let i = 0; i < n; i++) ms.push((await time(() => fn(i))).ms);
      return ms;
    };
    record("digest status (new digest)", await runs(3, () => digestDeliveryCounts(db, assembly.value.digestId)));
    record("digest status (mid-year digest)", await runs(3, () => digestDeliveryCounts(db, midYear.id)));
    const now = new Date(`${BENCH_DAY}T12:00:00Z`);
    record("admin figures, 30 days", await runs(3, () => subscriberStats(db, 30, now)));
    record("admin figures, 366 days", await runs(2, () => subscriberStats(db, 366, now)));
    const people = await db.subscriber.findMany({ select: { id: true }, take: 9, orderBy: { email: "asc" } });
    record("unsubscribe", await runs(3, (i) => unsubscribe(db, people[i]!.id, "link")));
    record("download my data", await runs(3, (i) => exportSubscriberData(db, people[3 + i]!.id)));
    const suppressions = createSuppressions(crypto.randomBytes(32).toString("hex"));
    record("delete me", await runs(3, (i) => eraseSubscriber(db, suppressions, people[6 + i]!.id, "link")));
    const prune = await time(() =>
      pruneDeliveries(db, { retentionDays: opts.days - 1, now: new Date(`${BENCH_DAY}T12:00:00Z`) }),
    );
    record("retention: fold the oldest day", [prune.ms], `${prune.value.digests} digest, ${prune.value.rows} rows`);
    return {
      readers: opts.readers,
      days: opts.days,
      rows: Number(sizes!.rows),
      fillMs,
      indexMs,
      tableBytes: Number(sizes!.table),
      indexBytes: Number(sizes!.index),
      timings,
      loadAverage,
    };
  } finally {
    await db.$disconnect();
  }
}

/**
 * The bench's own databases on the machine's PostgreSQL: one template migrated and seeded once
 * (default topics, one day of the bundled sample papers matched to them), copied per run, then
 * readers bulk-inserted with varied topic choices. Every database is named bench_<run>_* and
 * dropped at the end.
 */
import crypto from "node:crypto";
import pg from "pg";
import type { Logger } from "../src/logger";
import { createDb } from "../src/db";
import { applyMigrations, ensureDatabase } from "../src/infra/postgres";
import { seedDefaultTopics } from "../src/papers/topics";
import { ingestDay } from "../src/papers/ingest";
import { sampleSource } from "../src/papers/sources/sample";

/** The sample's latest featured day: 8 papers. */
export const BENCH_DAY = "2025-12-10";

export class BenchDatabases {
  readonly run = crypto.randomBytes(4).toString("hex");
  private readonly created: string[] = [];
  private template?: string;

  constructor(
    private readonly serverUrl: string,
    private readonly log: Logger,
  ) {}

  url(name: string): string {
    const u = new URL(this.serverUrl);
    u.pathname = `/${name}`;
    return u.toString();
  }

  private async admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: this.url("postgres") });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }

  /** Migrated, with the default topics and one day of sample papers matched to them. */
  private async ensureTemplate(): Promise<string> {
    if (this.template) return this.template;
    const name = `bench_${this.run}_template`;
    const url = this.url(name);
    this.created.push(name);
    await ensureDatabase(url);
    await applyMigrations(url, this.log);
    const db = createDb(url, { poolSize: 2 });
    try {
      await seedDefaultTopics(db);
      const result = await ingestDay(db, sampleSource(), BENCH_DAY);
      if (result.error || result.inserted === 0)
        throw new Error(`could not ingest the sample day ${BENCH_DAY}: ${result.error ?? "no papers"}`);
    } finally {
      await db.$disconnect();
    }
    this.template = name;
    return name;
  }

  /** A fresh copy of the template. */
  async fresh(label: string): Promise<string> {
    const template = await this.ensureTemplate();
    const name = `bench_${this.run}_${label}`.replace(/[^a-z0-9_]/g, "_");
    await this.admin((c) =>
      c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE ${pg.escapeIdentifier(template)}`),
    );
    this.created.push(name);
    return this.url(name);
  }

  /** Drops one database made by `fresh` now (large runs would otherwise keep gigabytes until the end). */
  async drop(url: string): Promise<void> {
    const name = new URL(url).pathname.slice(1);
    const at = this.created.indexOf(name);
    if (at < 0) return;
    this.created.splice(at, 1);
    await this.admin((c) => c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`));
  }

  async dropAll(): Promise<void> {
    const names = this.created.splice(0).reverse();
    await this.admin(async (c) => {
      for (const name of names) await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    });
  }
}

/**
 * `count` active daily readers. Topic choices vary: about one in eight chose no topic (gets
 * everything), the others a pseudo-random subset of the topics (bit i of a hash of the reader
 * number picks topic i), so there are hundreds of distinct choices and many paper lists.
 */
export async function seedReaders(
  url: string,
  count: number,
): Promise<{ readers: number; choices: number; topicRows: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("BEGIN");
    await client.query(
      `INSERT INTO subscribers (id, email, status, frequency, confirmed_at, created_at, updated_at)
       SELECT gen_random_uuid(), 'reader' || g || '@bench.example', 'active', 'daily', now(), now(), now()
       FROM generate_series(1, $1::int) g`,
      [count],
    );
    const topics = await client.query<{ id: number }>("SELECT id FROM topics ORDER BY position, id");
    const ids = topics.rows.map((r) => r.id);
    const inserted = await client.query(
      `WITH readers AS (
         SELECT id, abs(hashtext(email)) AS h FROM subscribers WHERE email LIKE '%@bench.example'
       )
       INSERT INTO subscriber_topics (subscriber_id, topic_id)
       SELECT r.id, t.id FROM readers r
       CROSS JOIN unnest($1::int[]) WITH ORDINALITY AS t(id, bit)
       WHERE r.h % 8 <> 0 AND ((r.h / 8) >> (t.bit::int - 1)) & 1 = 1`,
      [ids],
    );
    await client.query("COMMIT");
    await client.query("ANALYZE subscribers; ANALYZE subscriber_topics");
    const choices = await client.query<{ n: string }>(
      `SELECT count(DISTINCT k) AS n FROM (
         SELECT s.id, coalesce(string_agg(st.topic_id::text, ',' ORDER BY st.topic_id), '') AS k
         FROM subscribers s LEFT JOIN subscriber_topics st ON st.subscriber_id = s.id GROUP BY s.id) x`,
    );
    return { readers: count, choices: Number(choices.rows[0]!.n), topicRows: inserted.rowCount ?? 0 };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}

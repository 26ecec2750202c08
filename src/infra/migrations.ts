import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { fromRoot } from "../paths";

export const migrationsDir = fromRoot("prisma", "migrations");

/** Names of the migrations in prisma/migrations that the database has not applied yet. */
export async function pendingMigrations(url: string): Promise<string[]> {
  const wanted = fs
    .readdirSync(migrationsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const client = new pg.Client({ connectionString: url });
  // A connection terminated between two queries fails the next query; without a listener the
  // client's 'error' event would end the process instead.
  client.on("error", () => undefined);
  await client.connect();
  try {
    const exists = await client.query<{ present: boolean }>(
      "SELECT to_regclass('public._prisma_migrations') IS NOT NULL AS present",
    );
    if (!exists.rows[0]?.present) return wanted;
    const applied = await client.query<{ migration_name: string }>(
      "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL",
    );
    const done = new Set(applied.rows.map((r) => r.migration_name));
    return wanted.filter((name) => !done.has(name));
  } finally {
    await client.end();
  }
}

/** The advisory lock Prisma's migrate takes: the CLI and this runner never migrate at once. */
const PRISMA_MIGRATE_LOCK = 72707369;

/**
 * Applies pending migrations in this process, with `pg`, as Prisma's `migrate deploy` records
 * them (`_prisma_migrations`: the same columns, the checksum the SHA-256 of migration.sql), so
 * `prisma migrate status` and `npx newsletter migrate` agree with it afterwards. Why not the CLI
 * at start-up: it is a second Node process that loads Prisma's WebAssembly engine, about 3.5 s of
 * CPU before the first statement; on a fresh database that was most of `npm start`'s wait for
 * `/healthz`. Each migration runs in one transaction with its record, so a failure leaves nothing
 * half-applied; the caller may then fall back to the CLI (which runs statement by statement).
 * Returns the names applied.
 */
export async function applyMigrationsInProcess(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => undefined); // a dropped connection fails the next query, not the process
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [PRISMA_MIGRATE_LOCK]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
        "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
        "checksum"            VARCHAR(64) NOT NULL,
        "finished_at"         TIMESTAMPTZ,
        "migration_name"      VARCHAR(255) NOT NULL,
        "logs"                TEXT,
        "rolled_back_at"      TIMESTAMPTZ,
        "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
        "applied_steps_count" INTEGER NOT NULL DEFAULT 0
      )`);
    const rows = await client.query<{ migration_name: string; finished_at: Date | null }>(
      `SELECT migration_name, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL`,
    );
    const failed = rows.rows.filter((r) => r.finished_at === null).map((r) => r.migration_name);
    if (failed.length)
      throw new Error(
        `A migration failed earlier and was left unresolved (${failed.join(", ")}): run 'npx newsletter migrate' to see the details.`,
      );
    const done = new Set(rows.rows.map((r) => r.migration_name));
    const applied: string[] = [];
    for (const name of fs.readdirSync(migrationsDir).sort()) {
      const file = path.join(migrationsDir, name, "migration.sql");
      if (done.has(name) || !fs.existsSync(file)) continue;
      const script = fs.readFileSync(file);
      const startedAt = new Date();
      await client.query("BEGIN");
      try {
        await client.query(script.toString("utf8"));
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
           VALUES ($1, $2, now(), $3, NULL, NULL, $4, 1)`,
          [crypto.randomUUID(), crypto.createHash("sha256").update(script).digest("hex"), name, startedAt],
        );
        await client.query("COMMIT");
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw new Error(`migration ${name}: ${(err as Error).message}`, { cause: err });
      }
      applied.push(name);
    }
    return applied;
  } finally {
    await client.end();
  }
}

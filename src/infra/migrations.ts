import fs from "node:fs";
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

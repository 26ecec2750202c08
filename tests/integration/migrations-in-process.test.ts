import { expect } from "@jest/globals";
import { execFile } from "node:child_process";
import fs from "node:fs";
import { promisify } from "node:util";
import pg from "pg";
import { applyMigrationsInProcess, migrationsDir, pendingMigrations } from "../../src/infra/migrations";
import { ensureDatabase } from "../../src/infra/postgres";
import { dropTestDatabase, serverUrl, unusedDatabaseUrl } from "../helpers/db";

/**
 * Start-up migrates in its own process (no Prisma CLI, which cost seconds of a first run): the
 * database it leaves must be the one Prisma's `migrate deploy` leaves (the test template is built
 * by the CLI), recorded so that Prisma agrees nothing is pending, and safe to run twice at once.
 */
const execFileAsync = promisify(execFile);

async function schemaOf(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const q = async (sql: string) => (await client.query(sql)).rows.map((r) => JSON.stringify(r));
    return {
      columns:
        await q(`SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default, is_generated, generation_expression
                        FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2`),
      indexes: await q(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`),
      constraints: await q(`SELECT conrelid::regclass::text AS t, conname, pg_get_constraintdef(oid) AS def
                            FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2`),
      enums: await q(`SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) AS labels
                      FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY 1 ORDER BY 1`),
      migrations: await q(`SELECT migration_name, checksum, applied_steps_count, finished_at IS NOT NULL AS finished,
                           rolled_back_at IS NULL AS live, logs FROM _prisma_migrations ORDER BY 1`),
    };
  } finally {
    await client.end();
  }
}

describe("migrating at start-up, in this process", () => {
  const urls: string[] = [];
  const fresh = async () => {
    const url = unusedDatabaseUrl();
    urls.push(url);
    await ensureDatabase(url);
    return url;
  };
  afterAll(async () => {
    for (const url of urls) await dropTestDatabase(url);
  });
  const names = fs
    .readdirSync(migrationsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

  it("when a fresh database is migrated, then it is the database Prisma's migrate deploy builds, and Prisma finds nothing pending", async () => {
    const url = await fresh();
    expect(await applyMigrationsInProcess(url)).toEqual(names);
    expect(await applyMigrationsInProcess(url)).toEqual([]);
    expect(await pendingMigrations(url)).toEqual([]);
    const template = `${serverUrl()}/${process.env.TEST_TEMPLATE_DB!}`;
    expect(await schemaOf(url)).toEqual(await schemaOf(template));

    const status = await execFileAsync(
      process.execPath,
      [require.resolve("prisma/build/index.js"), "migrate", "status"],
      {
        env: { ...process.env, DATABASE_URL: url, PRISMA_HIDE_UPDATE_MESSAGE: "1" },
        timeout: 120_000,
      },
    );
    expect(status.stdout).toContain("Database schema is up to date!");
  }, 180_000);

  it("when two processes start on the same fresh database at once, then each migration is applied exactly once", async () => {
    const url = await fresh();
    const [a, b] = await Promise.all([applyMigrationsInProcess(url), applyMigrationsInProcess(url)]);
    expect([...a, ...b].sort()).toEqual(names);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM _prisma_migrations`);
    await client.end();
    expect(rows[0]!.n).toBe(names.length);
  }, 60_000);
});

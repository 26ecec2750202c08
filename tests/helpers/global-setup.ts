import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { applyMigrations, ensureDatabase } from "../../src/infra/postgres";
import { migrationsDir } from "../../src/infra/migrations";
import { createLogger } from "../../src/logger";
import { adminUrl, serverUrl } from "./db";

/**
 * Migrates a template database once per migration set; every test file then copies it
 * (CREATE DATABASE ... TEMPLATE), which takes milliseconds instead of a migration run.
 */
export default async function globalSetup(): Promise<void> {
  const hash = crypto.createHash("sha256");
  for (const dir of fs.readdirSync(migrationsDir).sort()) {
    const file = path.join(migrationsDir, dir, "migration.sql");
    if (fs.existsSync(file)) hash.update(dir).update(fs.readFileSync(file));
  }
  const name = `papers_template_${hash.digest("hex").slice(0, 12)}`;
  process.env.TEST_TEMPLATE_DB = name;
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    // Templates of older migration sets are of no more use once a day old (a younger one may be
    // another checkout's, e.g. a worktree testing a branch with other migrations at the same time).
    const stale = await client.query<{ datname: string }>(
      `SELECT d.datname FROM pg_database d
        WHERE d.datname LIKE 'papers\\_template\\_%' AND d.datname NOT LIKE '%\\_building\\_%' AND d.datname <> $1
          AND coalesce(shobj_description(d.oid, 'pg_database'), '') < $2`,
      [name, new Date(Date.now() - 86_400_000).toISOString()],
    );
    for (const { datname } of stale.rows)
      await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)}`).catch(() => undefined);
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (found.rowCount) return;
    const building = `${name}_building_${process.pid}`;
    const url = `${serverUrl()}/${building}`;
    await ensureDatabase(url);
    await applyMigrations(url, createLogger("warn"));
    await client.query(`COMMENT ON DATABASE ${building} IS '${new Date().toISOString()}'`);
    await client.query(`ALTER DATABASE ${building} RENAME TO ${name}`).catch(async (err) => {
      await client.query(`DROP DATABASE IF EXISTS ${building}`);
      if ((err as { code?: string }).code !== "42P04") throw err;
    });
  } finally {
    await client.end();
  }
}

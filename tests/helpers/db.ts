import crypto from "node:crypto";
import pg from "pg";

/** The PostgreSQL server tests use: TEST_DATABASE_SERVER, else the machine's own on loopback. */
export const serverUrl = () =>
  (process.env.TEST_DATABASE_SERVER ?? "postgresql://postgres@127.0.0.1:5432").replace(/\/+$/, "");
export const adminUrl = () => `${serverUrl()}/postgres`;

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh, migrated database of its own for one test file. */
export async function createTestDatabase(): Promise<string> {
  const template = process.env.TEST_TEMPLATE_DB;
  if (!template)
    throw new Error("TEST_TEMPLATE_DB is unset: run the tests through jest (tests/helpers/global-setup.ts)");
  const name = `papers_test_${crypto.randomBytes(6).toString("hex")}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  return `${serverUrl()}/${name}`;
}

export async function dropTestDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`));
}

/** A name no existing database has (for tests of "created when missing"). */
export const unusedDatabaseUrl = () => `${serverUrl()}/papers_test_${crypto.randomBytes(6).toString("hex")}`;

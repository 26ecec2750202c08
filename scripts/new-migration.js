#!/usr/bin/env node
// Authors a new migration as the diff between the committed schema (git HEAD) and the edited one:
// `npm run migrate:new -- add_something`. Prisma's `migrate dev` needs a shadow database and a
// native engine, neither of which works here; `migrate diff` between two datamodels does.
// Note: the migration engine splits scripts on ';', so keep semicolons out of SQL comments.
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const name = (process.argv[2] || "").replace(/[^a-z0-9_]/gi, "_").toLowerCase();
if (!name) {
  console.error("Usage: npm run migrate:new -- <name>   (e.g. add_paper_language)");
  process.exit(2);
}
const root = path.resolve(__dirname, "..");
const old = path.join(os.tmpdir(), `schema-head-${process.pid}.prisma`);
fs.writeFileSync(old, execFileSync("git", ["show", "HEAD:prisma/schema.prisma"], { cwd: root }));
const env = {
  ...process.env,
  DATABASE_URL: process.env.DATABASE_URL || "postgresql://postgres@127.0.0.1:5432/postgres",
};
const sql = execFileSync(
  process.execPath,
  [
    require.resolve("prisma/build/index.js"),
    "migrate",
    "diff",
    "--from-schema-datamodel",
    old,
    "--to-schema-datamodel",
    "prisma/schema.prisma",
    "--script",
  ],
  { cwd: root, env, encoding: "utf8" },
);
fs.rmSync(old);
if (!sql.trim() || /^-- This is an empty migration/.test(sql.trim())) {
  console.log("The schema has not changed since HEAD: no migration written.");
  process.exit(0);
}
const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
const dir = path.join(root, "prisma", "migrations", `${stamp}_${name}`);
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, "migration.sql"), sql);
console.log(`Wrote ${path.relative(root, dir)}/migration.sql: read it, then 'npm run migrate' applies it.`);

/**
 * `npx newsletter ingest` and `npx newsletter topics ...`. Each command opens only PostgreSQL
 * (no Redis: ingestion runs in this process) and closes it when done.
 */
import type { Command } from "commander";
import { loadConfig, type Config } from "../config";
import type { Db } from "../db";
import { commandLogger, openDatabase } from "../cli/context";
import { dayRange } from "./days";
import { defaultDays, sourceFromConfig } from "./feature";
import { ingestDay } from "./ingest";
import { isDay } from "./normalize";
import { addTopic, editTopic, explainMatch, listTopics, seedDefaultTopics } from "./topics";

const threshold = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--threshold must be a number above 0 (got ${value})`);
  return n;
};
const QUERY_HELP =
  'weighted terms, e.g. \'"graph neural network"^2, GNN, cat:cs.LG, -"social network"\' (README: "Tuning a topic")';

async function withDb<T>(fn: (db: Db, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const database = await openDatabase(config, commandLogger(config));
  try {
    await seedDefaultTopics(database.db);
    return await fn(database.db, config);
  } finally {
    await database.close();
  }
}

interface IngestCommandOptions {
  date?: string;
  from?: string;
  to?: string;
  source?: string;
}

/** `ingest`: each day asked for (or the default days), one line per day; fails when a day failed. */
async function ingestCommand(opts: IngestCommandOptions): Promise<void> {
  if (opts.date && opts.from) throw new Error("use either --date or --from/--to");
  if (opts.date && !isDay(opts.date)) throw new Error(`--date must be YYYY-MM-DD (got ${opts.date})`);
  if (opts.to && !opts.from) throw new Error("--to needs --from");
  await withDb(async (db, config) => {
    const source = sourceFromConfig(config, opts.source ?? config.PAPERS_SOURCE);
    const days = opts.date
      ? [opts.date]
      : opts.from
        ? dayRange(opts.from, opts.to ?? opts.from)
        : await defaultDays(source, config.DIGEST_TZ);
    let failures = 0;
    for (const [i, day] of days.entries()) {
      const r = await ingestDay(db, source, day);
      const progress = days.length > 1 ? `[${i + 1}/${days.length}] ` : "";
      console.log(
        `${progress}${day} from ${source.name}: fetched ${r.fetched}, new ${r.inserted}, updated ${r.updated}, skipped ${r.skipped.length}${r.error ? `, FAILED: ${r.error}` : ""}`,
      );
      for (const s of r.skipped) console.log(`  skipped: ${s.reason}`);
      if (r.error) failures++;
    }
    if (failures)
      throw new Error(
        `${failures} of ${days.length} day(s) failed (recorded in ingest_runs; the hourly retry will try again)`,
      );
  });
}

export function registerPaperCommands(program: Command): void {
  registerIngestCommand(program);
  registerTopicCommands(program);
}

function registerIngestCommand(program: Command): void {
  program
    .command("ingest")
    .description("fetch papers and store them (by arXiv id: re-running refreshes upvotes, never duplicates)")
    .option(
      "--date <YYYY-MM-DD>",
      "the featured day (default: today and yesterday in DIGEST_TZ, or every day of a bundled source)",
    )
    .option("--from <YYYY-MM-DD>", "first day of a range (with --to)")
    .option("--to <YYYY-MM-DD>", "last day of a range (default: --from)")
    .option("--source <source>", "huggingface, arxiv, sample or file:PATH (default: PAPERS_SOURCE)")
    .action(ingestCommand);
}

function registerTopicCommands(program: Command): void {
  const topics = program
    .command("topics")
    .description("list, add, edit and explain topics (weighted terms and a threshold)");
  topics
    .command("list")
    .description("every topic with its query, threshold and how many papers it holds")
    .action(async () => {
      await withDb(async (db) => {
        for (const t of await listTopics(db))
          console.log(`${t.slug}\t${t.name}\t${t.papers} papers\tquery: ${t.query}\tthreshold: ${t.threshold}`);
      });
    });
  topics
    .command("add <slug>")
    .description("add a topic and match recent papers to it")
    .requiredOption("--name <name>", "the name readers see")
    .requiredOption("--query <query>", QUERY_HELP)
    .option("--threshold <score>", "score a paper needs (default 3: one title mention of a weight-1 term)", threshold)
    .option("--description <text>", "one line for the subscribe form")
    .action(async (slug: string, opts: { name: string; query: string; description?: string; threshold?: number }) => {
      await withDb(async (db) => {
        const { topic, matched } = await addTopic(db, { slug, ...opts });
        console.log(`Added ${topic.slug} (${topic.name}): ${matched} recent papers matched.`);
      });
    });
  topics
    .command("edit <slug>")
    .description("change a topic's name, description, query or threshold and re-match recent papers")
    .option("--name <name>", "the name readers see")
    .option("--query <query>", QUERY_HELP)
    .option("--threshold <score>", "score a paper needs", threshold)
    .option("--description <text>", "one line for the subscribe form")
    .action(async (slug: string, opts: { name?: string; query?: string; description?: string; threshold?: number }) => {
      if (Object.values(opts).every((v) => v === undefined))
        throw new Error("nothing to change: give --name, --query, --threshold or --description");
      await withDb(async (db) => {
        const { topic } = await editTopic(db, slug, opts);
        console.log(`Updated ${topic.slug} (${topic.name}): ${topic.papers} papers now match.`);
      });
    });
  topics
    .command("explain <slug> <arxivId>")
    .description("why a stored paper does or does not belong to a topic: its score and the terms that counted")
    .action(async (slug: string, arxivId: string) => {
      await withDb(async (db) => {
        const r = await explainMatch(db, slug, arxivId);
        console.log(`${arxivId} "${r.title}"`);
        console.log(
          `${r.matches ? "belongs to" : "does not belong to"} ${slug}: score ${Math.round(r.score * 100) / 100}, threshold ${r.threshold}`,
        );
        for (const line of r.why) console.log(`  ${line}`);
        if (r.why.length === 0) console.log("  no term of the topic occurs in it");
      });
    });
}

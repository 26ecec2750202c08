/** `newsletter subscribers import|export`. */
import fs from "node:fs";
import { PassThrough } from "node:stream";
import { Command, Option } from "commander";
import { SingleBar, Presets } from "cli-progress";
import { loadConfig } from "../config";
import { newRequestId } from "../observability/request-id";
import { subscriberStatuses } from "../admin";
import type { SubscriberStatus } from "../generated/prisma/enums";
import { commandLogger, openDatabase, openQueues } from "./context";
import { importSubscribers, type ImportReport } from "./import-subscribers";
import { exportSubscribers } from "./export-subscribers";

/** How many rows not imported are printed; the --rejects file has them all. */
const PRINTED_PROBLEMS = 50;

function printReport(report: ImportReport, rejectsFile: string | undefined, print: (line: string) => void): void {
  const imported = report.importedActive + report.importedPending;
  print(
    `${report.dryRun ? "Dry run: would import" : "Imported"} ${imported} subscriber${imported === 1 ? "" : "s"} from ${report.file} (${report.rows} rows read)`,
  );
  print(
    `  ${report.importedActive} active (opted in), ${report.importedPending} pending${report.dryRun ? "" : ` (${report.confirmationsQueued} confirmation email${report.confirmationsQueued === 1 ? "" : "s"} queued)`}`,
  );
  print(`  ${report.existing} already stored (left unchanged)`);
  print(`  ${report.duplicates} duplicate${report.duplicates === 1 ? "" : "s"} within the file`);
  print(`  ${report.invalid} refused (invalid)`);
  if (report.ignoredColumns.length) print(`Ignored columns: ${report.ignoredColumns.join(", ")}`);
  printProblems(report, rejectsFile, print);
  if (rejectsFile) print(`Every row not imported is listed in ${rejectsFile}`);
}

/** The first rows not imported, and how many more the --rejects file has. */
function printProblems(report: ImportReport, rejectsFile: string | undefined, print: (line: string) => void): void {
  const problems = report.problems;
  if (!problems.length) return;
  print("Rows not imported:");
  for (const p of problems.slice(0, PRINTED_PROBLEMS))
    print(`  line ${p.line}: ${p.email ? `${p.email}: ` : ""}${p.reason}`);
  const more = report.existing + report.duplicates + report.invalid - Math.min(problems.length, PRINTED_PROBLEMS);
  if (more > 0) print(`  ... and ${more} more${rejectsFile ? "" : " (add --rejects FILE to get them all)"}`);
}

export function subscribersCommand(): Command {
  const subscribers = new Command("subscribers").description("import and export subscribers");
  registerImport(subscribers);
  registerExport(subscribers);
  return subscribers;
}

interface ImportCommandOptions {
  rejects?: string;
  dryRun?: boolean;
  progress?: boolean;
  json?: boolean;
}

function registerImport(subscribers: Command): void {
  subscribers
    .command("import")
    .description(
      "import subscribers from a CSV file (streamed; opted-in rows become active, the others get a confirmation email)",
    )
    .addHelpText(
      "after",
      `
The first line is a header. Columns (any order, others ignored):
  email         required
  topics        topic slugs separated by ';' or spaces (none: every topic); an unknown slug refuses the row
  frequency     daily (default) or weekly
  opted_in      yes/no, true/false, 1/0 (also accepted as 'consent'); yes: active, else pending + confirmation email
  opted_in_at   when they opted in (e.g. 2024-05-31); kept as the confirmation date
  status        rows whose status is unsubscribed, bounced or complained are refused
Addresses already stored are left exactly as they are. A later line with the same address is a duplicate.

Example:
  npx newsletter subscribers import people.csv --rejects rejected.csv`,
    )
    .argument("<file>", "the CSV file")
    .option("--rejects <file>", "write every row not imported (line, email, reason) to this CSV file")
    .option("--dry-run", "validate and count only: store nothing, send nothing")
    .option("--progress", "show a progress bar even when stderr is not a terminal")
    .option("--no-progress", "never show a progress bar")
    .option("--json", "print the report as JSON")
    .action(runImport);
}

/** On stderr: a bar when it is a terminal (or with --progress), once a second when it is not. */
function progressBar(show: boolean): SingleBar | undefined {
  if (!show) return undefined;
  return new SingleBar(
    {
      stream: process.stderr,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 1000,
      format:
        "Importing [{bar}] {percentage}% | {rows} rows | {imported} imported | {notImported} not imported | ETA {eta_formatted}",
    },
    Presets.shades_classic,
  );
}

async function runImport(file: string, opts: ImportCommandOptions): Promise<void> {
  const config = loadConfig();
  const log = commandLogger(config);
  const database = await openDatabase(config, log);
  let queues: Awaited<ReturnType<typeof openQueues>> | undefined;
  const bar = progressBar(opts.progress ?? Boolean(process.stderr.isTTY));
  try {
    queues = await openQueues(config, log);
    const size = fs.existsSync(file) ? fs.statSync(file).size : 0;
    bar?.start(Math.max(size, 1), 0, { rows: 0, imported: 0, notImported: 0 });
    const report = await importSubscribers(
      { db: database.db, emails: queues.queues.emails, requestId: newRequestId("cli") },
      {
        file,
        rejectsFile: opts.rejects,
        dryRun: opts.dryRun,
        onProgress: (bytes, r) =>
          bar?.update(bytes, {
            rows: r.rows,
            imported: r.importedActive + r.importedPending,
            notImported: r.existing + r.duplicates + r.invalid,
          }),
      },
    );
    bar?.stop();
    if (opts.json) console.log(JSON.stringify(report, null, 2));
    else printReport(report, opts.rejects, (line) => console.log(line));
  } finally {
    bar?.stop();
    await queues?.close();
    await database.close();
  }
}

function registerExport(subscribers: Command): void {
  subscribers
    .command("export")
    .description(
      "write subscribers as CSV (email, status, frequency, topics, opted_in, opted_in_at, created_at, confirmed_at, unsubscribed_at), readable by 'subscribers import'",
    )
    .option("--out <file>", "write to this file instead of stdout")
    .addOption(new Option("--status <status...>", "only these statuses").choices([...subscriberStatuses]))
    .action(async (opts: { out?: string; status?: SubscriberStatus[] }) => {
      const config = loadConfig();
      const log = commandLogger(config);
      const database = await openDatabase(config, log);
      try {
        // process.stdout must not be ended: it is written through a pass-through that ends on its own.
        const toStdout = new PassThrough();
        if (!opts.out) toStdout.pipe(process.stdout, { end: false });
        const count = await exportSubscribers(database.db, opts.out ? fs.createWriteStream(opts.out) : toStdout, {
          statuses: opts.status,
        });
        console.error(`Exported ${count} subscriber${count === 1 ? "" : "s"}${opts.out ? ` to ${opts.out}` : ""}`);
      } finally {
        await database.close();
      }
    });
}

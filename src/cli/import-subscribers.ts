/**
 * `subscribers import FILE.csv`: streams the file line by line, validates each row, and stores the
 * new people in batches.
 *
 * Choices (README, "Importing subscribers"):
 * - One line is one row: a line csv-parse cannot read (an unclosed quote...) is reported with its
 *   number and never swallows the lines after it. Fields with line breaks are not supported.
 * - The first occurrence of an address wins; later ones (compared in their canonical form, so
 *   without regard to case) are reported as duplicates of that line.
 * - Subscribers are created by the subscriptions feature's `importPeople`, through the same statement
 *   as the web form's (`insertNewSubscribers`: one per batch for subscribers, topics and consent
 *   entries), and their confirmations queued by its `enqueueConfirmations` (one round trip a batch).
 * - An address already stored is left exactly as it is, whatever the file says: never downgraded,
 *   never re-opted-in (someone who unsubscribed stays unsubscribed), its topics unchanged.
 * - opted_in yes: `active`, confirmed at opted_in_at (else now), consent log `import`/`cli`.
 *   Otherwise `pending`, consent log `subscribe`/`cli`, and a `confirmation` job on queue `emails`
 *   (its id names the subscriber, like every confirmation job's).
 * - Unknown topic slugs refuse the row (a typo should not silently subscribe someone to everything).
 */
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { finished } from "node:stream/promises";
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify";
import type { Queue } from "bullmq";
import type { Db } from "../db";
import { importPeople, type ImportedPerson } from "../subscriptions";
import { knownColumns, normalizeHeader, parseImportRow, type ImportRow } from "./import-row";

export interface ImportDeps {
  db: Db;
  /** Queue `emails`, where `confirmation` jobs go. */
  emails: Queue;
  /** Put in every queued job (`requestId`), so worker logs can be traced back to this run. */
  requestId: string;
}

export interface ImportOptions {
  file: string;
  /** Write every row not imported (line, email, reason) to this CSV. */
  rejectsFile?: string;
  /** Validate and count, store nothing, queue nothing. */
  dryRun?: boolean;
  batchSize?: number;
  /** Called after each batch and at the end, with the bytes read so far. */
  onProgress?: (bytesRead: number, report: ImportReport) => void;
}

export interface RowProblem {
  line: number;
  email: string;
  reason: string;
}

export interface ImportReport {
  file: string;
  /** Data rows read (the header and blank lines not counted). */
  rows: number;
  importedActive: number;
  importedPending: number;
  confirmationsQueued: number;
  /** Rows whose address is already stored: left unchanged. */
  existing: number;
  /** Rows whose address appeared earlier in the file. */
  duplicates: number;
  /** Rows refused: malformed line, invalid value, unknown topic. */
  invalid: number;
  /** Rows not imported (existing, duplicates and invalid), by line; the first 10,000 (the rejects file has all). */
  problems: RowProblem[];
  ignoredColumns: string[];
  dryRun: boolean;
}

export class ImportFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImportFileError";
  }
}

/** At most this many problems are kept in memory for the printed report; the rejects file gets all. */
const MAX_PROBLEMS_KEPT = 10_000;

export async function importSubscribers(deps: ImportDeps, opts: ImportOptions): Promise<ImportReport> {
  const batchSize = opts.batchSize ?? 500;
  const stat = await fs.promises.stat(opts.file).catch(() => undefined);
  if (!stat?.isFile()) throw new ImportFileError(`${opts.file}: no such file`);
  const rejects = openRejects(opts.rejectsFile);
  const run: ImportRun = {
    deps,
    opts,
    report: emptyReport(opts),
    topics: new Map((await deps.db.topic.findMany({ select: { id: true, slug: true } })).map((t) => [t.slug, t.id])),
    seen: new Map(),
    header: undefined,
    problem(p, kind) {
      this.report[kind] += 1;
      if (this.report.problems.length < MAX_PROBLEMS_KEPT) this.report.problems.push(p);
      rejects.write(p);
    },
  };
  const input = fs.createReadStream(opts.file);
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let lineNumber = 0;
  let batch: BatchRow[] = [];
  try {
    for await (const rawLine of lines) {
      lineNumber += 1;
      const row = readLine(run, lineNumber === 1 ? rawLine.replace(/^\uFEFF/, "") : rawLine, lineNumber);
      if (!row) continue;
      batch.push(row);
      if (batch.length < batchSize) continue;
      await storeBatch(run, batch);
      batch = [];
      opts.onProgress?.(input.bytesRead, run.report);
    }
    if (!run.header)
      throw new ImportFileError(`${opts.file} is empty: the first line must be a header with an "email" column`);
    await storeBatch(run, batch);
    run.report.problems.sort((a, b) => a.line - b.line);
    opts.onProgress?.(stat.size, run.report);
  } finally {
    lines.close();
    input.destroy();
    await rejects.close();
  }
  return run.report;
}

type ProblemKind = "existing" | "duplicates" | "invalid";
type BatchRow = { line: number; row: ImportRow };

/** One import as it goes: what it was given, what it found so far. */
interface ImportRun {
  deps: ImportDeps;
  opts: ImportOptions;
  report: ImportReport;
  /** Topic ids by slug. */
  topics: Map<string, number>;
  /** First line of each address in the file, by canonical address. */
  seen: Map<string, number>;
  /** The header's column names (normalised), once read. */
  header: string[] | undefined;
  /** Counts a row not imported, keeps it for the report and writes it to the rejects file. */
  problem(p: RowProblem, kind: ProblemKind): void;
}

function emptyReport(opts: ImportOptions): ImportReport {
  return {
    file: opts.file,
    rows: 0,
    importedActive: 0,
    importedPending: 0,
    confirmationsQueued: 0,
    existing: 0,
    duplicates: 0,
    invalid: 0,
    problems: [],
    ignoredColumns: [],
    dryRun: Boolean(opts.dryRun),
  };
}

/** The --rejects CSV (line, email, reason), or nothing written when no file was asked for. */
function openRejects(file: string | undefined) {
  const rejects = file ? stringify({ header: true, columns: ["line", "email", "reason"] }) : undefined;
  const done = rejects && file ? rejects.pipe(fs.createWriteStream(file)) : undefined;
  return {
    write: (p: RowProblem) => void rejects?.write(p),
    async close() {
      if (!rejects || !done) return;
      rejects.end();
      await finished(done);
    },
  };
}

/** One line of the file: the header, a blank line, a row refused (reported), or a row to store. */
function readLine(run: ImportRun, text: string, lineNumber: number): BatchRow | undefined {
  if (text.trim() === "") return undefined;
  let fields: string[];
  try {
    fields = parse(text, { relax_column_count: true })[0] ?? [];
  } catch (err) {
    if (!run.header)
      throw new ImportFileError(`line ${lineNumber}: the header cannot be read as CSV (${(err as Error).message})`);
    run.report.rows += 1;
    const reason = `not valid CSV: ${(err as Error).message.replace(/ at line \d+.*$/, "")}`;
    run.problem({ line: lineNumber, email: "", reason }, "invalid");
    return undefined;
  }
  if (!run.header) {
    run.header = readHeader(fields, lineNumber);
    run.report.ignoredColumns = run.header.filter((name) => !(knownColumns as readonly string[]).includes(name));
    return undefined;
  }
  run.report.rows += 1;
  return acceptRow(run, run.header, fields, lineNumber);
}

function readHeader(fields: string[], lineNumber: number): string[] {
  const header = fields.map(normalizeHeader);
  if (!header.includes("email"))
    throw new ImportFileError(
      `line ${lineNumber}: the header has no "email" column (found: ${header.join(", ") || "nothing"})`,
    );
  const twice = header.find((name, i) => header.indexOf(name) !== i);
  if (twice) throw new ImportFileError(`line ${lineNumber}: the header names "${twice}" twice`);
  return header;
}

/** A data row: valid, with known topics, and the first of its address in the file; else reported. */
function acceptRow(run: ImportRun, header: string[], fields: string[], line: number): BatchRow | undefined {
  const parsed = parseImportRow(header, fields);
  const rawEmail = (fields[header.indexOf("email")] ?? "").trim();
  if (!parsed.ok) return void run.problem({ line, email: rawEmail, reason: parsed.reason }, "invalid");
  const unknown = parsed.row.topics.filter((slug) => !run.topics.has(slug));
  if (unknown.length) {
    const reason = `unknown topic${unknown.length > 1 ? "s" : ""}: ${unknown.join(", ")}`;
    return void run.problem({ line, email: parsed.row.email, reason }, "invalid");
  }
  const first = run.seen.get(parsed.row.email);
  // Reported as written in the file, so the line is easy to find.
  if (first !== undefined)
    return void run.problem({ line, email: rawEmail, reason: `duplicate of line ${first}` }, "duplicates");
  run.seen.set(parsed.row.email, line);
  return { line, row: parsed.row };
}

/** Stores a batch: addresses already stored are reported and left alone, the others created in one statement. */
async function storeBatch(run: ImportRun, rows: BatchRow[]): Promise<void> {
  if (rows.length === 0) return;
  const { report } = run;
  const stored = await run.deps.db.subscriber.findMany({
    where: { email: { in: rows.map((r) => r.row.email) } },
    select: { email: true, status: true },
  });
  const storedStatus = new Map(stored.map((s) => [s.email, s.status]));
  const fresh = rows.filter((r) => {
    const status = storedStatus.get(r.row.email);
    if (status === undefined) return true;
    run.problem({ line: r.line, email: r.row.email, reason: `already stored (${status}): left unchanged` }, "existing");
    return false;
  });
  if (run.opts.dryRun) {
    for (const r of fresh) report[r.row.optedIn ? "importedActive" : "importedPending"] += 1;
    return;
  }
  // One statement for the whole batch. Someone may subscribe through the web while the import
  // runs: theirs wins (the address is then reported as stored meanwhile).
  const { created, confirmationsQueued } = await importPeople(
    { db: run.deps.db, emails: run.deps.emails, requestId: run.deps.requestId },
    fresh.map(({ line, row }) => importedPerson(run, line, row)),
  );
  const createdEmails = new Set(created.map((s) => s.email));
  for (const r of fresh)
    if (!createdEmails.has(r.row.email))
      run.problem(
        { line: r.line, email: r.row.email, reason: "already stored (subscribed meanwhile): left unchanged" },
        "existing",
      );
  const pending = created.filter((s) => s.status === "pending").length;
  report.importedActive += created.length - pending;
  report.importedPending += pending;
  report.confirmationsQueued += confirmationsQueued;
}

/** A row as the subscriptions feature imports it; the consent entry names the file and line. */
function importedPerson(run: ImportRun, line: number, row: ImportRow): ImportedPerson {
  return {
    email: row.email,
    topicIds: row.topics.map((slug) => run.topics.get(slug)!),
    frequency: row.frequency,
    optedIn: row.optedIn,
    optedInAt: row.optedInAt,
    detail: {
      file: path.basename(run.opts.file),
      line,
      optedIn: row.optedIn,
      ...(row.optedInAt ? { optedInAt: row.optedInAt.toISOString() } : {}),
    },
  };
}

/**
 * One line of a subscriber CSV, validated: what `subscribers import` accepts and why it refuses.
 * Pure (no database): the importer (./import-subscribers.ts) checks topics and duplicates.
 */
import { z } from "zod";
import { normalizeEmail } from "../subscriptions";
import type { Frequency } from "../generated/prisma/enums";

/** One accepted row, as the importer stores it. */
export interface ImportRow {
  email: string;
  topics: string[];
  frequency: Frequency;
  optedIn: boolean;
  optedInAt: Date | undefined;
}

/** Header names are compared trimmed, lower-case, with spaces and dashes as underscores. */
export const normalizeHeader = (name: string) =>
  name
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, "_");

/** Columns the importer reads; any other column is ignored (and named once in the report). */
export const knownColumns = ["email", "topics", "frequency", "opted_in", "consent", "opted_in_at", "status"] as const;

const yes = /^(true|yes|y|1)$/i;
const no = /^(false|no|n|0)?$/i;
/** Statuses of people who left: such rows are never imported (we would mail someone who said no). */
const leftStatuses = new Set(["unsubscribed", "bounced", "complained"]);

const field = z.string().trim().optional().default("");

const rawRow = z.object({
  email: field,
  topics: field,
  frequency: field,
  opted_in: field,
  consent: field,
  opted_in_at: field,
  status: field,
});
type RawRow = z.infer<typeof rawRow>;

/** One column read: its value, or why the row is refused (a sentence for the report). */
type Read<T> = { value: T } | { problem: string };
const problem = (text: string): { problem: string } => ({ problem: text });

function readEmail(row: RawRow): Read<string> {
  if (row.email === "") return problem("email is empty");
  const email = normalizeEmail(row.email);
  return email.ok ? { value: email.email } : problem(`email: ${email.reason}`);
}

function readFrequency(row: RawRow): Read<Frequency> {
  const frequency = row.frequency.toLowerCase() || "daily";
  if (frequency !== "daily" && frequency !== "weekly")
    return problem(`frequency must be daily or weekly (got "${row.frequency}")`);
  return { value: frequency };
}

function readConsent(row: RawRow): Read<Pick<ImportRow, "optedIn" | "optedInAt">> {
  const consentText = row.opted_in || row.consent;
  if (!yes.test(consentText) && !no.test(consentText))
    return problem(`opted_in must be yes/no, true/false or 1/0 (got "${consentText}")`);
  const optedIn = yes.test(consentText);
  if (!row.opted_in_at) return { value: { optedIn, optedInAt: undefined } };
  if (!optedIn) return problem("opted_in_at is given but opted_in is not yes: say yes if the person opted in");
  const at = /^\d{4}-\d{2}-\d{2}/.test(row.opted_in_at) ? new Date(row.opted_in_at) : new Date(NaN);
  if (Number.isNaN(at.getTime()))
    return problem(`opted_in_at is not a date such as 2024-05-31 or 2024-05-31T08:00:00Z (got "${row.opted_in_at}")`);
  if (at.getTime() > Date.now() + 86_400_000) return problem("opted_in_at is in the future");
  return { value: { optedIn, optedInAt: at } };
}

function readTopics(row: RawRow): Read<string[]> {
  const topics = [
    ...new Set(
      row.topics
        .split(/[;\s,]+/)
        .map((t) => t.trim().toLowerCase())
        .filter(Boolean),
    ),
  ];
  const badSlug = topics.find((t) => !/^[a-z0-9][a-z0-9_-]{0,63}$/.test(t));
  return badSlug ? problem(`"${badSlug}" is not a topic slug`) : { value: topics };
}

export const importRowSchema = rawRow.transform((row, ctx): ImportRow => {
  const fail = (message: string) => {
    ctx.addIssue({ code: "custom", message });
    return z.NEVER;
  };
  const email = readEmail(row);
  if ("problem" in email) return fail(email.problem);
  if (row.status && leftStatuses.has(row.status.toLowerCase()))
    return fail(`status is ${row.status.toLowerCase()}: people who left are not imported`);
  const frequency = readFrequency(row);
  if ("problem" in frequency) return fail(frequency.problem);
  const consent = readConsent(row);
  if ("problem" in consent) return fail(consent.problem);
  const topics = readTopics(row);
  if ("problem" in topics) return fail(topics.problem);
  return { email: email.value, topics: topics.value, frequency: frequency.value, ...consent.value };
});

/** Validates the fields of one line against the header; the reason reads as a sentence in the report. */
export function parseImportRow(
  header: string[],
  fields: string[],
): { ok: true; row: ImportRow } | { ok: false; reason: string } {
  if (fields.length > header.length)
    return { ok: false, reason: `has ${fields.length} fields but the header has ${header.length}` };
  const record: Record<string, string> = {};
  header.forEach((name, i) => {
    if ((knownColumns as readonly string[]).includes(name)) record[name] = fields[i] ?? "";
  });
  const parsed = importRowSchema.safeParse(record);
  if (parsed.success) return { ok: true, row: parsed.data };
  return { ok: false, reason: parsed.error.issues.map((i) => i.message).join("; ") };
}

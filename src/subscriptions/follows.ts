/**
 * A reader's own interests besides the fixed topics (arxiv-sanity style): keywords or phrases
 * ("diffusion distillation") and authors ("Yann LeCun"). Typed into the preferences page one a
 * line, parsed here into a bounded, clean list, and stored one row each. What a follow matches is
 * decided in src/digests/follow-match.ts.
 */
import type { DbClient } from "./consent-log";
import type { FollowKind } from "../generated/prisma/enums";
import { InvalidInput } from "./errors";

export interface Follow {
  kind: FollowKind;
  value: string;
}

/** At most this many follows per reader (keywords and authors together). */
export const MAX_FOLLOWS = 20;
/** Each follow is 2 to this many characters. */
export const MAX_FOLLOW_LENGTH = 60;
// Letters of any script, digits, spaces and the punctuation names and phrases use. Not "|" or line
// breaks: the assembler joins follows into a selection key with them.
const ALLOWED = /^[\p{L}\p{M}\p{N} .'’\-+&/()]+$/u;

const FIELD: Record<FollowKind, string> = { keyword: "keywords", author: "authors" };
const LABEL: Record<FollowKind, string> = { keyword: "keyword", author: "author" };

/**
 * "  Diffusion   Distillation " → "diffusion distillation"; authors keep their capitals, and
 * "LeCun, Yann" reads "Yann LeCun".
 */
export function normaliseFollow(kind: FollowKind, raw: string): string {
  const value = raw.normalize("NFC").replace(/\s+/g, " ").trim();
  if (kind === "keyword") return value.toLowerCase();
  const inverted = /^([^,]+),\s*([^,]+)$/.exec(value);
  return inverted ? `${inverted[2]!.trim()} ${inverted[1]!.trim()}` : value;
}

/**
 * The follows of a form: one a line (commas separate keywords too, not authors, whose names may
 * be written "LeCun, Yann"). Duplicates (ignoring case) collapse; anything too long, too short,
 * with odd characters, or over the count is refused with a message naming it.
 */
export function parseFollows(input: { keywords?: string; authors?: string }): Follow[] {
  const follows: Follow[] = [];
  const seen = new Set<string>();
  for (const kind of ["keyword", "author"] as const) {
    for (const value of followValues(kind, input[FIELD[kind] as "keywords" | "authors"] ?? "")) {
      const key = `${kind}:${value.toLowerCase()}`;
      if (seen.has(key)) continue;
      seen.add(key);
      follows.push({ kind, value });
    }
  }
  if (follows.length > MAX_FOLLOWS)
    throw new InvalidInput(
      `You can follow at most ${MAX_FOLLOWS} keywords and authors together (you gave ${follows.length}).`,
      "keywords",
    );
  return follows;
}

/** One text area's follows, normalised and checked one by one (blank lines skipped). */
function followValues(kind: FollowKind, text: string): string[] {
  if (text.length > MAX_FOLLOWS * (MAX_FOLLOW_LENGTH + 2))
    throw new InvalidInput(`Too much text in ${FIELD[kind]}: at most ${MAX_FOLLOWS} lines.`, FIELD[kind]);
  const pieces = text.split(kind === "keyword" ? /[\n,;]/ : /\n/);
  return pieces.map((piece) => normaliseFollow(kind, piece)).filter((value) => value && checkFollow(kind, value));
}

/** A follow the matcher can use: its length and characters; else InvalidInput naming it. */
function checkFollow(kind: FollowKind, value: string): true {
  if ([...value].length < 2 || [...value].length > MAX_FOLLOW_LENGTH)
    throw new InvalidInput(
      `Each ${LABEL[kind]} is 2 to ${MAX_FOLLOW_LENGTH} characters: “${value.slice(0, MAX_FOLLOW_LENGTH)}${value.length > MAX_FOLLOW_LENGTH ? "…" : ""}” is not.`,
      FIELD[kind],
    );
  if (!ALLOWED.test(value) || !/[\p{L}\p{N}]/u.test(value))
    throw new InvalidInput(
      `“${value}” has characters we cannot match: use letters, digits, spaces, hyphens and apostrophes.`,
      FIELD[kind],
    );
  return true;
}

/** The reader's follows, keywords first, each kind in the order they were added. */
export async function currentFollows(db: DbClient, subscriberId: string): Promise<Follow[]> {
  const rows = await db.subscriberFollow.findMany({
    where: { subscriberId },
    orderBy: [{ kind: "asc" }, { createdAt: "asc" }, { value: "asc" }],
    select: { kind: true, value: true },
  });
  return rows;
}

const sameFollows = (a: Follow[], b: Follow[]) => {
  const key = (fs: Follow[]) =>
    fs
      .map((f) => `${f.kind}:${f.value}`)
      .sort()
      .join("\n");
  return key(a) === key(b);
};

/** Replaces the reader's follows; false when nothing changed. */
export async function replaceFollows(db: DbClient, subscriberId: string, follows: Follow[]): Promise<boolean> {
  const before = await currentFollows(db, subscriberId);
  if (sameFollows(before, follows)) return false;
  await db.subscriberFollow.deleteMany({ where: { subscriberId } });
  if (follows.length) {
    const start = Date.now();
    // Distinct created_at keep the order the reader typed them in.
    await db.subscriberFollow.createMany({
      data: follows.map((f, i) => ({ subscriberId, kind: f.kind, value: f.value, createdAt: new Date(start + i) })),
    });
  }
  return true;
}

/** The text areas' contents for a list of follows. */
export function followsText(follows: Follow[]): { keywords: string; authors: string } {
  const of = (kind: FollowKind) =>
    follows
      .filter((f) => f.kind === kind)
      .map((f) => f.value)
      .join("\n");
  return { keywords: of("keyword"), authors: of("author") };
}

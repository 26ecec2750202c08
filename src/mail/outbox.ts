import fs from "node:fs/promises";
import path from "node:path";
import { simpleParser } from "mailparser";

export interface OutboxEntry {
  file: string;
  subject: string;
  to: string;
  date: string;
}

const safeName = /^[\w.-]+\.eml$/;

/** The newest `limit` emails captured in the outbox. */
export async function listOutbox(dir: string, limit = 200): Promise<OutboxEntry[]> {
  const files = (await fs.readdir(dir).catch(() => [] as string[]))
    .filter((f) => safeName.test(f))
    .sort()
    .reverse()
    .slice(0, limit);
  return Promise.all(
    files.map(async (file) => {
      const parsed = await simpleParser(await fs.readFile(path.join(dir, file)));
      const to = Array.isArray(parsed.to) ? parsed.to.map((a) => a.text).join(", ") : (parsed.to?.text ?? "");
      return { file, subject: parsed.subject ?? "(no subject)", to, date: parsed.date?.toISOString() ?? "" };
    }),
  );
}

export async function readOutboxEmail(dir: string, file: string) {
  if (!safeName.test(file)) return undefined;
  const raw = await fs.readFile(path.join(dir, file)).catch(() => undefined);
  if (!raw) return undefined;
  const parsed = await simpleParser(raw);
  return { file, raw: raw.toString("utf8"), parsed };
}

/**
 * `file:PATH`: a JSON file in the Hugging Face daily_papers shape (an array of entries), each
 * entry featured on its `paper.submittedOnDailyAt` day (older shapes: the outer `publishedAt`).
 * Useful for replaying a saved answer.
 */
import fs from "node:fs/promises";
import { excerpt } from "../normalize";
import { SourceError, type PaperSource } from "../types";
import { dedupeById, featuredDayOf, parseDailyPapers, type ParseOptions } from "./huggingface";

export interface JsonFileSourceOptions extends Omit<ParseOptions, "featuredOn"> {
  name?: string;
}

export function jsonFileSource(filePath: string, opts: JsonFileSourceOptions = {}): PaperSource {
  let cache: Promise<unknown[]> | undefined;
  const load = () =>
    (cache ??= fs
      .readFile(filePath, "utf8")
      .catch((err) => {
        throw new SourceError(`cannot read paper file ${filePath}: ${(err as Error).message}`, { cause: err });
      })
      .then((text): unknown[] => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch (err) {
          throw new SourceError(`paper file ${filePath} is not valid JSON: ${(err as Error).message}`, { cause: err });
        }
        if (!Array.isArray(json))
          throw new SourceError(`paper file ${filePath} must hold an array of daily papers (the Hugging Face shape)`);
        return json as unknown[];
      })
      .catch((err) => {
        cache = undefined; // a fixed file is read again next time
        throw err;
      }));
  return {
    name: opts.name ?? `file:${filePath}`,
    async fetchDay(day) {
      const all = await load();
      const featured = (e: unknown) => featuredDayOf(e);
      const { papers, skipped } = parseDailyPapers(
        all.filter((e) => featured(e) === day),
        opts,
      );
      // An entry without a featured day belongs to no day: report it with every day read, not silently drop it.
      for (const e of all)
        if (featured(e) === null)
          skipped.push({ reason: "entry without a featured day (submittedOnDailyAt or publishedAt)", raw: excerpt(e) });
      return { papers: dedupeById(papers), skipped };
    },
    async availableDays() {
      const days = new Set((await load()).map((e) => featuredDayOf(e)).filter((d): d is string => d !== null));
      return [...days].sort();
    },
  };
}

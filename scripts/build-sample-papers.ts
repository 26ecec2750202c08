/**
 * Builds src/papers/sources/sample-papers.json (the `sample` paper source) from the seed page
 * src/papers/sources/sample-seed.txt: `npx tsx scripts/build-sample-papers.ts`.
 *
 * The seed is a Daily Papers page as text: per paper a title, an abstract, "• N authors", "·",
 * and "Mon D[, YYYY][ UPVOTES]" (the arXiv date; no year means the page's year, no number means
 * no upvotes). It shows no arXiv ids and no author names, so the papers get `sample-NN` ids and
 * numbered author placeholders, and are spread over four weekdays ending on the page's day.
 */
import fs from "node:fs";
import path from "node:path";

const dir = path.resolve(__dirname, "..", "src", "papers", "sources");
/** The page is dated "Dec 10"; it lists May 2025 papers without a year, so it is from 2025. */
const PAGE_YEAR = 2025;
/** Newest first: the page's own day, then the three weekdays before it (skipping the weekend). */
const FEATURED_DAYS = ["2025-12-10", "2025-12-09", "2025-12-08", "2025-12-05"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

export interface SeedPaper {
  title: string;
  abstract: string;
  authorCount: number;
  arxivDate: string;
  upvotes: number;
}

export function parseSeed(text: string): SeedPaper[] {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  const papers: SeedPaper[] = [];
  lines.forEach((line, i) => {
    const authors = /^•\s*(\d+)\s+authors?$/.exec(line);
    if (!authors) return;
    const dateLine = lines[i + 2] ?? "";
    const m = /^([A-Z][a-z]{2}) (\d{1,2})(?:, (\d{4}))?(?: (\d+))?$/.exec(dateLine);
    if (!m || lines[i + 1] !== "·") throw new Error(`unexpected seed layout near "${line}" / "${dateLine}"`);
    const month = MONTHS.indexOf(m[1]!) + 1;
    if (month === 0) throw new Error(`unknown month in "${dateLine}"`);
    const year = m[3] ? Number(m[3]) : PAGE_YEAR;
    papers.push({
      title: lines[i - 2]!,
      abstract: lines[i - 1]!,
      authorCount: Number(authors[1]),
      arxivDate: `${year}-${String(month).padStart(2, "0")}-${m[2]!.padStart(2, "0")}`,
      upvotes: m[4] ? Number(m[4]) : 0,
    });
  });
  return papers;
}

export function toDailyPapers(seed: SeedPaper[]) {
  const perDay = Math.ceil(seed.length / FEATURED_DAYS.length);
  return seed.map((p, i) => {
    const id = `sample-${String(i + 1).padStart(2, "0")}`;
    const featured = FEATURED_DAYS[Math.min(FEATURED_DAYS.length - 1, Math.floor(i / perDay))]!;
    return {
      paper: {
        id,
        title: p.title,
        summary: p.abstract,
        authors: Array.from({ length: p.authorCount }, (_, n) => ({ name: `Author ${n + 1}` })),
        publishedAt: `${p.arxivDate}T00:00:00.000Z`,
        upvotes: p.upvotes,
      },
      publishedAt: `${featured}T08:00:00.000Z`,
      title: p.title,
      summary: p.abstract,
      numComments: 0,
    };
  });
}

if (require.main === module) {
  const seed = parseSeed(fs.readFileSync(path.join(dir, "sample-seed.txt"), "utf8"));
  if (seed.length !== 32) throw new Error(`expected the seed's 32 papers, parsed ${seed.length}`);
  fs.writeFileSync(path.join(dir, "sample-papers.json"), `${JSON.stringify(toDailyPapers(seed), null, 1)}\n`);
  console.log(`wrote ${seed.length} sample papers over ${FEATURED_DAYS.length} days`);
}

import fs from "node:fs";
import path from "node:path";
import { parseRules, topicsOf, type PaperText, type RuledTopic } from "../../src/papers/topic-rules";

/** The labelled set (tests/fixtures/topics/labelled-papers.json) with the seed papers' text filled in. */
export interface LabelledPaper extends PaperText {
  name: string;
  topics: string[];
  reason: string;
}

export function loadLabelledSet(): LabelledPaper[] {
  const root = path.join(__dirname, "..", "..");
  const sample = JSON.parse(fs.readFileSync(path.join(root, "src/papers/sources/sample-papers.json"), "utf8")) as {
    paper: { id: string; title: string; summary: string };
  }[];
  const file = JSON.parse(fs.readFileSync(path.join(root, "tests/fixtures/topics/labelled-papers.json"), "utf8")) as {
    papers: {
      ref?: string;
      id?: string | null;
      title?: string;
      abstract?: string;
      keywords?: string[];
      categories?: string[];
      topics: string[];
      reason: string;
    }[];
  };
  return file.papers.map((p) => {
    const seed = p.ref ? sample.find((s) => s.paper.id === p.ref) : undefined;
    if (p.ref && !seed) throw new Error(`labelled set: no sample paper ${p.ref}`);
    return {
      name: p.ref ?? p.id ?? p.title!,
      title: seed?.paper.title ?? p.title!,
      abstract: seed?.paper.summary ?? p.abstract!,
      keywords: p.keywords ?? [],
      categories: p.categories ?? [],
      topics: p.topics,
      reason: p.reason,
    };
  });
}

export interface TopicFigures {
  slug: string;
  wanted: number;
  matched: number;
  truePositives: number;
  precision: number;
  recall: number;
  falsePositives: string[];
  falseNegatives: string[];
}

/** Precision and recall of each topic's rules on the labelled set, and over all topics (micro). */
export function evaluate(
  topics: { slug: string; query: string; threshold: number }[],
  papers = loadLabelledSet(),
): {
  topics: TopicFigures[];
  overall: { precision: number; recall: number; truePositives: number; matched: number; wanted: number };
} {
  const ruled: (RuledTopic & { slug: string })[] = topics.map((t, i) => ({
    id: i,
    slug: t.slug,
    rules: parseRules(t.query),
    threshold: t.threshold,
  }));
  const figures: TopicFigures[] = ruled.map((t) => ({
    slug: t.slug,
    wanted: 0,
    matched: 0,
    truePositives: 0,
    precision: 1,
    recall: 1,
    falsePositives: [],
    falseNegatives: [],
  }));
  for (const paper of papers) {
    const got = new Set(topicsOf(paper, ruled));
    for (const t of ruled) {
      const f = figures[t.id]!;
      const wanted = paper.topics.includes(t.slug);
      const matched = got.has(t.id);
      if (wanted) f.wanted++;
      if (matched) f.matched++;
      if (wanted && matched) f.truePositives++;
      if (matched && !wanted) f.falsePositives.push(paper.name);
      if (wanted && !matched) f.falseNegatives.push(paper.name);
    }
  }
  for (const f of figures) {
    f.precision = f.matched ? f.truePositives / f.matched : 1;
    f.recall = f.wanted ? f.truePositives / f.wanted : 1;
  }
  const sum = (k: "truePositives" | "matched" | "wanted") => figures.reduce((n, f) => n + f[k], 0);
  const tp = sum("truePositives");
  return {
    topics: figures,
    overall: {
      precision: sum("matched") ? tp / sum("matched") : 1,
      recall: sum("wanted") ? tp / sum("wanted") : 1,
      truePositives: tp,
      matched: sum("matched"),
      wanted: sum("wanted"),
    },
  };
}

/** The figures as a table for the test output and the README. */
export function figuresTable(result: ReturnType<typeof evaluate>): string {
  const pct = (x: number) => x.toFixed(2);
  const rows = result.topics.map(
    (f) => `| ${f.slug} | ${f.wanted} | ${f.matched} | ${pct(f.precision)} | ${pct(f.recall)} |`,
  );
  return [
    "| topic | wanted | matched | precision | recall |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...rows,
    `| **all topics** | ${result.overall.wanted} | ${result.overall.matched} | ${pct(result.overall.precision)} | ${pct(result.overall.recall)} |`,
  ].join("\n");
}

/**
 * Topic matching a reader can trust. A topic is a list of weighted terms, scored on the fields of
 * a paper where a term means most (title above Hugging Face's keywords above the abstract), plus
 * arXiv categories, and a paper belongs to the topic when its score reaches the topic's threshold.
 * One mention of "image" deep in an abstract no longer makes a vision paper; "reinforcement
 * learning" in the title does make an RL paper. Pure functions: the labelled set in
 * tests/fixtures/topics/ measures them (precision and recall per topic), and the README says how
 * an operator tunes a topic.
 *
 * The rule language (the topic's `query`), terms separated by spaces, commas, new lines or OR:
 *   word            the word, or its plural (robot: robot, robots; not robotic)
 *   word*           any word starting so (robot*: robotic, robotics)
 *   "a phrase"      the words in this order (each word as above; hyphens count as spaces)
 *   cat:cs.RO       the arXiv category
 *   term^2          a weight (default 1); -term subtracts it (e.g. -"swarm")
 * Old full-text queries (`"language model" OR LLM OR LLMs`) read the same way.
 */

export interface Term {
  /** Lower-case words; a word ending in * matches any word with that start. */
  words: string[];
  /** An arXiv category instead of words. */
  category?: string;
  weight: number;
}

export interface TopicRules {
  terms: Term[];
}

/** How much one term counts in each field (times its weight). */
export const FIELD_WEIGHTS = {
  /** Present in the title. */
  title: 3,
  /** Present in one of Hugging Face's ai_keywords. */
  keywords: 2,
  /** Each mention in the abstract, up to `abstractMentions`. */
  abstract: 1,
  abstractMentions: 2,
  /** The paper's primary arXiv category; any other of its categories counts `category` / 2. */
  category: 2,
} as const;

/** The default threshold: one title mention of a weight-1 term, or several abstract mentions. */
export const DEFAULT_THRESHOLD = 3;

/** Words that say nothing about a subject on their own: a term made only of them is ignored. */
const STOP_WORDS = new Set(
  "a an and are as at be by for from in into is it its of on or that the their this to was we with".split(" "),
);

const TOKEN = /-?"[^"]*"(?:\^-?\d+(?:\.\d+)?)?|[^\s,"]+/g;

/** The sign, weight and text of one token: `-"a phrase"^2` is -1, 2, `a phrase`. */
function splitToken(raw: string): { sign: number; weight: number; text: string } {
  let text = raw;
  let sign = 1;
  if (text.startsWith("-") && text.length > 1) {
    sign = -1;
    text = text.slice(1);
  }
  let weight = 1;
  const w = /\^(-?\d+(?:\.\d+)?)$/.exec(text);
  if (w) {
    weight = Number(w[1]);
    text = text.slice(0, w.index);
  }
  if (text.startsWith('"')) text = text.slice(1, -1);
  return { sign, weight, text };
}

/** One token of a query as a term; undefined for one that says nothing (stop words alone). */
function parseTerm(raw: string): Term | undefined {
  const { sign, weight, text } = splitToken(raw);
  if (text.toLowerCase().startsWith("cat:")) {
    const category = text.slice(4);
    if (!/^[a-z-]+(?:\.[A-Za-z-]+)?$/.test(category)) throw new Error(`"${raw}": not an arXiv category (cat:cs.RO)`);
    return { words: [], category, weight: sign * weight };
  }
  const words = normalise(text).split(" ").filter(Boolean);
  if (words.length === 0 || words.every((w) => STOP_WORDS.has(w))) return undefined;
  return { words, weight: sign * weight };
}

/** Parses a topic's query; throws with a reason the operator can act on. */
export function parseRules(query: string): TopicRules {
  const terms: Term[] = [];
  for (const raw of query.match(TOKEN) ?? []) {
    if (raw === "OR" || raw === "|") continue;
    const term = parseTerm(raw);
    if (term) terms.push(term);
  }
  if (!terms.some((t) => t.weight > 0))
    throw new Error(
      "no searchable words: a topic needs at least one term with a positive weight (stop words alone do not count)",
    );
  return { terms };
}

/** Lower case, hyphens and punctuation to spaces (so "multi-modal" is "multi modal"); * kept. */
export function normalise(text: string): string {
  return text
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^a-z0-9*+.#]+/g, " ")
    .replace(/(?<![a-z0-9])\.|\.(?![a-z0-9])/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

const wordMatches = (pattern: string, word: string) =>
  pattern.endsWith("*")
    ? word.startsWith(pattern.slice(0, -1))
    : word === pattern || word === `${pattern}s` || word === `${pattern}es`;

/** How many times the words occur, in order, in the token list. */
function occurrences(words: string[], tokens: string[]): number {
  let n = 0;
  outer: for (let i = 0; i + words.length <= tokens.length; i++) {
    for (let j = 0; j < words.length; j++) if (!wordMatches(words[j]!, tokens[i + j]!)) continue outer;
    n++;
  }
  return n;
}

export interface PaperText {
  title: string;
  abstract: string;
  keywords?: string[];
  categories?: string[];
}

export interface Scored {
  score: number;
  /** The terms that counted, e.g. ['"reinforcement learning" in title (+3)'] — shown when tuning. */
  why: string[];
}

/** A paper's score for one topic, with what made it. */
export function scorePaper(rules: TopicRules, paper: PaperText, tokens = tokenise(paper)): Scored {
  let score = 0;
  const why: string[] = [];
  const add = (points: number, label: string) => {
    if (points === 0) return;
    score += points;
    why.push(`${label} (${points > 0 ? "+" : ""}${Math.round(points * 100) / 100})`);
  };
  for (const term of rules.terms) {
    if (term.category) {
      const [primary, ...others] = paper.categories ?? [];
      if (primary === term.category) add(term.weight * FIELD_WEIGHTS.category, `cat:${term.category} primary`);
      else if (others.includes(term.category)) add((term.weight * FIELD_WEIGHTS.category) / 2, `cat:${term.category}`);
      continue;
    }
    const label = term.words.length > 1 ? `"${term.words.join(" ")}"` : term.words[0]!;
    if (occurrences(term.words, tokens.title) > 0) add(term.weight * FIELD_WEIGHTS.title, `${label} in title`);
    if (tokens.keywords.some((k) => occurrences(term.words, k) > 0))
      add(term.weight * FIELD_WEIGHTS.keywords, `${label} in keywords`);
    const inAbstract = Math.min(occurrences(term.words, tokens.abstract), FIELD_WEIGHTS.abstractMentions);
    if (inAbstract) add(term.weight * FIELD_WEIGHTS.abstract * inAbstract, `${label} ×${inAbstract} in abstract`);
  }
  return { score, why };
}

export interface Tokens {
  title: string[];
  abstract: string[];
  keywords: string[][];
}

export function tokenise(paper: PaperText): Tokens {
  const split = (s: string) => normalise(s).split(" ").filter(Boolean);
  return {
    title: split(paper.title),
    abstract: split(paper.abstract),
    keywords: (paper.keywords ?? []).map(split),
  };
}

export interface RuledTopic {
  id: number;
  rules: TopicRules;
  threshold: number;
}

/** The topics (ids) a paper belongs to. */
export function topicsOf(paper: PaperText, topics: RuledTopic[]): number[] {
  const tokens = tokenise(paper);
  return topics.filter((t) => scorePaper(t.rules, paper, tokens).score >= t.threshold).map((t) => t.id);
}

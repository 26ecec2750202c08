/**
 * Topics: named lists of weighted terms (see topic-rules.ts for the language) and a threshold.
 * A paper belongs to every topic whose score it reaches, on its title, Hugging Face keywords,
 * abstract and arXiv categories. Matching runs here in TypeScript for the papers of an ingest
 * and, when a topic is added or edited, for the recent papers; the result is stored in
 * paper_topics, which everything else reads.
 */
import { Prisma, type Db } from "../db";
import { DEFAULT_THRESHOLD, parseRules, scorePaper, topicsOf, type RuledTopic } from "./topic-rules";
import { AppError } from "../errors";

export interface TopicInput {
  slug: string;
  name: string;
  description?: string;
  query: string;
  /** Score a paper needs (default 3: one title mention of a weight-1 term). */
  threshold?: number;
}

/**
 * The default set, tuned on the labelled set in tests/fixtures/topics/ (figures in the README).
 * Seeded once; operators' edits win. Phrases over single words, so "optimal" is not
 * "optimisation" and a swarm named as an application is not robotics.
 */
export const DEFAULT_TOPICS: (TopicInput & { threshold: number })[] = [
  {
    slug: "language-models",
    name: "Language models",
    description: "LLMs, in-context learning, alignment",
    query:
      '"language model"^1.5, LLM^1.5, "in-context learning", RLHF, "instruction tuning", "chain of thought", GPT*, tokeniz*, prompt*^0.5, "reasoning model"',
    threshold: 3,
  },
  {
    slug: "diffusion-generative",
    name: "Diffusion and generative models",
    description: "Diffusion, score matching, image synthesis, GANs",
    query:
      'diffusion^1.5, "score matching", "score-based", "generative model", GAN, "image synthesis", denois*^0.5, "stable diffusion", "flow matching"',
    threshold: 3,
  },
  {
    slug: "reinforcement-learning",
    name: "Reinforcement learning",
    description: "Policies, rewards, agents, offline RL",
    query:
      '"reinforcement learning"^1.5, RL^1.5, MARL, "policy gradient", "actor critic", "q learning", reward^0.5, "offline rl", MDP, "policy optimization", "model based agent", "model based rl", "model based reinforcement", exploration',
    threshold: 3,
  },
  {
    slug: "computer-vision",
    name: "Computer vision",
    description: "Images, video, segmentation, 3D",
    query:
      '"computer vision", segmentation, "image segmentation"^1.5, "semantic segmentation"^1.5, reconstruction, "3d reconstruction", mesh, "point cloud", depth, monocular, slam, "object detection", image^0.5, images^0.5, video^0.5, "gaussian splatting", nerf, "image classification", clip^1.5, photogrammetry, skeleton*, isosurface',
    threshold: 3,
  },
  {
    slug: "optimization-theory",
    name: "Optimisation and learning theory",
    description: "Gradient methods, convergence, generalisation bounds",
    query:
      '"gradient descent"^1.5, convergence, "generalization error", "neural tangent kernel", ntk, bilevel, "bi level optimization", "learning theory", "step size", convex, "sample complexity", optimization^0.5, "global minim*", -"in context learning"',
    threshold: 3,
  },
  {
    slug: "continual-learning",
    name: "Continual learning",
    description: "Catastrophic forgetting, lifelong and incremental learning",
    query:
      '"continual learning"^1.5, "catastrophic forgetting", "lifelong learning", "incremental learning", "class incremental"',
    threshold: 3,
  },
  {
    slug: "neural-architecture-search",
    name: "Neural architecture search",
    description: "NAS, DARTS, supernets",
    query: '"architecture search"^1.5, NAS, DARTS, supernet, "super network"',
    threshold: 3,
  },
  {
    slug: "multimodal",
    name: "Multimodal",
    description: "Vision-language and other multi-modal models",
    query:
      'multimodal^1.5, "multi modal"^1.5, "vision language"^1.5, "text to image", VLM, MLLM, LMM, "image and text"',
    threshold: 3,
  },
  {
    slug: "robotics",
    name: "Robotics",
    description: "Robots, manipulation, locomotion, embodied agents",
    query:
      'robot^1.5, robotic*^1.5, manipulation, locomotion^0.5, embodi*, grasp*, "sim to real", gripper*, ROS, "imitation learning", slam, -swarm*',
    threshold: 3.5,
  },
];

/** The defaults of earlier versions (full-text queries): a topic still holding one is upgraded. */
export const EARLIER_DEFAULT_QUERIES: Record<string, string[]> = {
  "language-models": ['"language model" OR LLM OR LLMs OR "in-context learning" OR RLHF OR "instruction tuning"'],
  "diffusion-generative": [
    'diffusion OR "score matching" OR "generative model" OR "generative models" OR GAN OR GANs OR "image synthesis"',
  ],
  "reinforcement-learning": [
    '"reinforcement learning" OR RL OR MARL OR "policy gradient" OR "actor-critic" OR "Q-learning" OR "reward function"',
  ],
  "computer-vision": [
    '"computer vision" OR image OR images OR segmentation OR video OR mesh OR "3D" OR photogrammetry',
  ],
  "optimization-theory": [
    'optimization OR optimisation OR "gradient descent" OR convergence OR "generalization error" OR "neural tangent kernel" OR bilevel OR "learning theory"',
  ],
  "continual-learning": [
    '"continual learning" OR "catastrophic forgetting" OR "lifelong learning" OR "incremental learning"',
  ],
  "neural-architecture-search": ['"architecture search" OR NAS OR DARTS OR supernet'],
  multimodal: ['multimodal OR "multi-modal" OR "vision-language" OR "text-to-image" OR "image and text"'],
  robotics: [
    'robot OR robots OR robotic OR robotics OR "object manipulation" OR "robotic manipulation" OR locomotion OR embodied',
  ],
};

/** Papers featured within this many days of the latest featured day are re-matched when a topic changes. */
export const RECENT_DAYS = 90;

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

const badText = (text: string | undefined, max: number) => !text?.trim() || text.length > max;

/**
 * Each field's rule: `required` fields are checked unless the update is partial and leaves them out;
 * the others only when given.
 */
const topicRules: {
  field: keyof TopicInput;
  required: boolean;
  bad: (input: Partial<TopicInput>) => boolean;
  problem: string;
}[] = [
  {
    field: "slug",
    required: true,
    bad: ({ slug }) => !slug || !SLUG.test(slug) || slug.length > 60,
    problem: "slug: lower-case words joined by hyphens, at most 60 characters (e.g. graph-learning)",
  },
  { field: "name", required: true, bad: ({ name }) => badText(name, 80), problem: "name: 1 to 80 characters" },
  { field: "query", required: true, bad: ({ query }) => badText(query, 500), problem: "query: 1 to 500 characters" },
  {
    field: "threshold",
    required: false,
    bad: ({ threshold: t }) => !(Number.isFinite(t) && t! > 0 && t! <= 100),
    problem: "threshold: a number above 0 (3 = one title mention of a weight-1 term)",
  },
  {
    field: "description",
    required: false,
    bad: ({ description }) => description!.length > 300,
    problem: "description: at most 300 characters",
  },
];

export function validateTopic(input: Partial<TopicInput>, { partial = false } = {}): void {
  const problems = topicRules
    .filter((r) => ((r.required && !partial) || input[r.field] !== undefined) && r.bad(input))
    .map((r) => r.problem);
  if (problems.length) throw new AppError(`invalid topic: ${problems.join("; ")}`, 400, { code: "bad_topic" });
}

/** Refuses a query the rule parser cannot read, or one with no positive term. */
export function assertUsefulQuery(query: string): void {
  try {
    parseRules(query);
  } catch (err) {
    throw new AppError(`query "${query}": ${(err as Error).message}`, 400, { code: "bad_topic" });
  }
}

type MatchRow = { id: number; title: string; abstract: string; keywords: string[]; categories: string[] };

async function ruledTopics(db: Db | Prisma.TransactionClient, only?: number): Promise<RuledTopic[]> {
  const rows = await db.topic.findMany({
    where: only === undefined ? {} : { id: only },
    select: { id: true, query: true, threshold: true },
  });
  const ruled: RuledTopic[] = [];
  for (const t of rows) {
    try {
      ruled.push({ id: t.id, rules: parseRules(t.query), threshold: t.threshold });
    } catch {
      // A query stored before the rule language that no longer parses matches nothing (and says so in topics list).
    }
  }
  return ruled;
}

async function writeMatches(
  db: Db,
  papers: MatchRow[],
  topics: RuledTopic[],
  scope: { topicId?: number },
): Promise<number> {
  const pairs = papers.flatMap((p) => topicsOf(p, topics).map((t) => [p.id, t] as const));
  const paperIds = papers.map((p) => p.id);
  const [, inserted] = await db.$transaction([
    scope.topicId === undefined
      ? db.$executeRaw`DELETE FROM paper_topics WHERE paper_id = ANY(${paperIds}::int[])`
      : db.$executeRaw`DELETE FROM paper_topics WHERE topic_id = ${scope.topicId} AND paper_id = ANY(${paperIds}::int[])`,
    db.$executeRaw`
      INSERT INTO paper_topics (paper_id, topic_id)
      SELECT * FROM unnest(${pairs.map((p) => p[0])}::int[], ${pairs.map((p) => p[1])}::int[])
      ON CONFLICT DO NOTHING`,
  ]);
  return inserted;
}

const selectForMatching = Prisma.sql`SELECT id, title, abstract, keywords, categories FROM papers`;

/** Re-computes the topics of the given papers. */
export async function matchPapers(db: Db, paperIds: number[]): Promise<void> {
  if (paperIds.length === 0) return;
  const papers = await db.$queryRaw<MatchRow[]>`${selectForMatching} WHERE id = ANY(${paperIds}::int[])`;
  await writeMatches(db, papers, await ruledTopics(db), {});
}

/** Re-computes which recent papers belong to one topic (after it was added or its query changed). */
export async function rematchTopic(db: Db, topicId: number, recentDays = RECENT_DAYS): Promise<number> {
  const papers = await db.$queryRaw<MatchRow[]>`${selectForMatching}
    WHERE featured_on >= (SELECT max(featured_on) FROM papers) - ${recentDays}::int`;
  if (papers.length === 0) return 0;
  return writeMatches(db, papers, await ruledTopics(db, topicId), { topicId });
}

/** Why a paper does or does not belong to a topic: its score, the threshold and the terms that counted. */
export async function explainMatch(
  db: Db,
  slug: string,
  arxivId: string,
): Promise<{ score: number; threshold: number; matches: boolean; why: string[]; title: string }> {
  const topic = await db.topic.findUnique({ where: { slug } });
  if (!topic) throw new AppError(`no topic "${slug}" (see topics list)`, 404, { code: "no_topic" });
  const [paper] = await db.$queryRaw<MatchRow[]>`${selectForMatching} WHERE arxiv_id = ${arxivId}`;
  if (!paper) throw new AppError(`no paper ${arxivId} stored`, 404, { code: "no_paper" });
  const { score, why } = scorePaper(parseRules(topic.query), paper);
  return { score, threshold: topic.threshold, matches: score >= topic.threshold, why, title: paper.title };
}

/**
 * Creates the default topics that do not exist yet, and upgrades a topic that still holds the
 * default query of an earlier version (an operator's own query is never touched). Returns the
 * slugs created or upgraded.
 */
export async function seedDefaultTopics(db: Db, defaults = DEFAULT_TOPICS): Promise<string[]> {
  const changed: string[] = [];
  for (const [position, topic] of defaults.entries()) {
    // ON CONFLICT DO NOTHING: several processes may seed at once, and an operator's edits stay.
    const rows = await db.$queryRaw<{ id: number }[]>`
      INSERT INTO topics (slug, name, description, query, threshold, position, updated_at)
      VALUES (${topic.slug}, ${topic.name}, ${topic.description ?? ""}, ${topic.query}, ${topic.threshold ?? DEFAULT_THRESHOLD}, ${position}, now())
      ON CONFLICT (slug) DO NOTHING RETURNING id`;
    let id = rows[0]?.id;
    if (id === undefined) {
      const earlier = EARLIER_DEFAULT_QUERIES[topic.slug] ?? [];
      const upgraded = await db.$queryRaw<{ id: number }[]>`
        UPDATE topics SET query = ${topic.query}, threshold = ${topic.threshold ?? DEFAULT_THRESHOLD}, updated_at = now()
        WHERE slug = ${topic.slug} AND query = ANY(${earlier}::text[]) RETURNING id`;
      id = upgraded[0]?.id;
    }
    if (id !== undefined) {
      changed.push(topic.slug);
      await rematchTopic(db, id);
    }
  }
  return changed;
}

export interface TopicSummary {
  id: number;
  slug: string;
  name: string;
  description: string;
  query: string;
  threshold: number;
  position: number;
  papers: number;
}

export async function listTopics(db: Db): Promise<TopicSummary[]> {
  const topics = await db.topic.findMany({
    orderBy: [{ position: "asc" }, { slug: "asc" }],
    include: { _count: { select: { papers: true } } },
  });
  return topics.map((t) => ({
    id: t.id,
    slug: t.slug,
    name: t.name,
    description: t.description,
    query: t.query,
    threshold: t.threshold,
    position: t.position,
    papers: t._count.papers,
  }));
}

export async function addTopic(db: Db, input: TopicInput): Promise<{ topic: TopicSummary; matched: number }> {
  validateTopic(input);
  assertUsefulQuery(input.query);
  if (await db.topic.findUnique({ where: { slug: input.slug } }))
    throw new AppError(`topic "${input.slug}" already exists: use topics edit`, 409, { code: "topic_exists" });
  const last = await db.topic.aggregate({ _max: { position: true } });
  const topic = await db.topic.create({
    data: {
      slug: input.slug,
      name: input.name.trim(),
      description: input.description?.trim() ?? "",
      query: input.query.trim(),
      threshold: input.threshold ?? DEFAULT_THRESHOLD,
      position: (last._max.position ?? -1) + 1,
    },
  });
  const matched = await rematchTopic(db, topic.id);
  return { topic: { ...topic, papers: matched }, matched };
}

export async function editTopic(
  db: Db,
  slug: string,
  changes: Partial<Omit<TopicInput, "slug">>,
): Promise<{ topic: TopicSummary; matched: number }> {
  validateTopic(changes, { partial: true });
  if (changes.query !== undefined) assertUsefulQuery(changes.query);
  const existing = await db.topic.findUnique({ where: { slug } });
  if (!existing) throw new AppError(`no topic "${slug}" (see topics list)`, 404, { code: "no_topic" });
  const topic = await db.topic.update({
    where: { slug },
    data: {
      ...(changes.name !== undefined && { name: changes.name.trim() }),
      ...(changes.description !== undefined && { description: changes.description.trim() }),
      ...(changes.query !== undefined && { query: changes.query.trim() }),
      ...(changes.threshold !== undefined && { threshold: changes.threshold }),
    },
  });
  const matched = await rematchTopic(db, topic.id);
  const papers = await db.paperTopic.count({ where: { topicId: topic.id } });
  return { topic: { ...topic, papers }, matched };
}

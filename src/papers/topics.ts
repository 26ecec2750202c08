/**
 * Topics are named PostgreSQL full-text queries (websearch_to_tsquery syntax: words, "phrases",
 * OR, -exclusions) matched against each paper's stored search vector (title, keywords, abstract;
 * GIN-indexed). A paper belongs to every topic whose query it matches.
 */
import { Prisma, type Db } from "../db";
import { AppError } from "../errors";

export interface TopicInput {
  slug: string;
  name: string;
  description?: string;
  query: string;
}

/**
 * The default set, fitted to the subjects of the seed page. Seeded once; operators' edits win.
 * The English stemmer folds words together ("transformers" and "transformation" both become
 * "transform", "tokenization" becomes "token"), so ambiguous single words are avoided or phrased.
 */
export const DEFAULT_TOPICS: TopicInput[] = [
  {
    slug: "language-models",
    name: "Language models",
    description: "LLMs, in-context learning, alignment",
    query: `"language model" OR LLM OR LLMs OR "in-context learning" OR RLHF OR "instruction tuning"`,
  },
  {
    slug: "diffusion-generative",
    name: "Diffusion and generative models",
    description: "Diffusion, score matching, image synthesis, GANs",
    query: `diffusion OR "score matching" OR "generative model" OR "generative models" OR GAN OR GANs OR "image synthesis"`,
  },
  {
    slug: "reinforcement-learning",
    name: "Reinforcement learning",
    description: "Policies, rewards, agents, offline RL",
    query: `"reinforcement learning" OR RL OR MARL OR "policy gradient" OR "actor-critic" OR "Q-learning" OR "reward function"`,
  },
  {
    slug: "computer-vision",
    name: "Computer vision",
    description: "Images, video, segmentation, 3D",
    query: `"computer vision" OR image OR images OR segmentation OR video OR mesh OR "3D" OR photogrammetry`,
  },
  {
    slug: "optimization-theory",
    name: "Optimisation and learning theory",
    description: "Gradient methods, convergence, generalisation bounds",
    query: `optimization OR optimisation OR "gradient descent" OR convergence OR "generalization error" OR "neural tangent kernel" OR bilevel OR "learning theory"`,
  },
  {
    slug: "continual-learning",
    name: "Continual learning",
    description: "Catastrophic forgetting, lifelong and incremental learning",
    query: `"continual learning" OR "catastrophic forgetting" OR "lifelong learning" OR "incremental learning"`,
  },
  {
    slug: "neural-architecture-search",
    name: "Neural architecture search",
    description: "NAS, DARTS, supernets",
    query: `"architecture search" OR NAS OR DARTS OR supernet`,
  },
  {
    slug: "multimodal",
    name: "Multimodal",
    description: "Vision-language and other multi-modal models",
    query: `multimodal OR "multi-modal" OR "vision-language" OR "text-to-image" OR "image and text"`,
  },
  {
    slug: "robotics",
    name: "Robotics",
    description: "Robots, manipulation, locomotion, embodied agents",
    query: `robot OR robots OR robotic OR robotics OR "object manipulation" OR "robotic manipulation" OR locomotion OR embodied`,
  },
];

/** Papers featured within this many days of the latest featured day are re-matched when a topic changes. */
export const RECENT_DAYS = 90;

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

export function validateTopic(input: Partial<TopicInput>, { partial = false } = {}): void {
  const problems: string[] = [];
  if (!partial || input.slug !== undefined) {
    if (!input.slug || !SLUG.test(input.slug) || input.slug.length > 60)
      problems.push("slug: lower-case words joined by hyphens, at most 60 characters (e.g. graph-learning)");
  }
  if (!partial || input.name !== undefined) {
    if (!input.name?.trim() || input.name.length > 80) problems.push("name: 1 to 80 characters");
  }
  if (!partial || input.query !== undefined) {
    if (!input.query?.trim() || input.query.length > 500) problems.push("query: 1 to 500 characters");
  }
  if (input.description !== undefined && input.description.length > 300)
    problems.push("description: at most 300 characters");
  if (problems.length) throw new AppError(`invalid topic: ${problems.join("; ")}`, 400, { code: "bad_topic" });
}

/** Refuses a query PostgreSQL reduces to nothing (only stop words), which would match no paper. */
export async function assertUsefulQuery(db: Db, query: string): Promise<void> {
  const [row] = await db.$queryRaw<{ q: string }[]>`SELECT websearch_to_tsquery('english', ${query})::text AS q`;
  if (!row?.q)
    throw new AppError(`query "${query}" has no searchable words (only stop words?)`, 400, { code: "bad_topic" });
}

/** Re-computes the topics of the given papers. */
export async function matchPapers(db: Db, paperIds: number[]): Promise<void> {
  if (paperIds.length === 0) return;
  await db.$transaction([
    db.$executeRaw`DELETE FROM paper_topics WHERE paper_id = ANY(${paperIds}::int[])`,
    db.$executeRaw`
      INSERT INTO paper_topics (paper_id, topic_id)
      SELECT p.id, t.id FROM papers p JOIN topics t ON p.search_vector @@ websearch_to_tsquery('english', t.query)
      WHERE p.id = ANY(${paperIds}::int[])
      ON CONFLICT DO NOTHING`,
  ]);
}

/** Re-computes which recent papers belong to one topic (after it was added or its query changed). */
export async function rematchTopic(db: Db, topicId: number, recentDays = RECENT_DAYS): Promise<number> {
  const recent = Prisma.sql`SELECT id FROM papers WHERE featured_on >= (SELECT max(featured_on) FROM papers) - ${recentDays}::int`;
  const [, inserted] = await db.$transaction([
    db.$executeRaw`DELETE FROM paper_topics WHERE topic_id = ${topicId} AND paper_id IN (${recent})`,
    db.$executeRaw`
      INSERT INTO paper_topics (paper_id, topic_id)
      SELECT p.id, t.id FROM papers p JOIN topics t ON t.id = ${topicId}
      WHERE p.id IN (${recent}) AND p.search_vector @@ websearch_to_tsquery('english', t.query)
      ON CONFLICT DO NOTHING`,
  ]);
  return inserted;
}

/** Creates the default topics that do not exist yet; never touches existing ones. Returns the slugs created. */
export async function seedDefaultTopics(db: Db, defaults = DEFAULT_TOPICS): Promise<string[]> {
  const created: string[] = [];
  for (const [position, topic] of defaults.entries()) {
    // ON CONFLICT DO NOTHING: several processes may seed at once, and an operator's edits stay.
    const rows = await db.$queryRaw<{ id: number }[]>`
      INSERT INTO topics (slug, name, description, query, position, updated_at)
      VALUES (${topic.slug}, ${topic.name}, ${topic.description ?? ""}, ${topic.query}, ${position}, now())
      ON CONFLICT (slug) DO NOTHING RETURNING id`;
    if (rows[0]) {
      created.push(topic.slug);
      await rematchTopic(db, rows[0].id);
    }
  }
  return created;
}

export interface TopicSummary {
  id: number;
  slug: string;
  name: string;
  description: string;
  query: string;
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
    position: t.position,
    papers: t._count.papers,
  }));
}

export async function addTopic(db: Db, input: TopicInput): Promise<{ topic: TopicSummary; matched: number }> {
  validateTopic(input);
  await assertUsefulQuery(db, input.query);
  if (await db.topic.findUnique({ where: { slug: input.slug } }))
    throw new AppError(`topic "${input.slug}" already exists: use topics edit`, 409, { code: "topic_exists" });
  const last = await db.topic.aggregate({ _max: { position: true } });
  const topic = await db.topic.create({
    data: {
      slug: input.slug,
      name: input.name.trim(),
      description: input.description?.trim() ?? "",
      query: input.query.trim(),
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
  if (changes.query !== undefined) await assertUsefulQuery(db, changes.query);
  const existing = await db.topic.findUnique({ where: { slug } });
  if (!existing) throw new AppError(`no topic "${slug}" (see topics list)`, 404, { code: "no_topic" });
  const topic = await db.topic.update({
    where: { slug },
    data: {
      ...(changes.name !== undefined && { name: changes.name.trim() }),
      ...(changes.description !== undefined && { description: changes.description.trim() }),
      ...(changes.query !== undefined && { query: changes.query.trim() }),
    },
  });
  const matched = await rematchTopic(db, topic.id);
  const papers = await db.paperTopic.count({ where: { topicId: topic.id } });
  return { topic: { ...topic, papers }, matched };
}

import type { DbClient } from "./consent-log";
import { InvalidInput } from "./errors";

export interface TopicChoice {
  id: number;
  slug: string;
  name: string;
  description: string;
}

/** The topics a reader can pick, in the order the site shows them. */
export function listTopics(db: DbClient): Promise<TopicChoice[]> {
  return db.topic.findMany({
    orderBy: [{ position: "asc" }, { name: "asc" }],
    select: { id: true, slug: true, name: true, description: true },
  });
}

/** Turns chosen slugs into topic ids; an unknown slug is the reader's mistake, said plainly. */
export async function resolveTopicSlugs(db: DbClient, slugs: string[]): Promise<number[]> {
  const unique = [...new Set(slugs)];
  if (unique.length === 0) return [];
  const found = await db.topic.findMany({ where: { slug: { in: unique } }, select: { id: true, slug: true } });
  const missing = unique.filter((s) => !found.some((t) => t.slug === s));
  if (missing.length) throw new InvalidInput(`Unknown topic: ${missing.join(", ")}.`, "topics");
  return found.map((t) => t.id).sort((a, b) => a - b);
}

/** Replaces a subscriber's topics. No topics means every topic (see INTERFACE.md). */
export async function replaceTopics(db: DbClient, subscriberId: string, topicIds: number[]): Promise<void> {
  await db.subscriberTopic.deleteMany({ where: { subscriberId } });
  if (topicIds.length)
    await db.subscriberTopic.createMany({ data: topicIds.map((topicId) => ({ subscriberId, topicId })) });
}

/**
 * The same, from a per-database cache of slug → id. A topic keeps its id for life (topics are
 * added and edited, never renumbered), so only an unknown slug needs the database: then the whole
 * list is read again. The cache still expires after a minute, in case a topic was removed by hand.
 */
const slugCache = new WeakMap<object, { readAt: number; idBySlug: Map<string, number> }>();
export async function resolveTopicSlugsCached(db: DbClient, slugs: string[], maxAgeMs = 60_000): Promise<number[]> {
  const unique = [...new Set(slugs)];
  if (unique.length === 0) return [];
  const cached = slugCache.get(db);
  if (cached && Date.now() - cached.readAt < maxAgeMs && unique.every((s) => cached.idBySlug.has(s))) {
    return unique.map((s) => cached.idBySlug.get(s)!).sort((a, b) => a - b);
  }
  const all = await db.topic.findMany({ select: { id: true, slug: true } });
  slugCache.set(db, { readAt: Date.now(), idBySlug: new Map(all.map((t) => [t.slug, t.id])) });
  return resolveTopicSlugs(db, unique);
}

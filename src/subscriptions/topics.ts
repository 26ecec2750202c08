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
  return db.topic.findMany({ orderBy: [{ position: "asc" }, { name: "asc" }], select: { id: true, slug: true, name: true, description: true } });
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
  if (topicIds.length) await db.subscriberTopic.createMany({ data: topicIds.map((topicId) => ({ subscriberId, topicId })) });
}

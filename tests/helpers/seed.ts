import crypto from "node:crypto";
import type { Db } from "../../src/db";
import type { Frequency, SubscriberStatus } from "../../src/generated/prisma/enums";

/** Test data written straight through Prisma: topics, papers featured on a day, readers. */
export async function seedTopics(db: Db, slugs: string[]): Promise<Record<string, number>> {
  const ids: Record<string, number> = {};
  for (const [i, slug] of slugs.entries()) {
    const t = await db.topic.upsert({
      where: { slug },
      create: { slug, name: slug.replace(/-/g, " "), query: slug.replace(/-/g, " "), position: i },
      update: {},
    });
    ids[slug] = t.id;
  }
  return ids;
}

export interface PaperSeed {
  title: string;
  upvotes: number;
  topics?: number[];
  day: string;
  abstract?: string;
  arxivId?: string;
}

export async function seedPapers(db: Db, papers: PaperSeed[]): Promise<number[]> {
  const ids: number[] = [];
  for (const p of papers) {
    const arxivId = p.arxivId ?? `2412.${crypto.randomInt(10000, 99999)}`;
    const row = await db.paper.create({
      data: {
        arxivId,
        title: p.title,
        abstract: p.abstract ?? `Abstract of ${p.title}.`,
        authors: ["Ada", "Alan"],
        featuredOn: new Date(`${p.day}T00:00:00Z`),
        arxivDate: new Date(`${p.day}T00:00:00Z`),
        upvotes: p.upvotes,
        keywords: [],
        url: `https://arxiv.org/abs/${arxivId}`,
        source: "test",
        topics: { create: (p.topics ?? []).map((topicId) => ({ topicId })) },
      },
    });
    ids.push(row.id);
  }
  return ids;
}

export async function seedReaders(
  db: Db,
  readers: { email: string; topics?: number[]; status?: SubscriberStatus; frequency?: Frequency }[],
): Promise<string[]> {
  const ids: string[] = [];
  for (const r of readers) {
    const s = await db.subscriber.create({
      data: {
        email: r.email,
        status: r.status ?? "active",
        frequency: r.frequency ?? "daily",
        confirmedAt: new Date(),
        topics: { create: (r.topics ?? []).map((topicId) => ({ topicId })) },
      },
    });
    ids.push(s.id);
  }
  return ids;
}

/** Many readers at once (fault tests, benchmarks): one INSERT. */
export async function seedManyReaders(db: Db, count: number, domain = "example.org"): Promise<void> {
  await db.$executeRaw`
    INSERT INTO subscribers (id, email, status, frequency, confirmed_at, updated_at)
    SELECT gen_random_uuid(), 'reader' || g || '@' || ${domain}, 'active', 'daily', now(), now() FROM generate_series(1, ${count}::int) g`;
}

export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Assembly: for one day (and frequency), decide what every active reader gets, render each
 * distinct paper list once, and write one delivery row per reader, in bulk, before anything is
 * sent. Idempotent and serialised per digest: running it twice, or twice at once, changes nothing.
 */
import type { Db } from "../db";
import type { Config } from "../config";
import type { Logger } from "../logger";
import type { Frequency } from "../generated/prisma/enums";
import { dateToDay, dayToDate, digestHeading, digestRange, type Day } from "./days";
import { selectPapers, variantKey, type CandidatePaper, type FollowRule, type SelectedPaper } from "./select-papers";
import { followLabel, followMatcher } from "./follow-match";
import type { Follow } from "../subscriptions";
import { trendingOrderSql } from "../papers";
import { renderDigest, type DigestView } from "./render";
import { Prisma } from "../db";
import { arxivUrl } from "../papers";
import { suppressedSql } from "../suppression";

export interface AssembleResult {
  digestId: string;
  /** False when the digest had been assembled before (nothing was changed). */
  assembledNow: boolean;
  variants: number;
  deliveries: number;
}

/** The digest row of a day and frequency, created if missing (safe when called twice at once). */
export async function ensureDigest(db: Db, day: Day, frequency: Frequency) {
  await db.$executeRaw`
    INSERT INTO digests (id, day, frequency, status, created_at, updated_at)
    VALUES (gen_random_uuid(), ${day}::date, ${frequency}::"Frequency", 'assembling', now(), now())
    ON CONFLICT (day, frequency) DO NOTHING`;
  return db.digest.findUniqueOrThrow({ where: { day_frequency: { day: dayToDate(day), frequency } } });
}

/** The papers featured in the digest's days, in trending order, with their topics. */
export async function loadCandidates(db: Db, day: Day, frequency: Frequency): Promise<CandidatePaper[]> {
  const { from, to } = digestRange(day, frequency);
  const rows = await db.$queryRaw<
    {
      id: number;
      arxiv_id: string;
      title: string;
      abstract: string;
      url: string;
      authors: string[];
      keywords: string[];
      arxiv_date: Date | null;
      upvotes: number;
      topic_ids: number[];
      ai_summary: string | null;
      thumbnail_url: string | null;
      pdf_url: string | null;
      github_url: string | null;
      github_stars: number | null;
      project_url: string | null;
      num_comments: number | null;
      organization: string | null;
    }[]
  >`
    SELECT p.id, p.arxiv_id, p.title, p.abstract, p.url, p.authors, p.keywords, p.arxiv_date, p.upvotes,
           p.ai_summary, p.thumbnail_url, p.pdf_url, p.github_url, p.github_stars, p.project_url, p.num_comments, p.organization,
           coalesce(array_agg(pt.topic_id ORDER BY pt.topic_id) FILTER (WHERE pt.topic_id IS NOT NULL), '{}') AS topic_ids
    FROM papers p LEFT JOIN paper_topics pt ON pt.paper_id = p.id
    WHERE p.featured_on BETWEEN ${from}::date AND ${to}::date
    GROUP BY p.id
    ORDER BY ${trendingOrderSql}`;
  return rows.map((r) => ({
    id: r.id,
    arxivId: r.arxiv_id,
    title: r.title,
    abstract: r.abstract,
    url: r.url,
    authorCount: r.authors.length,
    arxivDate: r.arxiv_date ? dateToDay(r.arxiv_date) : null,
    upvotes: r.upvotes,
    topicIds: r.topic_ids,
    authors: r.authors,
    keywords: r.keywords,
    aiSummary: r.ai_summary,
    thumbnailUrl: r.thumbnail_url,
    pdfUrl: r.pdf_url,
    githubUrl: r.github_url,
    githubStars: r.github_stars,
    projectUrl: r.project_url,
    comments: r.num_comments,
    organization: r.organization,
  }));
}

/** The web copy of exactly these papers (what one reader got): /digests/D?papers=id,id. */
export function listUrl(baseUrl: string, day: Day, frequency: Frequency, arxivIds: string[]): string {
  const params = new URLSearchParams();
  if (frequency === "weekly") params.set("frequency", "weekly");
  if (arxivIds.length) params.set("papers", arxivIds.join(","));
  const qs = params.toString().replace(/%2C/g, ",");
  return `${baseUrl}/digests/${day}${qs ? `?${qs}` : ""}`;
}

/** What a digest of these papers looks like (for the email, the web copy and the preview). */
export function digestView(
  papers: (CandidatePaper & { follows?: string[]; inTopics?: number[] })[],
  topicNames: Map<number, string>,
  opts: { day: Day; frequency: Frequency; baseUrl: string; wholeDay?: boolean },
): DigestView {
  const dayUrl = listUrl(opts.baseUrl, opts.day, opts.frequency, []);
  return {
    heading: digestHeading(opts.day, opts.frequency),
    webUrl: opts.wholeDay
      ? dayUrl
      : listUrl(
          opts.baseUrl,
          opts.day,
          opts.frequency,
          papers.map((p) => p.arxivId),
        ),
    dayUrl,
    frequency: opts.frequency,
    papers: papers.map((p) => ({
      title: p.title,
      url: p.url,
      abstract: p.abstract,
      authorCount: p.authorCount,
      arxivDate: p.arxivDate ?? undefined,
      upvotes: p.upvotes,
      topics: p.topicIds.map((t) => topicNames.get(t)).filter((n): n is string => !!n),
      authors: p.authors,
      aiSummary: p.aiSummary,
      thumbnailUrl: p.thumbnailUrl,
      arxivUrl: arxivUrl(p.arxivId),
      pdfUrl: p.pdfUrl,
      githubUrl: p.githubUrl,
      githubStars: p.githubStars,
      projectUrl: p.projectUrl,
      comments: p.comments,
      organization: p.organization,
      follows: p.follows,
      inTopics: (p.inTopics ?? []).map((t) => topicNames.get(t)).filter((n): n is string => !!n),
    })),
  };
}

export async function topicNames(db: Db): Promise<Map<number, string>> {
  return new Map((await db.topic.findMany({ select: { id: true, name: true } })).map((t) => [t.id, t.name]));
}

/**
 * Every active reader with their choice key: chosen topic ids, then their follows
 * ("1,4|keyword:diffusion distillation|author:Yann LeCun"; "|" alone = no topic, no follow, i.e.
 * the whole day). Readers with the same key get the same selection. Suppressed addresses are no readers.
 */
const readerChoiceKeys = (frequency: Frequency) => Prisma.sql`
  SELECT s.id,
         coalesce(string_agg(st.topic_id::text, ',' ORDER BY st.topic_id), '') || '|' || coalesce(min(f.follow_key), '') AS choice_key
  FROM subscribers s
  LEFT JOIN subscriber_topics st ON st.subscriber_id = s.id
  LEFT JOIN (
    SELECT subscriber_id, string_agg(kind::text || ':' || value, '|' ORDER BY kind, value) AS follow_key
    FROM subscriber_follows GROUP BY subscriber_id
  ) f ON f.subscriber_id = s.id
  WHERE s.status = 'active' AND s.frequency = ${frequency}::"Frequency" AND NOT ${Prisma.raw(suppressedSql("s.email"))}
  GROUP BY s.id`;

/** The topics and follows a choice key stands for (see readerChoiceKeys). */
export function parseChoiceKey(key: string): { topicIds: number[]; follows: Follow[] } {
  const [topics = "", ...rest] = key.split("|");
  const follows = rest
    .filter(Boolean)
    .map((f) => ({ kind: f.slice(0, f.indexOf(":")) as Follow["kind"], value: f.slice(f.indexOf(":") + 1) }));
  return { topicIds: topics ? topics.split(",").map(Number) : [], follows };
}

/** Follows as rules selectPapers applies; the matchers are built once per distinct follow. */
export function followRules(follows: Follow[], cache = new Map<string, FollowRule>()): FollowRule[] {
  return follows.map((f) => {
    const id = `${f.kind}:${f.value}`;
    let rule = cache.get(id);
    if (!rule) {
      // Many readers share a follow: each paper is tested against it once per assembly.
      const matcher = followMatcher(f);
      const seen = new Map<number, boolean>();
      const matches = (paper: CandidatePaper) => {
        let hit = seen.get(paper.id);
        if (hit === undefined) seen.set(paper.id, (hit = matcher(paper)));
        return hit;
      };
      rule = { label: followLabel(f), matches };
      cache.set(id, rule);
    }
    return rule;
  });
}

export interface AssembleDeps {
  db: Db;
  config: Config;
  log: Logger;
  /**
   * Brings the upvotes of the digest's days up to date just before the papers are chosen (the
   * ingest snapshot can be hours old). A failure is logged and assembly goes on with the snapshot.
   */
  refreshUpvotes?: (days: { from: Day; to: Day }) => Promise<void>;
}

/** Brings the upvotes up to date before papers are chosen; a failure leaves the last ingest's counts. */
async function refreshUpvotes(deps: AssembleDeps, input: { day: Day; frequency: Frequency }) {
  await deps
    .refreshUpvotes?.(digestRange(input.day, input.frequency))
    .catch((err: unknown) =>
      deps.log.warn(
        { err: (err as Error).message, day: input.day },
        "upvotes not refreshed: the last ingest's counts are used",
      ),
    );
}

/** Choices (topics + follows) → selections; choices with the same selection share one variant. */
function selections(choiceKeys: string[], candidates: CandidatePaper[], maxPapers: number) {
  const listByChoice = new Map<string, SelectedPaper[]>();
  const listsByKey = new Map<string, SelectedPaper[]>();
  const rules = new Map<string, FollowRule>();
  for (const choiceKey of choiceKeys) {
    const { topicIds, follows } = parseChoiceKey(choiceKey);
    const papers = selectPapers(candidates, topicIds, maxPapers, followRules(follows, rules));
    if (papers.length === 0) continue; // nobody gets an email on a day with nothing for them
    listByChoice.set(choiceKey, papers);
    listsByKey.set(variantKey(papers), papers);
  }
  return { listByChoice, listsByKey };
}

/** One variant row (kept as it is when an earlier, interrupted assembly stored it); its id. */
async function storeVariant(
  tx: Prisma.TransactionClient,
  digestId: string,
  key: string,
  papers: SelectedPaper[],
  content: { subject: string; html: string; text: string },
): Promise<number> {
  const variant = await tx.digestVariant.upsert({
    where: { digestId_key: { digestId, key } },
    create: { digestId, key, paperIds: papers.map((p) => p.id), ...content },
    update: {},
    select: { id: true },
  });
  return variant.id;
}

export async function assembleDigest(
  deps: AssembleDeps,
  input: { day: Day; frequency: Frequency },
): Promise<AssembleResult> {
  const { db, config, log } = deps;
  const digest = await ensureDigest(db, input.day, input.frequency);
  if (digest.assembledAt) return { digestId: digest.id, assembledNow: false, variants: 0, deliveries: 0 };

  const started = Date.now();
  await refreshUpvotes(deps, input);
  const candidates = await loadCandidates(db, input.day, input.frequency);
  const names = await topicNames(db);

  return db.$transaction(
    async (tx) => {
      // One assembler per digest at a time; a second one waits, then finds it assembled.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`digest:${digest.id}`}))`;
      const current = await tx.digest.findUniqueOrThrow({ where: { id: digest.id } });
      if (current.assembledAt) return { digestId: digest.id, assembledNow: false, variants: 0, deliveries: 0 };

      const choices = await tx.$queryRaw<{ choice_key: string; readers: bigint }[]>`
        SELECT choice_key, count(*) AS readers FROM (${readerChoiceKeys(input.frequency)}) r GROUP BY choice_key`;

      const { listByChoice, listsByKey } = selections(
        choices.map((c) => c.choice_key),
        candidates,
        config.DIGEST_MAX_PAPERS,
      );
      const variantIdByKey = new Map<string, number>();
      for (const [key, papers] of listsByKey) {
        const content = await renderDigest(digestView(papers, names, { ...input, baseUrl: config.BASE_URL }));
        variantIdByKey.set(key, await storeVariant(tx, digest.id, key, papers, content));
      }

      const choiceKeys = [...listByChoice.keys()];
      const variantIds = choiceKeys.map((k) => variantIdByKey.get(variantKey(listByChoice.get(k)!))!);
      const insertStarted = Date.now();
      const deliveries = await tx.$executeRaw`
        INSERT INTO deliveries (digest_id, subscriber_id, variant_id, state, created_at, updated_at)
        SELECT ${digest.id}::uuid, r.id, m.variant_id, 'pending', now(), now()
        FROM (${readerChoiceKeys(input.frequency)}) r
        JOIN unnest(${choiceKeys}::text[], ${variantIds}::int[]) AS m(choice_key, variant_id) ON m.choice_key = r.choice_key
        ON CONFLICT (digest_id, subscriber_id) DO NOTHING`;

      await tx.digest.update({
        where: { id: digest.id },
        data: {
          assembledAt: new Date(),
          status: deliveries > 0 ? "sending" : "sent",
          completedAt: deliveries > 0 ? null : new Date(),
        },
      });
      log.info(
        {
          digestId: digest.id,
          day: input.day,
          frequency: input.frequency,
          papers: candidates.length,
          choices: choices.length,
          variants: listsByKey.size,
          deliveries,
          insertMs: Date.now() - insertStarted,
          ms: Date.now() - started,
        },
        "digest assembled",
      );
      return { digestId: digest.id, assembledNow: true, variants: listsByKey.size, deliveries };
    },
    { timeout: 600_000, maxWait: 30_000 },
  );
}

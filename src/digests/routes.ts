import { Router } from "express";
import type { Db } from "../db";
import type { Config } from "../config";
import type { Queues } from "../queue/queues";
import type { Views } from "../web/views";
import { notFound, badRequest } from "../errors";
import { requestIdOf } from "../observability/request-id";
import { dayToDate, parseDay } from "./days";
import { digestDeliveryCounts } from "./retention";
import { digestView, ensureDigest, loadCandidates, topicNames } from "./assemble";
import { queueAssembly } from "./jobs";
import { pauseView, resumeByCommand } from "./breaker";
import { selectPapers } from "./select-papers";
import { renderDigest, shownPaper } from "./render";
import { isDay } from "../papers";
import { shortDay } from "../papers";
import type { Frequency } from "../generated/prisma/enums";

const frequencyOf = (value: unknown): Frequency => {
  if (value === undefined || value === "daily") return "daily";
  if (value === "weekly") return "weekly";
  throw badRequest("frequency must be daily or weekly");
};

const readerDay = (value: string): string => {
  if (!isDay(value))
    throw notFound(
      "There is no digest at this address. Digests have addresses like /digests/2025-12-10: the link in your email opens yours.",
    );
  return value;
};

/**
 * GET /digests/:date: the web copy. With `?papers=id,id` (the "view in the browser" link of an
 * email) exactly the papers that reader got, in their order; without, every paper of the day.
 */
export function digestWebRoutes(deps: { db: Db; config: Config; views: Views }): Router {
  const router = Router();
  router.get("/digests/:date", async (req, res) => {
    const day = readerDay(req.params.date);
    const frequency = req.query.frequency === "weekly" ? "weekly" : "daily";
    const all = await loadCandidates(deps.db, day, frequency);
    const wanted =
      typeof req.query.papers === "string" && req.query.papers ? req.query.papers.split(",").slice(0, 100) : undefined;
    const papers = wanted
      ? wanted.map((id) => all.find((p) => p.arxivId === id)).filter((p): p is (typeof all)[number] => !!p)
      : all;
    if (papers.length === 0)
      throw notFound(
        all.length === 0
          ? `No papers were featured on ${shortDay(day)}. Papers come out on weekdays.`
          : `Those papers are not in the digest of ${shortDay(day)}.`,
      );
    const view = digestView(papers, await topicNames(deps.db), {
      day,
      frequency,
      baseUrl: deps.config.BASE_URL,
      wholeDay: !wanted,
    });
    res.type("html").send(
      deps.views.render("digest", {
        title: `Digest of ${view.heading}`,
        heading: view.heading,
        frequency,
        own: !!wanted,
        dayPath: `/digests/${day}${frequency === "weekly" ? "?frequency=weekly" : ""}`,
        papers: view.papers.map((p) => {
          const shown = shownPaper(p, { abstract: 1_200 });
          return { ...shown, arxivDateLabel: shown.dateLabel, topics: p.topics.map((name) => ({ name })) };
        }),
      }),
    );
  });
  return router;
}

/** The admin side of digests: JSON routes the admin area mounts under /admin/api, behind its gate. */
export function digestAdminApi(deps: { db: Db; config: Config; queues: Queues }): Router {
  const router = Router();

  // Assembles and sends that date's digest; calling it again never sends anyone a second copy.
  router.post("/digests/:date/send", async (req, res) => {
    const day = parseDay(req.params.date);
    const frequency = frequencyOf(req.query.frequency ?? (req.body as { frequency?: string } | undefined)?.frequency);
    const digest = await ensureDigest(deps.db, day, frequency);
    await queueAssembly(deps.queues, { day, frequency, requestId: requestIdOf(req) });
    res.status(202).json({ id: digest.id, day, frequency, status: digest.status });
  });

  router.get("/digests/:date", async (req, res) => {
    const day = parseDay(req.params.date);
    const frequency = frequencyOf(req.query.frequency);
    const digest = await deps.db.digest.findUnique({ where: { day_frequency: { day: dayToDate(day), frequency } } });
    if (!digest) throw notFound(`No ${frequency} digest for ${day} yet.`);
    const counts = await digestDeliveryCounts(deps.db, digest.id);
    const variants = await deps.db.digestVariant.count({ where: { digestId: digest.id } });
    res.json({
      id: digest.id,
      day,
      frequency,
      status: digest.status,
      ...pauseView(digest),
      ...counts,
      variants,
      assembledAt: digest.assembledAt,
      completedAt: digest.completedAt,
    });
  });

  // Resumes a paused digest now (a pause for too many failures waits for this).
  router.post("/digests/:date/resume", async (req, res) => {
    const day = parseDay(req.params.date);
    const frequency = frequencyOf(req.query.frequency ?? (req.body as { frequency?: string } | undefined)?.frequency);
    const digest = await deps.db.digest.findUnique({ where: { day_frequency: { day: dayToDate(day), frequency } } });
    if (!digest) throw notFound(`No ${frequency} digest for ${day} yet.`);
    const result = await resumeByCommand(deps, digest.id);
    req.log.info({ digestId: digest.id, ...result }, "digest resumed by an admin");
    res.status(result.resumed ? 202 : 200).json({ id: digest.id, day, frequency, ...result });
  });

  // The digest template for any topic choice: /admin/api/digests/D/preview?topics=slug,slug
  router.get("/digests/:date/preview", async (req, res) => {
    const day = parseDay(req.params.date);
    const frequency = frequencyOf(req.query.frequency);
    const slugs =
      typeof req.query.topics === "string" && req.query.topics ? [...new Set(req.query.topics.split(","))] : [];
    const topics = await deps.db.topic.findMany({ where: { slug: { in: slugs } }, select: { id: true, slug: true } });
    if (topics.length !== slugs.length)
      throw badRequest(`unknown topic: ${slugs.filter((s) => !topics.some((t) => t.slug === s)).join(", ")}`);
    const papers = selectPapers(
      await loadCandidates(deps.db, day, frequency),
      topics.map((t) => t.id),
      deps.config.DIGEST_MAX_PAPERS,
    );
    if (papers.length === 0) throw notFound(`Nothing for that topic choice on ${day}: nobody with it gets an email.`);
    const content = await renderDigest(
      digestView(papers, await topicNames(deps.db), { day, frequency, baseUrl: deps.config.BASE_URL }),
    );
    const html = content.html
      .replace(/%%(UNSUBSCRIBE_URL|PREFERENCES_URL)%%/g, "#")
      .replace(/%%EMAIL%%/g, "reader@example.org");
    res.type("html").send(html);
  });
  return router;
}

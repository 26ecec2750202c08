/**
 * The operator's pages of the digest engine, under /admin behind its gate:
 * - GET /admin/digests                           history: status, counts, progress, failures, pause reason
 * - GET /admin/digests/:id                       one digest: figures, failures, its variants
 * - GET /admin/digests/:id/variants/:variantId   a variant as readers got it (placeholders filled with examples)
 */
import { Router } from "express";
import type { Db, Digest } from "../db";
import type { Views } from "../web/views";
import { isUuid, notFound } from "../errors";
import { dateToDay } from "./days";
import { digestDeliveryCounts } from "./retention";
import type { DeliveryCounts } from "./ledger";

export interface DigestAdminPagesDeps {
  db: Db;
  views: Views;
}

const HISTORY_LIMIT = 60;

export interface DigestHistoryRow {
  id: string;
  day: string;
  frequency: string;
  status: string;
  counts: DeliveryCounts;
  /** Share of deliveries settled (accepted, failed or skipped), 0 to 100. */
  progress: number;
  variants: number;
  pauseReason: string | null;
  assembledAt: Date | null;
  completedAt: Date | null;
}

const progressOf = (c: DeliveryCounts) =>
  c.total === 0 ? 100 : Math.floor(((c.sent + c.failed + c.skipped) / c.total) * 100);

/** The latest digests, newest first, each with its counts (pruned rows included) and variant count. */
export async function digestHistory(db: Db, limit = HISTORY_LIMIT): Promise<DigestHistoryRow[]> {
  const digests = await db.digest.findMany({
    orderBy: [{ day: "desc" }, { frequency: "asc" }],
    take: limit,
    include: { _count: { select: { variants: true } } },
  });
  return Promise.all(
    digests.map(async (d) => {
      const counts = await digestDeliveryCounts(db, d.id);
      return {
        id: d.id,
        day: dateToDay(d.day),
        frequency: d.frequency,
        status: d.status,
        counts,
        progress: progressOf(counts),
        variants: d._count.variants,
        pauseReason: d.status === "paused" ? d.pauseReason : null,
        assembledAt: d.assembledAt,
        completedAt: d.completedAt,
      };
    }),
  );
}

const when = (d: Date | null | undefined) => (d ? d.toISOString().slice(0, 16).replace("T", " ") : "");

export function digestAdminPages(deps: DigestAdminPagesDeps): Router {
  const { db, views } = deps;
  const router = Router();

  router.get("/digests", async (_req, res) => {
    const digests = await digestHistory(db);
    res
      .set("Cache-Control", "no-store")
      .type("html")
      .send(views.render("admin-digests", { title: "Digests", digests, when }));
  });

  router.get("/digests/:id", async (req, res) => {
    if (!isUuid(req.params.id)) throw notFound("No such digest.");
    const digest = await db.digest.findUnique({ where: { id: req.params.id } });
    if (!digest) throw notFound("No such digest.");
    res
      .set("Cache-Control", "no-store")
      .type("html")
      .send(
        views.render("admin-digest", {
          title: `Digest of ${dateToDay(digest.day)}`,
          ...(await digestPage(db, digest)),
        }),
      );
  });

  router.get("/digests/:id/variants/:variantId", async (req, res) => {
    const variantId = Number(req.params.variantId);
    if (!isUuid(req.params.id) || !Number.isSafeInteger(variantId) || variantId < 1) throw notFound("No such variant.");
    const variant = await db.digestVariant.findFirst({
      where: { id: variantId, digestId: req.params.id },
      select: { html: true },
    });
    if (!variant) throw notFound("No such variant.");
    // The reader's own parts stay placeholders in storage: show harmless examples instead.
    const html = variant.html
      .replace(/%%(UNSUBSCRIBE_URL|PREFERENCES_URL)%%/g, "#")
      .replace(/%%EMAIL%%/g, "reader@example.org");
    res.set("Cache-Control", "no-store").type("html").send(html);
  });

  return router;
}

/** A digest's page: its state, counts and progress, its variants with their readers, its latest failures. */
async function digestPage(db: Db, digest: Digest) {
  const [counts, variants, readers, failures] = await Promise.all([
    digestDeliveryCounts(db, digest.id),
    db.digestVariant.findMany({
      where: { digestId: digest.id },
      orderBy: { id: "asc" },
      select: { id: true, key: true, subject: true, paperIds: true },
    }),
    db.delivery.groupBy({ by: ["variantId"], where: { digestId: digest.id }, _count: { _all: true } }),
    db.delivery.findMany({
      where: { digestId: digest.id, state: "failed" },
      orderBy: { updatedAt: "desc" },
      take: 50,
      select: {
        subscriberId: true,
        attempts: true,
        lastError: true,
        updatedAt: true,
        subscriber: { select: { email: true } },
      },
    }),
  ]);
  const readersOf = new Map(readers.map((r) => [r.variantId, r._count._all]));
  return {
    digest: {
      id: digest.id,
      day: dateToDay(digest.day),
      frequency: digest.frequency,
      status: digest.status,
      pauseReason: digest.pauseReason,
      pausedAt: digest.pausedAt,
      resumeAt: digest.resumeAt,
      assembledAt: digest.assembledAt,
      completedAt: digest.completedAt,
    },
    counts,
    progress: progressOf(counts),
    variants: variants.map((v) => ({
      id: v.id,
      subject: v.subject,
      papers: v.paperIds.length,
      readers: readersOf.get(v.id) ?? 0,
    })),
    failures,
    when,
  };
}

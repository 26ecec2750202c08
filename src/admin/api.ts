import { Router } from "express";
import { z } from "zod";
import type { Db } from "../db";
import { badRequest, isUuid, notFound } from "../errors";
import { decodeCursor, searchSubscribers, subscriberStats, subscriberStatuses } from "./queries";

const searchQuery = z.object({
  q: z.string().trim().max(254).optional(),
  status: z.enum(subscriberStatuses).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z
    .string()
    .max(200)
    .refine((c) => decodeCursor(c) !== undefined, "is not a cursor this API returned")
    .optional(),
});

const statsQuery = z.object({ days: z.coerce.number().int().min(1).max(366).default(30) });

/** Turns a zod failure on a query string into a 400 that names the parameter. */
function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.infer<T> {
  const parsed = schema.safeParse(query);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw badRequest(`Query parameter "${String(issue.path[0] ?? "?")}": ${issue.message}`);
  }
  return parsed.data;
}

/**
 * The admin JSON API, mounted at /admin/api behind requireAdmin (see ./feature.ts):
 * - GET /subscribers?q=&status=&limit=&cursor=  search by address fragment, newest first
 * - GET /subscribers/:id                          one subscriber, with topics, follows and consent log
 * - GET /stats?days=30                            the figures; `definitions` says what each one means
 * Other features add their own admin routes with `adminFeature(deps, { apiRouters })`.
 */
export function adminApiRouter(deps: { db: Db }): Router {
  const { db } = deps;
  const router = Router();

  router.get("/subscribers", async (req, res) => {
    const search = parseQuery(searchQuery, req.query);
    res.json(await searchSubscribers(db, { ...search, q: search.q || undefined }));
  });

  router.get("/subscribers/:id", async (req, res) => {
    if (!isUuid(req.params.id)) throw notFound("No such subscriber.");
    const subscriber = await db.subscriber.findUnique({
      where: { id: req.params.id },
      include: {
        topics: { include: { topic: { select: { slug: true } } } },
        follows: { orderBy: [{ kind: "asc" }, { createdAt: "asc" }], select: { kind: true, value: true } },
        consentEvents: {
          orderBy: { createdAt: "desc" },
          take: 100,
          select: { action: true, source: true, detail: true, createdAt: true },
        },
      },
    });
    if (!subscriber) throw notFound("No such subscriber.");
    const { topics, consentEvents, tokenVersion: _tokenVersion, ...rest } = subscriber;
    res.json({ ...rest, topics: topics.map((t) => t.topic.slug).sort(), consentEvents });
  });

  router.get("/stats", async (req, res) => {
    const { days } = parseQuery(statsQuery, req.query);
    res.json(await subscriberStats(db, days));
  });

  return router;
}

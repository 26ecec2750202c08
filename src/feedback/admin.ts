/**
 * The operator's side of what comes back: bounce and complaint rates (per digest and over 30 days),
 * the suppression list with reason, source and date, and lifting an entry.
 * - GET  /admin/api/feedback              rates (JSON)
 * - GET  /admin/api/suppressions          the list (JSON; ?lifted=1 includes lifted entries)
 * - POST /admin/api/suppressions/lift     { email } → lifts it
 * - GET  /admin/feedback, POST /admin/feedback/lift   the same as a page and a form
 * Lifting lets mail go to the address again; a subscriber whose status was `bounced` becomes
 * `active` again (logged in the consent log, source admin). Complaints and unsubscribes stay: those
 * were the reader's own wishes.
 */
import { Router } from "express";
import type { Db } from "../db";
import { badRequest, notFound } from "../errors";
import { recordConsent } from "../subscriptions";
import { normalizeEmail } from "../subscriptions";
import type { Suppressions } from "../suppression";
import type { Views } from "../web/views";
import { recentDigestRates, windowRates, type Thresholds } from "./rates";

export interface FeedbackAdminDeps {
  db: Db;
  suppressions: Suppressions;
  views: Views;
  thresholds: Thresholds;
}

export async function liftSuppression(
  deps: Pick<FeedbackAdminDeps, "db" | "suppressions">,
  rawEmail: unknown,
  by: string,
): Promise<{ lifted: boolean; reactivated: boolean }> {
  const normal = normalizeEmail(rawEmail);
  if (!normal.ok) throw badRequest(`not an email address: ${normal.reason}`);
  const email = normal.email;
  return deps.db.$transaction(async (tx) => {
    const lifted = await deps.suppressions.lift(tx, email, by);
    if (!lifted) return { lifted: false, reactivated: false };
    const subscriber = await tx.subscriber.findUnique({ where: { email }, select: { id: true, status: true } });
    if (subscriber?.status !== "bounced") return { lifted: true, reactivated: false };
    await tx.subscriber.update({ where: { id: subscriber.id }, data: { status: "active" } });
    await recordConsent(tx, {
      subscriberId: subscriber.id,
      email,
      action: "change",
      source: "admin",
      detail: { suppressionLifted: true, previousStatus: "bounced", by },
    });
    return { lifted: true, reactivated: true };
  });
}

async function overview(deps: FeedbackAdminDeps, includeLifted: boolean) {
  const [last30Days, digests, suppressions] = await Promise.all([
    windowRates(deps.db, 30),
    recentDigestRates(deps.db, 20),
    deps.suppressions.list(deps.db, { limit: 500, includeLifted }),
  ]);
  return { last30Days, digests, thresholds: deps.thresholds, suppressions };
}

export function feedbackAdminApi(deps: FeedbackAdminDeps): Router {
  const router = Router();
  router.get("/feedback", async (_req, res) => {
    const { last30Days, digests, thresholds } = await overview(deps, false);
    res.json({ last30Days, digests, thresholds });
  });
  router.get("/suppressions", async (req, res) => {
    const includeLifted = req.query.lifted === "1" || req.query.lifted === "true";
    res.json({ suppressions: await deps.suppressions.list(deps.db, { limit: 1000, includeLifted }) });
  });
  router.post("/suppressions/lift", async (req, res) => {
    const result = await liftSuppression(deps, (req.body as { email?: unknown } | undefined)?.email, "admin");
    if (!result.lifted) throw notFound("that address is not on the suppression list");
    res.json(result);
  });
  return router;
}

const percent = (rate: number | null) => (rate === null ? "n/a" : `${(rate * 100).toFixed(2)}%`);

export function feedbackAdminPages(deps: FeedbackAdminDeps): Router {
  const router = Router();
  router.get("/feedback", async (req, res) => {
    const includeLifted = req.query.lifted === "1";
    const data = await overview(deps, includeLifted);
    const message = typeof req.query.message === "string" ? req.query.message.slice(0, 200) : "";
    res
      .set("Cache-Control", "no-store")
      .type("html")
      .send(
        deps.views.render("admin-feedback", {
          title: "Bounces and complaints",
          ...data,
          includeLifted,
          percent,
          message,
        }),
      );
  });
  router.post("/feedback/lift", async (req, res) => {
    const email = (req.body as { email?: unknown } | undefined)?.email;
    const result = await liftSuppression(deps, email, "admin");
    const message = !result.lifted
      ? "That address was not on the suppression list."
      : result.reactivated
        ? "Lifted; the subscriber is active again."
        : "Lifted.";
    res.redirect(303, `/admin/feedback?message=${encodeURIComponent(message)}`);
  });
  return router;
}

import type { Router } from "express";
import { resolveLink } from "../links";
import { confirmSubscription, type ConfirmOutcome } from "../confirm";
import { contextOf, privatePage, tokenOf, type RouteContext } from "./context";

/**
 * /confirm/:token: the double opt-in link. GET shows one button and changes nothing (mail filters
 * and link scanners open links); the button POSTs, confirms, and shows the preferences.
 */
const notices: Record<ConfirmOutcome, string> = {
  confirmed: "You're subscribed. Welcome to Daily Papers! Choose your topics below.",
  already_active: "Your subscription is already confirmed.",
  not_pending:
    "You left this list after asking to join it, so this confirmation link no longer subscribes you. Use the button below to come back.",
};

export function confirmRoutes(router: Router, ctx: RouteContext): void {
  const { db, tokens, views, metrics, csrf } = ctx;
  const confirmMaxAgeMs = ctx.confirmTtlHours * 3600_000;

  router.get("/confirm/:token", privatePage, csrf.cookies, async (req, res) => {
    const subscriber = await resolveLink(db, tokens, "confirm", tokenOf(req), confirmMaxAgeMs);
    res
      .status(200)
      .type("html")
      .send(
        views.render("confirm", {
          title: "Confirm your subscription",
          email: subscriber.email,
          alreadyActive: subscriber.status === "active",
          csrfToken: csrf.token(req, res),
        }),
      );
  });

  router.post("/confirm/:token", privatePage, csrf.cookies, csrf.protect, async (req, res) => {
    const subscriber = await resolveLink(db, tokens, "confirm", tokenOf(req), confirmMaxAgeMs);
    const outcome: ConfirmOutcome = await confirmSubscription(db, subscriber, contextOf(req));
    if (outcome === "confirmed") metrics.confirmations.inc();
    const fresh = await db.subscriber.findUniqueOrThrow({ where: { id: subscriber.id } });
    await ctx.pages.preferences(req, res, fresh, notices[outcome]);
  });
}

import type { Request, Response, Router } from "express";
import type { Subscriber } from "../../db";
import { firstProblem, preferencesForm, type PreferencesForm } from "../forms";
import { InvalidInput } from "../errors";
import { resolveLink } from "../links";
import { resubscribe, updatePreferences } from "../preferences";
import { parseFollows } from "../follows";
import { unsubscribe } from "../unsubscribe";
import { eraseSubscriber, exportSubscriberData } from "../erase";
import { contextOf, privatePage, tokenOf, type RouteContext } from "./context";

/** Preferences: topics, frequency, follows, send me nothing, download my data, delete me. */
export function preferencesRoutes(router: Router, ctx: RouteContext): void {
  const { db, tokens, csrf } = ctx;

  router.get("/preferences/:token", privatePage, csrf.cookies, async (req, res) => {
    const subscriber = await resolveLink(db, tokens, "manage", tokenOf(req));
    const notices = new Map([
      ["saved", "Your preferences are saved."],
      ["unchanged", "Nothing changed."],
      ["paused", "Done: we will send you nothing. You can come back at any time from this page."],
      ["resubscribed", "Welcome back: you're subscribed again."],
    ]);
    // A Map, not an object: ?done=constructor must find nothing, not Object's own properties.
    const done = typeof req.query.done === "string" ? req.query.done : "";
    await ctx.pages.preferences(req, res, subscriber, notices.get(done));
  });

  router.post("/preferences/:token", privatePage, csrf.cookies, csrf.protect, async (req, res) => {
    const subscriber = await resolveLink(db, tokens, "manage", tokenOf(req));
    const parsed = preferencesForm.safeParse(req.body ?? {});
    if (!parsed.success) throw new InvalidInput(firstProblem(parsed.error));
    const done = await applyForm(ctx, req, res, subscriber, parsed.data);
    // Post/redirect/get: reloading the page never repeats the change.
    if (done) res.redirect(303, `/preferences/${tokenOf(req)}?done=${done}`);
  });

  router.post("/preferences/:token/export", privatePage, csrf.cookies, csrf.protect, async (req, res) => {
    const subscriber = await resolveLink(db, tokens, "manage", tokenOf(req));
    const data = await exportSubscriberData(db, subscriber.id);
    res
      .attachment("daily-papers-my-data.json")
      .type("application/json")
      .send(JSON.stringify(data, null, 2));
  });

  router.post("/preferences/:token/delete", privatePage, csrf.cookies, csrf.protect, async (req, res) => {
    const subscriber = await resolveLink(db, tokens, "manage", tokenOf(req));
    // Erasure cannot be undone: the first post only asks once more, the second (confirm=yes) erases.
    if ((req.body as Record<string, unknown> | undefined)?.confirm !== "yes")
      return askBeforeErasing(ctx, req, res, subscriber);
    const { erased } = await eraseSubscriber(db, ctx.suppressions, subscriber.id, "link", contextOf(req));
    if (erased && subscriber.status === "active") ctx.metrics.unsubscribes.inc({ source: "link" });
    res
      .status(200)
      .type("html")
      .send(ctx.views.render("deleted", { title: "Your data is deleted" }));
  });
}

/**
 * Applies one post of the preferences form; returns what was done (for the redirect), or nothing
 * when the form was refused and shown again with the reason.
 */
async function applyForm(
  ctx: RouteContext,
  req: Request,
  res: Response,
  subscriber: Subscriber,
  form: PreferencesForm,
): Promise<string | undefined> {
  const { db, metrics } = ctx;
  const context = contextOf(req);
  if (form.action === "pause") {
    const { changed } = await unsubscribe(db, subscriber.id, "link", context);
    if (changed) metrics.unsubscribes.inc({ source: "link" });
    return "paused";
  }
  if (form.action === "resubscribe") {
    await resubscribe(db, subscriber, "link", context);
    return "resubscribed";
  }
  // Absent text areas (an older form, an API caller) leave the follows as they are.
  const typed =
    form.keywords === undefined && form.authors === undefined
      ? undefined
      : { keywords: form.keywords ?? "", authors: form.authors ?? "" };
  try {
    const { changed } = await updatePreferences(
      db,
      subscriber,
      { topicSlugs: form.topics, frequency: form.frequency, follows: typed && parseFollows(typed) },
      context,
    );
    return changed ? "saved" : "unchanged";
  } catch (err) {
    if (!(err instanceof InvalidInput)) throw err;
    await ctx.pages.preferences(req, res, subscriber, err.message, 400, typed);
    return undefined;
  }
}

function askBeforeErasing(ctx: RouteContext, req: Request, res: Response, subscriber: Subscriber) {
  res
    .status(200)
    .type("html")
    .send(
      ctx.views.render("delete-confirm", {
        title: "Delete everything about you?",
        email: subscriber.email,
        action: `/preferences/${tokenOf(req)}/delete`,
        back: `/preferences/${tokenOf(req)}`,
        csrfToken: ctx.csrf.token(req, res),
      }),
    );
}

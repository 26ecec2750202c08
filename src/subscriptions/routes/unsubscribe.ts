import type { RequestHandler, Router } from "express";
import multer from "multer";
import { AppError } from "../../errors";
import { resolveLink } from "../links";
import { resubscribe } from "../preferences";
import { unsubscribe } from "../unsubscribe";
import { canUndo, contextOf, privatePage, tokenOf, type RouteContext } from "./context";

/**
 * Unsubscribe: one button; the POST is also RFC 8058 one-click (no cookies, no CSRF, 200). And the
 * undo, from the same link, for a day: the link travels with every email (and with the
 * List-Unsubscribe header), so it may stop mail and take back its own click, nothing more.
 */
export function unsubscribeRoutes(router: Router, ctx: RouteContext): void {
  const { db, tokens, views, csrf } = ctx;

  router.get("/unsubscribe/:token", privatePage, csrf.cookies, async (req, res) => {
    const subscriber = await resolveLink(db, tokens, "unsubscribe", tokenOf(req));
    res.type("html").send(
      views.render("unsubscribe", {
        title: "Unsubscribe from Daily Papers",
        email: subscriber.email,
        alreadyUnsubscribed: subscriber.status === "unsubscribed",
        undo: canUndo(subscriber) ? `/unsubscribe/${tokenOf(req)}/undo` : undefined,
        csrfToken: csrf.token(req, res),
      }),
    );
  });

  router.post("/unsubscribe/:token/undo", privatePage, csrf.cookies, csrf.protect, async (req, res) => {
    const subscriber = await resolveLink(db, tokens, "unsubscribe", tokenOf(req));
    if (!canUndo(subscriber))
      throw new AppError("This can no longer be undone from this link: use the preferences link in an email.", 409);
    await resubscribe(db, subscriber, "link", contextOf(req));
    res
      .status(200)
      .type("html")
      .send(
        views.render("check-inbox", { title: "You're subscribed again", message: "Done: you're subscribed again." }),
      );
  });

  router.post("/unsubscribe/:token", privatePage, csrf.cookies, parseOneClickBody, unsubscribeHandler(ctx));
}

/**
 * RFC 8058 one-click requests may be multipart/form-data. Parsed with tight limits (no files, a few
 * small fields); urlencoded bodies were already parsed by the app (8 kB limit).
 */
const MAX_MULTIPART_BYTES = 8 * 1024;
const multipart = multer({ limits: { fields: 10, fieldNameSize: 100, fieldSize: 1024, files: 0, parts: 10 } }).none();
const parseOneClickBody: RequestHandler = (req, res, next) => {
  if (!req.is("multipart/form-data")) return next();
  if (Number(req.headers["content-length"] ?? 0) > MAX_MULTIPART_BYTES)
    return next(new AppError("The request is too large.", 413));
  multipart(req, res, (err?: unknown) => {
    if (!err) return next();
    const code = (err as { code?: string }).code ?? "";
    if (/LIMIT_(FIELD_VALUE|PART_COUNT|FIELD_COUNT|FIELD_KEY)/.test(code))
      return next(new AppError("The request is too large.", 413));
    next(new AppError("The request body could not be read.", 400));
  });
};

function unsubscribeHandler({ db, tokens, views, metrics, csrf }: RouteContext): RequestHandler {
  return async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const oneClick = body["List-Unsubscribe"] === "One-Click";
    const source = oneClick ? "one_click" : "link";
    const subscriber = await resolveLink(db, tokens, "unsubscribe", tokenOf(req));
    const { changed } = await unsubscribe(db, subscriber.id, source, contextOf(req));
    if (changed) metrics.unsubscribes.inc({ source });
    if (oneClick) {
      // Mail providers read the status only: a plain 200, no cookie, no redirect.
      return void res.status(200).type("text/plain").send("You are unsubscribed from Daily Papers.\n");
    }
    const fresh = await db.subscriber.findUnique({ where: { id: subscriber.id } });
    res
      .status(200)
      .type("html")
      .send(
        views.render("unsubscribed", {
          title: "You're unsubscribed",
          email: subscriber.email,
          undo: fresh && canUndo(fresh) ? `/unsubscribe/${tokenOf(req)}/undo` : undefined,
          csrfToken: csrf.token(req, res),
        }),
      );
  };
}

import type { ErrorRequestHandler, RequestHandler } from "express";
import { AppError } from "../../errors";
import type { Views } from "../views";

const wantsJson = (accept: string | undefined, contentType: string | undefined) =>
  (accept?.includes("application/json") && !accept.includes("text/html")) || contentType?.includes("application/json");

/** The heading of an error page, in a reader's words. */
export function titleFor(status: number): string {
  if (status >= 500) return "Something went wrong on our side";
  if (status === 404) return "We couldn't find that page";
  if (status === 410) return "This link has expired";
  if (status === 429) return "Too many tries";
  return "That didn't work";
}

/** The one place HTTP errors are answered: JSON for JSON callers, a page for browsers, never a stack trace. */
export function errorHandler(views: Views): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const e = err as { status?: number; statusCode?: number; type?: string; expose?: boolean; message?: string };
    let status = err instanceof AppError ? err.status : (e.status ?? e.statusCode ?? 500);
    if (status < 400 || status > 599) status = 500;
    let message =
      err instanceof AppError
        ? err.expose
          ? err.message
          : "Something went wrong on our side."
        : "Something went wrong on our side.";
    if (!(err instanceof AppError) && status < 500) {
      message =
        e.type === "entity.too.large"
          ? "The request is too large."
          : e.type === "entity.parse.failed"
            ? "The request body could not be parsed."
            : err instanceof URIError
              ? // Express's message quotes the undecodable part of the address (maybe a token).
                "The address could not be read."
              : (e.message ?? "Bad request");
    }
    const hint = err instanceof AppError ? err.hint : undefined;
    if (status >= 500) req.log?.error({ err }, "request failed");
    else req.log?.info({ status, reason: message }, "request refused");
    if (res.headersSent) return;
    res.status(status);
    if (wantsJson(req.headers.accept, req.headers["content-type"])) {
      res.json({ error: message, ...(hint ? { hint } : {}) });
    } else {
      res.type("html").send(
        views.render("error", {
          title: titleFor(status),
          status,
          message,
          hint,
        }),
      );
    }
  };
}

export const notFoundHandler: RequestHandler = (_req, _res, next) =>
  next(new AppError("There is nothing at this address.", 404));

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

interface HttpErrorFields {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
  message?: string;
}

/** The status to answer with: the error's own when it is an HTTP error status, else 500. */
function statusOf(err: unknown): number {
  const e = err as HttpErrorFields;
  const status = err instanceof AppError ? err.status : (e.status ?? e.statusCode ?? 500);
  return status < 400 || status > 599 ? 500 : status;
}

/** What the reader is told: an AppError's own words when it may show them; never a server error's detail. */
function messageOf(err: unknown, status: number): string {
  if (err instanceof AppError) return err.expose ? err.message : "Something went wrong on our side.";
  if (status >= 500) return "Something went wrong on our side.";
  const e = err as HttpErrorFields;
  if (e.type === "entity.too.large") return "The request is too large.";
  if (e.type === "entity.parse.failed") return "The request body could not be parsed.";
  // Express's message quotes the undecodable part of the address (maybe a token).
  if (err instanceof URIError) return "The address could not be read.";
  return e.message ?? "Bad request";
}

/** The one place HTTP errors are answered: JSON for JSON callers, a page for browsers, never a stack trace. */
export function errorHandler(views: Views): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const status = statusOf(err);
    const message = messageOf(err, status);
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

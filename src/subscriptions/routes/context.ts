import type { Request, RequestHandler } from "express";
import type { Db, Subscriber } from "../../db";
import type { Suppressions } from "../../suppression";
import type { Metrics } from "../../observability/metrics";
import { requestIdOf } from "../../observability/request-id";
import type { Views } from "../../web/views";
import type { Csrf } from "../../web/middleware/csrf";
import type { Tokens } from "../tokens";
import type { RequestContext } from "../consent-log";
import type { RequestRelay } from "../request-relay";
import type { Pages } from "./pages";

/**
 * What every route group of subscriptions shares: the feature's dependencies for its routes, the
 * pages they render, and small helpers to read a request.
 */
export interface SubscriptionRoutesDeps {
  db: Db;
  tokens: Tokens;
  views: Views;
  metrics: Metrics;
  /** Takes each stored subscribe request to the `emails` queue, off the request path. */
  requestRelay: RequestRelay;
  csrf: Csrf;
  /** Both subscribe limits (per client address, per mailbox), one Redis round trip. */
  limits: RequestHandler;
  /** Erasure forgets the address in its suppression entry (the keyed hash stays). */
  suppressions: Suppressions;
  baseUrl: () => string;
  confirmTtlHours: number;
}

/** A route group's view of the feature: its dependencies and the pages shared between groups. */
export type RouteContext = SubscriptionRoutesDeps & { pages: Pages };

export const contextOf = (req: Request): RequestContext => ({
  ip: req.ip,
  userAgent: req.get("user-agent") ?? undefined,
  requestId: requestIdOf(req),
});

export const wantsJson = (req: Request) =>
  Boolean(req.is("application/json")) || (req.accepts(["html", "json"]) === "json" && !req.accepts("html"));

export const tokenOf = (req: Request) => {
  const token = (req.params as Record<string, unknown>).token;
  return typeof token === "string" ? token : "";
};

/** An unsubscribe can be undone from the unsubscribe link for this long after it happened. */
export const UNDO_WINDOW_MS = 24 * 3600_000;
export const canUndo = (s: Subscriber, now = Date.now()) =>
  s.status === "unsubscribed" && s.unsubscribedAt !== null && now - s.unsubscribedAt.getTime() < UNDO_WINDOW_MS;

/** Pages reached by a token hold personal data: never cached, never indexed. */
export const privatePage: RequestHandler = (_req, res, next) => {
  res.set("Cache-Control", "no-store");
  res.set("X-Robots-Tag", "noindex");
  next();
};

import { Router } from "express";
import type { SubscriptionRoutesDeps } from "./context";
import { createPages } from "./pages";
import { subscribeRoutes } from "./subscribe";
import { confirmRoutes } from "./confirm";
import { preferencesRoutes } from "./preferences";
import { unsubscribeRoutes } from "./unsubscribe";

/**
 * The HTTP face of subscriptions (routes and field names: shared/INTERFACE.md), one module per
 * route group. Thin: parse, call the domain, render a template. Rate limiters and CSRF are built
 * by the feature and passed in.
 */
export type { SubscriptionRoutesDeps } from "./context";
export { UNDO_WINDOW_MS } from "./context";

export function subscriptionRoutes(deps: SubscriptionRoutesDeps): Router {
  const router = Router();
  const ctx = { ...deps, pages: createPages(deps) };
  subscribeRoutes(router, ctx); // GET /, GET and POST /subscribe
  confirmRoutes(router, ctx); // /confirm/:token
  preferencesRoutes(router, ctx); // /preferences/:token (and /export, /delete)
  unsubscribeRoutes(router, ctx); // /unsubscribe/:token (and /undo)
  return router;
}

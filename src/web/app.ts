import crypto from "node:crypto";
import express, { type Express, type Router } from "express";
import helmet from "helmet";
import { pinoHttp } from "pino-http";
import type { Logger } from "../logger";
import { errorHandler, notFoundHandler } from "./middleware/errors";
import type { Views } from "./views";
import { httpMetrics } from "../observability/http-metrics";
import type { Metrics } from "../observability/metrics";

export interface WebAppOptions {
  log: Logger;
  views: Views;
  /** Routers of each feature, mounted in order. */
  routers: Router[];
  /** Routers that read their own request body (signed webhooks), mounted before the body parsers. */
  rawBodyRouters?: Router[];
  /** Express's `trust proxy` (TRUST_PROXY): which proxies' X-Forwarded-For gives the client's address. */
  trustProxy?: number | boolean | string;
  /** Served over HTTPS (BASE_URL): enables HSTS and upgrade-insecure-requests. */
  secure: boolean;
  /** When given, every response's latency is observed by route pattern. */
  metrics?: Pick<Metrics, "httpLatency">;
}

/**
 * A request address as the log may keep it: link tokens (after /confirm, /preferences,
 * /unsubscribe, in any letter case, and any other long opaque segment) and every query value (a
 * search may hold an address) become `…`. A log line never holds what opens someone's subscription.
 */
export function maskUrl(url: string): string {
  const [path = "", query] = url.split(/\?(.*)/s, 2);
  const maskedPath = path
    .replace(/(\/(?:confirm|preferences|unsubscribe))\/[^/]+/gi, "$1/…")
    .replace(/\/[\w.~%-]{40,}/g, "/…");
  if (query === undefined) return maskedPath;
  const keys = query
    .split("&")
    .filter(Boolean)
    .map((pair) => `${pair.split("=")[0]!.slice(0, 40)}=…`);
  return `${maskedPath}?${keys.join("&")}`;
}

/** The Express app: security headers, request ids and logs, small bodies, the features' routes, one error handler. */
export function createWebApp(opts: WebAppOptions): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", opts.trustProxy ?? false);
  if (opts.metrics) app.use(httpMetrics(opts.metrics));
  app.use(
    pinoHttp({
      logger: opts.log,
      genReqId: (req, res) => {
        const incoming = req.headers["x-request-id"];
        const id = typeof incoming === "string" && /^[\w-]{1,64}$/.test(incoming) ? incoming : crypto.randomUUID();
        res.setHeader("x-request-id", id);
        return id;
      },
      autoLogging: { ignore: (req) => req.url === "/healthz" || req.url === "/metrics" },
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          url: maskUrl(req.url),
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          "default-src": ["'self'"],
          "img-src": ["'self'", "data:"],
          "style-src": ["'self'", "'unsafe-inline'"],
          "frame-src": ["'self'"],
          "form-action": ["'self'"],
          "upgrade-insecure-requests": opts.secure ? [] : null,
        },
      },
      strictTransportSecurity: opts.secure,
    }),
  );
  for (const router of opts.rawBodyRouters ?? []) app.use(router);
  app.use(express.urlencoded({ extended: false, limit: "8kb", parameterLimit: 100 }));
  app.use(express.json({ limit: "8kb" }));
  for (const router of opts.routers) app.use(router);
  app.use(notFoundHandler);
  app.use(errorHandler(opts.views));
  return app;
}

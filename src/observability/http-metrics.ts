import type { Request, RequestHandler } from "express";
import type { Metrics } from "./metrics";

/**
 * A route label that never carries what the caller typed: the pattern Express matched
 * (`/unsubscribe/:token`), prefixed by the mount path of its router. Mount paths are actual
 * values, so segments that look like ids, dates or tokens are replaced by `:param`; requests no
 * route answered are `unmatched` (404s) or `<mount>/*` (static files, sub-apps' middleware).
 */
export function routeLabel(req: Pick<Request, "baseUrl" | "route">, status: number): string {
  const base = (req.baseUrl ?? "")
    .split("/")
    .map((segment) =>
      /^\d[\d-]*$/.test(segment) || /^[\w-]{20,}$/.test(segment) || segment.includes(".") ? ":param" : segment,
    )
    .join("/");
  const pattern = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof pattern === "string") return `${base}${pattern}` || "/";
  if (base) return `${base}/*`;
  return status === 404 ? "unmatched" : "other";
}

/** Observes every response's latency in `http_request_duration_seconds{method,route,status}`. */
export function httpMetrics(metrics: Pick<Metrics, "httpLatency">): RequestHandler {
  return (req, res, next) => {
    const end = metrics.httpLatency.startTimer();
    res.once("finish", () =>
      end({ method: req.method, route: routeLabel(req, res.statusCode), status: String(res.statusCode) }),
    );
    next();
  };
}

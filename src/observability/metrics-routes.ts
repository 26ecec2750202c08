import { Router } from "express";
import type { Queue } from "bullmq";
import type { Logger } from "../logger";
import { updatePausedDigests, updateQueueDepths, type Metrics } from "./metrics";
import { bearerToken, sameSecret } from "../admin";

export interface MetricsRouteOptions {
  metrics: Metrics;
  queues: Queue[];
  log: Logger;
  /** The digests paused now (newsletter_digest_paused), read at each scrape. */
  pausedDigests?: () => Promise<{ day: string; frequency: string }[]>;
  /** When set, /metrics answers only `Authorization: Bearer <token>` (401 otherwise). */
  token?: string;
  /** Without a token: serve /metrics to anyone (true), or answer 404 as if it were not there (false). */
  openWithoutToken: boolean;
}

/**
 * GET /metrics in the Prometheus text format. The figures are counts, never addresses, but counts
 * read before and after a request tell an outsider what the request did (an email sent or not), so
 * the public port serves them only with METRICS_TOKEN, or outside production; METRICS_PORT (a port
 * of its own, not published) serves them to whoever reaches it. See the README, "Observability".
 */
export function metricsRoutes(opts: MetricsRouteOptions): Router {
  const router = Router();
  router.get("/metrics", async (req, res, next) => {
    if (opts.token === undefined && !opts.openWithoutToken) return next();
    if (opts.token !== undefined && !sameSecret(bearerToken(req.headers.authorization), opts.token)) {
      res
        .status(401)
        .set("WWW-Authenticate", 'Bearer realm="metrics"')
        .type("text/plain")
        .send("A bearer token is required (METRICS_TOKEN).\n");
      return;
    }
    try {
      await withTimeout(updateQueueDepths(opts.metrics, opts.queues), 2_000);
    } catch (err) {
      // The other figures are still worth having when Redis is slow or down.
      opts.log.warn({ err: (err as Error).message }, "queue depths could not be read for /metrics");
    }
    if (opts.pausedDigests) {
      try {
        await withTimeout(updatePausedDigests(opts.metrics, opts.pausedDigests), 2_000);
      } catch (err) {
        opts.log.warn({ err: (err as Error).message }, "paused digests could not be read for /metrics");
      }
    }
    res.type(opts.metrics.registry.contentType).send(await opts.metrics.registry.metrics());
  });
  return router;
}

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref()),
  ]);

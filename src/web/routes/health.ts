import { Router } from "express";

export type HealthCheck = () => Promise<unknown>;

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref()),
  ]);

/** GET /healthz: 200 when every dependency answers, 503 naming what is down. */
export function healthRoutes(checks: Record<string, HealthCheck>): Router {
  const router = Router();
  router.get("/healthz", async (_req, res) => {
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), 2_000);
          return [name, "ok"] as const;
        } catch (err) {
          return [name, `down: ${(err as Error).message}`] as const;
        }
      }),
    );
    const down = results.filter(([, state]) => state !== "ok").map(([name]) => name);
    res
      .status(down.length ? 503 : 200)
      .json({ status: down.length ? "down" : "ok", down, checks: Object.fromEntries(results) });
  });
  return router;
}

import type { Router } from "express";
import type { JobHandlers } from "./queue/workers";
import type { Schedule } from "./queue/schedules";

/**
 * What a feature (subscriptions, papers, digests, admin...) contributes to the running product.
 * src/app.ts builds each feature with its dependencies and mounts what it returns.
 */
export interface Feature {
  routers?: Router[];
  /** Routes that must see the raw request body (signed webhooks): mounted before the body parsers. */
  rawBodyRouters?: Router[];
  /** Server-rendered pages for operators, mounted under /admin behind its gate. */
  adminPageRouters?: Router[];
  /** JSON routes for operators, mounted by the admin area under /admin/api behind its gate. */
  adminApiRouters?: Router[];
  handlers?: JobHandlers;
  schedules?: Schedule[];
  /** Work to do once at start-up (e.g. seeding default topics). Must be idempotent. */
  init?(): Promise<void>;
  /**
   * Work the schedules would have done had they been running (e.g. fetching a missing day at
   * once). Run where the schedules run, after they are registered; a failure is only logged.
   */
  catchUp?(): Promise<void>;
}

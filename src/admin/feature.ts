/**
 * The admin area: everything under /admin, behind ADMIN_TOKEN (404 when it is unset).
 * - /admin            a server-rendered page: figures and subscriber search
 * - /admin/login      the sign-in form for browsers (sets an HttpOnly SameSite=Strict cookie)
 * - /admin/queues     the BullMQ dashboard (bull-board) over every queue
 * - /admin/api/...    the JSON API (./api.ts), plus the routers other features pass in
 */
import express, { Router } from "express";
import type { Db } from "../db";
import { AppError } from "../errors";
import { allQueueNames, type Queues } from "../queue/queues";
import type { Feature } from "../feature";
import type { Views } from "../web/views";
import {
  ADMIN_COOKIE,
  adminAttemptLimit,
  issueSession,
  readCookie,
  requireAdmin,
  sameSecret,
  sessionCookieOptions,
  type AdminAuthConfig,
  validSession,
  type RevokedSessions,
} from "./auth";
import { adminApiRouter } from "./api";
import { queueDashboard } from "./dashboard";
import { searchSubscribers, subscriberDetail, subscriberStats, subscriberStatuses, type Stats } from "./queries";
import { isUuid, notFound } from "../errors";

export interface AdminDeps {
  config: AdminAuthConfig;
  db: Db;
  queues: Queues;
  views: Views;
  /** Where signed-out sessions are remembered (Redis, shared by every web process). */
  revokedSessions?: RevokedSessions;
}

export interface AdminOptions {
  /** More JSON routes under /admin/api (e.g. the digest engine's send and status), behind the same gate. */
  apiRouters?: Router[];
  /** More pages under /admin (e.g. bounces and the suppression list), behind the same gate. */
  pageRouters?: Router[];
}

/** Where to go after signing in: only a page of the admin area (no open redirect). */
const safeNext = (next: unknown) =>
  typeof next === "string" &&
  /^\/admin(\/[\w\-/.?=&%]*)?$/.test(next) &&
  !next.includes("..") &&
  !next.startsWith("/admin/login")
    ? next
    : "/admin";

/**
 * The figures as an operator reads them: the window's totals, and only the days on which something
 * happened, newest first (a quiet month is one line, not thirty rows of zeros).
 */
export function whatChanged(stats: Stats) {
  const deliveriesByDay = new Map(stats.deliveries.map((d) => [d.day, d]));
  const days = stats.growth
    .map((g) => {
      const d = deliveriesByDay.get(g.day);
      return {
        ...g,
        accepted: d?.accepted ?? 0,
        failed: d?.failed ?? 0,
        pending: (d?.pending ?? 0) + (d?.sending ?? 0),
      };
    })
    .filter((r) => r.signups || r.activated || r.left || r.accepted || r.failed || r.pending)
    .reverse();
  const sum = (key: "signups" | "activated" | "left" | "accepted" | "failed") => days.reduce((n, r) => n + r[key], 0);
  return {
    days,
    totals: {
      signups: sum("signups"),
      activated: sum("activated"),
      left: sum("left"),
      net: sum("activated") - sum("left"),
      accepted: sum("accepted"),
      failed: sum("failed"),
    },
  };
}

const percent = (rate: number | null) => (rate === null ? "n/a" : `${(rate * 100).toFixed(2)}%`);

/** The sign-in form, and signing out (the session ended on the server too). */
function signInRoutes(router: Router, deps: AdminDeps, adminToken: string, formLimit: express.RequestHandler): void {
  const { config, views } = deps;
  router.get("/admin/login", (req, res) => {
    res
      .set("Cache-Control", "no-store")
      .type("html")
      .send(views.render("admin-login", { title: "Admin sign-in", next: safeNext(req.query.next) }));
  });
  router.post("/admin/login", formLimit, (req, res) => {
    const body = (req.body ?? {}) as { token?: unknown; next?: unknown };
    if (typeof body.token !== "string" || !sameSecret(body.token.trim(), adminToken)) {
      req.log?.warn({ reason: "wrong admin token" }, "admin sign-in refused");
      res
        .status(401)
        .set("Cache-Control", "no-store")
        .type("html")
        .send(
          views.render("admin-login", {
            title: "Admin sign-in",
            message: "That is not the admin token.",
            next: safeNext(body.next),
          }),
        );
      return;
    }
    res.cookie(ADMIN_COOKIE, issueSession(config), sessionCookieOptions(config)).redirect(303, safeNext(body.next));
  });
  const signOut: express.RequestHandler = async (req, res) => {
    // Ended on the server too: a copy of the cookie stops working at the same moment.
    const session = readCookie(req, ADMIN_COOKIE);
    if (session && validSession(config, session)) await deps.revokedSessions?.revoke(session);
    res.clearCookie(ADMIN_COOKIE, { ...sessionCookieOptions(config), maxAge: undefined }).redirect(303, "/admin/login");
  };
  router.get("/admin/logout", signOut);
  router.post("/admin/logout", signOut);
}

/** The pages behind the gate: the figures and subscriber search, and one subscriber. */
function adminPages(db: Db, views: Views): Router {
  const gated = Router();
  gated.get("/", async (req, res) => {
    const q = typeof req.query.q === "string" ? req.query.q.trim().slice(0, 254) : "";
    const status = subscriberStatuses.find((s) => s === req.query.status);
    const cursor = typeof req.query.cursor === "string" ? req.query.cursor.slice(0, 200) : undefined;
    const [stats, result, latestDigests] = await Promise.all([
      subscriberStats(db, 30),
      searchSubscribers(db, { q: q || undefined, status, limit: 50, cursor }),
      db.digest.findMany({
        orderBy: [{ day: "desc" }, { frequency: "asc" }],
        take: 3,
        select: { id: true, day: true, frequency: true, status: true, pauseReason: true },
      }),
    ]);
    res
      .set("Cache-Control", "no-store")
      .type("html")
      .send(
        views.render("admin", {
          title: "Admin",
          stats,
          changes: whatChanged(stats),
          latestDigests: latestDigests.map((d) => ({ ...d, day: d.day.toISOString().slice(0, 10) })),
          result,
          q,
          status: status ?? "",
          statuses: subscriberStatuses,
          percent,
        }),
      );
  });
  gated.get("/subscribers/:id", async (req, res) => {
    const subscriber = isUuid(req.params.id) ? await subscriberDetail(db, req.params.id) : undefined;
    if (!subscriber) throw notFound("No such subscriber: they may have deleted themselves.");
    res
      .set("Cache-Control", "no-store")
      .type("html")
      .send(
        views.render("admin-subscriber", {
          title: `Subscriber ${subscriber.email}`,
          s: subscriber,
          day: (d: Date) => d.toISOString().slice(0, 10),
          when: (d: Date | null) => (d ? d.toISOString().slice(0, 16).replace("T", " ") : ""),
          json: (v: unknown) => (v === null || v === undefined ? "" : JSON.stringify(v)),
        }),
      );
  });
  return gated;
}

/** The JSON API, with the routers other features pass in; errors answered as JSON. */
function adminApi(db: Db, options: AdminOptions): Router {
  const api = Router();
  api.use(adminApiRouter({ db }));
  for (const extra of options.apiRouters ?? []) api.use(extra);
  // The API speaks JSON whatever the caller accepts; 5xx go on to the central handler (and its log).
  api.use(((err, _req, res, next) => {
    if (res.headersSent || !(err instanceof AppError) || err.status >= 500) return next(err);
    res.status(err.status).json({ error: err.message, ...(err.hint ? { hint: err.hint } : {}) });
  }) as express.ErrorRequestHandler);
  return api;
}

export function adminFeature(deps: AdminDeps, options: AdminOptions = {}): Feature {
  const { config, db, views } = deps;
  // No token, no admin area: not a single route, so /admin/... is the ordinary 404.
  if (!config.ADMIN_TOKEN) return {};
  const queues = allQueueNames.map((name) => deps.queues[name]);

  const router = Router();
  const attempts = adminAttemptLimit();
  signInRoutes(router, deps, config.ADMIN_TOKEN, attempts.form);

  const gated = adminPages(db, views);
  gated.use(
    "/api",
    (_req, res, next) => {
      res.set("Cache-Control", "no-store");
      next();
    },
    adminApi(db, options),
  );
  gated.use("/queues", queueDashboard(queues, "/admin/queues"));
  for (const extra of options.pageRouters ?? []) gated.use(extra);

  router.use("/admin", attempts.bearer, requireAdmin(config, views, deps.revokedSessions), gated);
  return { routers: [router] };
}

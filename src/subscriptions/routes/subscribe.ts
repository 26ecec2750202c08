import type { Request, RequestHandler, Response, Router } from "express";
import { normalizeEmail } from "../email-address";
import { firstProblem, HONEYPOT_FIELD, subscribeForm } from "../forms";
import { InvalidInput } from "../errors";
import { subscribe } from "../subscribe";
import { contextOf, wantsJson, type RouteContext } from "./context";

/**
 * The home page and its form. POST /subscribe: both limits (per IP and per address, one Redis
 * round trip), CSRF, parse, honeypot, validate, subscribe. Every valid address gets the same answer (INTERFACE.md).
 */
const CHECK_INBOX = "Check your inbox: if the address can receive our email, a confirmation link is on its way.";

type FormValues = { email: string; topics: string[]; frequency: string };

/** What parseSubscription leaves for the handler in `res.locals.subscription`. */
interface ParsedSubscription {
  email: string;
  topicSlugs: string[];
  frequency: "daily" | "weekly";
  values: FormValues;
}

export function subscribeRoutes(router: Router, ctx: RouteContext): void {
  const { csrf, pages } = ctx;
  const home: RequestHandler = async (req, res) => {
    // The form carries a per-visitor CSRF token: no shared cache may keep this page.
    res.set("Cache-Control", "private, no-store");
    await pages.home(req, res, 200);
  };
  router.get("/", csrf.cookies, home);
  // Where the form posts: reloading it, or following a link to it, shows the form.
  router.get("/subscribe", csrf.cookies, home);

  router.post("/subscribe", ctx.limits, csrf.cookies, parseSubscription(ctx), subscribeHandler(ctx));
}

const answerCheckInbox = (ctx: RouteContext, req: Request, res: Response) => {
  if (wantsJson(req)) return res.status(200).json({ status: "ok", message: CHECK_INBOX });
  res
    .status(200)
    .type("html")
    .send(ctx.views.render("check-inbox", { title: "Check your inbox", message: CHECK_INBOX }));
};

/** What the reader chose, kept for the form shown again (an expired form must not lose it). */
function formValues(body: Record<string, unknown>): FormValues {
  const chosen = (v: unknown) => (Array.isArray(v) ? v : [v]).filter((t): t is string => typeof t === "string");
  return {
    email: typeof body.email === "string" ? body.email.slice(0, 300) : "",
    topics: chosen(body.topics).slice(0, 100),
    frequency: body.frequency === "weekly" ? "weekly" : "daily",
  };
}

function parseSubscription(ctx: RouteContext): RequestHandler {
  const { csrf, metrics } = ctx;
  return async (req, res, next) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const values = formValues(body);
    const refuse = async (status: number, error: string, errorField?: string) => {
      metrics.subscribes.inc({ outcome: status === 403 ? "expired_form" : "invalid" });
      if (wantsJson(req)) return void res.status(status).json({ error, ...(errorField ? { field: errorField } : {}) });
      await ctx.pages.home(req, res, status, { error, errorField, values });
    };
    if (!csrf.isValid(req)) return refuse(403, "This form had expired, so nothing was sent. Please submit it again.");
    const parsed = subscribeForm.safeParse(body);
    if (!parsed.success) return refuse(400, firstProblem(parsed.error), String(parsed.error.issues[0]?.path[0] ?? ""));
    Object.assign(values, { topics: parsed.data.topics, frequency: parsed.data.frequency });
    if (parsed.data[HONEYPOT_FIELD]) {
      // A bot: answer exactly like a success, store and send nothing.
      metrics.subscribes.inc({ outcome: "honeypot" });
      req.log?.info("honeypot field filled: request ignored");
      return void answerCheckInbox(ctx, req, res);
    }
    const address = normalizeEmail(parsed.data.email);
    if (!address.ok) return refuse(400, address.reason, "email");
    const subscription: ParsedSubscription = {
      email: address.email,
      topicSlugs: parsed.data.topics,
      frequency: parsed.data.frequency,
      values,
    };
    res.locals.subscription = subscription;
    next();
  };
}

function subscribeHandler(ctx: RouteContext): RequestHandler {
  const { db, metrics } = ctx;
  return async (req, res) => {
    const { email, topicSlugs, frequency, values } = res.locals.subscription as ParsedSubscription;
    try {
      // The same work whatever the address's state (one statement, one job): the job decides.
      const { requestRowId } = await subscribe(db, { email, topicSlugs, frequency }, contextOf(req));
      // The request is stored: the job goes to Redis with this turn's others, after the answer;
      // if Redis cannot take it, maintenance relays it later (request-relay.ts), nothing is lost.
      ctx.requestRelay.push({ requestRowId, requestId: contextOf(req).requestId });
      // One label for every valid address: a public counter must not tell new from subscribed.
      metrics.subscribes.inc({ outcome: "accepted" });
      req.log?.info({ requestRowId }, "subscribe request answered");
      answerCheckInbox(ctx, req, res);
    } catch (err) {
      if (!(err instanceof InvalidInput)) throw err;
      metrics.subscribes.inc({ outcome: "invalid" });
      if (wantsJson(req)) return void res.status(400).json({ error: err.message, field: err.field });
      await ctx.pages.home(req, res, 400, { error: err.message, errorField: err.field, values });
    }
  };
}

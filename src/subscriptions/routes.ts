import crypto from "node:crypto";
import { Router, type Request, type RequestHandler, type Response } from "express";
import multer from "multer";
import type { Db, Subscriber } from "../db";
import type { Suppressions } from "../suppression";
import { AppError } from "../errors";
import type { Metrics } from "../observability/metrics";
import { requestIdOf } from "../observability/request-id";
import type { Views } from "../web/views";
import type { Csrf } from "../web/middleware/csrf";
import type { Tokens } from "./tokens";
import type { RequestContext } from "./consent-log";
import { normalizeEmail } from "./email-address";
import { firstProblem, HONEYPOT_FIELD, preferencesForm, subscribeForm } from "./forms";
import { InvalidInput } from "./errors";
import { linkUrls, resolveLink } from "./links";
import { listTopics } from "./topics";
import { paperListing } from "../papers";
import { subscribe } from "./subscribe";
import type { RequestRelay } from "./request-relay";
import { confirmSubscription, type ConfirmOutcome } from "./confirm";
import { currentTopicSlugs, resubscribe, updatePreferences } from "./preferences";
import { currentFollows, followsText, MAX_FOLLOW_LENGTH, MAX_FOLLOWS, parseFollows } from "./follows";
import { unsubscribe } from "./unsubscribe";
import { eraseSubscriber, exportSubscriberData } from "./erase";

/**
 * The HTTP face of subscriptions (routes and field names: shared/INTERFACE.md). Thin: parse,
 * call the domain, render a template. Rate limiters and CSRF are built by the feature and passed in.
 */
export interface SubscriptionRoutesDeps {
  db: Db;
  tokens: Tokens;
  views: Views;
  metrics: Metrics;
  /** Takes each stored subscribe request to the `emails` queue, off the request path. */
  requestRelay: RequestRelay;
  csrf: Csrf;
  limits: { perIp: RequestHandler; perAddress: RequestHandler };
  /** Erasure forgets the address in its suppression entry (the keyed hash stays). */
  suppressions: Suppressions;
  baseUrl: () => string;
  confirmTtlHours: number;
}

const CHECK_INBOX = "Check your inbox: if the address can receive our email, a confirmation link is on its way.";

const contextOf = (req: Request): RequestContext => ({
  ip: req.ip,
  userAgent: req.get("user-agent") ?? undefined,
  requestId: requestIdOf(req),
});
const wantsJson = (req: Request) =>
  Boolean(req.is("application/json")) || (req.accepts(["html", "json"]) === "json" && !req.accepts("html"));

const tokenOf = (req: Request) => {
  const token = (req.params as Record<string, unknown>).token;
  return typeof token === "string" ? token : "";
};

/** An unsubscribe can be undone from the unsubscribe link for this long after it happened. */
export const UNDO_WINDOW_MS = 24 * 3600_000;
const canUndo = (s: Subscriber, now = Date.now()) =>
  s.status === "unsubscribed" && s.unsubscribedAt !== null && now - s.unsubscribedAt.getTime() < UNDO_WINDOW_MS;

/** Pages reached by a token hold personal data: never cached, never indexed. */
const privatePage: RequestHandler = (_req, res, next) => {
  res.set("Cache-Control", "no-store");
  res.set("X-Robots-Tag", "noindex");
  next();
};

/**
 * RFC 8058 one-click requests may be multipart/form-data. Parsed with tight limits (no files, a few
 * small fields); urlencoded bodies were already parsed by the app (8 kB limit).
 */
const MAX_MULTIPART_BYTES = 8 * 1024;
const multipart = multer({ limits: { fields: 10, fieldNameSize: 100, fieldSize: 1024, files: 0, parts: 10 } }).none();
const parseOneClickBody: RequestHandler = (req, res, next) => {
  if (!req.is("multipart/form-data")) return next();
  if (Number(req.headers["content-length"] ?? 0) > MAX_MULTIPART_BYTES)
    return next(new AppError("The request is too large.", 413));
  multipart(req, res, (err?: unknown) => {
    if (!err) return next();
    const code = (err as { code?: string }).code ?? "";
    if (/LIMIT_(FIELD_VALUE|PART_COUNT|FIELD_COUNT|FIELD_KEY)/.test(code))
      return next(new AppError("The request is too large.", 413));
    next(new AppError("The request body could not be read.", 400));
  });
};

export function subscriptionRoutes(deps: SubscriptionRoutesDeps): Router {
  const { db, tokens, views, metrics, csrf } = deps;
  const router = Router();
  const confirmMaxAgeMs = deps.confirmTtlHours * 3600_000;

  const renderHome = async (
    req: Request,
    res: Response,
    status: number,
    extra: {
      error?: string;
      errorField?: string;
      values?: Partial<{ email: string; topics: string[]; frequency: string }>;
    } = {},
  ) => {
    const [topics, listing] = await Promise.all([listTopics(db), paperListing(db, { basePath: "/papers" })]);
    res
      .status(status)
      .type("html")
      .send(
        views.render("home", {
          title: "Get trending papers in your email inbox",
          topics,
          listing,
          csrfToken: csrf.token(req, res),
          honeypotField: HONEYPOT_FIELD,
          values: { email: "", topics: [], frequency: "daily", ...extra.values },
          error: extra.error,
          errorField: extra.errorField,
        }),
      );
  };

  const renderPreferences = async (
    req: Request,
    res: Response,
    subscriber: Subscriber,
    notice?: string,
    status = 200,
    typed?: { keywords: string; authors: string },
  ) => {
    const [topics, chosen, follows] = await Promise.all([
      listTopics(db),
      currentTopicSlugs(db, subscriber.id),
      currentFollows(db, subscriber.id),
    ]);
    const links = linkUrls(tokens, "", subscriber);
    res
      .status(status)
      .type("html")
      .send(
        views.render("preferences", {
          title: "Your Daily Papers preferences",
          subscriber: { email: subscriber.email, status: subscriber.status, frequency: subscriber.frequency },
          topics,
          chosen,
          follows: typed ?? followsText(follows),
          followLimits: { count: MAX_FOLLOWS, length: MAX_FOLLOW_LENGTH },
          notice,
          error: status >= 400,
          action: links.preferences,
          csrfToken: csrf.token(req, res),
        }),
      );
  };

  const home: RequestHandler = async (req, res) => {
    // The form carries a per-visitor CSRF token: no shared cache may keep this page.
    res.set("Cache-Control", "private, no-store");
    await renderHome(req, res, 200);
  };
  router.get("/", csrf.cookies, home);
  // Where the form posts: reloading it, or following a link to it, shows the form.
  router.get("/subscribe", csrf.cookies, home);

  // ---- POST /subscribe: per-IP limit, CSRF, parse, honeypot, validate, per-address limit, subscribe.
  const parseSubscription: RequestHandler = async (req, res, next) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    // What the reader chose, kept for the form shown again (an expired form must not lose it).
    const chosen = (v: unknown) => (Array.isArray(v) ? v : [v]).filter((t): t is string => typeof t === "string");
    const values = {
      email: typeof body.email === "string" ? body.email.slice(0, 300) : "",
      topics: chosen(body.topics).slice(0, 100),
      frequency: body.frequency === "weekly" ? "weekly" : "daily",
    };
    const refuse = async (status: number, error: string, errorField?: string) => {
      metrics.subscribes.inc({ outcome: status === 403 ? "expired_form" : "invalid" });
      if (wantsJson(req)) return void res.status(status).json({ error, ...(errorField ? { field: errorField } : {}) });
      await renderHome(req, res, status, { error, errorField, values });
    };
    if (!csrf.isValid(req)) return refuse(403, "This form had expired, so nothing was sent. Please submit it again.");
    const parsed = subscribeForm.safeParse(body);
    if (!parsed.success) return refuse(400, firstProblem(parsed.error), String(parsed.error.issues[0]?.path[0] ?? ""));
    Object.assign(values, { topics: parsed.data.topics, frequency: parsed.data.frequency });
    if (parsed.data[HONEYPOT_FIELD]) {
      // A bot: answer exactly like a success, store and send nothing.
      metrics.subscribes.inc({ outcome: "honeypot" });
      req.log?.info("honeypot field filled: request ignored");
      return void answerCheckInbox(req, res);
    }
    const address = normalizeEmail(parsed.data.email);
    if (!address.ok) return refuse(400, address.reason, "email");
    res.locals.subscription = {
      email: address.email,
      topicSlugs: parsed.data.topics,
      frequency: parsed.data.frequency,
      values,
    };
    // Keyed by a hash, so Redis never holds the address itself.
    res.locals.addressKey = crypto.createHash("sha256").update(address.email).digest("hex").slice(0, 32);
    next();
  };

  const answerCheckInbox = (req: Request, res: Response) => {
    if (wantsJson(req)) return res.status(200).json({ status: "ok", message: CHECK_INBOX });
    res
      .status(200)
      .type("html")
      .send(views.render("check-inbox", { title: "Check your inbox", message: CHECK_INBOX }));
  };

  router.post(
    "/subscribe",
    deps.limits.perIp,
    csrf.cookies,
    parseSubscription,
    deps.limits.perAddress,
    async (req, res) => {
      const { email, topicSlugs, frequency, values } = res.locals.subscription as {
        email: string;
        topicSlugs: string[];
        frequency: "daily" | "weekly";
        values: Record<string, unknown>;
      };
      try {
        // The same work whatever the address's state (one statement, one job): the job decides.
        const { requestRowId } = await subscribe(db, { email, topicSlugs, frequency }, contextOf(req));
        // The request is stored: the job goes to Redis with this turn's others, after the answer;
        // if Redis cannot take it, maintenance relays it later (request-relay.ts), nothing is lost.
        deps.requestRelay.push({ requestRowId, requestId: contextOf(req).requestId });
        // One label for every valid address: a public counter must not tell new from subscribed.
        metrics.subscribes.inc({ outcome: "accepted" });
        req.log?.info({ requestRowId }, "subscribe request answered");
        answerCheckInbox(req, res);
      } catch (err) {
        if (!(err instanceof InvalidInput)) throw err;
        metrics.subscribes.inc({ outcome: "invalid" });
        if (wantsJson(req)) return void res.status(400).json({ error: err.message, field: err.field });
        await renderHome(req, res, 400, { error: err.message, errorField: err.field, values });
      }
    },
  );

  // ---- /confirm/:token: the double opt-in link. GET shows one button and changes nothing (mail
  // filters and link scanners open links); the button POSTs, confirms, and shows the preferences.
  router.get("/confirm/:token", privatePage, csrf.cookies, async (req, res) => {
    const subscriber = await resolveLink(db, tokens, "confirm", tokenOf(req), confirmMaxAgeMs);
    res
      .status(200)
      .type("html")
      .send(
        views.render("confirm", {
          title: "Confirm your subscription",
          email: subscriber.email,
          alreadyActive: subscriber.status === "active",
          csrfToken: csrf.token(req, res),
        }),
      );
  });

  router.post("/confirm/:token", privatePage, csrf.cookies, csrf.protect, async (req, res) => {
    const subscriber = await resolveLink(db, tokens, "confirm", tokenOf(req), confirmMaxAgeMs);
    const outcome: ConfirmOutcome = await confirmSubscription(db, subscriber, contextOf(req));
    if (outcome === "confirmed") metrics.confirmations.inc();
    const notices: Record<ConfirmOutcome, string> = {
      confirmed: "You're subscribed. Welcome to Daily Papers! Choose your topics below.",
      already_active: "Your subscription is already confirmed.",
      not_pending:
        "You left this list after asking to join it, so this confirmation link no longer subscribes you. Use the button below to come back.",
    };
    const fresh = await db.subscriber.findUniqueOrThrow({ where: { id: subscriber.id } });
    await renderPreferences(req, res, fresh, notices[outcome]);
  });

  // ---- Preferences: topics, frequency, send me nothing, download my data, delete me.
  router.get("/preferences/:token", privatePage, csrf.cookies, async (req, res) => {
    const subscriber = await resolveLink(db, tokens, "manage", tokenOf(req));
    const notices = new Map([
      ["saved", "Your preferences are saved."],
      ["unchanged", "Nothing changed."],
      ["paused", "Done: we will send you nothing. You can come back at any time from this page."],
      ["resubscribed", "Welcome back: you're subscribed again."],
    ]);
    // A Map, not an object: ?done=constructor must find nothing, not Object's own properties.
    const done = typeof req.query.done === "string" ? req.query.done : "";
    await renderPreferences(req, res, subscriber, notices.get(done));
  });

  router.post("/preferences/:token", privatePage, csrf.cookies, csrf.protect, async (req, res) => {
    const subscriber = await resolveLink(db, tokens, "manage", tokenOf(req));
    const parsed = preferencesForm.safeParse(req.body ?? {});
    if (!parsed.success) throw new InvalidInput(firstProblem(parsed.error));
    const form = parsed.data;
    const context = contextOf(req);
    let done: string;
    if (form.action === "pause") {
      const { changed } = await unsubscribe(db, subscriber.id, "link", context);
      if (changed) metrics.unsubscribes.inc({ source: "link" });
      done = "paused";
    } else if (form.action === "resubscribe") {
      await resubscribe(db, subscriber, "link", context);
      done = "resubscribed";
    } else {
      // Absent text areas (an older form, an API caller) leave the follows as they are.
      const typed =
        form.keywords === undefined && form.authors === undefined
          ? undefined
          : { keywords: form.keywords ?? "", authors: form.authors ?? "" };
      try {
        const { changed } = await updatePreferences(
          db,
          subscriber,
          { topicSlugs: form.topics, frequency: form.frequency, follows: typed && parseFollows(typed) },
          context,
        );
        done = changed ? "saved" : "unchanged";
      } catch (err) {
        if (!(err instanceof InvalidInput)) throw err;
        return renderPreferences(req, res, subscriber, err.message, 400, typed);
      }
    }
    // Post/redirect/get: reloading the page never repeats the change.
    res.redirect(303, `/preferences/${tokenOf(req)}?done=${done}`);
  });

  router.post("/preferences/:token/export", privatePage, csrf.cookies, csrf.protect, async (req, res) => {
    const subscriber = await resolveLink(db, tokens, "manage", tokenOf(req));
    const data = await exportSubscriberData(db, subscriber.id);
    res
      .attachment("daily-papers-my-data.json")
      .type("application/json")
      .send(JSON.stringify(data, null, 2));
  });

  router.post("/preferences/:token/delete", privatePage, csrf.cookies, csrf.protect, async (req, res) => {
    const subscriber = await resolveLink(db, tokens, "manage", tokenOf(req));
    // Erasure cannot be undone: the first post only asks once more, the second (confirm=yes) erases.
    if ((req.body as Record<string, unknown> | undefined)?.confirm !== "yes") {
      return void res
        .status(200)
        .type("html")
        .send(
          views.render("delete-confirm", {
            title: "Delete everything about you?",
            email: subscriber.email,
            action: `/preferences/${tokenOf(req)}/delete`,
            back: `/preferences/${tokenOf(req)}`,
            csrfToken: csrf.token(req, res),
          }),
        );
    }
    const { erased } = await eraseSubscriber(db, deps.suppressions, subscriber.id, "link", contextOf(req));
    if (erased && subscriber.status === "active") metrics.unsubscribes.inc({ source: "link" });
    res
      .status(200)
      .type("html")
      .send(views.render("deleted", { title: "Your data is deleted" }));
  });

  // ---- Unsubscribe: one button; the POST is also RFC 8058 one-click (no cookies, no CSRF, 200).
  router.get("/unsubscribe/:token", privatePage, csrf.cookies, async (req, res) => {
    const subscriber = await resolveLink(db, tokens, "unsubscribe", tokenOf(req));
    res.type("html").send(
      views.render("unsubscribe", {
        title: "Unsubscribe from Daily Papers",
        email: subscriber.email,
        alreadyUnsubscribed: subscriber.status === "unsubscribed",
        undo: canUndo(subscriber) ? `/unsubscribe/${tokenOf(req)}/undo` : undefined,
        csrfToken: csrf.token(req, res),
      }),
    );
  });

  // ---- Undo an unsubscribe, from the same link, for a day: the link travels with every email (and
  // with the List-Unsubscribe header), so it may stop mail and take back its own click, nothing more.
  router.post("/unsubscribe/:token/undo", privatePage, csrf.cookies, csrf.protect, async (req, res) => {
    const subscriber = await resolveLink(db, tokens, "unsubscribe", tokenOf(req));
    if (!canUndo(subscriber))
      throw new AppError("This can no longer be undone from this link: use the preferences link in an email.", 409);
    await resubscribe(db, subscriber, "link", contextOf(req));
    res
      .status(200)
      .type("html")
      .send(
        views.render("check-inbox", { title: "You're subscribed again", message: "Done: you're subscribed again." }),
      );
  });

  router.post("/unsubscribe/:token", privatePage, csrf.cookies, parseOneClickBody, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const oneClick = body["List-Unsubscribe"] === "One-Click";
    const source = oneClick ? "one_click" : "link";
    const subscriber = await resolveLink(db, tokens, "unsubscribe", tokenOf(req));
    const { changed } = await unsubscribe(db, subscriber.id, source, contextOf(req));
    if (changed) metrics.unsubscribes.inc({ source });
    if (oneClick) {
      // Mail providers read the status only: a plain 200, no cookie, no redirect.
      return void res.status(200).type("text/plain").send("You are unsubscribed from Daily Papers.\n");
    }
    const fresh = await db.subscriber.findUnique({ where: { id: subscriber.id } });
    res
      .status(200)
      .type("html")
      .send(
        views.render("unsubscribed", {
          title: "You're unsubscribed",
          email: subscriber.email,
          undo: fresh && canUndo(fresh) ? `/unsubscribe/${tokenOf(req)}/undo` : undefined,
          csrfToken: csrf.token(req, res),
        }),
      );
  });

  return router;
}

import crypto from "node:crypto";
import type { Request, RequestHandler, Response } from "express";
import { rateLimit } from "express-rate-limit";
import type { Redis } from "ioredis";
import { notFound } from "../errors";
import type { Views } from "../web/views";

/** What the admin gate needs from the configuration. */
export interface AdminAuthConfig {
  ADMIN_TOKEN?: string;
  SECRET: string;
  BASE_URL: string;
}

export const ADMIN_COOKIE = "admin_session";
/** A browser session of the dashboard lasts this long; then the operator pastes the token again. */
export const SESSION_SECONDS = 12 * 3600;

/** The token of an `Authorization: Bearer <token>` header, if any. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1];
}

/** Constant-time equality of two secrets of any length (both are hashed to the same size first). */
export function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = crypto.createHash("sha256").update(given).digest();
  const b = crypto.createHash("sha256").update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

/**
 * A browser session: `<expiry>.<nonce>.<HMAC(SECRET + ADMIN_TOKEN, expiry.nonce)>`. It holds no
 * token, expires on its own, and changing ADMIN_TOKEN (or SECRET) ends every session at once. The
 * random nonce makes each sign-in a session of its own, so signing one out (which revokes that
 * exact value) never ends another that began in the same second.
 */
function sessionMac(config: AdminAuthConfig, body: string): string {
  const key = crypto
    .createHmac("sha256", config.SECRET)
    .update(`admin-session|${config.ADMIN_TOKEN ?? ""}`)
    .digest();
  return crypto.createHmac("sha256", key).update(body).digest("base64url");
}

export function issueSession(config: AdminAuthConfig, now = Date.now()): string {
  const body = `${Math.floor(now / 1000) + SESSION_SECONDS}.${crypto.randomBytes(12).toString("base64url")}`;
  return `${body}.${sessionMac(config, body)}`;
}

export function validSession(config: AdminAuthConfig, value: string | undefined, now = Date.now()): boolean {
  if (!config.ADMIN_TOKEN || !value || value.length > 120) return false;
  const [expiresText, nonce, mac] = value.split(".");
  const expires = Number(expiresText);
  if (!Number.isInteger(expires) || !nonce || !mac || expires < Math.floor(now / 1000)) return false;
  return sameSecret(mac, sessionMac(config, `${expiresText}.${nonce}`));
}

/** When a session value stops being valid on its own (its expiry, in seconds), or undefined. */
export function sessionExpiry(value: string | undefined): number | undefined {
  const expires = Number(value?.split(".")[0]);
  return Number.isInteger(expires) ? expires : undefined;
}

/**
 * Sessions signed out before they expired. A session is a signed expiry, valid on any web process
 * without a lookup; signing out must still end it everywhere (a copied cookie must not outlive the
 * sign-out), so its hash is kept in Redis until the moment it would have expired anyway.
 */
export interface RevokedSessions {
  revoke(session: string): Promise<void>;
  isRevoked(session: string): Promise<boolean>;
}

export function redisRevokedSessions(redis: Redis, prefix: string): RevokedSessions {
  const key = (session: string) =>
    `${prefix}:admin-revoked:${crypto.createHash("sha256").update(session).digest("hex").slice(0, 32)}`;
  return {
    async revoke(session) {
      const ttl = (sessionExpiry(session) ?? 0) - Math.floor(Date.now() / 1000);
      if (ttl > 0) await redis.set(key(session), "1", "EX", ttl);
    },
    async isRevoked(session) {
      return (await redis.exists(key(session))) === 1;
    },
  };
}

/**
 * Wrong admin tokens, whether pasted in the sign-in form or sent as a bearer header: 20 per 15
 * minutes per client address (TRUST_PROXY decides what that address is), then 429. Only refusals
 * (401) count, so a script with the right token is never slowed down.
 */
export function adminAttemptLimit(): { form: RequestHandler; bearer: RequestHandler } {
  const limiter = rateLimit({
    windowMs: 15 * 60_000,
    limit: 20,
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_req, res) => res.statusCode !== 401,
    standardHeaders: "draft-8",
    legacyHeaders: false,
    // TRUST_PROXY is the operator's decision, documented in the README.
    validate: { trustProxy: false, xForwardedForHeader: false },
    message: { error: "Too many wrong admin tokens from your address: wait a few minutes." },
  });
  return {
    form: limiter,
    bearer: (req, res, next) => (req.headers.authorization === undefined ? next() : limiter(req, res, next)),
  };
}

export const sessionCookieOptions = (config: AdminAuthConfig) => ({
  httpOnly: true,
  sameSite: "strict" as const,
  secure: config.BASE_URL.startsWith("https:"),
  path: "/admin",
  maxAge: SESSION_SECONDS * 1000,
});

/** Reads one cookie without a parser for the whole app (the admin area is the only cookie user here). */
export function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) {
      try {
        return decodeURIComponent(rest.join("="));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

const wantsHtml = (req: Request) => (req.headers.accept ?? "").includes("text/html");

function refuse(req: Request, res: Response, views: Views | undefined, message: string): void {
  res.status(401).set("WWW-Authenticate", 'Bearer realm="admin"').set("Cache-Control", "no-store");
  if (views && wantsHtml(req)) {
    res.type("html").send(views.render("admin-login", { title: "Admin sign-in", message, next: req.originalUrl }));
  } else {
    res.json({ error: message });
  }
}

/** A session Redis cannot vouch for is refused: signing in again works once Redis is back. */
async function isRevoked(revoked: RevokedSessions | undefined, session: string, req: Request): Promise<boolean> {
  if (!revoked) return false;
  try {
    return await revoked.isRevoked(session);
  } catch (err) {
    req.log?.warn({ err: (err as Error).message }, "admin session could not be checked: refused");
    return true;
  }
}

/** A state-changing request another site started (by its Sec-Fetch-Site): a session does not let it through. */
function crossSiteWrite(req: Request): boolean {
  const site = req.headers["sec-fetch-site"];
  const safe = req.method === "GET" || req.method === "HEAD" || req.method === "OPTIONS";
  return !safe && site !== undefined && site !== "same-origin";
}

/**
 * The admin gate, for every /admin route (reuse it on any route of your own under /admin):
 * - ADMIN_TOKEN unset: 404, as if the admin area did not exist;
 * - `Authorization: Bearer <ADMIN_TOKEN>` (compared in constant time): through;
 * - any other Authorization header: 401 (count it with `adminAttemptLimit().bearer`);
 * - else the session cookie a browser got from the sign-in form (HttpOnly, SameSite=Strict, path
 *   /admin), unless it was signed out (`revoked`): through, except a state-changing request
 *   another site started (Sec-Fetch-Site);
 * - else 401 with `WWW-Authenticate: Bearer`, and the sign-in form for browsers.
 */
export function requireAdmin(config: AdminAuthConfig, views?: Views, revoked?: RevokedSessions): RequestHandler {
  return async (req, res, next) => {
    if (!config.ADMIN_TOKEN) return next(notFound("There is nothing at this address."));
    const bearer = bearerToken(req.headers.authorization);
    if (req.headers.authorization !== undefined) {
      if (bearer !== undefined && sameSecret(bearer, config.ADMIN_TOKEN)) return next();
      req.log?.warn({ reason: "wrong admin token" }, "admin access refused");
      return refuse(req, res, views, "The admin token is not right.");
    }
    const session = readCookie(req, ADMIN_COOKIE);
    if (validSession(config, session) && !(await isRevoked(revoked, session!, req))) {
      if (crossSiteWrite(req)) {
        res.status(403).json({ error: "Cross-site requests are not accepted by the admin area." });
        return;
      }
      return next();
    }
    refuse(
      req,
      res,
      views,
      "Sign in with the admin token (ADMIN_TOKEN), or send it as 'Authorization: Bearer <token>'.",
    );
  };
}

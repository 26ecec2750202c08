import crypto from "node:crypto";
import type { Request, RequestHandler, Response } from "express";
import cookieParser from "cookie-parser";
import { doubleCsrf } from "csrf-csrf";
import { AppError } from "../../errors";

/**
 * CSRF protection for the site's form posts: csrf-csrf's signed double-submit cookie. The page
 * puts a token in a hidden `_csrf` field and the same token in an HttpOnly, SameSite=Strict cookie
 * (`__Host-` prefixed over HTTPS, so a sibling subdomain cannot plant one); a post is accepted
 * only when both match and carry our HMAC.
 *
 * The site has no sessions to bind the token to, so the session identifier is a constant: the
 * signature, the cookie prefix and SameSite do the work. JSON requests skip the check: a browser
 * cannot send `Content-Type: application/json` cross-site without a CORS preflight, which this app
 * never grants. Routes that must work without cookies (RFC 8058 one-click) simply do not use it.
 */
export interface Csrf {
  /** Parses cookies: put it before `token` and `protect`. */
  cookies: RequestHandler;
  /** Refuses the request (403) unless its token is valid. */
  protect: RequestHandler;
  /** True when the request carries a valid token (for routes that answer a failure themselves). */
  isValid(req: Request): boolean;
  /** A token for a form on the page being rendered (sets the cookie). */
  token(req: Request, res: Response): string;
}

export const CSRF_FIELD = "_csrf";

export function createCsrf(opts: { secret: string; secure: boolean }): Csrf {
  const secret = crypto.createHmac("sha256", opts.secret).update("daily-papers csrf v1").digest("hex");
  const { doubleCsrfProtection, generateCsrfToken, validateRequest } = doubleCsrf({
    getSecret: () => secret,
    getSessionIdentifier: () => "",
    cookieName: opts.secure ? "__Host-dp.csrf" : "dp.csrf",
    cookieOptions: { sameSite: "strict", secure: opts.secure, httpOnly: true, path: "/" },
    getCsrfTokenFromRequest: (req) => {
      const field = (req.body as Record<string, unknown> | undefined)?.[CSRF_FIELD];
      return typeof field === "string" ? field : req.headers["x-csrf-token"];
    },
    skipCsrfProtection: (req) => Boolean(req.is("application/json")),
    errorConfig: {
      statusCode: 403,
      message: "This form has expired. Please reload the page and try again.",
      code: "EBADCSRFTOKEN",
    },
  });
  const cookies = cookieParser();
  return {
    cookies,
    protect: (req, res, next) =>
      doubleCsrfProtection(req, res, (err?: unknown) =>
        err
          ? next(
              new AppError("This form has expired. Please go back, reload the page and try again.", 403, {
                code: "csrf",
              }),
            )
          : next(),
      ),
    isValid: (req) => Boolean(req.is("application/json")) || validateRequest(req),
    token: (req, res) => {
      // Pages that forgot `cookies` still get a working token (reusing the browser's cookie).
      if (req.cookies === undefined) cookies(req, res, () => undefined);
      return generateCsrfToken(req, res);
    },
  };
}

import crypto from "node:crypto";
import type { RequestHandler } from "express";
import { AppError } from "../../errors";

/** Bearer ADMIN_TOKEN; without ADMIN_TOKEN the admin area does not exist (404). */
export function requireAdmin(adminToken: string | undefined): RequestHandler {
  const expected = adminToken ? crypto.createHash("sha256").update(adminToken).digest() : undefined;
  return (req, res, next) => {
    if (!expected) return next(new AppError("There is nothing at this address.", 404));
    const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (given && crypto.timingSafeEqual(crypto.createHash("sha256").update(given).digest(), expected)) return next();
    res.setHeader("WWW-Authenticate", 'Bearer realm="admin"');
    next(new AppError("Admin token missing or wrong.", 401, { hint: "Send Authorization: Bearer $ADMIN_TOKEN." }));
  };
}

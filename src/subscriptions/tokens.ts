import crypto from "node:crypto";

/**
 * Link tokens: `base64url(payload).base64url(HMAC-SHA256(SECRET, purpose|payload))`.
 * The payload holds the subscriber id, the subscriber's token version and the issue time, never
 * the address. The purpose is part of the MAC, so a confirm token cannot unsubscribe and the
 * reverse. Bumping a subscriber's tokenVersion revokes every token issued before.
 *
 * Rotation: tokens are signed with SECRET only, but verified against SECRET and then each of
 * SECRET_PREVIOUS, so links already in inboxes keep working after the secret changes.
 */
export type TokenPurpose = "confirm" | "manage" | "unsubscribe";

export interface TokenClaims {
  subscriberId: string;
  version: number;
  issuedAt: number;
}

export type TokenCheck =
  { ok: true; claims: TokenClaims } | { ok: false; reason: "malformed" | "bad-signature" | "expired" };

export interface Tokens {
  sign(purpose: TokenPurpose, subscriberId: string, version: number, now?: number): string;
  /** `maxAgeMs` undefined: the token never expires (unsubscribe links must keep working). */
  verify(purpose: TokenPurpose, token: string, maxAgeMs?: number, now?: number): TokenCheck;
}

const b64 = (buf: Buffer | string) => Buffer.from(buf).toString("base64url");

export function createTokens(secret: string, previous: string[] = []): Tokens {
  if (secret.length < 32) throw new Error("SECRET must be at least 32 characters");
  const keys = [secret, ...previous].map((s) =>
    crypto.createHmac("sha256", s).update("daily-papers link tokens v1").digest(),
  );
  const macWith = (key: Buffer, purpose: TokenPurpose, payload: string) =>
    crypto.createHmac("sha256", key).update(`${purpose}|${payload}`).digest();
  const mac = (purpose: TokenPurpose, payload: string) => macWith(keys[0]!, purpose, payload);
  return {
    sign(purpose, subscriberId, version, now = Date.now()) {
      const payload = b64(`${subscriberId}.${version.toString(36)}.${Math.floor(now / 1000).toString(36)}`);
      return `${payload}.${b64(mac(purpose, payload))}`;
    },
    verify(purpose, token, maxAgeMs, now = Date.now()) {
      if (typeof token !== "string" || token.length > 200 || !/^[\w-]+\.[\w-]+$/.test(token))
        return { ok: false, reason: "malformed" };
      const [payload, signature] = token.split(".") as [string, string];
      const given = Buffer.from(signature, "base64url");
      const signedByOneOfOurs = keys.some((key) => {
        const expected = macWith(key, purpose, payload);
        return given.length === expected.length && crypto.timingSafeEqual(given, expected);
      });
      if (!signedByOneOfOurs) return { ok: false, reason: "bad-signature" };
      const parts = Buffer.from(payload, "base64url").toString("utf8").split(".");
      if (parts.length !== 3) return { ok: false, reason: "malformed" };
      const [subscriberId, version, issued] = parts as [string, string, string];
      const claims = { subscriberId, version: parseInt(version, 36), issuedAt: parseInt(issued, 36) * 1000 };
      if (!Number.isFinite(claims.version) || !Number.isFinite(claims.issuedAt))
        return { ok: false, reason: "malformed" };
      if (maxAgeMs !== undefined && now - claims.issuedAt > maxAgeMs) return { ok: false, reason: "expired" };
      return { ok: true, claims };
    },
  };
}

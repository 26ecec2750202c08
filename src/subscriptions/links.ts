import type { Db, Subscriber } from "../db";
import type { TokenPurpose, Tokens } from "./tokens";
import { LinkError } from "./errors";

/**
 * The links in emails, and what they point at. A token proves possession of a link sent to the
 * address; on top of the signature we check that the subscriber still exists and that the token
 * was issued for its current tokenVersion, so "delete me" and a new opt-in kill every older link.
 */
export interface LinkSettings {
  baseUrl: () => string;
  confirmTtlHours: number;
}

export function linkUrls(tokens: Tokens, baseUrl: string, subscriber: Pick<Subscriber, "id" | "tokenVersion">) {
  const sign = (purpose: TokenPurpose) => tokens.sign(purpose, subscriber.id, subscriber.tokenVersion);
  const unsubscribeToken = sign("unsubscribe");
  return {
    confirm: `${baseUrl}/confirm/${sign("confirm")}`,
    preferences: `${baseUrl}/preferences/${sign("manage")}`,
    unsubscribe: `${baseUrl}/unsubscribe/${unsubscribeToken}`,
    unsubscribeToken,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The subscriber a link belongs to, or a LinkError (400 broken, 410 expired, 404 unknown). */
export async function resolveLink(
  db: Db,
  tokens: Tokens,
  purpose: TokenPurpose,
  token: string,
  maxAgeMs?: number,
): Promise<Subscriber> {
  const check = tokens.verify(purpose, token, maxAgeMs);
  if (!check.ok) throw new LinkError(check.reason === "expired" ? "expired" : "broken");
  // A valid signature over a malformed id can only come from a bug; still a 4xx, never a 500.
  if (!UUID.test(check.claims.subscriberId)) throw new LinkError("broken");
  const subscriber = await db.subscriber.findUnique({ where: { id: check.claims.subscriberId } });
  if (!subscriber || subscriber.tokenVersion !== check.claims.version) throw new LinkError("unknown");
  return subscriber;
}

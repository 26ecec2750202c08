import type { Db, Subscriber } from "../db";
import { recordConsent, type RequestContext } from "./consent-log";

export type ConfirmOutcome = "confirmed" | "already_active" | "not_pending";

/**
 * The second half of the double opt-in: pending becomes active. Clicking the link again is
 * harmless. A subscriber who left meanwhile (unsubscribed, bounced) is not silently re-enrolled by
 * an old confirmation link: they get a page that offers to subscribe again.
 */
export async function confirmSubscription(
  db: Db,
  subscriber: Subscriber,
  context: RequestContext = {},
): Promise<ConfirmOutcome> {
  if (subscriber.status === "active") return "already_active";
  if (subscriber.status !== "pending") return "not_pending";
  return db.$transaction(async (tx) => {
    const { count } = await tx.subscriber.updateMany({
      where: { id: subscriber.id, status: "pending", tokenVersion: subscriber.tokenVersion },
      data: { status: "active", confirmedAt: new Date(), unsubscribedAt: null },
    });
    if (count === 0) return "already_active";
    await recordConsent(tx, {
      subscriberId: subscriber.id,
      email: subscriber.email,
      action: "confirm",
      source: "link",
      context,
    });
    return "confirmed";
  });
}

import type { ConsentSource, Db } from "../db";
import { recordConsent, type RequestContext } from "./consent-log";

/**
 * Stops every email to the subscriber. Idempotent: repeating it (mail providers retry one-click
 * requests) changes nothing and writes no second log entry. Returns whether anything changed.
 */
export async function unsubscribe(
  db: Db,
  subscriberId: string,
  source: ConsentSource,
  context: RequestContext = {},
): Promise<{ changed: boolean }> {
  return db.$transaction(async (tx) => {
    const subscriber = await tx.subscriber.findUnique({
      where: { id: subscriberId },
      select: { email: true, status: true },
    });
    if (!subscriber) return { changed: false };
    const { count } = await tx.subscriber.updateMany({
      where: { id: subscriberId, status: { not: "unsubscribed" } },
      data: { status: "unsubscribed", unsubscribedAt: new Date() },
    });
    if (count === 0) return { changed: false };
    await recordConsent(tx, {
      subscriberId,
      email: subscriber.email,
      action: "unsubscribe",
      source,
      detail: { previousStatus: subscriber.status },
      context,
    });
    return { changed: true };
  });
}

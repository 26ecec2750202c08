import type { ConsentSource, Db } from "../db";
import { emailHash, recordConsent, type RequestContext } from "./consent-log";

/**
 * "Delete me": the subscriber row goes, and with it (by cascade) topics and delivery rows. The
 * consent log keeps its rows with the subscriber id nulled and only the address hash, plus one
 * "delete" entry, so erasure itself stays provable. A later subscribe creates a new row with a new
 * id: every older link is dead and a fresh double opt-in is needed.
 */
export async function eraseSubscriber(
  db: Db,
  subscriberId: string,
  source: ConsentSource,
  context: RequestContext = {},
  detail?: Record<string, string>,
): Promise<{ erased: boolean }> {
  return db.$transaction(async (tx) => {
    const subscriber = await tx.subscriber.findUnique({
      where: { id: subscriberId },
      select: { email: true, status: true },
    });
    if (!subscriber) return { erased: false };
    await tx.subscriber.delete({ where: { id: subscriberId } });
    await recordConsent(tx, {
      subscriberId: null,
      email: subscriber.email,
      action: "delete",
      source,
      detail: { previousStatus: subscriber.status, ...detail },
      context,
    });
    return { erased: true };
  });
}

/**
 * "Download my data": everything stored about the subscriber, including consent entries of earlier
 * subscriptions of the same address (they are linked by the address hash only).
 */
export async function exportSubscriberData(db: Db, subscriberId: string) {
  const subscriber = await db.subscriber.findUnique({
    where: { id: subscriberId },
    include: {
      topics: { include: { topic: { select: { slug: true, name: true } } } },
      deliveries: { include: { digest: { select: { day: true, frequency: true } } }, orderBy: { createdAt: "asc" } },
    },
  });
  if (!subscriber) return undefined;
  const consent = await db.consentEvent.findMany({
    where: { OR: [{ subscriberId }, { emailHash: emailHash(subscriber.email) }] },
    orderBy: { id: "asc" },
  });
  return {
    exportedAt: new Date().toISOString(),
    subscriber: {
      id: subscriber.id,
      email: subscriber.email,
      status: subscriber.status,
      frequency: subscriber.frequency,
      topics: subscriber.topics.map((t) => ({ slug: t.topic.slug, name: t.topic.name })),
      tokenVersion: subscriber.tokenVersion,
      confirmationSentAt: subscriber.confirmationSentAt,
      confirmedAt: subscriber.confirmedAt,
      unsubscribedAt: subscriber.unsubscribedAt,
      createdAt: subscriber.createdAt,
      updatedAt: subscriber.updatedAt,
    },
    consentLog: consent.map((e) => ({
      at: e.createdAt,
      action: e.action,
      source: e.source,
      detail: e.detail,
      ip: e.ip,
      userAgent: e.userAgent,
      emailHash: e.emailHash,
    })),
    deliveries: subscriber.deliveries.map((d) => ({
      digestDay: d.digest.day.toISOString().slice(0, 10),
      digestFrequency: d.digest.frequency,
      state: d.state,
      attempts: d.attempts,
      lastError: d.lastError,
      smtpResponse: d.smtpResponse,
      messageId: d.messageId,
      sentAt: d.sentAt,
      createdAt: d.createdAt,
    })),
  };
}

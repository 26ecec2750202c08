import type { ConsentSource, Db } from "../db";
import type { Suppressions } from "../suppression";
import { anonymiseConsent, recordConsent, type RequestContext } from "./consent-log";

/**
 * "Delete me": the subscriber row goes, and with it (by cascade) topics and delivery rows; queued
 * subscribe requests of the address go too. The consent log keeps what happened and when, with the
 * subscriber id, IP and user agent removed and the address only as a keyed hash
 * (`suppressions.keyOf`, an HMAC keyed from SECRET), plus one "delete" entry, so erasure itself
 * stays provable. A suppression entry (bounce, complaint) forgets the address and keeps its keyed
 * hash, so the opt-out is still honoured. A later subscribe creates a new row with a new id: every
 * older link is dead and a fresh double opt-in is needed.
 */
export async function eraseSubscriber(
  db: Db,
  suppressions: Pick<Suppressions, "keyOf" | "forget">,
  subscriberId: string,
  source: ConsentSource,
  _context: RequestContext = {},
  detail?: Record<string, string>,
): Promise<{ erased: boolean }> {
  return db.$transaction(async (tx) => {
    const subscriber = await tx.subscriber.findUnique({
      where: { id: subscriberId },
      select: { email: true, status: true },
    });
    if (!subscriber) return { erased: false };
    const keyedHash = suppressions.keyOf(subscriber.email);
    await anonymiseConsent(tx, { subscriberId, email: subscriber.email, keyedHash });
    await tx.subscriber.delete({ where: { id: subscriberId } });
    await tx.subscriptionRequest.deleteMany({ where: { email: subscriber.email } });
    await suppressions.forget(tx, subscriber.email);
    await recordConsent(tx, {
      subscriberId: null,
      email: subscriber.email,
      keyedHash,
      action: "delete",
      source,
      detail: { previousStatus: subscriber.status, ...detail },
      // Who asked for the erasure is not kept either: the entry says only that it happened.
      context: {},
    });
    return { erased: true };
  });
}

/**
 * "Download my data": what is stored about this person, and only that. Their subscriber row,
 * topics and deliveries, and the consent entries of this subscription (by subscriber id: entries
 * of an earlier, erased subscription of the same address were anonymised and are not theirs to
 * link back). IPs and user agents are left out: the one that asked to subscribe may be whoever
 * typed the address, not the person; they are kept only as proof of consent (see the README).
 */
export async function exportSubscriberData(db: Db, subscriberId: string) {
  const subscriber = await db.subscriber.findUnique({
    where: { id: subscriberId },
    include: {
      topics: { include: { topic: { select: { slug: true, name: true } } } },
      follows: { select: { kind: true, value: true, createdAt: true }, orderBy: { createdAt: "asc" } },
      deliveries: { include: { digest: { select: { day: true, frequency: true } } }, orderBy: { createdAt: "asc" } },
    },
  });
  if (!subscriber) return undefined;
  const consent = await db.consentEvent.findMany({ where: { subscriberId }, orderBy: { id: "asc" } });
  return {
    exportedAt: new Date().toISOString(),
    subscriber: {
      id: subscriber.id,
      email: subscriber.email,
      status: subscriber.status,
      frequency: subscriber.frequency,
      topics: subscriber.topics.map((t) => ({ slug: t.topic.slug, name: t.topic.name })),
      follows: subscriber.follows.map((f) => ({ kind: f.kind, value: f.value, since: f.createdAt })),
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

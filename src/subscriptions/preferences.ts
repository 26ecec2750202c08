import type { ConsentSource, Db, Frequency, Subscriber } from "../db";
import { recordConsent, type RequestContext } from "./consent-log";
import { replaceTopics, resolveTopicSlugs } from "./topics";
import { replaceFollows, type Follow } from "./follows";

export interface Preferences {
  topicSlugs: string[];
  frequency: Frequency;
  /** The reader's own keywords and authors; left as they are when absent. */
  follows?: Follow[];
}

/** The subscriber's chosen topic slugs (empty: every topic). */
export async function currentTopicSlugs(db: Db, subscriberId: string): Promise<string[]> {
  const rows = await db.subscriberTopic.findMany({
    where: { subscriberId },
    select: { topic: { select: { slug: true } } },
  });
  return rows.map((r) => r.topic.slug).sort();
}

/** Saves topics, frequency and follows; logged as a "change" only when something actually changed. */
export async function updatePreferences(
  db: Db,
  subscriber: Subscriber,
  prefs: Preferences,
  context: RequestContext = {},
): Promise<{ changed: boolean }> {
  return db.$transaction(async (tx) => {
    const topicIds = await resolveTopicSlugs(tx, prefs.topicSlugs);
    const before = (
      await tx.subscriberTopic.findMany({ where: { subscriberId: subscriber.id }, select: { topicId: true } })
    )
      .map((r) => r.topicId)
      .sort((a, b) => a - b);
    const topicsChanged = before.join(",") !== topicIds.join(",");
    const frequencyChanged = subscriber.frequency !== prefs.frequency;
    const followsChanged = prefs.follows ? await replaceFollows(tx, subscriber.id, prefs.follows) : false;
    if (!topicsChanged && !frequencyChanged && !followsChanged) return { changed: false };
    if (topicsChanged) await replaceTopics(tx, subscriber.id, topicIds);
    if (frequencyChanged)
      await tx.subscriber.update({ where: { id: subscriber.id }, data: { frequency: prefs.frequency } });
    await recordConsent(tx, {
      subscriberId: subscriber.id,
      email: subscriber.email,
      action: "change",
      source: "link",
      detail: {
        topics: [...new Set(prefs.topicSlugs)].sort(),
        frequency: prefs.frequency,
        ...(followsChanged ? { follows: prefs.follows!.map((f) => `${f.kind}:${f.value}`) } : {}),
      },
      context,
    });
    return { changed: true };
  });
}

/**
 * Back on the list from a link in an email. The link proves the reader holds the mailbox, so this
 * is a confirmed opt-in: no second confirmation email is needed.
 */
export async function resubscribe(
  db: Db,
  subscriber: Subscriber,
  source: ConsentSource,
  context: RequestContext = {},
): Promise<{ changed: boolean }> {
  if (subscriber.status === "active") return { changed: false };
  return db.$transaction(async (tx) => {
    const { count } = await tx.subscriber.updateMany({
      where: { id: subscriber.id, status: { not: "active" }, tokenVersion: subscriber.tokenVersion },
      data: { status: "active", unsubscribedAt: null, confirmedAt: subscriber.confirmedAt ?? new Date() },
    });
    if (count === 0) return { changed: false };
    await recordConsent(tx, {
      subscriberId: subscriber.id,
      email: subscriber.email,
      action: "resubscribe",
      source,
      detail: { previousStatus: subscriber.status },
      context,
    });
    return { changed: true };
  });
}

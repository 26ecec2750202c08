import type { Queue } from "bullmq";
import type { ConsentSource, Db, Frequency, Prisma, Subscriber } from "../db";
import { insertNewSubscribers, type CreatedSubscriber } from "./create";
import { enqueueConfirmations } from "./confirmation-job";
import type { NewSubscription } from "./subscribe";
import { resolveTopicSlugs } from "./topics";

/**
 * People whose details come from elsewhere (the CSV import, the tests), stored through the same
 * statement as the web form's (`insertNewSubscribers`), many at a time. Someone who opted in
 * elsewhere (with proof) becomes `active` (consent entry `import`); anyone else becomes `pending`
 * (consent entry `subscribe`) and gets the form's confirmation email, queued with
 * `enqueueConfirmations` when a queue is given. A stored address is left exactly as it is.
 */
export interface ImportedPerson {
  /** Canonical (normalizeEmail). */
  email: string;
  /** Topic ids (already resolved); none means every topic. */
  topicIds: number[];
  frequency: Frequency;
  optedIn: boolean;
  /** When an opted-in person opted in (default: now). */
  optedInAt?: Date;
  /** Put in the consent entry (where the person came from: file, line...). */
  detail?: Record<string, unknown>;
}

export interface ImportPeopleDeps {
  db: Db | Prisma.TransactionClient;
  /** Queue `emails`: the new pending people's confirmations go there. None: the caller queues them. */
  emails?: Queue;
  /** Put in every queued job (`requestId`), so worker logs can be traced back to the import. */
  requestId?: string;
  /** The consent entries' source (default `cli`). */
  source?: ConsentSource;
}

export interface ImportedPeople {
  /** Those stored now (the others' addresses were stored already). */
  created: CreatedSubscriber[];
  confirmationsQueued: number;
}

export async function importPeople(deps: ImportPeopleDeps, people: ImportedPerson[]): Promise<ImportedPeople> {
  const now = new Date();
  const created = await insertNewSubscribers(
    deps.db,
    people.map((p) => ({
      email: p.email,
      status: p.optedIn ? "active" : "pending",
      frequency: p.frequency,
      confirmedAt: p.optedIn ? (p.optedInAt ?? now) : null,
      topicIds: p.topicIds,
      consent: { action: p.optedIn ? "import" : "subscribe", source: deps.source ?? "cli", detail: p.detail },
    })),
  );
  const pending = created.filter((s) => s.status === "pending");
  if (!deps.emails || pending.length === 0) return { created, confirmationsQueued: 0 };
  await enqueueConfirmations(
    deps.emails,
    pending.map((s) => ({
      data: { subscriberId: s.id, requestId: deps.requestId },
      state: { tokenVersion: s.tokenVersion, confirmationSentAt: null },
    })),
  );
  return { created, confirmationsQueued: pending.length };
}

/**
 * One person imported (tests), through `importPeople` above, itself the web
 * form's creation statement. `optedIn` people (consent given elsewhere, with proof) become active;
 * the others pending, and the caller queues their confirmation with `enqueueConfirmation`. Stored
 * addresses are left untouched (`created: false`).
 */
export async function importSubscriber(
  db: Db,
  input: NewSubscription & { optedIn: boolean; source?: ConsentSource; detail?: Record<string, unknown> },
): Promise<{ created: boolean; subscriber: Subscriber }> {
  const status = input.optedIn ? "active" : "pending";
  const { created } = await importPeople({ db, source: input.source }, [
    {
      email: input.email,
      topicIds: await resolveTopicSlugs(db, input.topicSlugs),
      frequency: input.frequency,
      optedIn: input.optedIn,
      detail: { status, topics: [...new Set(input.topicSlugs)].sort(), frequency: input.frequency, ...input.detail },
    },
  ]);
  return {
    created: created.length > 0,
    subscriber: await db.subscriber.findUniqueOrThrow({ where: { email: input.email } }),
  };
}

import crypto from "node:crypto";
import type { ConsentAction, ConsentSource, Prisma } from "../db";

/**
 * The consent log: every change to what someone receives, with what, when, where from and who
 * asked (IP and user agent, when known). Rows outlive the subscriber: erasure (`anonymiseConsent`)
 * nulls the id, the IP and the user agent, and replaces the address's plain hash by a keyed one
 * (HMAC with a key derived from SECRET: not reversible by hashing guessed addresses), so the proof
 * of consent and of erasure remains without anything that identifies the person.
 */

/** Who made a request, as far as the edge knows. Never required: jobs and the CLI have none. */
export interface RequestContext {
  ip?: string;
  userAgent?: string;
  requestId?: string;
}

/**
 * SHA-256 of the canonical address: links a living subscriber's entries (the subscriber id does too).
 * Erasure replaces it by the keyed hash.
 */
export const emailHash = (email: string) => crypto.createHash("sha256").update(email).digest("hex");

/** A Prisma client or a transaction: the log is always written with the change it records. */
export type DbClient = Prisma.TransactionClient;

export interface ConsentEntry {
  subscriberId: string | null;
  email: string;
  action: ConsentAction;
  source: ConsentSource;
  detail?: Prisma.InputJsonValue;
  context?: RequestContext;
  /** Stored instead of emailHash(email): the keyed hash, for entries about an erased person. */
  keyedHash?: string;
}

export async function recordConsent(db: DbClient, entry: ConsentEntry): Promise<void> {
  await db.consentEvent.create({
    data: {
      subscriberId: entry.subscriberId,
      emailHash: entry.keyedHash ?? emailHash(entry.email),
      action: entry.action,
      source: entry.source,
      detail: entry.detail,
      ip: entry.context?.ip?.slice(0, 64),
      userAgent: entry.context?.userAgent?.slice(0, 300),
    },
  });
}

/**
 * Erasure's part in the log: the person's entries (by subscriber id, or by the plain hash of the
 * address for entries of earlier subscriptions) keep what happened and when, and lose the IP, the
 * user agent and the plain hash (replaced by `keyedHash`). Run it before the subscriber row goes.
 */
export async function anonymiseConsent(
  db: DbClient,
  person: { subscriberId: string; email: string; keyedHash: string },
): Promise<void> {
  await db.consentEvent.updateMany({
    where: { OR: [{ subscriberId: person.subscriberId }, { emailHash: emailHash(person.email) }] },
    data: { emailHash: person.keyedHash, ip: null, userAgent: null },
  });
}

import crypto from "node:crypto";
import type { ConsentAction, ConsentSource, Prisma } from "../db";

/**
 * The consent log: every change to what someone receives, with what, when, where from and who
 * asked (IP and user agent, when known). Rows outlive the subscriber: erasure nulls the id and the
 * address survives only as a hash, so the proof of consent and of erasure remains.
 */

/** Who made a request, as far as the edge knows. Never required: jobs and the CLI have none. */
export interface RequestContext {
  ip?: string;
  userAgent?: string;
  requestId?: string;
}

/** SHA-256 of the normalised address (the schema's documented `email_hash`). */
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
}

export async function recordConsent(db: DbClient, entry: ConsentEntry): Promise<void> {
  await db.consentEvent.create({
    data: {
      subscriberId: entry.subscriberId,
      emailHash: emailHash(entry.email),
      action: entry.action,
      source: entry.source,
      detail: entry.detail,
      ip: entry.context?.ip?.slice(0, 64),
      userAgent: entry.context?.userAgent?.slice(0, 300),
    },
  });
}

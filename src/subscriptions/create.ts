import { Prisma, type ConsentAction, type ConsentSource, type Db, type Frequency, type SubscriberStatus } from "../db";
import { emailHash } from "./consent-log";

/**
 * The one way a subscriber comes into existence, for the web form, the CSV import and the tests:
 * one SQL statement inserts the people whose address is not stored yet, with their topics and the
 * consent entry that explains them, and leaves every stored address exactly as it is (the
 * canonical address is unique, so `ON CONFLICT (email) DO NOTHING` settles races too).
 *
 * The form's request stores only its outbox row; its job creates the subscriber through here.
 */
export interface NewSubscriberRow {
  /** Canonical (normalizeEmail). */
  email: string;
  status: Extract<SubscriberStatus, "pending" | "active">;
  frequency: Frequency;
  /** For active people: when they opted in (default: now). */
  confirmedAt?: Date | null;
  /** Topic ids (already resolved); none means every topic. */
  topicIds: number[];
  consent: {
    action: ConsentAction;
    source: ConsentSource;
    detail?: Record<string, unknown>;
    ip?: string | null;
    userAgent?: string | null;
    /** When the person consented (default: now), e.g. when a stored web request was made. */
    at?: Date;
  };
}

export interface CreatedSubscriber {
  id: string;
  email: string;
  status: SubscriberStatus;
  tokenVersion: number;
}

/**
 * `input` (the rows, one per address), `s` (the subscribers inserted, RETURNING id, email, status,
 * token_version), and their topics and consent entries. Follow it with `, more AS (...) SELECT ...`.
 */
function newSubscribersCte(rows: NewSubscriberRow[]): Prisma.Sql {
  const seen = new Set<string>();
  const input = rows
    .filter((r) => !seen.has(r.email) && seen.add(r.email))
    .map((r) => ({
      email: r.email,
      status: r.status,
      frequency: r.frequency,
      confirmed_at: r.status === "active" ? (r.confirmedAt ?? new Date()).toISOString() : null,
      topic_ids: [...new Set(r.topicIds)],
      email_hash: emailHash(r.email),
      action: r.consent.action,
      source: r.consent.source,
      detail: r.consent.detail ?? null,
      ip: r.consent.ip?.slice(0, 64) ?? null,
      user_agent: r.consent.userAgent?.slice(0, 300) ?? null,
      consented_at: r.consent.at?.toISOString() ?? null,
    }));
  return Prisma.sql`
    input AS (
      SELECT * FROM jsonb_to_recordset(${JSON.stringify(input)}::jsonb) AS r(
        email text, status text, frequency text, confirmed_at timestamptz, topic_ids int[], email_hash text,
        action text, source text, detail jsonb, ip text, user_agent text, consented_at timestamptz)
    ), s AS (
      INSERT INTO subscribers (id, email, status, frequency, confirmed_at, created_at, updated_at)
      SELECT gen_random_uuid(), email, status::"SubscriberStatus", frequency::"Frequency",
             confirmed_at AT TIME ZONE 'UTC', now(), now()
      FROM input
      ON CONFLICT (email) DO NOTHING
      RETURNING id, email, status, token_version
    ), t AS (
      INSERT INTO subscriber_topics (subscriber_id, topic_id)
      SELECT s.id, topic_id FROM s JOIN input USING (email), unnest(input.topic_ids) AS topic_id
    ), c AS (
      INSERT INTO consent_events (subscriber_id, email_hash, action, source, detail, ip, user_agent, created_at)
      SELECT s.id, input.email_hash, input.action::"ConsentAction", input.source::"ConsentSource", input.detail,
             input.ip, input.user_agent, coalesce(input.consented_at, now()) AT TIME ZONE 'UTC'
      FROM s JOIN input USING (email)
    )`;
}

/** Inserts whoever is new among `rows` (one statement); returns them. Stored addresses are left alone. */
export async function insertNewSubscribers(
  db: Db | Prisma.TransactionClient,
  rows: NewSubscriberRow[],
): Promise<CreatedSubscriber[]> {
  if (rows.length === 0) return [];
  const created = await db.$queryRaw<{ id: string; email: string; status: SubscriberStatus; token_version: number }[]>`
    WITH ${newSubscribersCte(rows)}
    SELECT id::text, email, status, token_version FROM s`;
  return created.map((r) => ({ id: r.id, email: r.email, status: r.status, tokenVersion: r.token_version }));
}

/**
 * What every relay's webhook shares: the ids a relay echoes back (our Message-ID names the
 * delivery: `digest-<digest id>-<delivery id>@domain`, set by the send path), and the shape of a
 * parsed webhook (facts to record, or a refusal with its HTTP status).
 */
import type { FeedbackFact, FeedbackTarget } from "../record";
import type { ReturnPaths } from "../../mail/return-path";

export type WebhookVerdict =
  { ok: true; facts: FeedbackFact[]; note?: string } | { ok: false; status: 400 | 401 | 403; error: string };

/** The delivery named by our Message-ID, echoed by the relay (with or without angle brackets). */
export function deliveryIdFromMessageId(messageId: string | undefined): bigint | undefined {
  const m = messageId?.match(/digest-[0-9a-f-]{36}-(\d{1,19})@/i);
  return m ? BigInt(m[1]!) : undefined;
}

/**
 * Who a relay's event is about. The relay signed the payload, so its recipient address is its word;
 * a delivery id (from our signed return path, or our Message-ID) is used only when the delivery's
 * address agrees with that recipient (checked when the fact is recorded).
 */
export function targetFor(
  returnPaths: ReturnPaths,
  email: string,
  hints: { returnPath?: string; messageId?: string },
): FeedbackTarget {
  const parsed = hints.returnPath ? returnPaths.parse(hints.returnPath) : undefined;
  if (parsed?.role === "bounce" && parsed.ref?.type === "delivery") return { deliveryId: parsed.ref.deliveryId, email };
  const fromMessageId = deliveryIdFromMessageId(hints.messageId);
  if (fromMessageId !== undefined) return { deliveryId: fromMessageId, email };
  return { email: email.trim() };
}

/** True when a signed timestamp (seconds since the epoch) is within the tolerance of now. */
export const fresh = (timestampSeconds: number, toleranceSeconds: number, now = Date.now()) =>
  Number.isFinite(timestampSeconds) && Math.abs(now / 1000 - timestampSeconds) <= toleranceSeconds;

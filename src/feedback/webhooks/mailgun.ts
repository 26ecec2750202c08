/**
 * Mailgun's webhooks (the JSON form). As Mailgun documents it, `signature.signature` is the hex
 * HMAC-SHA256 of `timestamp + token` under the webhook signing key. A timestamp outside
 * WEBHOOK_TOLERANCE_SECONDS is refused as a replay; the event's own id makes a repeat harmless.
 */
import crypto from "node:crypto";
import type { FeedbackFact } from "../record";
import type { ReturnPaths } from "../../mail/return-path";
import { fresh, targetFor, type WebhookVerdict } from "./common";

interface MailgunBody {
  signature?: { timestamp?: string; token?: string; signature?: string };
  "event-data"?: {
    id?: string;
    event?: string;
    severity?: string;
    reason?: string;
    recipient?: string;
    envelope?: { sender?: string };
    message?: { headers?: { "message-id"?: string } };
    "delivery-status"?: { code?: number; message?: string; description?: string };
  };
}

type MailgunEvent = NonNullable<MailgunBody["event-data"]>;

/** Why the request is refused (unsigned, forged, replayed), or undefined when it is Mailgun's. */
function refusal(
  sig: MailgunBody["signature"],
  signingKey: string,
  toleranceSeconds: number,
): WebhookVerdict | undefined {
  if (!sig?.timestamp || !sig.token || !sig.signature) return { ok: false, status: 401, error: "unsigned" };
  const expected = crypto
    .createHmac("sha256", signingKey)
    .update(sig.timestamp + sig.token)
    .digest();
  const given = Buffer.from(sig.signature, "hex");
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected))
    return { ok: false, status: 401, error: "bad signature" };
  if (!fresh(Number(sig.timestamp), toleranceSeconds)) return { ok: false, status: 401, error: "stale timestamp" };
  return undefined;
}

function kindOf(e: MailgunEvent): FeedbackFact["kind"] | undefined {
  switch (e.event) {
    case "failed":
      return e.severity === "permanent" ? "hard_bounce" : "soft_bounce";
    case "complained":
      return "complaint";
    case "unsubscribed":
      return "unsubscribe";
    default:
      return undefined;
  }
}

function factOf(
  returnPaths: ReturnPaths,
  e: MailgunEvent & { id: string; recipient: string },
  kind: FeedbackFact["kind"],
): FeedbackFact {
  const status = e["delivery-status"];
  return {
    kind,
    source: "webhook:mailgun",
    channel: "http",
    dedupeKey: `mailgun:${e.id}`,
    target: targetFor(returnPaths, e.recipient, {
      returnPath: e.envelope?.sender,
      messageId: e.message?.headers?.["message-id"],
    }),
    status: status?.code ? String(status.code) : (e.severity ?? ""),
    detail: (status?.description || status?.message || e.reason || "").slice(0, 300),
  };
}

export function handleMailgun(
  opts: { returnPaths: ReturnPaths; signingKey: string; toleranceSeconds: number },
  body: string,
): WebhookVerdict {
  let b: MailgunBody;
  try {
    b = JSON.parse(body) as MailgunBody;
  } catch {
    return { ok: false, status: 400, error: "not JSON" };
  }
  const refused = refusal(b?.signature, opts.signingKey, opts.toleranceSeconds);
  if (refused) return refused;
  const e = b["event-data"];
  if (!e?.recipient || !e.id) return { ok: true, facts: [] };
  const kind = kindOf(e);
  if (!kind) return { ok: true, facts: [], note: `ignored ${e.event}` };
  return { ok: true, facts: [factOf(opts.returnPaths, { ...e, id: e.id, recipient: e.recipient }, kind)] };
}

/**
 * SendGrid's signed event webhook. As SendGrid documents it, each request carries
 * `X-Twilio-Email-Event-Webhook-Signature` (base64 DER ECDSA over P-256 with SHA-256) and
 * `X-Twilio-Email-Event-Webhook-Timestamp`; the signed bytes are the timestamp followed by the raw
 * body, and the key is the verification key SendGrid shows (base64 DER, or PEM). A timestamp outside
 * WEBHOOK_TOLERANCE_SECONDS is refused as a replay; each event's sg_event_id makes a repeat harmless.
 */
import crypto from "node:crypto";
import type { FeedbackFact } from "../record";
import type { ReturnPaths } from "../../mail/return-path";
import { classifyStatus } from "../reports/status";
import { fresh, targetFor, type WebhookVerdict } from "./common";

export function sendgridKey(key: string): crypto.KeyObject {
  return key.includes("-----BEGIN")
    ? crypto.createPublicKey(key)
    : crypto.createPublicKey({ key: Buffer.from(key, "base64"), format: "der", type: "spki" });
}

interface SendgridEvent {
  email?: string;
  event?: string;
  type?: string;
  status?: string;
  reason?: string;
  sg_event_id?: string;
  "smtp-id"?: string;
}

function kindOf(e: SendgridEvent): FeedbackFact["kind"] | undefined {
  switch (e.event) {
    case "bounce":
      if (e.type === "blocked") return "soft_bounce";
      if (e.type === "bounce") return "hard_bounce";
      return e.status && classifyStatus(e.status) === "soft" ? "soft_bounce" : "hard_bounce";
    case "spamreport":
      return "complaint";
    case "unsubscribe":
    case "group_unsubscribe":
      return "unsubscribe";
    default:
      return undefined; // processed, delivered, deferred, dropped, open, click...
  }
}

function signedBySendgrid(key: crypto.KeyObject, signature: string, timestamp: string, rawBody: Buffer): boolean {
  try {
    return crypto.verify(
      "sha256",
      Buffer.concat([Buffer.from(timestamp, "utf8"), rawBody]),
      key,
      Buffer.from(signature, "base64"),
    );
  } catch {
    return false;
  }
}

function factsOf(returnPaths: ReturnPaths, events: SendgridEvent[]): FeedbackFact[] {
  const facts: FeedbackFact[] = [];
  for (const e of events) {
    const kind = kindOf(e);
    if (!kind || typeof e.email !== "string" || !e.sg_event_id) continue;
    facts.push({
      kind,
      source: "webhook:sendgrid",
      channel: "http",
      dedupeKey: `sendgrid:${e.sg_event_id}`,
      target: targetFor(returnPaths, e.email, { messageId: e["smtp-id"] }),
      status: e.status ?? e.type ?? e.event ?? "",
      detail: (e.reason ?? "").slice(0, 300),
    });
  }
  return facts;
}

export function handleSendgrid(
  opts: { returnPaths: ReturnPaths; key: crypto.KeyObject; toleranceSeconds: number },
  headers: { signature?: string; timestamp?: string },
  rawBody: Buffer,
): WebhookVerdict {
  if (!headers.signature || !headers.timestamp) return { ok: false, status: 401, error: "unsigned" };
  if (!signedBySendgrid(opts.key, headers.signature, headers.timestamp, rawBody))
    return { ok: false, status: 401, error: "bad signature" };
  if (!fresh(Number(headers.timestamp), opts.toleranceSeconds))
    return { ok: false, status: 401, error: "stale timestamp" };
  let events: SendgridEvent[];
  try {
    events = JSON.parse(rawBody.toString("utf8")) as SendgridEvent[];
  } catch {
    return { ok: false, status: 400, error: "not JSON" };
  }
  if (!Array.isArray(events)) return { ok: false, status: 400, error: "not a list of events" };
  return { ok: true, facts: factsOf(opts.returnPaths, events) };
}

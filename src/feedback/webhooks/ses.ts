/**
 * Amazon SES notifications delivered by Amazon SNS over HTTPS.
 *
 * Verified as AWS documents it ("Verifying the signatures of Amazon SNS messages"): the signing
 * certificate must come from an https URL on an `sns.<region>.amazonaws.com` host (anything else is
 * refused before any request is made), the string to sign is rebuilt from the message's own fields
 * in AWS's order, and the signature is checked with SHA1withRSA (SignatureVersion 1) or
 * SHA256withRSA (2). Only the topics in SES_SNS_TOPIC_ARNS are accepted. A subscription
 * confirmation is answered by visiting its SubscribeURL (same host rule). The certificate and the
 * confirmation go through an injected fetcher: tests hand it a local certificate, never the network.
 * Replays carry the same SNS MessageId and SES feedbackId: they insert nothing.
 */
import crypto from "node:crypto";
import https from "node:https";
import type { FeedbackFact } from "../record";
import type { ReturnPaths } from "../../mail/return-path";
import { targetFor, type WebhookVerdict } from "./common";

export interface SnsMessage {
  Type: string;
  MessageId: string;
  TopicArn: string;
  Subject?: string | null;
  Message: string;
  Timestamp: string;
  SignatureVersion: string;
  Signature: string;
  SigningCertURL: string;
  SubscribeURL?: string;
  Token?: string;
}

/** GETs an https URL and returns the body (the signing certificate, the subscription confirmation). */
export type HttpsGet = (url: string) => Promise<string>;

export function isSnsUrl(url: string | undefined): boolean {
  if (!url) return false;
  try {
    const u = new URL(url);
    return u.protocol === "https:" && /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(u.hostname) && !u.port;
  } catch {
    return false;
  }
}

const signedKeys = (type: string) =>
  type === "Notification"
    ? ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    : ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"];

export function snsStringToSign(m: SnsMessage): string {
  const record = m as unknown as Record<string, unknown>;
  return signedKeys(m.Type)
    .filter((k) => record[k] !== undefined && record[k] !== null)
    .map((k) => `${k}\n${String(record[k])}\n`)
    .join("");
}

/** A fetcher over https with a certificate cache (certificates change rarely). */
export function defaultHttpsGet(): HttpsGet {
  const cache = new Map<string, string>();
  return (url) => {
    const cached = cache.get(url);
    if (cached) return Promise.resolve(cached);
    return new Promise((resolve, reject) => {
      const req = https.get(url, { timeout: 5_000 }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new Error(`GET ${url}: ${res.statusCode}`));
        }
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body.length < 64_000 ? (body += c) : req.destroy()));
        res.on("end", () => {
          if (url.endsWith(".pem")) cache.set(url, body);
          resolve(body);
        });
      });
      req.on("timeout", () => req.destroy(new Error(`GET ${url}: timeout`)));
      req.on("error", reject);
    });
  };
}

export async function verifySns(m: SnsMessage, get: HttpsGet): Promise<boolean> {
  if (!isSnsUrl(m.SigningCertURL) || !m.SigningCertURL.endsWith(".pem")) return false;
  const algorithm = m.SignatureVersion === "1" ? "RSA-SHA1" : m.SignatureVersion === "2" ? "RSA-SHA256" : undefined;
  if (!algorithm || typeof m.Signature !== "string") return false;
  const cert = await get(m.SigningCertURL);
  try {
    return crypto.verify(algorithm, Buffer.from(snsStringToSign(m)), cert, Buffer.from(m.Signature, "base64"));
  } catch {
    return false;
  }
}

interface SesMail {
  source?: string;
  commonHeaders?: { messageId?: string };
  headers?: { name: string; value: string }[];
}

interface SesNotification {
  notificationType?: string;
  eventType?: string;
  mail?: SesMail;
  bounce?: {
    bounceType?: string;
    feedbackId?: string;
    bouncedRecipients?: { emailAddress: string; status?: string; diagnosticCode?: string }[];
  };
  complaint?: {
    feedbackId?: string;
    complaintFeedbackType?: string;
    complainedRecipients?: { emailAddress: string }[];
  };
}

type Hints = { returnPath?: string; messageId?: string };
const base = { source: "webhook:ses" as const, channel: "http" as const };

/** Our return path and Message-ID as SES echoes them (the full header list first, then the common headers). */
function hintsOf(mail: SesMail | undefined): Hints {
  const ourMessageId =
    mail?.headers?.find((h) => h.name.toLowerCase() === "message-id")?.value ?? mail?.commonHeaders?.messageId;
  return { returnPath: mail?.source, messageId: ourMessageId };
}

function bounceFacts(
  returnPaths: ReturnPaths,
  bounce: NonNullable<SesNotification["bounce"]>,
  hints: Hints,
): FeedbackFact[] {
  const kind = bounce.bounceType === "Permanent" ? "hard_bounce" : "soft_bounce";
  return (bounce.bouncedRecipients ?? []).map((r) => ({
    ...base,
    kind,
    dedupeKey: `ses:${bounce.feedbackId ?? ""}:${r.emailAddress.toLowerCase()}`,
    target: targetFor(returnPaths, r.emailAddress, hints),
    status: r.status ?? bounce.bounceType ?? "",
    detail: r.diagnosticCode ?? "",
  }));
}

function complaintFacts(
  returnPaths: ReturnPaths,
  complaint: NonNullable<SesNotification["complaint"]>,
  hints: Hints,
): FeedbackFact[] {
  if (complaint.complaintFeedbackType === "not-spam") return [];
  return (complaint.complainedRecipients ?? []).map((r) => ({
    ...base,
    kind: "complaint" as const,
    dedupeKey: `ses:${complaint.feedbackId ?? ""}:${r.emailAddress.toLowerCase()}`,
    target: targetFor(returnPaths, r.emailAddress, hints),
    status: complaint.complaintFeedbackType ?? "abuse",
  }));
}

/** The facts of one SES notification (the SNS Message, JSON). */
export function sesFacts(returnPaths: ReturnPaths, message: string): FeedbackFact[] {
  const n = JSON.parse(message) as SesNotification;
  const type = n.notificationType ?? n.eventType;
  const hints = hintsOf(n.mail);
  if (type === "Bounce" && n.bounce) return bounceFacts(returnPaths, n.bounce, hints);
  if (type === "Complaint" && n.complaint) return complaintFacts(returnPaths, n.complaint, hints);
  return [];
}

export async function handleSes(
  opts: { returnPaths: ReturnPaths; topicArns: string[]; get: HttpsGet },
  body: string,
): Promise<WebhookVerdict> {
  let m: SnsMessage;
  try {
    m = JSON.parse(body) as SnsMessage;
  } catch {
    return { ok: false, status: 400, error: "not JSON" };
  }
  if (!m || typeof m !== "object" || typeof m.Type !== "string" || typeof m.Message !== "string")
    return { ok: false, status: 400, error: "not an SNS message" };
  if (!(await verifySns(m, opts.get))) return { ok: false, status: 401, error: "bad SNS signature" };
  if (!opts.topicArns.includes(m.TopicArn)) return { ok: false, status: 403, error: "topic not accepted" };
  if (m.Type === "SubscriptionConfirmation") {
    if (!isSnsUrl(m.SubscribeURL)) return { ok: false, status: 400, error: "SubscribeURL is not an SNS URL" };
    await opts.get(m.SubscribeURL!);
    return { ok: true, facts: [], note: "subscription confirmed" };
  }
  if (m.Type !== "Notification") return { ok: true, facts: [], note: m.Type };
  try {
    return { ok: true, facts: sesFacts(opts.returnPaths, m.Message) };
  } catch {
    return { ok: false, status: 400, error: "not an SES notification" };
  }
}

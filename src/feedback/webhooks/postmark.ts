/**
 * Postmark's bounce and spam complaint webhooks. Postmark signs nothing; its documented protection
 * is HTTP basic auth put in the webhook URL (`https://user:password@host/webhooks/postmark`), checked
 * here in constant time against POSTMARK_WEBHOOK_AUTH. Each record carries Postmark's own ID:
 * a replay inserts nothing.
 */
import crypto from "node:crypto";
import type { FeedbackFact } from "../record";
import type { ReturnPaths } from "../../mail/return-path";
import { targetFor, type WebhookVerdict } from "./common";

const hardTypes = new Set(["HardBounce", "BadEmailAddress", "ManuallyDeactivated"]);
const softTypes = new Set(["SoftBounce", "Transient", "DnsError", "Blocked", "SMTPApiError"]);

export function checkBasicAuth(header: string | undefined, expected: string): boolean {
  const m = header?.match(/^Basic\s+([A-Za-z0-9+/=]+)$/i);
  if (!m) return false;
  const given = crypto.createHash("sha256").update(Buffer.from(m[1]!, "base64").toString("utf8")).digest();
  return crypto.timingSafeEqual(given, crypto.createHash("sha256").update(expected).digest());
}

interface PostmarkRecord {
  RecordType?: string;
  ID?: number | string;
  Type?: string;
  TypeCode?: number;
  Email?: string;
  Details?: string;
  MessageID?: string;
}

function bounceKind(type: string | undefined): FeedbackFact["kind"] | undefined {
  if (!type) return undefined;
  if (hardTypes.has(type)) return "hard_bounce";
  if (softTypes.has(type)) return "soft_bounce";
  return type === "Unsubscribe" ? "unsubscribe" : undefined;
}

function kindOf(r: PostmarkRecord): FeedbackFact["kind"] | undefined {
  if (r.RecordType === "SpamComplaint" || r.Type === "SpamComplaint") return "complaint";
  return r.RecordType === "Bounce" ? bounceKind(r.Type) : undefined;
}

export function handlePostmark(
  opts: { returnPaths: ReturnPaths; auth: string },
  authorization: string | undefined,
  body: string,
): WebhookVerdict {
  if (!checkBasicAuth(authorization, opts.auth)) return { ok: false, status: 401, error: "basic auth required" };
  let r: PostmarkRecord;
  try {
    r = JSON.parse(body) as PostmarkRecord;
  } catch {
    return { ok: false, status: 400, error: "not JSON" };
  }
  if (!r || typeof r.Email !== "string" || r.ID === undefined) return { ok: true, facts: [], note: "nothing to do" };
  const kind = kindOf(r);
  if (!kind) return { ok: true, facts: [], note: `ignored ${r.RecordType}/${r.Type}` };
  return {
    ok: true,
    facts: [
      {
        kind,
        source: "webhook:postmark",
        channel: "http",
        dedupeKey: `postmark:${r.RecordType}:${r.ID}`,
        target: targetFor(opts.returnPaths, r.Email, {}),
        status: r.Type ?? r.RecordType ?? "",
        detail: (r.Details ?? "").slice(0, 300),
      },
    ],
  };
}

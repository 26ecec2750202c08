/**
 * What an inbound message reports: a delivery status notification (RFC 3464), a complaint
 * (RFC 5965 ARF), or anything else (auto-replies, "unsubscribe" messages, spam). Pure: text in,
 * facts out. Who the report is about is decided elsewhere, from the address it was sent to.
 */
import { addressOf, allParts, header, parseFieldGroups, parseMime, type MimePart } from "./mime";
import { classifyStatus, extractStatus, type BounceClass } from "./status";

export interface DsnRecipient {
  finalRecipient?: string;
  originalRecipient?: string;
  action: string;
  status?: string;
  diagnostic?: string;
  /** hard/soft for failures; undefined for delayed, delivered, relayed, expanded. */
  bounce?: BounceClass;
}

export interface InboundReport {
  kind: "dsn" | "arf" | "other";
  /** The report's own Message-ID (for deduplication). */
  messageId?: string;
  from?: string;
  subject: string;
  /** DSN: one entry per recipient reported. */
  recipients: DsnRecipient[];
  /** ARF: abuse, fraud, virus, other, not-spam, auth-failure, opt-out... */
  feedbackType?: string;
  /** The headers of the returned or reported message (where our signed return path may be found). */
  returnedHeaders: string;
  /** The Message-ID of the returned or reported message. */
  returnedMessageId?: string;
  /** Fields of the outer message that name where it was delivered (Delivered-To, X-Original-To, To). */
  deliveredTo: string[];
}

/** DSN per-recipient fields may be folded and carry an address type ("rfc822;"). */
function dsnRecipients(part: MimePart): DsnRecipient[] {
  const groups = parseFieldGroups(part.body);
  return groups
    .filter((g) => g.has("action") || g.has("final-recipient") || g.has("status"))
    .filter((g) => g.has("final-recipient") || g.has("original-recipient"))
    .map((g) => {
      const action = (g.get("action")?.[0] ?? "failed").toLowerCase().split(/\s/)[0]!;
      const diagnostic = g.get("diagnostic-code")?.[0];
      const status = extractStatus(g.get("status")?.[0], diagnostic);
      const failed = action === "failed";
      return {
        finalRecipient: addressOf(g.get("final-recipient")?.[0]),
        originalRecipient: addressOf(g.get("original-recipient")?.[0]),
        action,
        status,
        diagnostic: diagnostic?.slice(0, 300),
        bounce: failed ? (status ? classifyStatus(status) : "soft") : undefined,
      };
    });
}

function returnedHeadersOf(parts: MimePart[]): { text: string; messageId?: string } {
  const returned = parts.find((p) => p.type === "message/rfc822" || p.type === "text/rfc822-headers");
  if (!returned) return { text: "" };
  const text = returned.body.replace(/\r\n/g, "\n");
  const end = text.search(/\n\n/);
  const head = end < 0 ? text : text.slice(0, end);
  const messageId = head.match(/^message-id:\s*<?([^>\s]+)>?/im)?.[1];
  return { text: head, messageId };
}

export function readReport(raw: string): InboundReport {
  const root = parseMime(raw);
  const parts = allParts(root);
  const deliveredTo = ["delivered-to", "x-original-to", "envelope-to", "to"]
    .flatMap((name) => root.headers.get(name) ?? [])
    .map((v) => addressOf(v))
    .filter((a): a is string => !!a);
  const base = {
    messageId: header(root, "message-id")?.replace(/[<>\s]/g, ""),
    from: addressOf(header(root, "from")),
    subject: (header(root, "subject") ?? "").slice(0, 300),
    deliveredTo,
  };
  const returned = returnedHeadersOf(parts);

  const feedback = parts.find((p) => p.type === "message/feedback-report");
  if (feedback) {
    const fields = parseFieldGroups(feedback.body)[0] ?? new Map<string, string[]>();
    return {
      ...base,
      kind: "arf",
      recipients: [],
      feedbackType: (fields.get("feedback-type")?.[0] ?? "abuse").toLowerCase(),
      returnedHeaders: returned.text,
      returnedMessageId: returned.messageId,
    };
  }
  const status = parts.find((p) => p.type === "message/delivery-status" || p.type === "message/global-delivery-status");
  if (status) {
    return {
      ...base,
      kind: "dsn",
      recipients: dsnRecipients(status),
      returnedHeaders: returned.text,
      returnedMessageId: returned.messageId,
    };
  }
  return { ...base, kind: "other", recipients: [], returnedHeaders: returned.text };
}

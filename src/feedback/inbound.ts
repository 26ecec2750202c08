/**
 * One inbound message (from the SMTP listener or the IMAP bounce mailbox) → the facts it reports.
 *
 * Who a report is about comes from the address it was sent to, never from its body:
 * - `bounces+<signed delivery or subscriber>@…`: a DSN (hard or soft by status code) or an ARF
 *   complaint about that delivery; a tag that does not verify is a forgery and the message is ignored.
 * - `bounces@…` (untagged, e.g. a feedback loop that reports to a fixed address): a signed return
 *   path found in the returned message's headers is used, since its signature proves it is ours.
 * - `unsubscribe+<signed subscriber>@…`: a mailto: unsubscribe (RFC 2369, RFC 8058's mailto form).
 * - `unsubscribe@…` (untagged, the List-Unsubscribe of mail sent before tags): the From address is
 *   unsubscribed if it is a subscriber; the consent log marks it as unverified.
 */
import crypto from "node:crypto";
import type { Logger } from "../logger";
import { recordFeedback, type FeedbackDeps, type FeedbackFact, type FeedbackTarget } from "./record";
import type { AddressRef, ReturnPaths } from "../mail/return-path";
import { readReport, type InboundReport } from "./reports/read-report";

export type InboundOutcome =
  | "applied"
  | "duplicate"
  /** Nothing to do: a delay notice, a "not spam" report, an auto-reply... */
  | "ignored"
  /** A tag that does not verify: never acted upon. */
  | "forged"
  /** A report we could not tie to anyone. */
  | "unattributed";

export interface InboundResult {
  recipient: string;
  outcome: InboundOutcome;
  kind?: FeedbackFact["kind"];
  effect?: string;
}

export interface InboundDeps {
  feedback: FeedbackDeps;
  returnPaths: ReturnPaths;
  log: Logger;
}

const targetOf = (ref: AddressRef): FeedbackTarget =>
  ref.type === "delivery" ? { deliveryId: ref.deliveryId } : { subscriberId: ref.subscriberId };
const refKey = (ref: AddressRef) => (ref.type === "delivery" ? `d${ref.deliveryId}` : `s${ref.subscriberId}`);

/** The facts a report states about `ref`, or why there are none. */
function factsOfReport(
  report: InboundReport,
  ref: AddressRef,
  reportKey: string,
  channel: "smtp" | "imap",
): FeedbackFact | InboundOutcome {
  const base = { channel, target: targetOf(ref) };
  if (report.kind === "dsn") {
    const failed = report.recipients.filter((r) => r.bounce);
    if (failed.length === 0) return "ignored";
    // One tagged address is one delivery: the worst failure reported decides.
    const worst = failed.find((r) => r.bounce === "hard") ?? failed[0]!;
    return {
      ...base,
      kind: worst.bounce === "hard" ? "hard_bounce" : "soft_bounce",
      source: "dsn",
      dedupeKey: `dsn:${refKey(ref)}:${reportKey}`,
      status: worst.status ?? "",
      detail: worst.diagnostic ?? report.subject,
    };
  }
  if (report.kind === "arf") {
    const type = report.feedbackType ?? "abuse";
    // not-spam and auth-failure (DMARC/DKIM failure reports) say nothing about the reader's wishes.
    if (type === "not-spam" || type === "auth-failure") return "ignored";
    return {
      ...base,
      kind: type === "opt-out" ? "unsubscribe" : "complaint",
      source: "arf",
      dedupeKey: `arf:${refKey(ref)}:${reportKey}`,
      status: type,
      detail: report.subject,
    };
  }
  return "ignored";
}

/** Whom the report was sent to: the envelope's recipients, else the mailbox's own address. */
function recipientsOf(returnPaths: ReturnPaths, report: InboundReport, envelope: string[]): string[] {
  if (envelope.length) return envelope;
  // A mailbox is the bounce address by definition, whatever its headers say.
  const ours = report.deliveredTo.filter((a) => returnPaths.parse(a).role !== "unknown");
  return ours.length ? ours.slice(0, 1) : [returnPaths.bounceAddress];
}

/** The unsubscribe a mail to our unsubscribe address asks for: by its tag, else by its From. */
function unsubscribeFact(
  subscriberId: string | undefined,
  report: InboundReport,
  reportKey: string,
  channel: "smtp" | "imap",
): FeedbackFact | InboundOutcome {
  if (subscriberId)
    return {
      kind: "unsubscribe",
      source: "mailto",
      channel,
      dedupeKey: `mailto:s${subscriberId}:${reportKey}`,
      target: { subscriberId },
      detail: report.subject,
    };
  if (report.from)
    return {
      kind: "unsubscribe",
      source: "mailto",
      channel,
      dedupeKey: `mailto:from:${reportKey}`,
      target: { email: report.from },
      detail: `untagged address, From not verified: ${report.subject}`,
    };
  return "unattributed";
}

/** What a report sent to one recipient states, or why it states nothing. */
function factOfRecipient(
  deps: InboundDeps,
  report: InboundReport,
  reportKey: string,
  recipient: string,
  channel: "smtp" | "imap",
): FeedbackFact | InboundOutcome {
  const { returnPaths } = deps;
  const address = returnPaths.parse(recipient);
  if (address.role === "unknown") return "ignored";
  if (address.forged) {
    deps.log.warn({ recipient, channel }, "inbound: a tag that does not verify, ignored");
    return "forged";
  }
  if (address.role === "unsubscribe") return unsubscribeFact(address.subscriberId, report, reportKey, channel);
  // The bounce address: its own tag, else a signed return path quoted in the returned message.
  const ref = address.ref ?? returnPaths.findSigned(report.returnedHeaders)[0];
  if (!ref) return report.kind === "other" ? "ignored" : "unattributed";
  return factsOfReport(report, ref, reportKey, channel);
}

export async function processInbound(
  deps: InboundDeps,
  raw: string,
  opts: { recipients: string[]; channel: "smtp" | "imap" },
): Promise<InboundResult[]> {
  const report = readReport(raw);
  const reportKey = report.messageId ?? crypto.createHash("sha256").update(raw).digest("hex");
  const results: InboundResult[] = [];
  for (const recipient of recipientsOf(deps.returnPaths, report, opts.recipients)) {
    const fact = factOfRecipient(deps, report, reportKey, recipient, opts.channel);
    if (typeof fact === "string") {
      results.push({ recipient, outcome: fact });
      continue;
    }
    const outcome = await recordFeedback(deps.feedback, fact);
    results.push(
      outcome.applied
        ? { recipient, outcome: "applied", kind: fact.kind, effect: outcome.effect }
        : { recipient, outcome: "duplicate", kind: fact.kind },
    );
  }
  return results;
}

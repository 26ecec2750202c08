import { domainToASCII } from "node:url";

/**
 * Email addresses as the product stores them, in one canonical form: trimmed, lower-cased, the
 * domain converted to ASCII (punycode), so `Reader@Bücher.Example`, `reader@xn--bcher-kva.example`
 * and `READER@bücher.example` are one subscriber. Lower-casing the local part is a choice: RFC 5321
 * lets a server tell `Ada` from `ada`, but no mailbox provider does, and treating them as two people
 * sent one mailbox several digests. The database keeps this form unique.
 *
 * Deliberately stricter than RFC 5322: one plain `local@domain`, no display names, comments,
 * quoted local parts or lists. Anything that could smuggle a header (CR, LF, other control
 * characters, `<`, `>`, `,`, `;`, quotes, spaces) is refused, so a normalised address is always
 * safe to put in a To: header. The local part must be ASCII: internationalised mailboxes
 * (SMTPUTF8) are not reliably deliverable yet, internationalised domains are.
 */
export type NormalizedEmail = { ok: true; email: string } | { ok: false; reason: string };

/** RFC 5322 dot-atom characters (atext), ASCII only. */
const localPart = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const domainLabel = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
// Line breaks anywhere (even at the ends) are refused: they are how headers get injected.
const lineBreaks = /[\r\n\u2028\u2029\u0085]/;
// Any other control character (C0, DEL, C1) inside the address.
// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u001f\u007f-\u009f]/;

export const MAX_EMAIL_LENGTH = 254;

/** What is wrong with the address as a whole (line breaks, control characters, length, the one @). */
function shapeProblem(raw: string, trimmed: string): string | undefined {
  if (lineBreaks.test(raw)) return "The email address contains line breaks.";
  if (controlCharacters.test(trimmed)) return "The email address contains control characters.";
  if (trimmed === "") return "Please enter an email address.";
  if (trimmed.length > MAX_EMAIL_LENGTH * 2) return "That email address is too long.";
  if (trimmed.split("@").length > 2) return "An email address has exactly one @.";
  const at = trimmed.lastIndexOf("@");
  if (at <= 0 || at === trimmed.length - 1) return "An email address looks like name@example.org.";
  return undefined;
}

function localProblem(local: string): string | undefined {
  if (local.length > 64) return "The part before the @ is too long.";
  if (localPart.test(local)) return undefined;
  return /[^\x20-\x7e]/.test(local)
    ? "Only plain (ASCII) letters are supported before the @."
    : "The part before the @ contains characters an email address cannot have.";
}

/** The domain in ASCII (punycode), or what is wrong with it. */
function asciiDomain(rawDomain: string): { domain: string } | { problem: string } {
  // domainToASCII applies IDNA mapping (lower-casing, full-width dots) and answers "" when invalid.
  const domain = domainToASCII(rawDomain.replace(/\.$/, ""));
  const labels = domain.split(".");
  if (!domain || labels.length < 2 || domain.length > 253 || !labels.every((l) => domainLabel.test(l))) {
    return { problem: "The part after the @ is not a valid domain name." };
  }
  if (!/^([a-z]{2,63}|xn--[a-z0-9-]{1,59})$/.test(labels[labels.length - 1]!)) {
    return { problem: "The part after the @ does not end in a valid top-level domain." };
  }
  return { domain };
}

export function normalizeEmail(raw: unknown): NormalizedEmail {
  if (typeof raw !== "string") return { ok: false, reason: "Please enter an email address." };
  const trimmed = raw.trim();
  const shape = shapeProblem(raw, trimmed);
  if (shape) return { ok: false, reason: shape };
  const at = trimmed.lastIndexOf("@");
  const local = trimmed.slice(0, at);
  const problem = localProblem(local);
  if (problem) return { ok: false, reason: problem };
  const domain = asciiDomain(trimmed.slice(at + 1));
  if ("problem" in domain) return { ok: false, reason: domain.problem };
  const email = `${local.toLowerCase()}@${domain.domain}`;
  if (email.length > MAX_EMAIL_LENGTH) return { ok: false, reason: "That email address is too long." };
  return { ok: true, email };
}

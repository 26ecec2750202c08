import { domainToASCII } from "node:url";

/**
 * One normal form for every address we store or compare: trimmed, the domain lower-cased and in
 * ASCII (punycode for internationalised domains). The local part keeps its case (RFC 5321 says it
 * may be case-sensitive; nearly no server treats it so, but we must not merge two people).
 */
export type NormalizedEmail = { ok: true; email: string } | { ok: false; reason: string };

/** RFC 5321: 64 octets of local part, 255 of domain, 254 for the whole path without brackets. */
const MAX_LOCAL = 64;
const MAX_DOMAIN = 253;
const MAX_TOTAL = 254;

// eslint-disable-next-line no-control-regex
const controlChars = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** Characters that need quoting in a local part: we accept only unquoted (dot-atom) local parts. */
const localForbidden = /[\s"(),:;<>@[\\\]]/;
const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export function normalizeEmail(raw: string): NormalizedEmail {
  if (typeof raw !== "string") return { ok: false, reason: "not text" };
  const value = raw.trim();
  if (value === "") return { ok: false, reason: "empty" };
  if (controlChars.test(value)) return { ok: false, reason: "contains line breaks or control characters" };
  if (value.length > 320) return { ok: false, reason: "too long" };
  const at = value.indexOf("@");
  if (at === -1) return { ok: false, reason: "has no @" };
  if (value.indexOf("@", at + 1) !== -1) return { ok: false, reason: "has more than one @" };
  const local = value.slice(0, at);
  const domainInput = value.slice(at + 1);
  if (local === "") return { ok: false, reason: "nothing before the @" };
  if (domainInput === "") return { ok: false, reason: "nothing after the @" };
  if (Buffer.byteLength(local, "utf8") > MAX_LOCAL) return { ok: false, reason: `the part before the @ is longer than ${MAX_LOCAL} characters` };
  if (localForbidden.test(local)) return { ok: false, reason: "the part before the @ contains spaces or characters that are not allowed" };
  if (local.startsWith(".") || local.endsWith(".") || local.includes("..")) return { ok: false, reason: "misplaced dot before the @" };
  if (domainInput.startsWith("[")) return { ok: false, reason: "IP address literals are not accepted" };

  const domain = domainToASCII(domainInput.replace(/\.$/, "").toLowerCase());
  if (!domain) return { ok: false, reason: "the domain is not valid" };
  if (domain.length > MAX_DOMAIN) return { ok: false, reason: "the domain is too long" };
  const labels = domain.split(".");
  if (labels.length < 2) return { ok: false, reason: "the domain has no dot (e.g. example.org)" };
  if (!labels.every((l) => label.test(l))) return { ok: false, reason: "the domain is not valid" };
  if (/^\d+$/.test(labels[labels.length - 1]!)) return { ok: false, reason: "the domain is not valid" };

  const email = `${local}@${domain}`;
  if (Buffer.byteLength(email, "utf8") > MAX_TOTAL) return { ok: false, reason: `longer than ${MAX_TOTAL} characters` };
  return { ok: true, email };
}

import crypto from "node:crypto";
import * as qp from "nodemailer/lib/qp";
import * as mimeFuncs from "nodemailer/lib/mime-funcs";
import addressparser from "nodemailer/lib/addressparser";

/**
 * The one MIME builder: every email the product sends is built here, the digests and the one-off
 * emails (confirmation, reminder) alike. A digest variant (one per distinct paper list) is
 * rendered once with placeholders where each reader's own values go; here it is compiled once
 * into MIME fragments, and each reader's message is only the concatenation of those fragments
 * with their own links, address and ids. No MJML, no MIME building per reader. A one-off email is
 * the same thing for one reader (`buildMessage`), which the mailer's `send` uses.
 *
 * Why it stays valid: each static fragment is quoted-printable encoded on its own, and each
 * personal value is encoded on its own and framed by soft line breaks ("=\r\n"), which decoders
 * drop. So no line exceeds 76 characters and a value is never split by the encoder.
 */
export const Placeholder = {
  unsubscribeUrl: "%%UNSUBSCRIBE_URL%%",
  preferencesUrl: "%%PREFERENCES_URL%%",
  email: "%%EMAIL%%",
} as const;
type PlaceholderKey = keyof typeof Placeholder;

const placeholderPattern = new RegExp(
  Object.values(Placeholder)
    .map((p) => p.replace(/%/g, "\\%"))
    .join("|"),
  "g",
);
const keyOf = Object.fromEntries(Object.entries(Placeholder).map(([k, v]) => [v, k])) as Record<string, PlaceholderKey>;

export interface VariantContent {
  subject: string;
  /** HTML with placeholders. */
  html: string;
  /** Plain text with placeholders. */
  text: string;
}

interface Fragments {
  statics: string[];
  keys: PlaceholderKey[];
}

export interface CompiledVariant {
  /** Headers common to every reader of the variant (From, Subject, MIME...), CRLF-terminated. */
  commonHeaders: string;
  boundary: string;
  text: Fragments;
  /** Undefined for a plain-text email (then `commonHeaders` name the text part's type). */
  html?: Fragments;
  fromAddress: string;
}

export interface Recipient {
  to: string;
  messageId: string;
  date: Date;
  unsubscribeUrl: string;
  preferencesUrl: string;
  /** Extra per-reader headers (List-Unsubscribe...), single-line values. */
  headers: Record<string, string>;
}

const toCrlf = (s: string) => s.replace(/\r?\n/g, "\r\n");
// 75, not 76: each fragment's last line is followed by the "=" of the soft break that frames a
// personal value, and RFC 2045 allows 76 characters with it.
const encodeQp = (s: string) => toCrlf(qp.wrap(qp.encode(s), 75));

function fragment(template: string): Fragments {
  const statics: string[] = [];
  const keys: PlaceholderKey[] = [];
  let last = 0;
  for (const match of template.matchAll(placeholderPattern)) {
    statics.push(encodeQp(template.slice(last, match.index)));
    keys.push(keyOf[match[0]]!);
    last = match.index + match[0].length;
  }
  statics.push(encodeQp(template.slice(last)));
  return { statics, keys };
}

function assemble(f: Fragments, values: Record<PlaceholderKey, string>): string {
  let out = f.statics[0]!;
  for (let i = 0; i < f.keys.length; i++) {
    out += `=\r\n${encodeQp(values[f.keys[i]!])}=\r\n${f.statics[i + 1]}`;
  }
  return out;
}

/** A header line, RFC 2047-encoded when not ASCII, folded at 76 characters. */
function header(name: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new Error(`header ${name} must be a single line`);
  return `${mimeFuncs.foldLines(`${name}: ${mimeFuncs.encodeWords(value, "Q", 52)}`, 76)}\r\n`;
}

function formatAddress(raw: string): { header: string; address: string } {
  const [parsed] = addressparser(raw) as { name: string; address: string }[];
  if (!parsed?.address) throw new Error(`not an address: ${raw}`);
  const { name: display } = parsed;
  const name = !display
    ? ""
    : !/^[\x20-\x7e]*$/.test(display)
      ? `${mimeFuncs.encodeWord(display, "Q", 52)} `
      : /[()<>[\]:;@\\,."]/.test(display)
        ? `${mimeFuncs.quoteString(display)} `
        : `${display} `;
  return { header: `${name}<${parsed.address}>`, address: parsed.address };
}

const textPartHeaders = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n";
const htmlPartHeaders = "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n";

/**
 * Compiles a variant; without `html`, a plain-text email. `placeholders: false` takes the content
 * as it is (a one-off email, whose text could hold a placeholder's spelling).
 */
export function compileVariant(
  content: Omit<VariantContent, "html"> & { html?: string },
  from: string,
  options: { placeholders?: boolean } = {},
): CompiledVariant {
  const compile = options.placeholders === false ? (s: string) => ({ statics: [encodeQp(s)], keys: [] }) : fragment;
  const boundary = `----=_DailyPapers_${crypto.randomBytes(12).toString("hex")}`;
  const sender = formatAddress(from);
  const commonHeaders =
    `From: ${sender.header}\r\n` +
    header("Subject", content.subject) +
    "MIME-Version: 1.0\r\n" +
    (content.html === undefined
      ? textPartHeaders
      : `Content-Type: multipart/alternative;\r\n boundary="${boundary}"\r\n`);
  return {
    commonHeaders,
    boundary,
    text: compile(content.text),
    html: content.html === undefined ? undefined : compile(content.html),
    fromAddress: sender.address,
  };
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** One reader's complete RFC 5322 message. */
export function personalise(variant: CompiledVariant, r: Recipient): string {
  if (/[\r\n<>]/.test(r.to)) throw new Error("recipient address contains forbidden characters");
  let head = `To: ${r.to}\r\nDate: ${r.date.toUTCString().replace(/GMT$/, "+0000")}\r\nMessage-ID: <${r.messageId}>\r\n`;
  for (const [name, value] of Object.entries(r.headers)) head += header(name, value);
  const textValues = { unsubscribeUrl: r.unsubscribeUrl, preferencesUrl: r.preferencesUrl, email: r.to };
  const htmlValues = {
    unsubscribeUrl: escapeHtml(r.unsubscribeUrl),
    preferencesUrl: escapeHtml(r.preferencesUrl),
    email: escapeHtml(r.to),
  };
  const text = assemble(variant.text, textValues);
  if (!variant.html) return `${head}${variant.commonHeaders}\r\n${text}\r\n`;
  const b = variant.boundary;
  return (
    head +
    variant.commonHeaders +
    "\r\n" +
    `--${b}\r\n${textPartHeaders}\r\n` +
    text +
    `\r\n--${b}\r\n${htmlPartHeaders}\r\n` +
    assemble(variant.html, htmlValues) +
    `\r\n--${b}--\r\n`
  );
}

/** A one-off email for one reader: no placeholders of its own to fill, built like a digest. */
export interface OneOffContent {
  from: string;
  /** The bare address (no display name). */
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Extra headers (List-Unsubscribe...), single-line values. */
  headers?: Record<string, string>;
  /** Without the angle brackets; default: a random id at the From address's domain. */
  messageId?: string;
  date?: Date;
}

export interface BuiltMessage {
  raw: string;
  /** With the angle brackets, as in the Message-ID header. */
  messageId: string;
  /** The From address, the default envelope sender. */
  fromAddress: string;
}

export function buildMessage(m: OneOffContent): BuiltMessage {
  // A one-off email has no placeholders: text that looks like one is sent as it is.
  const variant = compileVariant({ subject: m.subject, text: m.text, html: m.html }, m.from, { placeholders: false });
  const messageId =
    m.messageId?.replace(/^<|>$/g, "") ?? `${crypto.randomUUID()}@${variant.fromAddress.split("@").pop()}`;
  const raw = personalise(variant, {
    to: m.to,
    messageId,
    date: m.date ?? new Date(),
    unsubscribeUrl: "",
    preferencesUrl: "",
    headers: m.headers ?? {},
  });
  return { raw, messageId: `<${messageId}>`, fromAddress: variant.fromAddress };
}

/**
 * Whose fault a failed send is. Only the mail layer knows the SMTP conversation (which command
 * was refused, with which code), so it decides, and the features act on the answer alone:
 *
 * - `recipient`: the server refused this address at RCPT TO. 5xx: the address does not take
 *   mail (a hard bounce of that subscriber, and only them). 4xx: try that delivery again later.
 *   An address the mailer refuses before asking the server (malformed) is a permanent refusal too.
 * - `message`: the server refused this message after DATA (content, size, policy). 5xx: that
 *   delivery fails, the subscriber stays. 4xx: try again later.
 * - `transport`: our side or the path to the server: AUTH refused, MAIL FROM refused (a wrong
 *   sender domain), TLS, DNS, connection lost or refused, time-outs, 421 (service closing), a
 *   reply we cannot read. Nobody is bounced and nothing fails: the delivery waits for the
 *   transport to work again (the digest engine pauses; see digests/breaker.ts).
 *
 * `kind` keeps the SMTP sense (5xx permanent, the rest temporary) for the metrics.
 */
export type FailureScope = "recipient" | "message" | "transport";
export type SendFailureKind = "temporary" | "permanent";

export class SendError extends Error {
  /** Whose fault it is: see the header of this file. Unknown errors are the transport's (nobody is blamed). */
  readonly scope: FailureScope;

  constructor(
    message: string,
    readonly kind: SendFailureKind,
    readonly responseCode?: number,
    options?: { cause?: unknown; scope?: FailureScope },
  ) {
    super(message, options);
    this.name = "SendError";
    this.scope = options?.scope ?? "transport";
  }

  /** A recipient refused for good: the one case where a subscriber is marked bounced. */
  get isHardBounce(): boolean {
    return this.scope === "recipient" && this.kind === "permanent";
  }
}

interface NodemailerError {
  code?: string;
  command?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

const transportCodes = new Set([
  "ECONNECTION",
  "ETIMEDOUT",
  "ESOCKET",
  "EDNS",
  "ETLS",
  "EREQUIRETLS",
  "EPROTOCOL",
  "EAUTH",
  "ENOAUTH",
  "EOAUTH2",
  "EMAXLIMIT",
  "EPROXY",
  "ECONFIG",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
]);

function scopeOf(e: NodemailerError, code: number | undefined): FailureScope {
  // 421: the server is closing the channel, whatever the command: nothing to do with this reader.
  if (code === 421) return "transport";
  const command = (e.command ?? "").toUpperCase();
  if (e.code && transportCodes.has(e.code)) return "transport";
  return scopeOfCommand(e, command, code) ?? scopeBeforeSending(e);
}

/** The scope of a refusal of one SMTP command, or undefined when no command of the conversation failed. */
function scopeOfCommand(e: NodemailerError, command: string, code: number | undefined): FailureScope | undefined {
  if (command.startsWith("AUTH") || command === "CONN" || command === "EHLO" || command === "STARTTLS")
    return "transport";
  if (command === "RCPT TO") return "recipient";
  if (command === "MAIL FROM") {
    // A size refused at MAIL FROM is about this message; any other refusal is about our sender.
    return e.code === "EMESSAGE" || code === 552 ? "message" : "transport";
  }
  if (command === "DATA" || e.code === "EMESSAGE") return "message";
  return undefined;
}

function scopeBeforeSending(e: NodemailerError): FailureScope {
  if (!refusedBeforeSending(e)) return "transport";
  // An address nodemailer cannot use (malformed): that reader's. A sender it cannot use is ours.
  if (/recipient/i.test(e.message ?? "")) return "recipient";
  return /sender/i.test(e.message ?? "") ? "transport" : "message";
}

/** The envelope refused by the mailer itself, before the server was asked: it will never pass as it is. */
const refusedBeforeSending = (e: NodemailerError) =>
  e.code === "EENVELOPE" && (e.command ?? "").toUpperCase() === "API";

/** Turns whatever a transport threw into a `SendError` with its scope. */
export function classifySendError(err: unknown): SendError {
  if (err instanceof SendError) return err;
  const e = (err ?? {}) as NodemailerError;
  const code = typeof e.responseCode === "number" ? e.responseCode : undefined;
  const message = (e.response || e.message || String(err)).slice(0, 500);
  // A malformed address is refused the same way however often it is tried: permanent, not retried.
  const kind: SendFailureKind =
    (code !== undefined && code >= 500 && code < 600) || refusedBeforeSending(e) ? "permanent" : "temporary";
  return new SendError(message, kind, code, { cause: err, scope: scopeOf(e, code) });
}

/**
 * An envelope address no transport can use (empty, or with a line break or angle bracket): the
 * reader's address, refused for good before anything is built or sent. Undefined when usable.
 */
export function unusableAddress(address: string): SendError | undefined {
  if (address.trim() && !/[\r\n<>]/.test(address)) return undefined;
  return new SendError(`Invalid recipient ${JSON.stringify(address)}`, "permanent", undefined, { scope: "recipient" });
}

/** The earlier name of `classifySendError`. */
export const classifySmtpError = classifySendError;

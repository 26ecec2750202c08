/** What the rest of the product knows about sending email: this narrow interface and nothing else. */
export interface MailMessage {
  /** The bare address (no display name). */
  to: string;
  from?: string;
  /**
   * The envelope sender (SMTP `MAIL FROM`, the Return-Path) of this one message, e.g. a VERP
   * address that ties a bounce to one delivery. Default: the address in `from` (or MAIL_FROM).
   */
  envelopeFrom?: string;
  subject: string;
  text: string;
  html?: string;
  /** Extra headers (List-Unsubscribe, List-Id...). Values must be single-line. */
  headers?: Record<string, string>;
  /** Without angle brackets; default: a random id at the From address's domain. */
  messageId?: string;
  /** The envelope sender (Return-Path), e.g. a VERP address; default: the From address. */
  returnPath?: string;
  /**
   * What the email is, for the metrics (`kind` label of newsletter_emails_*): "confirmation",
   * "digest"... Default "other". Not a header: it never leaves the process.
   */
  kind?: EmailKind;
}

/** The kinds of email the product sends; free text is folded into "other" by the metrics. */
export type EmailKind = "confirmation" | "digest" | "notice" | "other";

/** Options of one send that are not part of the message. */
export interface SendOptions {
  /** See MailMessage.kind. */
  kind?: EmailKind;
}

/**
 * The SMTP envelope of a built message. `from` is the envelope sender (Return-Path): each
 * message may carry its own (VERP); transports use it as given.
 */
export interface Envelope {
  from: string;
  to: string;
}

export interface SendResult {
  messageId: string;
  /** The server's answer, e.g. "250 2.0.0 Ok: queued" (or "outbox: FILE"). */
  response: string;
  acceptedAt: Date;
}

/**
 * One way of handing mail to the world (SMTP pool, outbox; an HTTP email API would be another).
 * A transport throws only `SendError`s, each saying whose fault the failure is (see failure.ts).
 */
export interface Mailer {
  readonly kind: "smtp" | "outbox";
  /** Builds the message with the digests' builder (personal-message.ts `buildMessage`) and sends it. */
  send(message: MailMessage): Promise<SendResult>;
  /** Sends an already built RFC 5322 message (the bulk path: built once, personalised by substitution). */
  sendRaw(envelope: Envelope, raw: string | Buffer, messageId: string, options?: SendOptions): Promise<SendResult>;
  /** Resolves when the server answers (the health check, and the probe before a paused digest resumes). */
  verify(): Promise<void>;
  close(): Promise<void>;
}

export { SendError, classifySendError, classifySmtpError } from "./failure";
export type { FailureScope, SendFailureKind } from "./failure";

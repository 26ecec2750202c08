/** What the rest of the product knows about sending email: this narrow interface and nothing else. */
export interface MailMessage {
  to: string;
  from?: string;
  subject: string;
  text: string;
  html?: string;
  /** Extra headers (List-Unsubscribe, List-Id...). Values must be single-line. */
  headers?: Record<string, string>;
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

export interface SendResult {
  messageId: string;
  /** The server's answer, e.g. "250 2.0.0 Ok: queued" (or "outbox: FILE"). */
  response: string;
  acceptedAt: Date;
}

export interface Mailer {
  readonly kind: "smtp" | "outbox";
  send(message: MailMessage): Promise<SendResult>;
  /** Sends an already built RFC 5322 message (the bulk path: built once, personalised by substitution). */
  sendRaw(
    envelope: { from: string; to: string },
    raw: string | Buffer,
    messageId: string,
    options?: SendOptions,
  ): Promise<SendResult>;
  /** Resolves when the server answers (the health check). */
  verify(): Promise<void>;
  close(): Promise<void>;
}

/** How a failed send should be treated: retry later, or give up on this recipient. */
export type SendFailureKind = "temporary" | "permanent";

export class SendError extends Error {
  constructor(
    message: string,
    readonly kind: SendFailureKind,
    readonly responseCode?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "SendError";
  }
}

/** 5xx answers are permanent (a hard bounce when about the recipient); 4xx and lost connections are temporary. */
export function classifySmtpError(err: unknown): SendError {
  if (err instanceof SendError) return err;
  const e = err as { responseCode?: number; response?: string; code?: string; message?: string };
  const code = typeof e.responseCode === "number" ? e.responseCode : undefined;
  const message = (e.response || e.message || String(err)).slice(0, 500);
  if (code !== undefined && code >= 500 && code < 600) return new SendError(message, "permanent", code, { cause: err });
  return new SendError(message, "temporary", code, { cause: err });
}

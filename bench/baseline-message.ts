/** The message the multi-process baselines send, as bench/baselines.ts writes it for its children. */
export interface PreparedMessage {
  from: string;
  subject: string;
  html: string;
  text: string;
  headers: Record<string, string>;
  /** The whole MIME message, base64, with RAW_RECIPIENT in its To header. */
  rawBase64: string;
}

export const RAW_RECIPIENT = "rcpt-placeholder@bench.example";

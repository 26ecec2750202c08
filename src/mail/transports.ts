import fs from "node:fs/promises";
import path from "node:path";
import crypto from "node:crypto";
import nodemailer from "nodemailer";
import type { SendMailOptions, Transporter, TransportOptions } from "nodemailer";
import type { Mailer, MailMessage, SendResult } from "./mailer";
import { classifySendError } from "./failure";
import { buildMessage } from "./personal-message";

export interface DkimOptions {
  domainName: string;
  keySelector: string;
  privateKey: string;
}

interface TransportSettings {
  from: string;
  dkim?: DkimOptions;
}

/**
 * A one-off email, built by the same builder as the digests (personal-message.ts) and sent as it
 * is: nodemailer only carries it. The envelope sender is the message's Return-Path (VERP) when
 * given, else the From address.
 */
function toRawOptions(message: MailMessage, from: string): SendMailOptions {
  const built = buildMessage({ ...message, from: message.from ?? from });
  const envelopeFrom = message.envelopeFrom ?? message.returnPath ?? built.fromAddress;
  return { envelope: { from: envelopeFrom, to: message.to }, raw: built.raw, messageId: built.messageId };
}

function wrap(
  kind: Mailer["kind"],
  transporter: Transporter,
  settings: TransportSettings,
  after?: (info: { messageId: string; message?: Buffer }) => Promise<string>,
): Mailer {
  const deliver = async (options: SendMailOptions): Promise<SendResult> => {
    try {
      const info = (await transporter.sendMail(options)) as { messageId: string; response?: string; message?: Buffer };
      const response = after ? await after(info) : String(info.response ?? "");
      return { messageId: info.messageId, response, acceptedAt: new Date() };
    } catch (err) {
      throw classifySendError(err);
    }
  };
  return {
    kind,
    send: (message) => deliver(toRawOptions(message, settings.from)),
    // The envelope is the message's own: its `from` is the Return-Path this message goes out with.
    sendRaw: (envelope, raw, messageId) =>
      deliver({ envelope: { from: envelope.from, to: envelope.to }, raw, messageId }),
    async verify() {
      if (kind === "smtp") await transporter.verify();
    },
    close() {
      transporter.close();
      return Promise.resolve();
    },
  };
}

/** Pooled SMTP: connections are reused across messages and jobs of this process. */
export function createSmtpMailer(url: string, settings: TransportSettings & { maxConnections?: number }): Mailer {
  const transporter = nodemailer.createTransport({
    url,
    pool: true,
    maxConnections: settings.maxConnections ?? 5,
    maxMessages: Infinity,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    dkim: settings.dkim,
  } as TransportOptions);
  return wrap("smtp", transporter, settings);
}

/** Development default: every email becomes an .eml file in `dir` (shown at /dev/outbox). */
export function createOutboxMailer(dir: string, settings: TransportSettings): Mailer {
  const transporter = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: "unix",
    dkim: settings.dkim,
  } as TransportOptions);
  return wrap("outbox", transporter, settings, async (info) => {
    await fs.mkdir(dir, { recursive: true });
    const name = `${new Date().toISOString().replace(/[:.]/g, "-")}-${crypto.randomBytes(4).toString("hex")}.eml`;
    await fs.writeFile(path.join(dir, name), info.message ?? "");
    return `outbox: ${name}`;
  });
}

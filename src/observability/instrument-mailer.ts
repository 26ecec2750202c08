import type { EmailKind, Mailer, MailMessage } from "../mail/mailer";
import { classifySmtpError } from "../mail/mailer";
import type { Metrics } from "./metrics";

const kinds: ReadonlySet<string> = new Set<EmailKind>(["confirmation", "digest", "notice", "other"]);
const labelOf = (kind: string | undefined, fallback: EmailKind): EmailKind =>
  kind && kinds.has(kind) ? (kind as EmailKind) : fallback;

/**
 * The mailer every feature gets (src/app.ts wraps the transport once): each send is timed in
 * `newsletter_email_send_seconds{kind}` and counted in `newsletter_emails_sent_total{kind}` or
 * `newsletter_emails_failed_total{kind,failure}` (failure: temporary | permanent). The kind comes
 * from the message (`message.kind`, or `options.kind` for sendRaw), else `defaultKind`.
 * Wrap a transport once only: wrapping the wrapped mailer would count every email twice.
 */
export function instrumentMailer(
  mailer: Mailer,
  metrics: Pick<Metrics, "emailsSent" | "emailsFailed" | "sendLatency">,
  defaultKind: EmailKind = "other",
): Mailer {
  const timed = async <T>(kind: EmailKind, send: () => Promise<T>): Promise<T> => {
    const end = metrics.sendLatency.startTimer({ kind });
    try {
      const result = await send();
      end();
      metrics.emailsSent.inc({ kind });
      return result;
    } catch (err) {
      const failure = classifySmtpError(err);
      metrics.emailsFailed.inc({ kind, failure: failure.kind });
      throw failure;
    }
  };
  return {
    get kind() {
      return mailer.kind;
    },
    send: (message: MailMessage) => timed(labelOf(message.kind, defaultKind), () => mailer.send(message)),
    sendRaw: (envelope, raw, messageId, options) =>
      timed(labelOf(options?.kind, defaultKind), () => mailer.sendRaw(envelope, raw, messageId, options)),
    verify: () => mailer.verify(),
    close: () => mailer.close(),
  };
}

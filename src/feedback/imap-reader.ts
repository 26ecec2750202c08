/**
 * The bounce mailbox, read over IMAP (imapflow), for operators whose relay or MTA writes bounces
 * and feedback-loop reports to a mailbox instead of handing them to our listener. Every
 * IMAP_POLL_SECONDS the unseen messages are read one by one through the same path as the SMTP
 * listener's (channel `imap`); a message is flagged \Seen only once its facts are recorded, so a
 * failure leaves it for the next round and nothing is lost. A report read twice is a duplicate.
 */
import { ImapFlow } from "imapflow";
import type { Logger } from "../logger";
import { processInbound, type InboundDeps, type InboundResult } from "./inbound";

export interface ImapReader {
  /** Reads the unseen messages now; resolves with how many were processed. */
  pollOnce(): Promise<number>;
  stop(): Promise<void>;
}

export function imapSettings(url: string) {
  const u = new URL(url);
  const secure = u.protocol === "imaps:";
  return {
    host: u.hostname,
    port: Number(u.port || (secure ? 993 : 143)),
    secure,
    auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) },
    mailbox: decodeURIComponent(u.pathname.replace(/^\//, "")) || "INBOX",
  };
}

export function startImapReader(
  deps: InboundDeps & { log: Logger },
  opts: { url: string; pollSeconds: number; onResults?: (results: InboundResult[]) => void },
): ImapReader {
  const { log } = deps;
  const settings = imapSettings(opts.url);
  let running: Promise<number> | undefined;
  let stopped = false;

  async function poll(): Promise<number> {
    const client = new ImapFlow({
      host: settings.host,
      port: settings.port,
      secure: settings.secure,
      auth: settings.auth,
      logger: false,
      socketTimeout: 60_000,
    });
    client.on("error", (err: Error) => log.warn({ err: err.message }, "imap: connection error"));
    await client.connect();
    let processed = 0;
    try {
      const lock = await client.getMailboxLock(settings.mailbox);
      try {
        const uids = (await client.search({ seen: false }, { uid: true })) || [];
        for (const uid of uids) {
          if (stopped) break;
          const message = await client.fetchOne(String(uid), { source: true }, { uid: true });
          if (!message || !message.source) continue;
          const results = await processInbound(deps, message.source.toString("utf8"), {
            recipients: [],
            channel: "imap",
          });
          opts.onResults?.(results);
          await client.messageFlagsAdd(String(uid), ["\\Seen"], { uid: true });
          processed++;
        }
      } finally {
        lock.release();
      }
    } finally {
      await client.logout().catch(() => client.close());
    }
    if (processed) log.info({ processed }, "imap: bounce mailbox read");
    return processed;
  }

  const pollOnce = () => (running ??= poll().finally(() => (running = undefined)));
  const timer = setInterval(
    () =>
      void pollOnce().catch((err: Error) => log.warn({ err: err.message }, "imap: could not read the bounce mailbox")),
    opts.pollSeconds * 1000,
  );
  timer.unref();
  return {
    pollOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}

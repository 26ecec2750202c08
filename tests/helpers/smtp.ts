import { SMTPServer, type SMTPServerSession } from "smtp-server";
import { simpleParser, type ParsedMail } from "mailparser";

export interface ReceivedEmail {
  envelopeFrom: string;
  envelopeTo: string[];
  raw: string;
  parsed: ParsedMail;
}

/** Decides the server's answer to each recipient: undefined accepts, otherwise an error with a code. */
export type RecipientPolicy = (
  address: string,
  session: SMTPServerSession,
) => { code: number; message: string } | undefined;

/** A real SMTP server in this process (smtp-server), keeping what arrives parsed with mailparser. */
export interface TestSmtpServer {
  port: number;
  url: string;
  received: ReceivedEmail[];
  /** Change how recipients are answered (4xx/5xx), e.g. to test retries and bounces. */
  setPolicy(policy: RecipientPolicy | undefined): void;
  /** Make the server slow: wait this long before accepting each message's data. */
  setDelay(ms: number): void;
  /** How many emails each recipient received. */
  countsByRecipient(): Map<string, number>;
  waitForCount(count: number, timeoutMs?: number): Promise<ReceivedEmail[]>;
  close(): Promise<void>;
}

export async function startSmtpServer(opts: { port?: number } = {}): Promise<TestSmtpServer> {
  const received: ReceivedEmail[] = [];
  let policy: RecipientPolicy | undefined;
  let delayMs = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    size: 10 * 1024 * 1024,
    onRcptTo(address, session, callback) {
      const verdict = policy?.(address.address, session);
      if (!verdict) return callback();
      const err = new Error(verdict.message) as Error & { responseCode: number };
      err.responseCode = verdict.code;
      callback(err);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      const receive = async () => {
        if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
        const raw = Buffer.concat(chunks).toString("utf8");
        received.push({
          envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          envelopeTo: session.envelope.rcptTo.map((r) => r.address),
          raw,
          parsed: await simpleParser(raw),
        });
      };
      stream.on("end", () => {
        receive().then(
          () => callback(),
          (err: Error) => callback(err),
        );
      });
    },
  });
  // A client killed mid-conversation (the fault tests do that on purpose) resets its connection:
  // an error of that one connection, not of the server.
  server.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "ECONNRESET" && err.code !== "EPIPE") throw err;
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  const port = (server.server.address() as { port: number }).port;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    received,
    setPolicy: (p) => {
      policy = p;
    },
    setDelay: (ms) => {
      delayMs = ms;
    },
    countsByRecipient() {
      const counts = new Map<string, number>();
      for (const e of received) for (const to of e.envelopeTo) counts.set(to, (counts.get(to) ?? 0) + 1);
      return counts;
    },
    async waitForCount(count, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline)
          throw new Error(`expected ${count} emails, got ${received.length} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return received;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

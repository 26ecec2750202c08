import { SMTPServer, type SMTPServerSession } from "smtp-server";
import { simpleParser, type ParsedMail } from "mailparser";

export interface ReceivedEmail {
  /** When the message's data ended (Date.now()), before it was answered. */
  at: number;
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

/** An answer the server gives instead of accepting: a code and a text. */
export type Refusal = { code: number; message: string } | undefined;

/** A real SMTP server in this process (smtp-server), keeping what arrives parsed with mailparser. */
export interface TestSmtpServer {
  port: number;
  url: string;
  received: ReceivedEmail[];
  /** Change how recipients are answered (4xx/5xx), e.g. to test retries and bounces. */
  setPolicy(policy: RecipientPolicy | undefined): void;
  /** Answer MAIL FROM (the sender) this way, e.g. 553 for a sender domain the server refuses. */
  setMailFromPolicy(policy: ((address: string) => Refusal) | undefined): void;
  /**
   * Answer AUTH this way, e.g. 535 for a rotated password. Without a policy any credentials are
   * accepted (and clients that send none are served too).
   */
  setAuthPolicy(policy: ((username: string) => Refusal) | undefined): void;
  /** Answer the end of DATA this way (the message refused after it was sent), e.g. 554. */
  setDataPolicy(policy: ((raw: string) => Refusal) | undefined): void;
  /** Make the server slow: wait this long before accepting each message's data. */
  setDelay(ms: number): void;
  /** How many emails each recipient received. */
  countsByRecipient(): Map<string, number>;
  waitForCount(count: number, timeoutMs?: number): Promise<ReceivedEmail[]>;
  close(): Promise<void>;
}

/** `acceptedReply`: the text after 250 when a message is accepted (to tell two servers' answers apart). */
export async function startSmtpServer(opts: { port?: number; acceptedReply?: string } = {}): Promise<TestSmtpServer> {
  const received: ReceivedEmail[] = [];
  let policy: RecipientPolicy | undefined;
  let mailFromPolicy: ((address: string) => Refusal) | undefined;
  let authPolicy: ((username: string) => Refusal) | undefined;
  let dataPolicy: ((raw: string) => Refusal) | undefined;
  let delayMs = 0;
  const refuse = (verdict: NonNullable<Refusal>) =>
    Object.assign(new Error(verdict.message), { responseCode: verdict.code });
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    size: 10 * 1024 * 1024,
    onAuth(auth, _session, callback) {
      const verdict = authPolicy?.(auth.username ?? "");
      if (verdict) return callback(refuse(verdict));
      callback(null, { user: auth.username });
    },
    onMailFrom(address, _session, callback) {
      const verdict = mailFromPolicy?.(address.address);
      if (verdict) return callback(refuse(verdict));
      callback();
    },
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
        const verdict = dataPolicy?.(raw);
        if (verdict) return callback(refuse(verdict));
        const at = Date.now();
        received.push({
          at,
          envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          envelopeTo: session.envelope.rcptTo.map((r) => r.address),
          raw,
          parsed: await simpleParser(raw),
        });
      };
      stream.on("end", () => {
        receive().then(
          () => callback(null, opts.acceptedReply),
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
    setMailFromPolicy: (p) => {
      mailFromPolicy = p;
    },
    setAuthPolicy: (p) => {
      authPolicy = p;
    },
    setDataPolicy: (p) => {
      dataPolicy = p;
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

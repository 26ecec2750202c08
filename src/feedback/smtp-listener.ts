/**
 * The inbound SMTP listener (the `inbound` role): the MX of the bounce domain. It accepts mail for
 * the bounce and unsubscribe addresses only (550 for every other recipient, so it is no relay and
 * no mailbox), refuses messages over INBOUND_MAX_BYTES (552) and senders over
 * INBOUND_RATE_PER_MINUTE (421 at connection, 450 per message; counted in Redis, so every
 * listener shares one budget per IP). A message is answered 250 only after its facts are
 * recorded; when that fails the sender is told 451 and tries again later, so nothing is lost.
 */
import type { Redis } from "ioredis";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";
import type { Logger } from "../logger";
import { processInbound, type InboundDeps, type InboundResult } from "./inbound";

export interface InboundSmtpOptions {
  host: string;
  port: number;
  maxBytes: number;
  ratePerMinute: number;
  redis: Redis;
  keyPrefix: string;
  /** Called with what each message reported (metrics). */
  onResults?: (results: InboundResult[]) => void;
}

export interface InboundSmtp {
  port: number;
  close(): Promise<void>;
}

const smtpError = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

/** The per-IP budget, shared by every listener through Redis. */
function inboundRateLimit(log: Logger, opts: InboundSmtpOptions) {
  const limiter = new RateLimiterRedis({
    storeClient: opts.redis,
    keyPrefix: `${opts.keyPrefix}:inbound-rate`,
    points: opts.ratePerMinute,
    duration: 60,
  });
  const overLimit = async (ip: string, points = 1) => {
    try {
      await limiter.consume(ip || "unknown", points);
      return false;
    } catch (err) {
      if (err instanceof RateLimiterRes) return true;
      // Redis away: accept (reports matter more than the limit), and say so.
      log.warn({ err: (err as Error).message }, "inbound: rate limit unavailable");
      return false;
    }
  };
  return { limiter, overLimit };
}

/** Reads one message, records its facts, and only then answers 250 (451 when recording failed). */
function receiveMessage(deps: InboundDeps & { log: Logger }, opts: InboundSmtpOptions): SMTPServerOptions["onData"] {
  const { log } = deps;
  return (stream, session, callback) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", (err) => callback(err));
    stream.on("end", () => {
      if (stream.sizeExceeded) {
        log.warn({ ip: session.remoteAddress }, "inbound: message over the size limit refused");
        return callback(smtpError(552, `5.3.4 Message too big (limit ${opts.maxBytes} bytes)`));
      }
      const raw = Buffer.concat(chunks).toString("utf8");
      const recipients = session.envelope.rcptTo.map((r) => r.address);
      processInbound(deps, raw, { recipients, channel: "smtp" }).then(
        (results) => {
          log.info({ ip: session.remoteAddress, results }, "inbound message");
          opts.onResults?.(results);
          callback(null, "2.0.0 Thank you");
        },
        (err: Error) => {
          log.error({ err: err.message }, "inbound: could not record a report: asking the sender to retry");
          callback(smtpError(451, "4.3.0 Temporary failure, try again later"));
        },
      );
    });
  };
}

function listen(server: SMTPServer, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(port, host, () => {
      server.server.off("error", reject);
      resolve();
    });
  });
}

export async function startInboundSmtp(
  deps: InboundDeps & { log: Logger },
  opts: InboundSmtpOptions,
): Promise<InboundSmtp> {
  const { log } = deps;
  const { limiter, overLimit } = inboundRateLimit(log, opts);

  const server = new SMTPServer({
    name: deps.returnPaths.bounceAddress.split("@")[1],
    banner: "Daily Papers feedback",
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    size: opts.maxBytes,
    maxClients: 50,
    socketTimeout: 60_000,
    closeTimeout: 5_000,
    logger: false,
    onConnect(session, callback) {
      // A connection costs nothing of the budget; only refuse one from an IP already over it.
      void limiter
        .get(session.remoteAddress || "unknown")
        .catch(() => null)
        .then((res) =>
          res?.remainingPoints === 0
            ? callback(smtpError(421, "4.7.0 Too many messages from your address, try again later"))
            : callback(),
        );
    },
    onMailFrom(_address, session, callback) {
      void overLimit(session.remoteAddress).then((over) =>
        over ? callback(smtpError(450, "4.7.1 Too many messages from your address, try again later")) : callback(),
      );
    },
    onRcptTo(address, _session, callback) {
      const parsed = deps.returnPaths.parse(address.address);
      if (parsed.role === "unknown") return callback(smtpError(550, "5.1.1 No such recipient here"));
      callback();
    },
    onData: receiveMessage(deps, opts),
  });
  server.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "ECONNRESET" && err.code !== "EPIPE") log.warn({ err: err.message }, "inbound: SMTP error");
  });
  await listen(server, opts.port, opts.host);
  const port = (server.server.address() as { port: number }).port;
  log.info({ port, bounce: deps.returnPaths.bounceAddress }, "inbound SMTP listener ready");
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

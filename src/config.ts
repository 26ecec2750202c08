import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { z } from "zod";
import express from "express";

/**
 * Configuration, parsed and validated once at start-up. Names and defaults are the product's
 * public face (README, "Configuration"): a bad value stops the process with a message that names
 * the variable.
 */
const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === "" ? undefined : v))
  .optional();

const isTimeZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

/**
 * Express's `trust proxy`: `true` (trust every proxy: only when the app cannot be reached except
 * through them), a number of hops, or addresses and subnets (`loopback`, `10.0.0.0/8, 2001:db8::/32`).
 * Validated by Express itself, so a typo stops the process instead of trusting nobody.
 */
const trustProxy = z
  .string()
  .trim()
  .default("")
  .transform((v, ctx): boolean | number | string => {
    if (v === "" || v === "false") return false;
    if (v === "true") return true;
    if (/^\d+$/.test(v)) return Number(v);
    try {
      express().set("trust proxy", v);
      return v;
    } catch (err) {
      ctx.addIssue({
        code: "custom",
        message: `must be true, a number of proxies, or addresses/subnets (${(err as Error).message})`,
      });
      return z.NEVER;
    }
  });

const cronField = /^[\d*/,\-?LW#A-Za-z]+$/;

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  /** HTTP port (0 picks a free one). Default 3000. */
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Absolute base of every link put in an email. Default http://localhost:$PORT. */
  BASE_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  /** PostgreSQL. Unset: 127.0.0.1:5432 if it answers, else an embedded PostgreSQL. */
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must start with postgresql://")
      .optional(),
  ),
  /** Redis for BullMQ. Unset: 127.0.0.1:6379 if it answers, else a redis-server from PATH. */
  REDIS_URL: optionalString.pipe(
    z
      .string()
      .regex(/^rediss?:\/\//, "must start with redis:// or rediss://")
      .optional(),
  ),
  /** SMTP server. Unset: emails are written to DATA_DIR/outbox and shown at /dev/outbox. */
  SMTP_URL: optionalString.pipe(
    z
      .string()
      .regex(/^smtps?:\/\//, "must start with smtp:// or smtps://")
      .optional(),
  ),
  /** From of every email. */
  MAIL_FROM: z.string().trim().min(3).default("Daily Papers <papers@localhost>"),
  /** Signs every link token. Generated once into DATA_DIR/secret outside production. */
  SECRET: optionalString.pipe(z.string().min(32, "must be at least 32 characters").optional()),
  /**
   * Earlier secrets (comma-separated), still accepted when verifying links and return paths, so
   * rotating SECRET breaks no link already sent. Unset: none.
   */
  SECRET_PREVIOUS: optionalString.pipe(
    z
      .string()
      .transform((v) =>
        v
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().min(32, "each secret must be at least 32 characters")))
      .optional(),
  ),
  /** Bearer token for /admin. Unset: admin routes answer 404. */
  ADMIN_TOKEN: optionalString.pipe(z.string().min(16, "must be at least 16 characters").optional()),
  /** A worker process (no web role) serves /metrics and /healthz on this port. Unset: it serves nothing. */
  METRICS_PORT: optionalString.pipe(
    z
      .string()
      .regex(/^\d{1,5}$/, "must be a port number")
      .transform(Number)
      .pipe(z.number().max(65535, "must be a port number"))
      .optional(),
  ),
  /** Bearer token for /metrics. Unset: /metrics is open (counts only, no personal data). */
  METRICS_TOKEN: optionalString.pipe(z.string().min(16, "must be at least 16 characters").optional()),
  DIGEST_CRON: z
    .string()
    .trim()
    .default("0 8 * * *")
    .refine((v) => {
      const parts = v.split(/\s+/);
      return parts.length >= 5 && parts.length <= 6 && parts.every((p) => cronField.test(p));
    }, "must be a cron pattern such as '0 8 * * *'"),
  DIGEST_TZ: z.string().trim().default("UTC").refine(isTimeZone, "must be an IANA time zone such as Europe/Paris"),
  /** Weekday (0 = Sunday) on which weekly subscribers get the week's best. */
  WEEKLY_DIGEST_DAY: z.coerce.number().int().min(0).max(6).default(1),
  /** Most papers in one digest. */
  DIGEST_MAX_PAPERS: z.coerce.number().int().min(1).max(100).default(10),
  PAPERS_SOURCE: z
    .string()
    .trim()
    .default("huggingface")
    .refine(
      (v) => ["huggingface", "arxiv", "sample"].includes(v) || /^file:.+/.test(v),
      "must be huggingface, arxiv, sample or file:PATH",
    ),
  /** Base URL of the Hugging Face API (tests point it at a local server). */
  HF_API_URL: z
    .string()
    .trim()
    .pipe(z.url({ protocol: /^https?$/ }))
    .default("https://huggingface.co"),
  /** The arXiv API query endpoint (tests point it at a local server). */
  ARXIV_API_URL: z
    .string()
    .trim()
    .pipe(z.url({ protocol: /^https?$/ }))
    .default("https://export.arxiv.org/api/query"),
  /** When papers are ingested (today's and yesterday's), in DIGEST_TZ. Failed days are retried hourly. */
  INGEST_CRON: z
    .string()
    .trim()
    .default("20 */3 * * *")
    .refine((v) => {
      const parts = v.split(/\s+/);
      return parts.length >= 5 && parts.length <= 6 && parts.every((p) => cronField.test(p));
    }, "must be a cron pattern such as '20 */3 * * *'"),
  DKIM_DOMAIN: optionalString,
  DKIM_SELECTOR: optionalString,
  DKIM_PRIVATE_KEY: optionalString,
  /** Optional mailto: for List-Unsubscribe, e.g. unsubscribe@example.org. */
  UNSUBSCRIBE_MAILTO: optionalString.pipe(z.email().optional()),
  /**
   * The envelope sender (Return-Path) of every email, tagged per delivery (VERP):
   * `bounces+<signed id>@domain`. Default: `bounces@` the domain of MAIL_FROM.
   */
  BOUNCE_ADDRESS: optionalString.pipe(z.email().optional()),
  /** Port of the inbound SMTP listener (the `inbound` role): bounces, complaints, mailto: unsubscribes. */
  INBOUND_SMTP_PORT: z.coerce.number().int().min(0).max(65535).default(2525),
  /** Address the inbound listener binds to. */
  INBOUND_SMTP_HOST: z.string().trim().min(1).default("0.0.0.0"),
  /** Largest inbound message accepted (bytes); larger ones are refused with 552. */
  INBOUND_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(2 * 1024 * 1024),
  /** Inbound messages accepted per sending IP per minute (then 421/450). */
  INBOUND_RATE_PER_MINUTE: z.coerce.number().int().min(1).default(120),
  /** A bounce mailbox read over IMAP, e.g. imaps://user:pass@imap.example.org/INBOX. Unset: none. */
  IMAP_URL: optionalString.pipe(
    z
      .string()
      .regex(/^imaps?:\/\//, "must start with imap:// or imaps://")
      .optional(),
  ),
  /** How often the bounce mailbox is read (seconds). */
  IMAP_POLL_SECONDS: z.coerce.number().min(1).default(60),
  /** Soft bounces on this many deliveries in a row make a hard bounce (suppressed). */
  SOFT_BOUNCE_LIMIT: z.coerce.number().int().min(1).default(3),
  /** Bounce rate of a digest (bounced / accepted) above which the send path should pause it. */
  BOUNCE_RATE_THRESHOLD: z.coerce.number().min(0).max(1).default(0.05),
  /** Complaint rate of a digest above which the send path should pause it (Gmail and Yahoo: 0.3%). */
  COMPLAINT_RATE_THRESHOLD: z.coerce.number().min(0).max(1).default(0.003),
  /** Accepted deliveries a digest needs before its rates are compared with the thresholds. */
  FEEDBACK_MIN_SENT: z.coerce.number().int().min(1).default(200),
  /** How long a send worker keeps a digest's rate verdict before asking the database again (seconds). */
  FEEDBACK_CHECK_SECONDS: z.coerce.number().min(0).default(10),
  /** Amazon SES via SNS: the topic ARNs accepted (comma-separated). Unset: /webhooks/ses answers 404. */
  SES_SNS_TOPIC_ARNS: optionalString,
  /** Postmark: `user:password` of the basic auth put in the webhook URL. Unset: /webhooks/postmark answers 404. */
  POSTMARK_WEBHOOK_AUTH: optionalString.pipe(
    z
      .string()
      .regex(/^[^:]+:.{16,}$/, "must be user:password (password of 16+ characters)")
      .optional(),
  ),
  /** SendGrid: the signed event webhook's verification key (base64, as SendGrid shows it). Unset: 404. */
  SENDGRID_WEBHOOK_PUBLIC_KEY: optionalString,
  /** Mailgun: the HTTP webhook signing key. Unset: /webhooks/mailgun answers 404. */
  MAILGUN_WEBHOOK_SIGNING_KEY: optionalString,
  /** Signed webhooks older than this (seconds, by their own timestamp) are refused as replays. */
  WEBHOOK_TOLERANCE_SECONDS: z.coerce.number().int().min(1).default(900),
  /** Which proxies' X-Forwarded-For to believe (Express's `trust proxy`). Unset: none. */
  TRUST_PROXY: trustProxy,
  SUBSCRIBE_LIMIT_PER_IP: z.coerce.number().int().min(1).default(20),
  /** Subscribe requests allowed per address per hour. */
  SUBSCRIBE_LIMIT_PER_ADDRESS: z.coerce.number().int().min(1).default(5),
  /** Hours a confirmation link stays valid. */
  CONFIRM_TOKEN_TTL_HOURS: z.coerce.number().int().min(1).default(72),
  /** Days after which never-confirmed subscribers are purged. */
  PENDING_PURGE_DAYS: z.coerce.number().int().min(1).default(7),
  /** Emails per second across all workers. */
  SEND_RATE_PER_SECOND: z.coerce.number().int().min(1).default(2000),
  /** Deliveries per send job. */
  SEND_BATCH_SIZE: z.coerce.number().int().min(1).max(5000).default(500),
  /** Emails in flight at once within one send job (and SMTP pool connections per process). */
  SEND_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(10),
  /** A delivery claimed longer ago than this by a worker that vanished is handed to another. */
  DELIVERY_LEASE_SECONDS: z.coerce.number().min(1).default(120),
  /** Delivery rows of digests older than this many days are folded into per-day figures and deleted. */
  DELIVERY_RETENTION_DAYS: z.coerce.number().int().min(1).default(400),
  /** How often the reconciler looks for deliveries left behind (seconds). */
  RECONCILE_EVERY_SECONDS: z.coerce.number().min(1).default(60),
  /** Base delay of the exponential backoff of a send job after temporary failures (ms). */
  SEND_RETRY_BASE_MS: z.coerce.number().int().min(10).default(5_000),
  /** Attempts per delivery before it is marked failed. */
  SEND_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(10),
  /** Web processes per machine for the web role (node:cluster sharing the port). Default 1. */
  WEB_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  /** First wait (seconds) before a digest paused by transport faults probes the server and resumes; doubles with each pause. */
  SEND_PAUSE_BASE_SECONDS: z.coerce.number().min(0.1).default(30),
  /** Longest wait between two probes of a paused digest (seconds). */
  SEND_PAUSE_MAX_SECONDS: z.coerce.number().min(0.1).default(900),
  /** Pause a digest when more than this share of its attempted deliveries failed for good (0-1)... */
  SEND_PAUSE_FAILURE_SHARE: z.coerce.number().min(0).max(1).default(0.2),
  /** ...once at least this many failed: a few bad addresses never pause a run. */
  SEND_PAUSE_MIN_FAILURES: z.coerce.number().int().min(1).default(20),
  /** Longest wait (seconds) between two tries of a confirmation email while the mail transport is down. */
  CONFIRMATION_RETRY_MAX_SECONDS: z.coerce.number().min(0.1).default(300),
  /** Concurrent jobs per worker and queue. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(200).default(4),
  /** Seconds a stopping process waits for running jobs before it gives up. */
  SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().min(1).default(20),
  /** Prefix of every BullMQ key in Redis (lets several installations share one Redis). */
  QUEUE_PREFIX: z.string().trim().min(1).default("papers"),
  /** Where local state lives: the generated secret, the outbox, an embedded PostgreSQL. */
  DATA_DIR: z.string().trim().min(1).default(".data"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** For tests of the embedded path: where "something on the default port" is probed. */
  DEFAULT_DATABASE_PROBE: z.string().trim().default("postgresql://postgres@127.0.0.1:5432/newsletter"),
  DEFAULT_REDIS_PROBE: z.string().trim().default("redis://127.0.0.1:6379"),
  /** Skip the job schedulers (tests and one-off commands). */
  DISABLE_SCHEDULES: z
    .enum(["true", "false", "1", "0", ""])
    .default("false")
    .transform((v) => v === "true" || v === "1"),
});

export type Env = z.infer<typeof envSchema>;

export interface Config extends Omit<Env, "BASE_URL" | "SECRET" | "SECRET_PREVIOUS" | "BOUNCE_ADDRESS"> {
  BASE_URL: string;
  /** True when BASE_URL was not set and follows the port. */
  baseUrlDefaulted: boolean;
  SECRET: string;
  /** BOUNCE_ADDRESS, or `bounces@` the domain of MAIL_FROM. */
  BOUNCE_ADDRESS: string;
  /** Earlier secrets that still verify (SECRET_PREVIOUS), newest first; empty when unset. */
  SECRET_PREVIOUS: string[];
  dataDir: string;
  dkim?: { domainName: string; keySelector: string; privateKey: string };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Reads DATA_DIR/secret, creating it with 48 random bytes the first time. */
function localSecret(dataDir: string): string {
  const file = path.join(dataDir, "secret");
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch {
    fs.mkdirSync(dataDir, { recursive: true });
    const secret = crypto.randomBytes(48).toString("base64url");
    fs.writeFileSync(file, secret + "\n", { mode: 0o600, flag: "wx" });
    return fs.readFileSync(file, "utf8").trim();
  }
}

/** The variables, parsed; a ConfigError names every bad one. */
function parseEnv(env: NodeJS.ProcessEnv): Env {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map(
        (i) => `${String(i.path[0] ?? "?")}: ${i.message} (got ${JSON.stringify(env[String(i.path[0])] ?? null)})`,
      ),
    );
  }
  return parsed.data;
}

/** Rules across variables, which the schema checks one by one cannot express. */
function checkCombinations(e: Env): void {
  const problems: string[] = [];
  if (e.NODE_ENV === "production" && !e.SECRET)
    problems.push("SECRET: required (at least 32 characters) when NODE_ENV=production");
  const dkimSet = [e.DKIM_DOMAIN, e.DKIM_SELECTOR, e.DKIM_PRIVATE_KEY].filter(Boolean).length;
  if (dkimSet !== 0 && dkimSet !== 3)
    problems.push("DKIM_DOMAIN, DKIM_SELECTOR, DKIM_PRIVATE_KEY: set all three or none");
  if (problems.length) throw new ConfigError(problems);
}

/** DKIM signing when all three variables are set; the key is PEM text or the path of a file holding it. */
function dkimOf(e: Env): Config["dkim"] {
  if (!e.DKIM_DOMAIN || !e.DKIM_SELECTOR || !e.DKIM_PRIVATE_KEY) return undefined;
  const key = e.DKIM_PRIVATE_KEY;
  const privateKey =
    !key.includes("-----BEGIN") && fs.existsSync(key) ? fs.readFileSync(key, "utf8") : key.replace(/\\n/g, "\n");
  return { domainName: e.DKIM_DOMAIN, keySelector: e.DKIM_SELECTOR, privateKey };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const e = parseEnv(env);
  checkCombinations(e);
  const dataDir = path.resolve(e.DATA_DIR);
  // Frozen: nothing changes the configuration once it is loaded (src/app.ts settles BASE_URL into a copy).
  return Object.freeze({
    ...e,
    BASE_URL: (e.BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ""),
    baseUrlDefaulted: !e.BASE_URL,
    SECRET: e.SECRET ?? localSecret(dataDir),
    SECRET_PREVIOUS: e.SECRET_PREVIOUS ?? [],
    BOUNCE_ADDRESS:
      e.BOUNCE_ADDRESS ?? `bounces@${(e.MAIL_FROM.match(/@([^>\s]+)/)?.[1] ?? "localhost").toLowerCase()}`,
    dataDir,
    dkim: dkimOf(e),
  });
}

/**
 * What comes back after sending (bounces, complaints, mailto: unsubscribes), as a feature:
 * the relays' webhooks (web role), the operator's pages and API (admin), the rates in /metrics,
 * and `startInbound` for the `inbound` role (the SMTP listener and the IMAP bounce mailbox).
 */
import client from "prom-client";
import type { Redis } from "ioredis";
import type { Config } from "../config";
import type { Db } from "../db";
import type { Logger } from "../logger";
import type { Metrics } from "../observability/metrics";
import type { Suppressions } from "../suppression";
import type { Views } from "../web/views";
import type { Feature } from "../feature";
import { feedbackAdminApi, feedbackAdminPages } from "./admin";
import type { ImapReader } from "./imap-reader";
import type { InboundDeps, InboundResult } from "./inbound";
import { recentDigestRates, thresholdsOf, windowRates } from "./rates";
import type { ReturnPaths } from "../mail/return-path";
import type { FeedbackDeps } from "./record";
import type { InboundSmtp } from "./smtp-listener";
import { webhookRoutes } from "./webhooks/routes";
import { defaultHttpsGet, type HttpsGet } from "./webhooks/ses";

/** What the feedback feature and the inbound role need, built once in src/app.ts. */
export interface FeedbackFeatureDeps {
  config: Config;
  db: Db;
  log: Logger;
  redis: Redis;
  metrics: Metrics;
  views: Views;
  suppressions: Suppressions;
  returnPaths: ReturnPaths;
}

export const feedbackDepsOf = (deps: FeedbackFeatureDeps): FeedbackDeps => ({
  db: deps.db,
  suppressions: deps.suppressions,
  softBounceLimit: deps.config.SOFT_BOUNCE_LIMIT,
});

/** Counts what came in, by channel, kind and outcome (newsletter_feedback_reports_total). */
function reportCounter(deps: FeedbackFeatureDeps) {
  const existing = deps.metrics.registry.getSingleMetric("newsletter_feedback_reports_total");
  return (existing ??
    new client.Counter({
      name: "newsletter_feedback_reports_total",
      help: "Reports received after sending (DSNs, complaints, mailto: unsubscribes, webhooks) by outcome",
      labelNames: ["channel", "kind", "outcome"],
      registers: [deps.metrics.registry],
    })) as client.Counter<"channel" | "kind" | "outcome">;
}

function rateGauges(deps: FeedbackFeatureDeps) {
  const { db, log } = deps;
  const registers = [deps.metrics.registry];
  const scope = (d: { day: string; frequency: string }) => `${d.day}/${d.frequency}`;
  const read = async (
    gauge: client.Gauge,
    pick: (r: { bounceRate: number | null; complaintRate: number | null }) => number | null,
  ) => {
    try {
      const [window, digests] = await Promise.all([windowRates(db, 30), recentDigestRates(db, 10)]);
      gauge.reset();
      gauge.set({ scope: "30d" }, pick(window) ?? 0);
      for (const d of digests) gauge.set({ scope: scope(d) }, pick(d) ?? 0);
    } catch (err) {
      log.warn({ err: (err as Error).message }, "feedback rates could not be read for /metrics");
    }
  };
  new client.Gauge({
    name: "newsletter_bounce_rate",
    help: "Hard-bounced / accepted deliveries: scope=30d (last 30 days) or a digest (day/frequency, the last 10)",
    labelNames: ["scope"],
    registers,
    async collect() {
      await read(this, (r) => r.bounceRate);
    },
  });
  new client.Gauge({
    name: "newsletter_complaint_rate",
    help: "Complained-about / accepted deliveries: scope=30d (last 30 days) or a digest (day/frequency, the last 10)",
    labelNames: ["scope"],
    registers,
    async collect() {
      await read(this, (r) => r.complaintRate);
    },
  });
  new client.Gauge({
    name: "newsletter_suppressed_addresses",
    help: "Addresses on the suppression list (not lifted), by reason",
    labelNames: ["reason"],
    registers,
    async collect() {
      try {
        const rows = await db.suppression.groupBy({ by: ["reason"], where: { liftedAt: null }, _count: true });
        this.reset();
        for (const r of rows) this.set({ reason: r.reason }, r._count);
      } catch (err) {
        log.warn({ err: (err as Error).message }, "suppression counts could not be read for /metrics");
      }
    },
  });
}

export function feedbackFeature(deps: FeedbackFeatureDeps, opts: { httpsGet?: HttpsGet } = {}): Feature {
  const { config, db } = deps;
  const counter = reportCounter(deps);
  rateGauges(deps);
  const thresholds = thresholdsOf(config);
  const adminDeps = { db, suppressions: deps.suppressions, views: deps.views, thresholds };
  return {
    rawBodyRouters: [
      webhookRoutes(
        {
          feedback: feedbackDepsOf(deps),
          returnPaths: deps.returnPaths,
          log: deps.log,
          httpsGet: opts.httpsGet ?? defaultHttpsGet(),
          onFacts: (provider, applied, duplicates) => {
            counter.inc({ channel: "http", kind: provider, outcome: "applied" }, applied);
            counter.inc({ channel: "http", kind: provider, outcome: "duplicate" }, duplicates);
          },
        },
        {
          sesTopicArns: config.SES_SNS_TOPIC_ARNS?.split(",")
            .map((s) => s.trim())
            .filter(Boolean),
          postmarkAuth: config.POSTMARK_WEBHOOK_AUTH,
          sendgridPublicKey: config.SENDGRID_WEBHOOK_PUBLIC_KEY,
          mailgunSigningKey: config.MAILGUN_WEBHOOK_SIGNING_KEY,
          toleranceSeconds: config.WEBHOOK_TOLERANCE_SECONDS,
        },
      ),
    ],
    adminApiRouters: [feedbackAdminApi(adminDeps)],
    adminPageRouters: [feedbackAdminPages(adminDeps)],
  };
}

export interface RunningInbound {
  smtp: InboundSmtp;
  imap?: ImapReader;
  stop(): Promise<void>;
}

/** The `inbound` role: the SMTP listener, and the IMAP reader when IMAP_URL is set. */
export async function startInbound(deps: FeedbackFeatureDeps): Promise<RunningInbound> {
  const { config } = deps;
  const counter = reportCounter(deps);
  const count = (channel: string) => (results: InboundResult[]) => {
    for (const r of results) counter.inc({ channel, kind: r.kind ?? "none", outcome: r.outcome });
  };
  const inboundDeps: InboundDeps = { feedback: feedbackDepsOf(deps), returnPaths: deps.returnPaths, log: deps.log };
  // Loaded only by the inbound role: imapflow alone takes seconds to load on a busy machine.
  const { startInboundSmtp } = await import("./smtp-listener.ts");
  const smtp = await startInboundSmtp(inboundDeps, {
    host: config.INBOUND_SMTP_HOST,
    port: config.INBOUND_SMTP_PORT,
    maxBytes: config.INBOUND_MAX_BYTES,
    ratePerMinute: config.INBOUND_RATE_PER_MINUTE,
    redis: deps.redis,
    keyPrefix: config.QUEUE_PREFIX,
    onResults: count("smtp"),
  });
  const imap = config.IMAP_URL
    ? (await import("./imap-reader.ts")).startImapReader(inboundDeps, {
        url: config.IMAP_URL,
        pollSeconds: config.IMAP_POLL_SECONDS,
        onResults: count("imap"),
      })
    : undefined;
  return {
    smtp,
    imap,
    async stop() {
      await imap?.stop();
      await smtp.close();
    },
  };
}

import client from "prom-client";
import type { Queue } from "bullmq";

/**
 * Every Prometheus metric of the product, in one registry built at start-up and passed to the
 * features that count things. One registry per app instance (tests run several in one process).
 */
export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const counter = (name: string, help: string, labelNames: string[] = []) =>
    new client.Counter({ name, help, labelNames, registers: [registry] });
  return {
    registry,
    emailsSent: counter("newsletter_emails_sent_total", "Emails accepted by the SMTP server", ["kind"]),
    emailsFailed: counter("newsletter_emails_failed_total", "Emails that failed to send", ["kind", "failure"]),
    emailsBounced: counter("newsletter_emails_bounced_total", "Hard bounces (subscriber marked bounced)"),
    subscribes: counter("newsletter_subscribe_requests_total", "Subscribe requests answered", ["outcome"]),
    confirmations: counter("newsletter_confirmations_total", "Subscriptions confirmed"),
    unsubscribes: counter("newsletter_unsubscribes_total", "Unsubscriptions", ["source"]),
    sendLatency: new client.Histogram({
      name: "newsletter_email_send_seconds",
      help: "Time for the SMTP server to accept one email",
      labelNames: ["kind"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    httpLatency: new client.Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP request latency by route",
      labelNames: ["method", "route", "status"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    digestPaused: new client.Gauge({
      name: "newsletter_digest_paused",
      help: "1 for each digest whose sending is paused by the circuit breaker (the reason is in digest status and the logs)",
      labelNames: ["day", "frequency"],
      registers: [registry],
    }),
    queueDepth: new client.Gauge({
      name: "newsletter_queue_jobs",
      help: "Jobs per queue and state",
      labelNames: ["queue", "state"],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** The job states reported in newsletter_queue_jobs{queue,state}. */
export const queueStates = [
  "waiting",
  "active",
  "delayed",
  "prioritized",
  "waiting-children",
  "failed",
  "completed",
] as const;

/**
 * Reads every queue's job counts into the `newsletter_queue_jobs` gauge; called on each scrape,
 * so the figures are as fresh as the scrape and cost nothing between scrapes.
 */
export async function updateQueueDepths(metrics: Pick<Metrics, "queueDepth">, queues: Iterable<Queue>): Promise<void> {
  await Promise.all(
    [...queues].map(async (queue) => {
      const counts = await queue.getJobCounts(...queueStates);
      for (const state of queueStates) metrics.queueDepth.set({ queue: queue.name, state }, counts[state] ?? 0);
    }),
  );
}

/** Reads the paused digests into `newsletter_digest_paused`; called on each scrape. */
export async function updatePausedDigests(
  metrics: Pick<Metrics, "digestPaused">,
  pausedDigests: () => Promise<{ day: string; frequency: string }[]>,
): Promise<void> {
  const paused = await pausedDigests();
  metrics.digestPaused.reset();
  for (const d of paused) metrics.digestPaused.set({ day: d.day, frequency: d.frequency }, 1);
}

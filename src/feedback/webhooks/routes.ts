/**
 * POST /webhooks/ses, /webhooks/postmark, /webhooks/sendgrid, /webhooks/mailgun. Each answers 404
 * until its secret is configured, 401/403 to anything unsigned or wrongly signed, 200 once every
 * fact is recorded (or was already), and 500 when recording failed, so the relay retries.
 * Mounted before the app's body parsers: signatures are checked on the raw bytes.
 */
import express, { Router, type Request, type Response } from "express";
import type { Logger } from "../../logger";
import { recordFeedback, type FeedbackDeps } from "../record";
import type { ReturnPaths } from "../../mail/return-path";
import type { WebhookVerdict } from "./common";
import { handleMailgun } from "./mailgun";
import { handlePostmark } from "./postmark";
import { handleSendgrid, sendgridKey } from "./sendgrid";
import { handleSes, type HttpsGet } from "./ses";

export interface WebhookSettings {
  sesTopicArns?: string[];
  postmarkAuth?: string;
  sendgridPublicKey?: string;
  mailgunSigningKey?: string;
  toleranceSeconds: number;
}

export interface WebhookDeps {
  feedback: FeedbackDeps;
  returnPaths: ReturnPaths;
  log: Logger;
  /** How the SNS signing certificate and subscription confirmations are fetched. */
  httpsGet: HttpsGet;
  onFacts?: (provider: string, applied: number, duplicates: number) => void;
}

export function webhookRoutes(deps: WebhookDeps, settings: WebhookSettings): Router {
  const router = Router();
  const raw = express.raw({ type: () => true, limit: "1mb" });
  const respond = async (provider: string, req: Request, res: Response, verdict: WebhookVerdict) => {
    if (!verdict.ok) {
      req.log?.warn({ provider, error: verdict.error }, "webhook refused");
      if (verdict.status === 401) res.set("WWW-Authenticate", `Basic realm="${provider}"`);
      return void res.status(verdict.status).json({ error: verdict.error });
    }
    let applied = 0;
    let duplicates = 0;
    for (const fact of verdict.facts) {
      const outcome = await recordFeedback(deps.feedback, fact);
      if (outcome.applied) applied++;
      else duplicates++;
    }
    deps.onFacts?.(provider, applied, duplicates);
    deps.log.info({ provider, applied, duplicates, note: verdict.note }, "webhook received");
    res.status(200).json({ applied, duplicates, ...(verdict.note ? { note: verdict.note } : {}) });
  };
  const body = (req: Request) => (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));

  const { sesTopicArns, postmarkAuth, sendgridPublicKey, mailgunSigningKey, toleranceSeconds } = settings;
  if (sesTopicArns?.length) {
    router.post("/webhooks/ses", raw, async (req, res) => {
      const verdict = await handleSes(
        { returnPaths: deps.returnPaths, topicArns: sesTopicArns, get: deps.httpsGet },
        body(req).toString("utf8"),
      );
      await respond("ses", req, res, verdict);
    });
  }
  if (postmarkAuth) {
    router.post("/webhooks/postmark", raw, async (req, res) => {
      const verdict = handlePostmark(
        { returnPaths: deps.returnPaths, auth: postmarkAuth },
        req.headers.authorization,
        body(req).toString("utf8"),
      );
      await respond("postmark", req, res, verdict);
    });
  }
  if (sendgridPublicKey) {
    const key = sendgridKey(sendgridPublicKey);
    router.post("/webhooks/sendgrid", raw, async (req, res) => {
      const verdict = handleSendgrid(
        { returnPaths: deps.returnPaths, key, toleranceSeconds },
        {
          signature: req.get("X-Twilio-Email-Event-Webhook-Signature"),
          timestamp: req.get("X-Twilio-Email-Event-Webhook-Timestamp"),
        },
        body(req),
      );
      await respond("sendgrid", req, res, verdict);
    });
  }
  if (mailgunSigningKey) {
    router.post("/webhooks/mailgun", raw, async (req, res) => {
      const verdict = handleMailgun(
        { returnPaths: deps.returnPaths, signingKey: mailgunSigningKey, toleranceSeconds },
        body(req).toString("utf8"),
      );
      await respond("mailgun", req, res, verdict);
    });
  }
  return router;
}

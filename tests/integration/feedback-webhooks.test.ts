import { expect } from "@jest/globals";
import crypto from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp";
import { startTestApp, type TestApp } from "../helpers/app";
import { seedPapers, seedReaders, seedTopics, waitUntil } from "../helpers/seed";
import { snsStringToSign, type SnsMessage } from "../../src/feedback/webhooks/ses";

const ADMIN_TOKEN = "admin-token-for-tests-0123456789";
const DAYS = ["2024-12-10", "2024-12-11"];
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:ses-feedback";
const CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem";
const POSTMARK_AUTH = "postmark:a-long-webhook-password-0123";
const MAILGUN_KEY = "key-" + crypto.randomBytes(16).toString("hex");
const fixture = (name: string, values: Record<string, string>) =>
  fs
    .readFileSync(path.join(__dirname, "..", "fixtures", "feedback", "webhooks", name), "utf8")
    .replace(/\{\{(\w+)\}\}/g, (_m, key: string) => values[key] ?? `{{${key}}}`);

/**
 * The relays' webhooks against the real app: signatures made here with keys made here (an RSA
 * certificate for SNS, served by the injected fetcher, never the network; an EC P-256 key for
 * SendGrid; shared secrets for Postmark and Mailgun), payloads in the documented shapes.
 */
describe("relay webhooks", () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  let dir: string;
  let snsKey: string;
  const fetched: string[] = [];
  const sendgrid = crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const mail = new Map<string, { returnPath: string; messageId: string }>();

  beforeAll(async () => {
    // A self-signed certificate standing in for Amazon SNS's signing certificate.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sns-cert-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=sns.amazonaws.com",
        "-keyout",
        path.join(dir, "key.pem"),
        "-out",
        path.join(dir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    snsKey = fs.readFileSync(path.join(dir, "key.pem"), "utf8");
    const cert = fs.readFileSync(path.join(dir, "cert.pem"), "utf8");
    smtp = await startSmtpServer();
    app = await startTestApp(
      {
        SMTP_URL: smtp.url,
        ADMIN_TOKEN,
        MAIL_FROM: "Daily Papers <papers@example.org>",
        BOUNCE_ADDRESS: "bounces@bounce.example.org",
        SES_SNS_TOPIC_ARNS: TOPIC_ARN,
        POSTMARK_WEBHOOK_AUTH: POSTMARK_AUTH,
        SENDGRID_WEBHOOK_PUBLIC_KEY: sendgrid.publicKey.export({ format: "der", type: "spki" }).toString("base64"),
        MAILGUN_WEBHOOK_SIGNING_KEY: MAILGUN_KEY,
      },
      {},
      {
        httpsGet: (url) => {
          fetched.push(url);
          if (url === CERT_URL) return Promise.resolve(cert);
          if (url.startsWith("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"))
            return Promise.resolve("<ConfirmSubscriptionResponse/>");
          return Promise.reject(new Error(`unexpected fetch of ${url}`));
        },
      },
    );
    const topic = await seedTopics(app.db, ["diffusion"]);
    for (const day of DAYS)
      await seedPapers(app.db, [{ title: `Paper of ${day}`, upvotes: 5, topics: [topic.diffusion!], day }]);
    await seedReaders(
      app.db,
      [
        "ses-bounce",
        "ses-complaint",
        "pm-bounce",
        "pm-spam",
        "sg-bounce",
        "sg-spam",
        "mg-bounce",
        "mg-spam",
        "keep",
      ].map((name) => ({ email: `${name}@example.net` })),
    );
    const res = await fetch(`${app.url}/admin/api/digests/${DAYS[0]}/send`, { method: "POST", headers: auth });
    const { id } = (await res.json()) as { id: string };
    await waitUntil(
      "the digest to be sent",
      async () => (await app.db.digest.findUnique({ where: { id } }))?.status === "sent",
    );
    await smtp.waitForCount(9);
    for (const e of smtp.received)
      mail.set(e.envelopeTo[0]!, { returnPath: e.envelopeFrom, messageId: e.parsed.messageId!.replace(/[<>]/g, "") });
  });
  afterAll(async () => {
    await app?.destroy();
    await smtp?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const state = async (email: string) => {
    const subscriber = await app.db.subscriber.findUniqueOrThrow({ where: { email } });
    const consent = await app.db.consentEvent.findMany({
      where: { subscriberId: subscriber.id, action: { in: ["bounce", "complaint", "unsubscribe"] } },
    });
    return {
      status: subscriber.status,
      suppression: (await app.deps.suppressions.list(app.db)).find((s) => s.email === email),
      consent: consent.map((c) => ({
        action: c.action,
        source: c.source,
        provider: (c.detail as { source?: string }).source,
      })),
    };
  };
  const values = (email: string) => ({
    EMAIL: email,
    ...mail.get(email)!,
    RETURN_PATH: mail.get(email)!.returnPath,
    MESSAGE_ID: mail.get(email)!.messageId,
  });
  const post = (provider: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${app.url}/webhooks/${provider}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });

  describe("Amazon SES via SNS", () => {
    const sns = (
      fields: Partial<SnsMessage> & { Type: string; Message: string },
      version: "1" | "2" = "2",
    ): SnsMessage => {
      const m: SnsMessage = {
        MessageId: crypto.randomUUID(),
        TopicArn: TOPIC_ARN,
        Timestamp: new Date().toISOString(),
        SignatureVersion: version,
        SigningCertURL: CERT_URL,
        Signature: "",
        ...fields,
      };
      m.Signature = crypto
        .sign(version === "1" ? "RSA-SHA1" : "RSA-SHA256", Buffer.from(snsStringToSign(m)), snsKey)
        .toString("base64");
      return m;
    };
    // SNS posts JSON as text/plain.
    const postSns = (m: SnsMessage | string) =>
      post("ses", typeof m === "string" ? m : JSON.stringify(m), { "content-type": "text/plain; charset=UTF-8" });

    it("when SNS asks to confirm the subscription, then its SubscribeURL is visited once the signature holds", async () => {
      const subscribeUrl = `https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC_ARN}&Token=abc`;
      const res = await postSns(
        sns({
          Type: "SubscriptionConfirmation",
          Message: "You have chosen to subscribe",
          SubscribeURL: subscribeUrl,
          Token: "abc",
        }),
      );
      expect(res.status).toBe(200);
      expect(fetched).toContain(subscribeUrl);
    });

    it("when a bounce notification is signed by SNS, then the reader is suppressed; a replay changes nothing", async () => {
      const message = sns({
        Type: "Notification",
        Message: fixture("ses-bounce.json", values("ses-bounce@example.net")),
      });
      const res = await postSns(message);
      expect(await res.json()).toEqual({ applied: 1, duplicates: 0 });
      expect(await state("ses-bounce@example.net")).toMatchObject({
        status: "bounced",
        suppression: { reason: "hard_bounce", source: "webhook:ses" },
        consent: [{ action: "bounce", source: "webhook", provider: "webhook:ses" }],
      });
      // The delivery was found through the signed return path SES reports as mail.source.
      expect(await app.db.feedbackEvent.findFirst({ where: { source: "webhook:ses" } })).toMatchObject({
        deliveryId: expect.any(BigInt),
      });
      const replay = await postSns(message);
      expect(await replay.json()).toEqual({ applied: 0, duplicates: 1 });
      expect((await state("ses-bounce@example.net")).consent).toHaveLength(1);
    });

    it("when a complaint is signed with SignatureVersion 1, then it is accepted too", async () => {
      const res = await postSns(
        sns({ Type: "Notification", Message: fixture("ses-complaint.json", values("ses-complaint@example.net")) }, "1"),
      );
      expect(res.status).toBe(200);
      expect(await state("ses-complaint@example.net")).toMatchObject({
        status: "complained",
        suppression: { reason: "complaint" },
      });
    });

    it("when the signature is wrong, the certificate is not on an SNS host, or the topic is not ours, then it is refused", async () => {
      const good = sns({ Type: "Notification", Message: fixture("ses-bounce.json", values("keep@example.net")) });
      expect((await postSns({ ...good, Message: good.Message.replace("Permanent", "Transient") })).status).toBe(401);
      const before = fetched.length;
      const elsewhere = { ...good, SigningCertURL: "https://sns.evil.example/SimpleNotificationService-test.pem" };
      expect((await postSns(elsewhere)).status).toBe(401);
      expect((await postSns({ ...good, SigningCertURL: "http://sns.us-east-1.amazonaws.com/x.pem" })).status).toBe(401);
      expect(fetched.slice(before)).not.toContain(elsewhere.SigningCertURL);
      expect(
        (
          await postSns(
            sns({ Type: "Notification", TopicArn: "arn:aws:sns:us-east-1:999:other", Message: good.Message }),
          )
        ).status,
      ).toBe(403);
      const { Signature: _unsigned, ...unsigned } = good;
      expect((await postSns(JSON.stringify(unsigned))).status).toBe(401);
      expect(await state("keep@example.net")).toMatchObject({ status: "active", suppression: undefined });
    });
  });

  describe("Postmark", () => {
    const basic = (credentials: string) => ({ authorization: `Basic ${Buffer.from(credentials).toString("base64")}` });

    it("when the basic auth is missing or wrong, then it is refused", async () => {
      const body = fixture("postmark-bounce.json", { EMAIL: "keep@example.net" });
      expect((await post("postmark", body)).status).toBe(401);
      expect((await post("postmark", body, basic("postmark:wrong-password-0123456789"))).status).toBe(401);
      expect(await state("keep@example.net")).toMatchObject({ status: "active" });
    });

    it("when a hard bounce and a spam complaint arrive with the secret, then both take effect; a replay changes nothing", async () => {
      const bounce = fixture("postmark-bounce.json", { EMAIL: "pm-bounce@example.net" });
      expect(await (await post("postmark", bounce, basic(POSTMARK_AUTH))).json()).toEqual({
        applied: 1,
        duplicates: 0,
      });
      expect(await (await post("postmark", bounce, basic(POSTMARK_AUTH))).json()).toEqual({
        applied: 0,
        duplicates: 1,
      });
      expect(
        await (
          await post("postmark", fixture("postmark-spam.json", { EMAIL: "pm-spam@example.net" }), basic(POSTMARK_AUTH))
        ).json(),
      ).toEqual({ applied: 1, duplicates: 0 });
      expect(await state("pm-bounce@example.net")).toMatchObject({
        status: "bounced",
        suppression: { source: "webhook:postmark" },
        consent: [{ action: "bounce" }],
      });
      expect(await state("pm-spam@example.net")).toMatchObject({
        status: "complained",
        consent: [{ action: "complaint", provider: "webhook:postmark" }],
      });
    });
  });

  describe("SendGrid (signed event webhook, ECDSA)", () => {
    const signed = (body: string, timestamp = Math.floor(Date.now() / 1000).toString()) => ({
      "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
      "X-Twilio-Email-Event-Webhook-Signature": crypto
        .sign("sha256", Buffer.from(timestamp + body), sendgrid.privateKey)
        .toString("base64"),
    });
    const body = () =>
      fixture("sendgrid-events.json", {
        ...values("sg-bounce@example.net"),
        COMPLAINER: "sg-spam@example.net",
        EVENT_ID: "evt-1",
      });

    it("when the request is unsigned, tampered with or stale, then it is refused", async () => {
      const b = body();
      expect((await post("sendgrid", b)).status).toBe(401);
      expect((await post("sendgrid", b.replace("sg-bounce", "keep"), signed(b))).status).toBe(401);
      const old = (Math.floor(Date.now() / 1000) - 3600).toString();
      expect((await post("sendgrid", b, signed(b, old))).status).toBe(401);
      expect(await state("sg-bounce@example.net")).toMatchObject({ status: "active" });
    });

    it("when the events are signed, then the bounce and the spam report take effect (the delivered event is only news); a replay changes nothing", async () => {
      const b = body();
      expect(await (await post("sendgrid", b, signed(b))).json()).toEqual({ applied: 2, duplicates: 0 });
      expect(await (await post("sendgrid", b, signed(b))).json()).toEqual({ applied: 0, duplicates: 2 });
      expect(await state("sg-bounce@example.net")).toMatchObject({
        status: "bounced",
        suppression: { source: "webhook:sendgrid" },
      });
      expect(await state("sg-spam@example.net")).toMatchObject({
        status: "complained",
        suppression: { reason: "complaint" },
      });
      // The bounce was tied to its delivery through our Message-ID, echoed as smtp-id.
      expect(
        await app.db.feedbackEvent.findFirst({ where: { source: "webhook:sendgrid", kind: "hard_bounce" } }),
      ).toMatchObject({ deliveryId: expect.any(BigInt) });
    });
  });

  describe("Mailgun (HMAC-SHA256 of timestamp and token)", () => {
    const sign = (
      name: string,
      email: string,
      timestamp = Math.floor(Date.now() / 1000).toString(),
      key = MAILGUN_KEY,
    ) => {
      const token = crypto.randomBytes(25).toString("hex");
      const signature = crypto
        .createHmac("sha256", key)
        .update(timestamp + token)
        .digest("hex");
      return fixture(name, { ...values(email), TIMESTAMP: timestamp, TOKEN: token, SIGNATURE: signature });
    };

    it("when the signature is made with another key or is stale, then it is refused", async () => {
      expect(
        (await post("mailgun", sign("mailgun-failed.json", "mg-bounce@example.net", undefined, "key-wrong"))).status,
      ).toBe(401);
      const old = (Math.floor(Date.now() / 1000) - 7200).toString();
      expect((await post("mailgun", sign("mailgun-failed.json", "mg-bounce@example.net", old))).status).toBe(401);
      expect(await state("mg-bounce@example.net")).toMatchObject({ status: "active" });
    });

    it("when a permanent failure and a complaint are signed, then both take effect; the same event again changes nothing", async () => {
      expect(await (await post("mailgun", sign("mailgun-failed.json", "mg-bounce@example.net"))).json()).toEqual({
        applied: 1,
        duplicates: 0,
      });
      expect(await (await post("mailgun", sign("mailgun-failed.json", "mg-bounce@example.net"))).json()).toEqual({
        applied: 0,
        duplicates: 1,
      });
      expect(await (await post("mailgun", sign("mailgun-complained.json", "mg-spam@example.net"))).json()).toEqual({
        applied: 1,
        duplicates: 0,
      });
      expect(await state("mg-bounce@example.net")).toMatchObject({
        status: "bounced",
        suppression: { source: "webhook:mailgun" },
      });
      expect(await state("mg-spam@example.net")).toMatchObject({ status: "complained" });
    });
  });

  it("then the next digest goes only to the reader nothing was reported about", async () => {
    const before = smtp.received.length;
    const res = await fetch(`${app.url}/admin/api/digests/${DAYS[1]}/send`, { method: "POST", headers: auth });
    const { id } = (await res.json()) as { id: string };
    await waitUntil(
      "the digest to be sent",
      async () => (await app.db.digest.findUnique({ where: { id } }))?.status === "sent",
    );
    await smtp.waitForCount(before + 1);
    expect(smtp.received.slice(before).map((e) => e.envelopeTo[0])).toEqual(["keep@example.net"]);
    expect(await app.db.delivery.count({ where: { digestId: id } })).toBe(1);
  });
});

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createOutboxMailer, createSmtpMailer } from "../../src/mail/transports";
import { SendError } from "../../src/mail/mailer";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp";
import { startTestApp } from "../helpers/app";

describe("the SMTP mailer", () => {
  let smtp: TestSmtpServer;
  beforeEach(async () => {
    smtp = await startSmtpServer();
  });
  afterEach(async () => {
    await smtp.close();
  });

  it("when a message is sent, then the SMTP server receives both parts and the extra headers", async () => {
    const mailer = createSmtpMailer(smtp.url, { from: "Daily Papers <papers@example.org>" });
    const result = await mailer.send({
      to: "reader@example.org",
      subject: "Hello",
      text: "plain part",
      html: "<p>html part</p>",
      headers: { "List-Id": "Daily Papers <daily.papers.example.org>" },
    });
    await mailer.close();
    const [email] = await smtp.waitForCount(1);
    expect(result.response).toMatch(/^250/);
    expect(email!.envelopeTo).toEqual(["reader@example.org"]);
    expect(email!.parsed.text?.trim()).toBe("plain part");
    expect(email!.parsed.html).toContain("<p>html part</p>");
    expect(email!.raw).toMatch(/^List-Id: Daily Papers <daily.papers.example.org>/im);
    expect(email!.parsed.messageId).toBe(result.messageId);
  });

  it("when the server answers 4xx, then the failure is temporary; 5xx, then permanent", async () => {
    const mailer = createSmtpMailer(smtp.url, { from: "papers@example.org" });
    smtp.setPolicy(() => ({ code: 451, message: "try again later" }));
    await expect(mailer.send({ to: "a@example.org", subject: "s", text: "t" })).rejects.toMatchObject({
      kind: "temporary",
      responseCode: 451,
    });
    smtp.setPolicy(() => ({ code: 550, message: "no such user" }));
    const err = await mailer.send({ to: "a@example.org", subject: "s", text: "t" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SendError);
    expect(err).toMatchObject({ kind: "permanent", responseCode: 550 });
    await mailer.close();
  });

  it("when nothing listens, then the failure is temporary", async () => {
    const mailer = createSmtpMailer("smtp://127.0.0.1:1", { from: "papers@example.org" });
    await expect(mailer.send({ to: "a@example.org", subject: "s", text: "t" })).rejects.toMatchObject({
      kind: "temporary",
    });
    await mailer.close();
  });
});

describe("the outbox (no SMTP_URL)", () => {
  it("when a message is sent, then an .eml file is written", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "outbox-"));
    const mailer = createOutboxMailer(dir, { from: "papers@example.org" });
    const result = await mailer.send({ to: "a@example.org", subject: "Captured", text: "hello" });
    const files = fs.readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(result.response).toBe(`outbox: ${files[0]}`);
    expect(fs.readFileSync(path.join(dir, files[0]!), "utf8")).toContain("Subject: Captured");
  });

  it("when the app runs without SMTP_URL, then captured emails are listed and rendered at /dev/outbox", async () => {
    const app = await startTestApp({}, { worker: false });
    try {
      expect(app.mailer.kind).toBe("outbox");
      await app.mailer.send({
        to: "reader@example.org",
        subject: "Confirm <your> subscription",
        text: "text",
        html: "<p>Hi <b>there</b></p>",
      });
      const list = await (await fetch(`${app.url}/dev/outbox`)).text();
      expect(list).toContain("Confirm &lt;your&gt; subscription");
      const file = list.match(/href="\/dev\/outbox\/([^"]+)"/)![1]!;
      const page = await fetch(`${app.url}/dev/outbox/${file}`);
      expect(page.status).toBe(200);
      const html = await page.text();
      // Links open in the window itself (a frame would show the page unstyled and sandbox its buttons).
      expect(html).toContain(
        'srcdoc="&lt;base target=&quot;_top&quot;&gt;&lt;p&gt;Hi &lt;b&gt;there&lt;/b&gt;&lt;/p&gt;',
      );
      expect(html).toContain(
        'sandbox="allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"',
      );
      expect(html).toContain('<link rel="icon" href="/static/favicon.svg"');
      expect((await fetch(`${app.url}/static/favicon.svg`)).headers.get("content-type")).toMatch(/svg/);
      expect((await fetch(`${app.url}/dev/outbox/..%2F..%2Fsecret`)).status).toBe(404);
    } finally {
      await app.destroy();
    }
  });

  it("when NODE_ENV is production, then /dev/outbox does not exist", async () => {
    const app = await startTestApp({ NODE_ENV: "production" }, { worker: false });
    try {
      expect((await fetch(`${app.url}/dev/outbox`)).status).toBe(404);
    } finally {
      await app.destroy();
    }
  });
});

import { expect } from "@jest/globals";
import crypto from "node:crypto";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp";
import { startTestApp, type TestApp } from "../helpers/app";
import { seedPapers, seedReaders, seedTopics, waitUntil } from "../helpers/seed";
import { assembleDigest } from "../../src/digests/assemble";
import { queueSendBatches } from "../../src/digests/jobs";
import { pendingRanges } from "../../src/digests/ledger";

const DAY = "2024-12-10";
const ADMIN_TOKEN = "admin-token-for-tests-0123456789";

describe("the daily digest, end to end", () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  let topic: Record<string, number>;
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

  beforeAll(async () => {
    smtp = await startSmtpServer();
    app = await startTestApp({
      SMTP_URL: smtp.url,
      ADMIN_TOKEN,
      DIGEST_MAX_PAPERS: "3",
      MAIL_FROM: "Daily Papers <papers@example.org>",
    });
    topic = await seedTopics(app.db, ["diffusion", "language-models", "robotics", "continual-learning"]);
    await seedPapers(app.db, [
      {
        title: "Score estimation in diffusion models",
        upvotes: 50,
        topics: [topic.diffusion!],
        day: DAY,
        arxivId: "2412.00001",
      },
      {
        title: "A small language model",
        upvotes: 40,
        topics: [topic["language-models"]!],
        day: DAY,
        arxivId: "2412.00002",
      },
      {
        title: "Diffusion language models",
        upvotes: 30,
        topics: [topic.diffusion!, topic["language-models"]!],
        day: DAY,
        arxivId: "2412.00003",
      },
      {
        title: "Robots <script>alert('x')</script> & arms",
        upvotes: 20,
        topics: [topic.robotics!],
        day: DAY,
        arxivId: "2412.00004",
      },
      { title: "Untopical paper", upvotes: 10, day: DAY, arxivId: "2412.00005" },
      {
        title: "Yesterday's diffusion paper",
        upvotes: 99,
        topics: [topic.diffusion!],
        day: "2024-12-09",
        arxivId: "2412.00006",
      },
    ]);
    await seedReaders(app.db, [
      { email: "dif1@example.org", topics: [topic.diffusion!] },
      { email: "dif2@example.org", topics: [topic.diffusion!] },
      { email: "lm@example.org", topics: [topic["language-models"]!] },
      { email: "all@example.org" },
      { email: "robot@example.org", topics: [topic.robotics!] },
      { email: "continual@example.org", topics: [topic["continual-learning"]!] },
      { email: "gone@example.org", status: "unsubscribed" },
      { email: "pending@example.org", status: "pending" },
      { email: "weekly@example.org", frequency: "weekly" },
    ]);
  });
  afterAll(async () => {
    await app?.destroy();
    await smtp?.close();
  });

  const byRecipient = () => new Map(smtp.received.map((e) => [e.envelopeTo[0]!, e]));

  it("when the admin sends a day's digest, then each active daily reader gets their papers exactly once, most upvoted first", async () => {
    const res = await fetch(`${app.url}/admin/api/digests/${DAY}/send`, { method: "POST", headers: auth });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    await waitUntil(
      "the digest to be sent",
      async () => (await app.db.digest.findUnique({ where: { id } }))?.status === "sent",
    );
    await smtp.waitForCount(5);
    const mail = byRecipient();
    expect([...mail.keys()].sort()).toEqual([
      "all@example.org",
      "dif1@example.org",
      "dif2@example.org",
      "lm@example.org",
      "robot@example.org",
    ]);
    expect(smtp.received).toHaveLength(5);

    const titles = (to: string) => [...(mail.get(to)!.parsed.text ?? "").matchAll(/^\d+\. (.+)$/gm)].map((m) => m[1]);
    expect(titles("dif1@example.org")).toEqual(["Score estimation in diffusion models", "Diffusion language models"]);
    expect(titles("lm@example.org")).toEqual(["A small language model", "Diffusion language models"]);
    expect(titles("all@example.org")).toEqual([
      "Score estimation in diffusion models",
      "A small language model",
      "Diffusion language models",
    ]);
    expect(titles("robot@example.org")).toEqual(["Robots <script>alert('x')</script> & arms"]);

    const status = await (await fetch(`${app.url}/admin/api/digests/${DAY}`, { headers: auth })).json();
    expect(status).toMatchObject({ id, status: "sent", total: 5, sent: 5, failed: 0, pending: 0, variants: 4 });
  });

  it("then every email has both parts, escaped titles, and the list headers with working tokens", async () => {
    const robot = byRecipient().get("robot@example.org")!;
    expect(robot.parsed.html).toContain("Robots &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; arms");
    expect(robot.parsed.html).not.toContain("<script>");
    for (const email of smtp.received) {
      const to = email.envelopeTo[0]!;
      const subscriber = await app.db.subscriber.findUniqueOrThrow({ where: { email: to } });
      expect(email.parsed.text).toBeTruthy();
      expect(email.parsed.html).toBeTruthy();
      expect(email.parsed.messageId).toMatch(/^<digest-[0-9a-f-]+-\d+@example\.org>$/);
      expect(email.parsed.date).toBeInstanceOf(Date);
      expect(email.parsed.subject).toMatch(/^Daily Papers · Tuesday 10 December 2024: /);
      expect(email.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
      expect(email.raw).toMatch(/^List-Id: Daily Papers <daily-papers\.localhost>\r$/m);
      const token = email.raw.match(/^List-Unsubscribe:\s+<http:\/\/localhost:\d+\/unsubscribe\/([\w.-]+)>/m)![1]!;
      expect(app.deps.tokens.verify("unsubscribe", token)).toEqual({
        ok: true,
        claims: expect.objectContaining({ subscriberId: subscriber.id }),
      });
      expect(email.parsed.html).toContain(`/unsubscribe/${token}"`);
      expect(email.parsed.text).toContain(`/unsubscribe/${token}`);
      expect(email.parsed.text).toContain(`${to} subscribed`);
      const prefs = email.parsed.text!.match(/\/preferences\/([\w.-]+)/)![1]!;
      expect(app.deps.tokens.verify("manage", prefs).ok).toBe(true);
    }
    const delivery = await app.db.delivery.findFirstOrThrow({ where: { subscriber: { email: "lm@example.org" } } });
    expect(delivery).toMatchObject({ state: "accepted", attempts: 1, lastError: null });
    expect(delivery.smtpResponse).toMatch(/^250/);
    expect(delivery.sentAt).toBeInstanceOf(Date);
  });

  it("when the same day is sent again, then nobody gets a second copy", async () => {
    const res = await fetch(`${app.url}/admin/api/digests/${DAY}/send`, { method: "POST", headers: auth });
    expect(res.status).toBe(202);
    await new Promise((r) => setTimeout(r, 1500));
    expect(smtp.received).toHaveLength(5);
    expect(await app.db.delivery.count()).toBe(5);
  });

  it("when the admin names a bad date or frequency, then 400 with a reason and nothing is queued", async () => {
    const before = await app.queues.digests.getJobCounts();
    for (const path of [
      `/admin/api/digests/2024-02-30/send`,
      `/admin/api/digests/yesterday/send`,
      `/admin/api/digests/${DAY}/send?frequency=hourly`,
    ]) {
      const res = await fetch(`${app.url}${path}`, { method: "POST", headers: auth });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(/date|frequency/);
    }
    expect((await fetch(`${app.url}/admin/api/digests/2020-01-01`, { headers: auth })).status).toBe(404);
    expect(await app.queues.digests.getJobCounts()).toEqual(before);
    expect(await app.db.digest.count({ where: { day: new Date("2024-02-29") } })).toBe(0);
  });

  it("when a reader's topics match nothing that day, then they get no email and no delivery", async () => {
    expect(await app.db.delivery.count({ where: { subscriber: { email: "continual@example.org" } } })).toBe(0);
  });

  it("when the web copy is opened, then it shows the day's papers escaped; an unknown day or a bad date is a 404 in words for readers", async () => {
    const page = await fetch(`${app.url}/digests/${DAY}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Robots &lt;script&gt;");
    expect(html.indexOf("Score estimation")).toBeLessThan(html.indexOf("A small language model"));
    expect((await fetch(`${app.url}/digests/2020-01-01`)).status).toBe(404);
    // Not a day: a 404 in the reader's words, with a way home.
    const nonsense = await fetch(`${app.url}/digests/nonsense`);
    expect(nonsense.status).toBe(404);
    const body = await nonsense.text();
    expect(body).toContain("There is no digest at this address");
    expect(body).toContain('href="/"');
    expect((await fetch(`${app.url}/digests/2024-13-45`)).status).toBe(404);
  });

  it("when a reader follows the email's 'view in your browser' link, then it opens exactly their papers; the plain address the whole day", async () => {
    const robot = byRecipient().get("robot@example.org")!;
    const link = /<a href="([^"]+)"[^>]*>View in your browser<\/a>/.exec(robot.parsed.html || "")?.[1];
    expect(link).toBeDefined();
    const own = await (await fetch(link!.replace(/&amp;/g, "&").replace(/^http:\/\/localhost:\d+/, app.url!))).text();
    expect(own).toContain("Robots &lt;script&gt;");
    expect(own).not.toContain("Score estimation");
    expect(own).toContain(`href="/digests/${DAY}"`);
    const whole = await (await fetch(`${app.url}/digests/${DAY}`)).text();
    expect(whole).toContain("Robots &lt;script&gt;");
    expect(whole).toContain("Score estimation");
  });

  it("when the admin previews a topic choice, then the rendered template is shown behind the token", async () => {
    expect((await fetch(`${app.url}/admin/api/digests/${DAY}/preview?topics=robotics`)).status).toBe(401);
    const res = await fetch(`${app.url}/admin/api/digests/${DAY}/preview?topics=robotics`, { headers: auth });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("Robots &lt;script&gt;");
    expect(html).not.toContain("Score estimation");
    expect((await fetch(`${app.url}/admin/api/digests/${DAY}/preview?topics=nope`, { headers: auth })).status).toBe(
      400,
    );
  });

  it("when the weekly digest is assembled, then weekly readers get the week's best", async () => {
    const result = await assembleDigest(
      { db: app.db, config: app.config, log: app.log },
      { day: DAY, frequency: "weekly" },
    );
    expect(result).toMatchObject({ assembledNow: true, deliveries: 1 });
    const variant = await app.db.digestVariant.findFirstOrThrow({ where: { digestId: result.digestId } });
    expect(variant.text).toContain("Yesterday's diffusion paper");
  });
});

describe("a reader who leaves after assembly", () => {
  it("then their delivery is skipped, not sent", async () => {
    const smtp = await startSmtpServer();
    const app = await startTestApp({ SMTP_URL: smtp.url });
    try {
      const t = await seedTopics(app.db, ["diffusion"]);
      await seedPapers(app.db, [{ title: "A diffusion paper", upvotes: 3, topics: [t.diffusion!], day: DAY }]);
      const [stays, leaves] = await seedReaders(app.db, [
        { email: "stays@example.org" },
        { email: "leaves@example.org" },
      ]);
      const { digestId } = await assembleDigest(
        { db: app.db, config: app.config, log: app.log },
        { day: DAY, frequency: "daily" },
      );
      await app.db.subscriber.update({ where: { id: leaves! }, data: { status: "unsubscribed" } });
      await queueSendBatches(app.queues, digestId, await pendingRanges(app.db, digestId, 100), {
        attempts: 3,
        backoffMs: 100,
      });
      await waitUntil(
        "the digest to finish",
        async () => (await app.db.digest.findUnique({ where: { id: digestId } }))?.status === "sent",
      );
      expect(smtp.received.map((e) => e.envelopeTo[0])).toEqual(["stays@example.org"]);
      const states = await app.db.delivery.findMany({
        where: { digestId },
        select: { subscriberId: true, state: true },
      });
      expect(states).toEqual(
        expect.arrayContaining([
          { subscriberId: stays, state: "accepted" },
          { subscriberId: leaves, state: "skipped" },
        ]),
      );
    } finally {
      await app.destroy();
      await smtp.close();
    }
  });
});

describe("when DKIM is configured", () => {
  it("then every digest email is signed for the configured domain and selector", async () => {
    const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const smtp = await startSmtpServer();
    const app = await startTestApp({
      SMTP_URL: smtp.url,
      MAIL_FROM: "Daily Papers <papers@example.org>",
      DKIM_DOMAIN: "example.org",
      DKIM_SELECTOR: "papers2026",
      DKIM_PRIVATE_KEY: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    });
    try {
      await seedPapers(app.db, [{ title: "Signed paper", upvotes: 1, day: DAY }]);
      await seedReaders(app.db, [{ email: "signed@example.org" }]);
      const { digestId } = await assembleDigest(
        { db: app.db, config: app.config, log: app.log },
        { day: DAY, frequency: "daily" },
      );
      await queueSendBatches(app.queues, digestId, await pendingRanges(app.db, digestId, 100), {
        attempts: 3,
        backoffMs: 100,
      });
      const [email] = await smtp.waitForCount(1);
      const signature = email!.raw.match(/^DKIM-Signature:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)/m)?.[1]?.replace(/\s+/g, "");
      expect(signature).toBeDefined();
      expect(signature).toContain("d=example.org");
      expect(signature).toContain("s=papers2026");
      expect(signature).toMatch(/h=[^;]*from/i);
    } finally {
      await app.destroy();
      await smtp.close();
    }
  });
});

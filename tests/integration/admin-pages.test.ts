import { expect } from "@jest/globals";
import crypto from "node:crypto";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp";
import { startTestApp, type TestApp } from "../helpers/app";
import { seedPapers, seedReaders, seedTopics, waitUntil } from "../helpers/seed";

/**
 * The admin pages an operator uses, through HTTP behind the admin token: the dashboard opens on
 * what changed, the digest history (status, counts, progress, failures, pause reason) leads to a
 * digest's variants and their previews, and a subscriber opens as a page (topics, follows, consent
 * log, deliveries), not as raw JSON.
 */
const DAY = "2024-12-10";
const ADMIN_TOKEN = `admin-${crypto.randomBytes(16).toString("hex")}`;
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe("the admin pages", () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  let digestId: string;
  let readerId: string;

  const page = async (path: string) => {
    const res = await fetch(`${app.url}${path}`, { headers: auth });
    return { status: res.status, type: res.headers.get("content-type") ?? "", html: await res.text() };
  };

  beforeAll(async () => {
    smtp = await startSmtpServer();
    app = await startTestApp({ SMTP_URL: smtp.url, ADMIN_TOKEN });
    const topic = await seedTopics(app.db, ["robotics", "vision"]);
    await seedPapers(app.db, [
      { title: "Legged robots that climb", upvotes: 20, topics: [topic.robotics!], day: DAY, arxivId: "2412.20001" },
      { title: "Seeing in the dark", upvotes: 10, topics: [topic.vision!], day: DAY, arxivId: "2412.20002" },
    ]);
    [readerId] = (await seedReaders(app.db, [
      { email: "robot-reader@example.org", topics: [topic.robotics!] },
      { email: "vision-reader@example.org", topics: [topic.vision!] },
      { email: "refused-reader@example.org", topics: [topic.vision!] },
    ])) as [string];
    await app.db.subscriberFollow.create({ data: { subscriberId: readerId, kind: "author", value: "Grace Hopper" } });
    await app.db.consentEvent.create({
      data: { subscriberId: readerId, emailHash: "h", action: "confirm", source: "link", ip: "192.0.2.7" },
    });
    smtp.setPolicy((address) =>
      address.startsWith("refused-") ? { code: 550, message: "5.1.1 No such mailbox" } : undefined,
    );
    const res = await fetch(`${app.url}/admin/api/digests/${DAY}/send`, { method: "POST", headers: auth });
    digestId = ((await res.json()) as { id: string }).id;
    await waitUntil("the digest to be sent", async () =>
      ["sent", "paused"].includes((await app.db.digest.findUnique({ where: { id: digestId } }))?.status ?? ""),
    );
    // An older digest stopped by the circuit breaker.
    await app.db.digest.create({
      data: {
        day: new Date("2024-12-09T00:00:00Z"),
        frequency: "daily",
        status: "paused",
        pauseReason: "the SMTP server refused our login (535)",
        pausedAt: new Date(),
        assembledAt: new Date(),
      },
    });
  }, 60_000);
  afterAll(async () => {
    await app?.destroy();
    await smtp?.close();
  });

  it("when the pages are opened without the admin token, then 401", async () => {
    for (const path of ["/admin/digests", `/admin/digests/${digestId}`, `/admin/subscribers/${readerId}`]) {
      const res = await fetch(`${app.url}${path}`, { headers: { accept: "text/html" } });
      expect(res.status).toBe(401);
    }
  });

  it("when the dashboard opens, then it starts with what changed and lists only days with activity", async () => {
    const { status, html } = await page("/admin");
    expect(status).toBe(200);
    expect(html).toMatch(/<h1>Admin<\/h1>/);
    const changed = html.indexOf("What changed in the last 30 days");
    expect(changed).toBeGreaterThan(0);
    expect(changed).toBeLessThan(html.indexOf("Find a subscriber"));
    // One day with deliveries today: one row, not thirty rows of zeros.
    const table = html.slice(changed, html.indexOf("Find a subscriber"));
    expect(table.match(/<tr><td>\d{4}-\d{2}-\d{2}<\/td>/g)).toHaveLength(1);
    expect(table).not.toMatch(/<td>0<\/td><td>0<\/td><td>0<\/td><td>0<\/td><td>0<\/td><td>0<\/td><td>0<\/td>/);
    expect(table).toContain("2</strong> emails accepted, <strong>1</strong> failed");
    expect(html).toContain(`href="/admin/digests/${digestId}"`);
    expect(html).toContain(`href="/admin/subscribers/${readerId}"`);
  });

  it("when the digest history opens, then each digest shows status, counts, progress and why it is paused", async () => {
    const { status, html } = await page("/admin/digests");
    expect(status).toBe(200);
    expect(html).toContain("<h1>Digests</h1>");
    expect(html).toContain(`<a href="/admin/digests/${digestId}">${DAY}</a>`);
    expect(html).toMatch(/<strong>sent<\/strong>/);
    expect(html).toContain("2 of 3");
    expect(html).toContain('value="100"');
    expect(html).toContain(
      '<strong>paused</strong><br><span class="hint">the SMTP server refused our login (535)</span>',
    );
  });

  it("when a digest opens, then its variants link to previews that show what readers got, and failures name the reader", async () => {
    const { status, html } = await page(`/admin/digests/${digestId}`);
    expect(status).toBe(200);
    expect(html).toContain(`<h1>Digest of ${DAY} (daily)</h1>`);
    expect(html).toContain("Variants (2)");
    expect(html).toContain("refused-reader@example.org");
    expect(html).toContain("5.1.1 No such mailbox");
    const previews = [...html.matchAll(/href="(\/admin\/digests\/[0-9a-f-]+\/variants\/\d+)"/g)].map((m) => m[1]!);
    expect(previews).toHaveLength(2);
    const shown = await Promise.all(previews.map((p) => page(p)));
    expect(shown.map((s) => s.status)).toEqual([200, 200]);
    const all = shown.map((s) => s.html).join("\n");
    expect(all).toContain("Legged robots that climb");
    expect(all).toContain("Seeing in the dark");
    expect(all).toContain("reader@example.org");
    expect(all).not.toContain("%%");
    expect((await page(`/admin/digests/${digestId}/variants/999999`)).status).toBe(404);
    expect((await page("/admin/digests/not-a-digest")).status).toBe(404);
  });

  it("when a subscriber opens, then the page shows topics, follows, consent log and deliveries in HTML", async () => {
    const { status, type, html } = await page(`/admin/subscribers/${readerId}`);
    expect(status).toBe(200);
    expect(type).toMatch(/text\/html/);
    expect(html).toContain("<h1>robot-reader@example.org</h1>");
    expect(html).toContain("<td>Robotics</td>");
    expect(html).toContain("author: Grace Hopper");
    expect(html).toMatch(/<td>confirm<\/td><td>link<\/td>/);
    expect(html).toContain("192.0.2.7");
    expect(html).toContain(`<a href="/admin/digests/${digestId}">${DAY}</a>`);
    expect(html).toMatch(/<td>accepted<\/td>/);
    expect(html).toMatch(/href="\/admin\/digests\/[0-9a-f-]+\/variants\/\d+">Preview/);
    const json = await fetch(`${app.url}/admin/api/subscribers/${readerId}`, { headers: auth });
    expect(await json.json()).toMatchObject({ follows: [{ kind: "author", value: "Grace Hopper" }] });
    const gone = await page(`/admin/subscribers/${crypto.randomUUID()}`);
    expect(gone.status).toBe(404);
    expect(gone.html).toContain("No such subscriber");
  });
});

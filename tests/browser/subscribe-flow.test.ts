import fs from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { emailHash } from "../../src/subscriptions/consent-log";
import {
  emailsTo,
  linkFromEmail,
  listUnsubscribeUrl,
  startSubscriptionsApp,
  uniqueEmail,
  type SubscriptionsFixture,
} from "../helpers/subscriptions";

/**
 * One person, one real browser (Debian's Chromium driven by playwright-core): subscribe on the
 * home page with two topics, confirm from the email, change a topic, unsubscribe from the email's
 * link. After each step, what PostgreSQL holds is checked.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

describe("a reader in a browser", () => {
  let f: SubscriptionsFixture;
  let browser: Browser;
  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)`);
    [f, browser] = await Promise.all([
      startSubscriptionsApp(),
      chromium.launch({
        executablePath: CHROMIUM,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
      }),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await f?.close();
  });

  it("when a person subscribes, confirms, changes a topic and unsubscribes, then what is stored follows each step", async () => {
    const email = uniqueEmail("browser");
    const db = f.app.db;
    const stored = async () => {
      const s = await db.subscriber.findUnique({ where: { email }, include: { topics: { include: { topic: true } } } });
      return s && { status: s.status, frequency: s.frequency, topics: s.topics.map((t) => t.topic.slug).sort() };
    };
    const page = await (await browser.newContext()).newPage();

    // 1. The home page: heading, form, two topics ticked by their labels.
    await page.goto(`${f.app.url}/`);
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe(
      "Get trending papers in your email inbox!",
    );
    await page.getByLabel("Email address").fill(email);
    await page.getByLabel("Language models").check();
    await page.getByLabel("Computer vision").check();
    await page.getByRole("button", { name: "Subscribe" }).click();
    await page.waitForSelector("text=Check your inbox");
    expect(await stored()).toEqual({ status: "pending", frequency: "daily", topics: ["llm", "vision"] });

    // 2. The link from the email that arrived shows one button (opening it changes nothing); the
    // button confirms and shows the preferences.
    await page.goto(await linkFromEmail(f.smtp, email, "/confirm/"));
    expect(await stored()).toEqual({ status: "pending", frequency: "daily", topics: ["llm", "vision"] });
    await page.getByRole("button", { name: "Yes, subscribe me" }).click();
    await page.waitForSelector("text=You're subscribed");
    expect(await stored()).toEqual({ status: "active", frequency: "daily", topics: ["llm", "vision"] });
    expect(await page.getByLabel("Language models").isChecked()).toBe(true);

    // 3. Swap one topic and save.
    await page.getByLabel("Computer vision").uncheck();
    await page.getByLabel("Reinforcement learning").check();
    await page.getByRole("button", { name: "Save preferences" }).click();
    await page.waitForSelector("text=Your preferences are saved.");
    expect(await stored()).toEqual({ status: "active", frequency: "daily", topics: ["llm", "rl"] });

    // 4. The unsubscribe link of the email: one button, then the offer to undo.
    await page.goto(listUnsubscribeUrl(emailsTo(f.smtp, email)[0]!.raw));
    await page.getByRole("button", { name: "Unsubscribe" }).click();
    await page.waitForSelector("text=You're unsubscribed");
    expect(await page.getByRole("button", { name: "Undo: subscribe me again" }).isVisible()).toBe(true);
    expect(await stored()).toEqual({ status: "unsubscribed", frequency: "daily", topics: ["llm", "rl"] });

    const log = await db.consentEvent.findMany({ where: { emailHash: emailHash(email) }, orderBy: { id: "asc" } });
    expect(log.map((e) => `${e.action}/${e.source}`)).toEqual([
      "subscribe/web_form",
      "confirm/link",
      "change/link",
      "unsubscribe/link",
    ]);
    expect(log[0]!.userAgent).toMatch(/Chrome/);
  });
});

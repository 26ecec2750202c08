import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { startTestApp, type TestApp } from "../helpers/app";

const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

describe("the queue dashboard in a browser", () => {
  const ADMIN_TOKEN = crypto.randomBytes(16).toString("hex");
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "chromium-admin-"));
  let app: TestApp;
  let browser: BrowserContext;
  beforeAll(async () => {
    if (!fs.existsSync(executablePath))
      throw new Error(`No Chromium at ${executablePath}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    app = await startTestApp({ ADMIN_TOKEN }, { worker: false });
    // A fresh profile of its own (launchPersistentContext is how Playwright takes --user-data-dir).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.destroy();
    fs.rmSync(profile, { recursive: true, force: true });
  });

  it("when an operator opens /admin/queues, signs in with the token, then the dashboard loads and lists the product's queues", async () => {
    await app.queues.ingest.add("ingest-day", { day: "2026-01-01" });
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" && !/fonts\.googleapis/.test(m.text())) problems.push(m.text());
    });
    const first = await page.goto(`${app.url}/admin/queues`);
    expect(first?.status()).toBe(401);
    await page.fill("#token", ADMIN_TOKEN);
    await Promise.all([page.waitForURL(`${app.url}/admin/queues`), page.click("button[type=submit]")]);
    problems.length = 0; // the 401 of the first visit is expected
    // The dashboard is a script-driven page: its own API calls must pass with the session cookie.
    await page.getByText("ingest", { exact: false }).first().waitFor({ timeout: 15_000 });
    const text = await page.locator("body").innerText();
    for (const name of ["emails", "ingest", "digests", "sends", "maintenance"]) expect(text).toContain(name);
    expect(problems.filter((p) => /Content Security Policy|401|403/.test(p))).toEqual([]);
    await page.close();
  });

  it("when an operator goes from the dashboard to a digest and its variant, then each page opens by its links", async () => {
    const digest = await app.db.digest.create({
      data: { day: new Date("2024-12-10T00:00:00Z"), frequency: "daily", status: "sent", assembledAt: new Date() },
    });
    await app.db.digestVariant.create({
      data: {
        digestId: digest.id,
        key: "1",
        paperIds: [1],
        subject: "Daily Papers · Tuesday 10 December 2024: Robots that climb",
        html: "<!doctype html><html><body><h1>Robots that climb</h1><p>For %%EMAIL%%</p></body></html>",
        text: "Robots that climb",
      },
    });
    const page = await browser.newPage();
    await page.goto(`${app.url}/admin/login?next=/admin`);
    await page.fill("#token", ADMIN_TOKEN);
    await Promise.all([page.waitForURL(`${app.url}/admin`), page.click("button[type=submit]")]);
    expect(await page.locator("h1").innerText()).toBe("Admin");
    await Promise.all([
      page.waitForURL(`${app.url}/admin/digests`),
      page.getByRole("link", { name: "Digests" }).first().click(),
    ]);
    await Promise.all([
      page.waitForURL(/\/admin\/digests\/[0-9a-f-]+$/),
      page.getByRole("link", { name: "2024-12-10" }).click(),
    ]);
    expect(await page.locator("h1").innerText()).toBe("Digest of 2024-12-10 (daily)");
    await Promise.all([page.waitForURL(/\/variants\/\d+$/), page.getByRole("link", { name: "Preview" }).click()]);
    expect(await page.locator("h1").innerText()).toBe("Robots that climb");
    expect(await page.locator("body").innerText()).toContain("For reader@example.org");
    await page.close();
  });
});

import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp";
import { startTestApp, type TestApp } from "../helpers/app";
import { seedPapers, seedReaders, waitUntil } from "../helpers/seed";
import { dueDaily, dueWeekly } from "../../src/digests/scheduled";
import { DigestJob } from "../../src/digests/jobs";

describe("the digest schedule", () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  beforeAll(async () => {
    smtp = await startSmtpServer();
    app = await startTestApp({ SMTP_URL: smtp.url, DIGEST_TZ: "Europe/Paris", WEEKLY_DIGEST_DAY: "3" });
    await seedPapers(app.db, [
      { title: "Monday's paper", upvotes: 3, day: "2024-12-09" },
      { title: "Tuesday's paper", upvotes: 5, day: "2024-12-10" },
      { title: "A paper from the future", upvotes: 9, day: "2099-01-01" },
    ]);
    await seedReaders(app.db, [{ email: "daily@example.org" }]);
  });
  afterAll(async () => {
    await app?.destroy();
    await smtp?.close();
  });

  it("when the daily schedule fires, then the latest featured day up to today (in DIGEST_TZ) is due", async () => {
    // 23:30 UTC on the 10th is already the 11th in Paris: the 10th is still the latest day.
    expect(await dueDaily(app.db, app.config, new Date("2024-12-10T23:30:00Z"))).toBe("2024-12-10");
    expect(await dueDaily(app.db, app.config, new Date("2024-12-09T12:00:00Z"))).toBe("2024-12-09");
    expect(await dueDaily(app.db, app.config, new Date("2024-12-01T12:00:00Z"))).toBeUndefined();
  });

  it("when the weekly schedule fires, then only WEEKLY_DIGEST_DAY has a weekly digest due", async () => {
    expect(await dueWeekly(app.db, app.config, new Date("2024-12-11T09:00:00Z"))).toBe("2024-12-10"); // a Wednesday
    expect(await dueWeekly(app.db, app.config, new Date("2024-12-12T09:00:00Z"))).toBeUndefined();
  });

  it("when the scheduled job runs today, then the latest featured day's digest is assembled and sent, the future ignored", async () => {
    await app.queues.digests.add(DigestJob.scheduledDaily, {});
    await waitUntil(
      "the scheduled digest to be sent",
      async () => (await app.db.digest.findFirst({ where: { status: "sent" } })) ?? false,
    );
    const digests = await app.db.digest.findMany({ select: { day: true, frequency: true } });
    expect(digests).toEqual([{ day: new Date("2024-12-10T00:00:00Z"), frequency: "daily" }]);
    const [email] = await smtp.waitForCount(1);
    expect(email!.parsed.text).toContain("Tuesday's paper");
    expect(email!.parsed.text).not.toContain("future");
  });
});

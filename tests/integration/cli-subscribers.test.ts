import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Queue } from "bullmq";
import { parse } from "csv-parse/sync";
import { createDb, type Db } from "../../src/db";
import type { ConfirmationJobData } from "../../src/subscriptions/confirmation-job";
import { requeueUnsentConfirmations } from "../../src/subscriptions/unsent-confirmations";
import { createRedis, closeRedis } from "../../src/queue/connection";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { runTs } from "../helpers/process";

const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** Runs `npx newsletter ...` (bin/newsletter.js) as a child process against this test's database and Redis prefix. */
async function newsletter(args: string[], env: Record<string, string>) {
  const proc = runTs("bin/newsletter.js", args, { LOG_LEVEL: "warn", NODE_ENV: "test", ...env });
  const { code } = await proc.exited;
  return { code, output: proc.output() };
}

describe("npx newsletter subscribers import / export", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cli-subscribers-"));
  const prefix = `test-${crypto.randomUUID()}`;
  let databaseUrl: string;
  let db: Db;
  let env: Record<string, string>;
  const redis = createRedis(redisUrl, "worker");
  const emails = new Queue<ConfirmationJobData>("emails", { connection: redis, prefix });

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    db = createDb(databaseUrl);
    env = { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, DATA_DIR: path.join(dir, "data") };
    await db.topic.createMany({
      data: [
        { slug: "nlp", name: "NLP", query: "language" },
        { slug: "cv", name: "Vision", query: "vision" },
      ],
    });
    // Already stored before the import: someone who left, and someone pending.
    await db.subscriber.create({
      data: { email: "left@example.org", status: "unsubscribed", unsubscribedAt: new Date("2025-01-01") },
    });
    await db.subscriber.create({ data: { email: "waiting@example.org", status: "pending" } });
  });
  afterAll(async () => {
    await emails.obliterate({ force: true }).catch(() => undefined);
    await emails.close();
    await closeRedis(redis);
    await db?.$disconnect();
    if (databaseUrl) await dropTestDatabase(databaseUrl);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const csv = [
    "Email,Topics,Frequency,Opted_In,opted_in_at,notes", // line 1: header (names in any case)
    "ada@Example.ORG,nlp;cv,weekly,yes,2024-05-31,opted in on the old site", // 2: active, weekly, two topics
    "grace@example.org,,daily,no,,", // 3: pending, every topic
    "", // 4: blank, ignored
    "ADA@example.org,nlp,,yes,,", // 5: duplicate of line 2
    "not-an-address,,,,,", // 6: invalid address
    'broken@example.org,"nlp,yes,,,', // 7: unclosed quote
    "alan@example.net,cv,,,,", // 8: pending (after the broken line: not swallowed)
    "robot@example.org,robotics,,yes,,", // 9: unknown topic
    "left@example.org,nlp,,yes,,", // 10: stored as unsubscribed: left unchanged
    "waiting@example.org,,,yes,2024-01-01,", // 11: stored as pending: not opted in by the file
    "kim@bücher.example,,hourly,,,", // 12: bad frequency
    "lin@bücher.example,cv,daily,1,,", // 13: active, IDN domain
    "extra@example.org,,,,,,,", // 14: too many fields
    "bad-consent@example.org,,,maybe,,", // 15: bad opted_in
  ].join("\r\n");

  it("when a CSV with good, duplicate and broken rows is imported, then the good ones are stored, the others reported, and pending people get a confirmation job", async () => {
    const file = path.join(dir, "people.csv");
    const rejects = path.join(dir, "rejects.csv");
    fs.writeFileSync(file, "\uFEFF" + csv + "\r\n");
    const { code, output } = await newsletter(["subscribers", "import", file, "--rejects", rejects], env);
    expect(output).toContain("Imported 4 subscribers");
    expect(code).toBe(0);
    expect(output).toContain("2 active (opted in), 2 pending (2 confirmation emails queued)");
    expect(output).toContain("2 already stored (left unchanged)");
    expect(output).toContain("1 duplicate within the file");
    expect(output).toContain("6 refused (invalid)");
    expect(output).toContain("Ignored columns: notes");
    expect(output).toContain("line 5: ADA@example.org: duplicate of line 2");
    expect(output).toContain("line 7: not valid CSV");
    expect(output).not.toContain("Importing ["); // stderr is not a terminal: no progress bar unless asked

    // What is stored.
    const stored = await db.subscriber.findMany({
      orderBy: { email: "asc" },
      include: { topics: { include: { topic: true } } },
    });
    const summary = Object.fromEntries(
      stored.map((s) => [
        s.email,
        { status: s.status, frequency: s.frequency, topics: s.topics.map((t) => t.topic.slug).sort() },
      ]),
    );
    expect(summary).toEqual({
      "ada@example.org": { status: "active", frequency: "weekly", topics: ["cv", "nlp"] },
      "alan@example.net": { status: "pending", frequency: "daily", topics: ["cv"] },
      "grace@example.org": { status: "pending", frequency: "daily", topics: [] },
      "left@example.org": { status: "unsubscribed", frequency: "daily", topics: [] },
      "lin@xn--bcher-kva.example": { status: "active", frequency: "daily", topics: ["cv"] },
      "waiting@example.org": { status: "pending", frequency: "daily", topics: [] },
    });
    const ada = stored.find((s) => s.email === "ada@example.org")!;
    expect(ada.confirmedAt).toEqual(new Date("2024-05-31T00:00:00Z"));
    expect(stored.find((s) => s.email === "grace@example.org")!.confirmedAt).toBeNull();

    // The consent log: `import` for the opted-in, `subscribe` for the pending, all from the CLI.
    const events = await db.consentEvent.findMany({ include: { subscriber: { select: { email: true } } } });
    const byEmail = Object.fromEntries(
      events.map((e) => [
        e.subscriber!.email,
        { action: e.action, source: e.source, line: (e.detail as { line: number }).line },
      ]),
    );
    expect(byEmail).toEqual({
      "ada@example.org": { action: "import", source: "cli", line: 2 },
      "grace@example.org": { action: "subscribe", source: "cli", line: 3 },
      "alan@example.net": { action: "subscribe", source: "cli", line: 8 },
      "lin@xn--bcher-kva.example": { action: "import", source: "cli", line: 13 },
    });
    expect(events.find((e) => e.subscriber!.email === "ada@example.org")!.emailHash).toBe(
      crypto.createHash("sha256").update("ada@example.org").digest("hex"),
    );

    // The confirmation jobs, one per pending person, carrying the run's request id.
    const jobs = await emails.getJobs(["waiting", "delayed", "prioritized"]);
    const pendingIds = stored
      .filter((s) => ["grace@example.org", "alan@example.net"].includes(s.email))
      .map((s) => s.id)
      .sort();
    expect(jobs.map((j) => j.name)).toEqual(["confirmation", "confirmation"]);
    expect(jobs.map((j) => j.data.subscriberId).sort()).toEqual(pendingIds);
    expect(jobs.every((j) => /^cli-[0-9a-f-]{36}$/.test(j.data.requestId ?? ""))).toBe(true);

    // The rejected-rows file: every row not imported, with its line and reason.
    const rows = parse<{ line: string; email: string; reason: string }>(fs.readFileSync(rejects), { columns: true });
    // Rows already stored are found when their batch is checked, so the file is sorted here.
    expect(
      rows.map((r) => [Number(r.line), r.email, r.reason]).sort((a, b) => (a[0] as number) - (b[0] as number)),
    ).toEqual([
      [5, "ADA@example.org", "duplicate of line 2"],
      [6, "not-an-address", "email: An email address looks like name@example.org."],
      [7, "", expect.stringContaining("not valid CSV: Quote Not Closed")],
      [9, "robot@example.org", "unknown topic: robotics"],
      [10, "left@example.org", "already stored (unsubscribed): left unchanged"],
      [11, "waiting@example.org", "already stored (pending): left unchanged"],
      [12, "kim@bücher.example", expect.stringContaining("frequency must be daily or weekly")],
      [14, "extra@example.org", "has 8 fields but the header has 6"],
      [15, "bad-consent@example.org", expect.stringContaining("opted_in must be yes/no")],
    ]);
  });

  it("when the same file is imported again, then nothing changes and no email is queued", async () => {
    const before = await db.subscriber.count();
    const { code, output } = await newsletter(["subscribers", "import", path.join(dir, "people.csv"), "--json"], env);
    expect(code).toBe(0);
    const report: unknown = JSON.parse(output.slice(output.indexOf("{")));
    expect(report).toMatchObject({
      rows: 13,
      importedActive: 0,
      importedPending: 0,
      confirmationsQueued: 0,
      existing: 6,
      duplicates: 1,
      invalid: 6,
    });
    expect(await db.subscriber.count()).toBe(before);
    expect(await emails.getJobCounts("waiting")).toEqual({ waiting: 2 });
  });

  it("when the sweeper runs while the import's confirmations still wait, then it queues none of them twice", async () => {
    // The import queues its confirmations as every other path does (enqueueConfirmations), so the
    // sweeper's job for the same person has the same id. Only the pending person stored before the
    // import, whose confirmation nobody queued, gets a new job.
    const requeued = await requeueUnsentConfirmations(db, emails, 0);
    expect(requeued).toBe(3);
    const jobs = await emails.getJobs(["waiting", "delayed", "prioritized"]);
    const emailOf = new Map(
      (await db.subscriber.findMany({ select: { id: true, email: true } })).map((s) => [s.id, s.email]),
    );
    expect(jobs.map((j) => emailOf.get(j.data.subscriberId)).sort()).toEqual([
      "alan@example.net",
      "grace@example.org",
      "waiting@example.org",
    ]);
  });

  it("when --progress is given, then a progress bar is drawn on stderr even without a terminal", async () => {
    const file = path.join(dir, "more.csv");
    fs.writeFileSync(
      file,
      "email\n" + Array.from({ length: 1200 }, (_, i) => `bulk${i}@example.com`).join("\n") + "\n",
    );
    const { code, output } = await newsletter(["subscribers", "import", file, "--progress", "--dry-run"], env);
    expect(code).toBe(0);
    expect(output).toMatch(/Importing \[.*\] 100% \| 1200 rows/);
    expect(output).toContain("Dry run: would import 1200 subscribers");
    expect(await db.subscriber.count({ where: { email: { startsWith: "bulk" } } })).toBe(0);
  });

  it("when the file has no email column or does not exist, then the command fails with a readable message", async () => {
    const file = path.join(dir, "no-email.csv");
    fs.writeFileSync(file, "name,topics\nAda,nlp\n");
    const noColumn = await newsletter(["subscribers", "import", file], env);
    expect(noColumn.code).toBe(1);
    expect(noColumn.output).toContain('the header has no "email" column');
    const missing = await newsletter(["subscribers", "import", path.join(dir, "nope.csv")], env);
    expect(missing.code).toBe(1);
    expect(missing.output).toContain("no such file");
  });

  it("when subscribers are exported and imported into another installation, then active stay active, pending are asked again, and people who left stay out", async () => {
    const out = path.join(dir, "export.csv");
    const exported = await newsletter(["subscribers", "export", "--out", out], env);
    expect(exported.code).toBe(0);
    expect(exported.output).toContain("Exported 6 subscribers");
    const rows = parse<Record<string, string>>(fs.readFileSync(out), { columns: true });
    expect(rows.map((r) => r.email).sort()).toEqual([
      "ada@example.org",
      "alan@example.net",
      "grace@example.org",
      "left@example.org",
      "lin@xn--bcher-kva.example",
      "waiting@example.org",
    ]);
    expect(rows.find((r) => r.email === "ada@example.org")).toMatchObject({
      status: "active",
      frequency: "weekly",
      topics: "cv;nlp",
      opted_in: "yes",
      opted_in_at: "2024-05-31T00:00:00.000Z",
    });

    const stdout = await newsletter(["subscribers", "export", "--status", "active"], env);
    expect(stdout.code).toBe(0);
    const activeOnly = parse<Record<string, string>>(
      stdout.output.slice(stdout.output.indexOf("email,")).replace(/Exported.*\n?/, ""),
      { columns: true },
    );
    expect(activeOnly.map((r) => r.email).sort()).toEqual(["ada@example.org", "lin@xn--bcher-kva.example"]);

    const otherUrl = await createTestDatabase();
    const other = createDb(otherUrl);
    const otherPrefix = `test-${crypto.randomUUID()}`;
    const otherEmails = new Queue("emails", { connection: redis, prefix: otherPrefix });
    try {
      await other.topic.createMany({
        data: [
          { slug: "nlp", name: "NLP", query: "language" },
          { slug: "cv", name: "Vision", query: "vision" },
        ],
      });
      const imported = await newsletter(["subscribers", "import", out], {
        ...env,
        DATABASE_URL: otherUrl,
        QUEUE_PREFIX: otherPrefix,
      });
      expect(imported.code).toBe(0);
      const restored = await other.subscriber.findMany({ include: { topics: { include: { topic: true } } } });
      const original = await db.subscriber.findMany({
        where: { status: { in: ["active", "pending"] } },
        include: { topics: { include: { topic: true } } },
      });
      const shape = (list: typeof restored) =>
        list
          .map((s) => ({
            email: s.email,
            status: s.status,
            frequency: s.frequency,
            confirmedAt: s.confirmedAt,
            topics: s.topics.map((t) => t.topic.slug).sort(),
          }))
          .sort((a, b) => a.email.localeCompare(b.email));
      expect(shape(restored)).toEqual(shape(original));
      expect(imported.output).toMatch(
        /line \d+: left@example\.org: status is unsubscribed: people who left are not imported/,
      );
      expect(await otherEmails.getJobCounts("waiting")).toEqual({ waiting: 3 });
    } finally {
      await otherEmails.obliterate({ force: true }).catch(() => undefined);
      await otherEmails.close();
      await other.$disconnect();
      await dropTestDatabase(otherUrl);
    }
  });

  it("when --help is asked of any subscribers command, then it explains its options", async () => {
    for (const args of [
      ["--help"],
      ["subscribers", "--help"],
      ["subscribers", "import", "--help"],
      ["subscribers", "export", "--help"],
    ]) {
      const { code, output } = await newsletter(args, env);
      expect(code).toBe(0);
      expect(output).toContain("Usage: newsletter");
    }
    expect((await newsletter(["subscribers", "import", "--help"], env)).output).toContain("--rejects <file>");
  });
});

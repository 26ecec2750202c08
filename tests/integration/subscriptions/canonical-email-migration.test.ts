import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { migrationsDir } from "../../../src/infra/migrations";
import { dropTestDatabase, unusedDatabaseUrl, adminUrl } from "../../helpers/db";

/**
 * The canonical_email migration on a database written by the earlier code, where case variants of
 * one mailbox were separate subscribers: they are merged into one, as the migration's header says.
 */
const MIGRATION = "20261129155500_canonical_email";

describe("migration: one subscriber per mailbox", () => {
  let url: string;
  let client: pg.Client;

  beforeAll(async () => {
    url = unusedDatabaseUrl();
    const admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${new URL(url).pathname.slice(1)}`);
    await admin.end();
    client = new pg.Client({ connectionString: url });
    await client.connect();
    for (const dir of fs.readdirSync(migrationsDir).sort()) {
      if (dir >= MIGRATION) break;
      const file = path.join(migrationsDir, dir, "migration.sql");
      if (fs.existsSync(file)) await client.query(fs.readFileSync(file, "utf8"));
    }
  });

  afterAll(async () => {
    await client?.end();
    await dropTestDatabase(url);
  });

  it("when case variants of one address exist, then the earliest confirmed is kept with every topic, delivery and consent entry", async () => {
    await client.query(`
      INSERT INTO topics (id, slug, name, query, updated_at) VALUES (1, 'llm', 'LLM', 'llm', now()), (2, 'vision', 'Vision', 'vision', now()), (3, 'rl', 'RL', 'rl', now());
      INSERT INTO subscribers (id, email, status, confirmed_at, created_at, updated_at) VALUES
        ('00000000-0000-0000-0000-000000000001', 'Ada.Reader@example.com', 'pending', NULL, '2026-01-01', now()),
        ('00000000-0000-0000-0000-000000000002', 'ada.reader@example.com', 'active', '2026-02-01', '2026-01-15', now()),
        ('00000000-0000-0000-0000-000000000003', 'ADA.READER@example.com', 'unsubscribed', '2026-01-20', '2026-01-10', now()),
        ('00000000-0000-0000-0000-000000000004', 'Bob@example.com', 'active', '2026-01-01', '2026-01-01', now()),
        ('00000000-0000-0000-0000-000000000005', 'cy@example.com', 'active', '2026-01-01', '2026-01-01', now()),
        ('00000000-0000-0000-0000-000000000006', 'Cy@example.com', 'pending', NULL, '2026-01-02', now());
      INSERT INTO subscriber_topics VALUES
        ('00000000-0000-0000-0000-000000000001', 1), ('00000000-0000-0000-0000-000000000002', 2),
        ('00000000-0000-0000-0000-000000000003', 2), ('00000000-0000-0000-0000-000000000003', 3),
        ('00000000-0000-0000-0000-000000000005', 1);
      INSERT INTO digests (id, day, frequency, updated_at) VALUES
        ('10000000-0000-0000-0000-000000000001', '2026-02-02', 'daily', now()),
        ('10000000-0000-0000-0000-000000000002', '2026-02-03', 'daily', now());
      INSERT INTO deliveries (digest_id, subscriber_id, state, updated_at) VALUES
        ('10000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000002', 'accepted', now()),
        ('10000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000003', 'accepted', now()),
        ('10000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-000000000002', 'accepted', now());
      INSERT INTO consent_events (subscriber_id, email_hash, action, source) VALUES
        ('00000000-0000-0000-0000-000000000001', 'h1', 'subscribe', 'web_form'),
        ('00000000-0000-0000-0000-000000000002', 'h2', 'confirm', 'link');
    `);
    await client.query(fs.readFileSync(path.join(migrationsDir, MIGRATION, "migration.sql"), "utf8"));

    const subscribers = await client.query(`SELECT id, email, status FROM subscribers ORDER BY email`);
    expect(subscribers.rows).toEqual([
      // The earliest confirmed of Ada's three rows (confirmed 2026-01-20), active because one of them was.
      { id: "00000000-0000-0000-0000-000000000003", email: "ada.reader@example.com", status: "active" },
      { id: "00000000-0000-0000-0000-000000000004", email: "bob@example.com", status: "active" },
      { id: "00000000-0000-0000-0000-000000000005", email: "cy@example.com", status: "active" },
    ]);
    const topics = await client.query(
      `SELECT subscriber_id, array_agg(topic_id ORDER BY topic_id) AS topics FROM subscriber_topics GROUP BY 1 ORDER BY 1`,
    );
    expect(topics.rows).toEqual([
      { subscriber_id: "00000000-0000-0000-0000-000000000003", topics: [1, 2, 3] },
      // Cy's pending row had no topics (= every topic): the merged subscriber keeps every topic.
    ]);
    const deliveries = await client.query(`SELECT digest_id, subscriber_id FROM deliveries ORDER BY digest_id`);
    expect(deliveries.rows).toEqual([
      { digest_id: "10000000-0000-0000-0000-000000000001", subscriber_id: "00000000-0000-0000-0000-000000000003" },
      { digest_id: "10000000-0000-0000-0000-000000000002", subscriber_id: "00000000-0000-0000-0000-000000000003" },
    ]);
    const consent = await client.query<{ subscriber_id: string; action: string; source: string; detail: unknown }>(
      `SELECT subscriber_id, action, source, detail FROM consent_events ORDER BY id`,
    );
    expect(consent.rows.filter((r) => r.subscriber_id === "00000000-0000-0000-0000-000000000003")).toHaveLength(3);
    expect(consent.rows).toContainEqual({
      subscriber_id: "00000000-0000-0000-0000-000000000003",
      action: "change",
      source: "system",
      detail: {
        merged: ["00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002"],
        reason: "addresses that differ only by case are one mailbox",
      },
    });

    // From now on the database itself refuses a second spelling of a stored address.
    await expect(
      client.query(
        `INSERT INTO subscribers (id, email, updated_at) VALUES (gen_random_uuid(), 'Bob@example.com', now())`,
      ),
    ).rejects.toThrow(/subscribers_email_canonical/);
  });
});

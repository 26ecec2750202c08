import pg from "pg";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";

/**
 * The product's main queries, over a database seeded to a size where a sequential scan hurts
 * (20,000 subscribers, 100,000 deliveries over 400 days, 40,000 consent entries, 4,000 papers),
 * planned with EXPLAIN: none may read a large table from end to end. Each query is written as the
 * code that runs it sends it (the function is named); queries that must read every row (a digest's
 * assembly over every active reader, the count by state) are not here.
 */
const LARGE_TABLES = new Set([
  "subscribers",
  "deliveries",
  "consent_events",
  "papers",
  "paper_topics",
  "subscriber_topics",
  "subscription_requests",
  "suppressions",
]);

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  Plans?: PlanNode[];
}
const seqScans = (node: PlanNode): string[] => [
  ...(node["Node Type"] === "Seq Scan" && node["Relation Name"] && LARGE_TABLES.has(node["Relation Name"])
    ? [node["Relation Name"]]
    : []),
  ...(node.Plans ?? []).flatMap(seqScans),
];

describe("query plans over a seeded database", () => {
  let url: string;
  let client: pg.Client;
  const ids: { subscriber: string; digest: string; email: string; createdAt: string; day: string } = {
    subscriber: "",
    digest: "",
    email: "",
    createdAt: "",
    day: "",
  };

  beforeAll(async () => {
    url = await createTestDatabase();
    client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`
      INSERT INTO topics (slug, name, query, updated_at) SELECT 't' || g, 'Topic ' || g, 'q' || g, now() FROM generate_series(1, 12) g;
      INSERT INTO subscribers (id, email, status, frequency, confirmed_at, created_at, updated_at)
        SELECT gen_random_uuid(), 'reader' || g || '@example.org',
               (CASE WHEN g % 20 = 0 THEN 'pending' WHEN g % 25 = 0 THEN 'unsubscribed' ELSE 'active' END)::"SubscriberStatus",
               (CASE WHEN g % 7 = 0 THEN 'weekly' ELSE 'daily' END)::"Frequency",
               now() - (g % 400) * interval '1 day', now() - (g % 400) * interval '1 day' - interval '1 hour', now()
        FROM generate_series(1, 20000) g;
      INSERT INTO subscriber_topics SELECT s.id, t.id FROM subscribers s JOIN topics t ON (hashtext(s.email) + t.id) % 4 = 0;
      INSERT INTO digests (id, day, frequency, status, created_at, updated_at)
        SELECT gen_random_uuid(), current_date - g, 'daily', 'sent', now() - g * interval '1 day', now() FROM generate_series(0, 399) g;
      INSERT INTO deliveries (digest_id, subscriber_id, state, attempts, created_at, updated_at, sent_at)
        SELECT d.id, s.id, 'accepted', 1, d.created_at, d.created_at, d.created_at
        FROM digests d
        JOIN LATERAL (SELECT id FROM subscribers ORDER BY hashtext(id::text || d.id::text) LIMIT 250) s ON true;
      INSERT INTO consent_events (subscriber_id, email_hash, action, source, created_at)
        SELECT s.id, md5(s.email), a.action::"ConsentAction", 'web_form', s.created_at + a.n * interval '1 minute'
        FROM subscribers s CROSS JOIN (VALUES ('subscribe', 0), ('confirm', 1)) AS a(action, n);
      INSERT INTO papers (arxiv_id, title, abstract, authors, featured_on, upvotes, keywords, url, source, updated_at)
        SELECT '2501.' || lpad(g::text, 5, '0'), 'Paper ' || g, 'About ' || g, ARRAY['A'], current_date - (g % 400), g % 300, ARRAY['k'],
               'https://arxiv.org/abs/' || g, 'test', now()
        FROM generate_series(1, 4000) g;
      INSERT INTO paper_topics SELECT p.id, t.id FROM papers p JOIN topics t ON (p.id + t.id) % 5 = 0;
      -- Processed rows are dropped after 7 days: the table holds about 8 days of them.
      INSERT INTO subscription_requests (email, topic_ids, frequency, created, created_at, processed_at, outcome)
        SELECT NULL, '{}', 'daily', true, now() - g * interval '36 seconds', now() - g * interval '36 seconds', 'created'
        FROM generate_series(1, 20000) g;
      INSERT INTO suppressions (address_hash, reason, source, updated_at)
        SELECT md5(g::text), 'hard_bounce', 'smtp', now() FROM generate_series(1, 5000) g;
      ANALYZE;
    `);
    const s = await client.query<{ id: string; email: string; created_at: string }>(
      `SELECT id::text, email, created_at::text FROM subscribers WHERE email = 'reader777@example.org'`,
    );
    ids.subscriber = s.rows[0]!.id;
    ids.email = s.rows[0]!.email;
    ids.createdAt = s.rows[0]!.created_at;
    const d = await client.query<{ id: string; day: string }>(
      `SELECT id::text, day::text FROM digests ORDER BY day DESC LIMIT 1 OFFSET 3`,
    );
    ids.digest = d.rows[0]!.id;
    ids.day = d.rows[0]!.day;
  }, 180_000);

  afterAll(async () => {
    await client?.end();
    if (url) await dropTestDatabase(url);
  });

  const queries = (): [string, string][] => [
    ["subscriber by address (subscribe job, import, links)", `SELECT * FROM subscribers WHERE email = '${ids.email}'`],
    [
      "a subscriber's deliveries (the delete cascade, export)",
      `SELECT id FROM deliveries WHERE subscriber_id = '${ids.subscriber}'`,
    ],
    ["the delete itself (eraseSubscriber)", `DELETE FROM subscribers WHERE id = '${ids.subscriber}'`],
    [
      "a subscriber's consent entries (export, anonymisation)",
      `SELECT * FROM consent_events WHERE subscriber_id = '${ids.subscriber}' ORDER BY id`,
    ],
    [
      "consent entries by plain hash (anonymiseConsent)",
      `UPDATE consent_events SET ip = NULL WHERE subscriber_id = '${ids.subscriber}' OR email_hash = 'x'`,
    ],
    [
      "admin search, first page (searchSubscribers)",
      `SELECT id FROM subscribers ORDER BY created_at DESC, id DESC LIMIT 51`,
    ],
    [
      "admin search, next page (searchSubscribers)",
      `SELECT id FROM subscribers WHERE (created_at < '${ids.createdAt}' OR (created_at = '${ids.createdAt}' AND id < '${ids.subscriber}'))
       ORDER BY created_at DESC, id DESC LIMIT 51`,
    ],
    [
      "deliveries per day (subscriberStats)",
      `SELECT created_at::date, state::text FROM deliveries WHERE created_at >= current_date - 29`,
    ],
    [
      "growth and rates from the consent log (subscriberStats)",
      `SELECT created_at::date, action::text FROM consent_events WHERE created_at >= current_date - 29`,
    ],
    ["digest counts (deliveryCounts)", `SELECT count(*) FROM deliveries WHERE digest_id = '${ids.digest}'`],
    [
      "send ranges (pendingRanges)",
      `SELECT min(id), max(id) FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / 500 AS bucket FROM deliveries
       WHERE digest_id = '${ids.digest}' AND state = 'pending' AND updated_at <= now()) t GROUP BY bucket`,
    ],
    [
      "claim a range (claimRange)",
      `UPDATE deliveries d SET state = 'sending' FROM subscribers s
       WHERE d.digest_id = '${ids.digest}' AND d.id BETWEEN 1 AND 500 AND s.id = d.subscriber_id AND s.status = 'active'
         AND d.state = 'pending'`,
    ],
    [
      "expired claims (releaseExpiredClaims)",
      `UPDATE deliveries SET state = 'pending' WHERE state = 'sending' AND claimed_at < now() - interval '120 seconds'`,
    ],
    [
      "unconfirmed to purge (purgeUnconfirmed)",
      `SELECT id FROM subscribers WHERE status = 'pending' AND confirmed_at IS NULL AND created_at < now() - interval '7 days' LIMIT 500`,
    ],
    [
      "confirmations never sent (requeueUnsentConfirmations)",
      `SELECT id FROM subscribers WHERE status = 'pending' AND confirmation_sent_at IS NULL AND updated_at < now() ORDER BY updated_at LIMIT 1000`,
    ],
    [
      "subscribe requests to relay (relayUnprocessedRequests)",
      `SELECT id FROM subscription_requests WHERE processed_at IS NULL AND created_at < now() ORDER BY created_at LIMIT 1000`,
    ],
    [
      "processed requests to drop (purgeProcessedRequests)",
      `DELETE FROM subscription_requests WHERE processed_at < now() - interval '7 days'`,
    ],
    [
      "a day's papers (paperListing)",
      `SELECT id FROM papers WHERE featured_on = '${ids.day}' ORDER BY upvotes DESC LIMIT 100`,
    ],
    ["is an address suppressed (isSuppressed)", `SELECT lifted_at FROM suppressions WHERE address_hash = 'abc'`],
  ];

  it("when the main queries are planned, then none reads a large table from end to end", async () => {
    const found: string[] = [];
    for (const [name, sql] of queries()) {
      const { rows } = await client.query<{ "QUERY PLAN": { Plan: PlanNode }[] }>(`EXPLAIN (FORMAT JSON) ${sql}`);
      const plan = rows[0]!["QUERY PLAN"][0]!.Plan;
      for (const table of seqScans(plan)) found.push(`${name}: Seq Scan on ${table}`);
    }
    expect(found).toEqual([]);
  });
});

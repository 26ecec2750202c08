-- One mailbox, one subscriber: addresses are stored lower-cased (the canonical form of
-- normalizeEmail). Subscribers whose addresses differ only by case are merged first:
-- the earliest confirmed one is kept (else the earliest created), it becomes active when any of
-- them was active, it gets the union of their topics (none, meaning every topic, when any of them
-- had none), their deliveries and consent entries, and one consent entry that records the merge.

CREATE TABLE "_canonical_email_merge" AS
SELECT id, keeper, canon FROM (
  SELECT id, lower(email) AS canon,
         first_value(id) OVER (PARTITION BY lower(email) ORDER BY confirmed_at ASC NULLS LAST, created_at, id) AS keeper,
         count(*) OVER (PARTITION BY lower(email)) AS n
  FROM "subscribers"
) ranked WHERE n > 1;

UPDATE "subscribers" k SET
  status = 'active',
  confirmed_at = COALESCE(k.confirmed_at, a.confirmed_at, now()),
  unsubscribed_at = NULL,
  updated_at = now()
FROM (
  SELECT m.keeper, min(s.confirmed_at) AS confirmed_at FROM "_canonical_email_merge" m
  JOIN "subscribers" s ON s.id = m.id WHERE s.status = 'active' GROUP BY m.keeper
) a
WHERE k.id = a.keeper AND k.status <> 'active';

DELETE FROM "subscriber_topics" t USING "_canonical_email_merge" m
WHERE t.subscriber_id = m.keeper AND m.id = m.keeper AND EXISTS (
  SELECT 1 FROM "_canonical_email_merge" o
  WHERE o.keeper = m.keeper AND NOT EXISTS (SELECT 1 FROM "subscriber_topics" ot WHERE ot.subscriber_id = o.id)
);

INSERT INTO "subscriber_topics" (subscriber_id, topic_id)
SELECT DISTINCT m.keeper, t.topic_id FROM "_canonical_email_merge" m
JOIN "subscriber_topics" t ON t.subscriber_id = m.id
WHERE m.id <> m.keeper AND NOT EXISTS (
  SELECT 1 FROM "_canonical_email_merge" o
  WHERE o.keeper = m.keeper AND NOT EXISTS (SELECT 1 FROM "subscriber_topics" ot WHERE ot.subscriber_id = o.id)
)
ON CONFLICT DO NOTHING;

UPDATE "deliveries" SET subscriber_id = moved.keeper FROM (
  SELECT DISTINCT ON (m.keeper, d.digest_id) d.id, m.keeper
  FROM "deliveries" d JOIN "_canonical_email_merge" m ON d.subscriber_id = m.id
  WHERE m.id <> m.keeper AND NOT EXISTS (
    SELECT 1 FROM "deliveries" k WHERE k.digest_id = d.digest_id AND k.subscriber_id = m.keeper
  )
  ORDER BY m.keeper, d.digest_id, d.id
) moved WHERE "deliveries".id = moved.id;

UPDATE "consent_events" e SET subscriber_id = m.keeper
FROM "_canonical_email_merge" m WHERE e.subscriber_id = m.id AND m.id <> m.keeper;

INSERT INTO "consent_events" (subscriber_id, email_hash, action, source, detail, created_at)
SELECT m.keeper, encode(sha256(convert_to(m.canon, 'UTF8')), 'hex'), 'change', 'system',
       jsonb_build_object('merged', jsonb_agg(m.id::text ORDER BY m.id) FILTER (WHERE m.id <> m.keeper),
                          'reason', 'addresses that differ only by case are one mailbox'),
       now()
FROM "_canonical_email_merge" m GROUP BY m.keeper, m.canon;

DELETE FROM "subscribers" s USING "_canonical_email_merge" m WHERE s.id = m.id AND m.id <> m.keeper;

UPDATE "subscribers" SET email = lower(email), updated_at = now() WHERE email <> lower(email);

ALTER TABLE "subscribers" ADD CONSTRAINT "subscribers_email_canonical" CHECK (email = lower(email));

DROP TABLE "_canonical_email_merge";

-- CreateIndex
CREATE INDEX "subscribers_created_at_idx" ON "subscribers"("created_at");

-- CreateIndex
CREATE INDEX "deliveries_subscriber_id_idx" ON "deliveries"("subscriber_id");

-- CreateIndex
CREATE INDEX "deliveries_created_at_idx" ON "deliveries"("created_at");

-- CreateEnum
CREATE TYPE "FeedbackKind" AS ENUM ('hard_bounce', 'soft_bounce', 'complaint', 'unsubscribe');

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "ConsentSource" ADD VALUE 'dsn';
ALTER TYPE "ConsentSource" ADD VALUE 'arf';
ALTER TYPE "ConsentSource" ADD VALUE 'mailto';
ALTER TYPE "ConsentSource" ADD VALUE 'webhook';

-- CreateTable
CREATE TABLE "feedback_events" (
    "id" BIGSERIAL NOT NULL,
    "dedupe_key" TEXT NOT NULL,
    "kind" "FeedbackKind" NOT NULL,
    "source" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "subscriber_id" UUID,
    "delivery_id" BIGINT,
    "digest_id" UUID,
    "status" TEXT NOT NULL DEFAULT '',
    "detail" TEXT NOT NULL DEFAULT '',
    "effect" TEXT NOT NULL DEFAULT '',
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "feedback_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "feedback_events_dedupe_key_key" ON "feedback_events"("dedupe_key");

-- CreateIndex
CREATE INDEX "feedback_events_digest_id_kind_idx" ON "feedback_events"("digest_id", "kind");

-- CreateIndex
CREATE INDEX "feedback_events_created_at_kind_idx" ON "feedback_events"("created_at", "kind");

-- CreateIndex
CREATE INDEX "feedback_events_subscriber_id_created_at_idx" ON "feedback_events"("subscriber_id", "created_at");

-- CreateIndex
CREATE INDEX "feedback_events_delivery_id_idx" ON "feedback_events"("delivery_id");


-- CreateTable
CREATE TABLE "subscription_requests" (
    "id" BIGSERIAL NOT NULL,
    "email" TEXT,
    "topic_ids" INTEGER[],
    "frequency" "Frequency" NOT NULL,
    "created" BOOLEAN NOT NULL,
    "ip" TEXT,
    "user_agent" TEXT,
    "request_id" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "processed_at" TIMESTAMP(3),
    "outcome" TEXT,

    CONSTRAINT "subscription_requests_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "subscription_requests_processed_at_created_at_idx" ON "subscription_requests"("processed_at", "created_at");


-- CreateIndex
CREATE INDEX "consent_events_email_hash_idx" ON "consent_events"("email_hash");

-- CreateTable
CREATE TABLE "delivery_totals" (
    "digest_id" UUID NOT NULL,
    "day" DATE NOT NULL,
    "pending" INTEGER NOT NULL DEFAULT 0,
    "sending" INTEGER NOT NULL DEFAULT 0,
    "accepted" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "skipped" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "delivery_totals_pkey" PRIMARY KEY ("digest_id","day")
);

-- CreateIndex
CREATE INDEX "delivery_totals_day_idx" ON "delivery_totals"("day");

-- AddForeignKey
ALTER TABLE "delivery_totals" ADD CONSTRAINT "delivery_totals_digest_id_fkey" FOREIGN KEY ("digest_id") REFERENCES "digests"("id") ON DELETE CASCADE ON UPDATE CASCADE;


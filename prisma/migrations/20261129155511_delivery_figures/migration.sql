-- CreateTable
CREATE TABLE "delivery_figures" (
    "digest_id" UUID NOT NULL,
    "day" DATE NOT NULL,
    "pending" INTEGER NOT NULL DEFAULT 0,
    "sending" INTEGER NOT NULL DEFAULT 0,
    "accepted" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "skipped" INTEGER NOT NULL DEFAULT 0,
    "pruned_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "delivery_figures_pkey" PRIMARY KEY ("digest_id","day")
);

-- CreateIndex
CREATE INDEX "delivery_figures_day_idx" ON "delivery_figures"("day");

-- AddForeignKey
ALTER TABLE "delivery_figures" ADD CONSTRAINT "delivery_figures_digest_id_fkey" FOREIGN KEY ("digest_id") REFERENCES "digests"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- CreateEnum
CREATE TYPE "SuppressionReason" AS ENUM ('hard_bounce', 'soft_bounces', 'complaint', 'manual');

-- CreateTable
CREATE TABLE "suppressions" (
    "id" SERIAL NOT NULL,
    "address_hash" TEXT NOT NULL,
    "email" TEXT,
    "reason" "SuppressionReason" NOT NULL,
    "source" TEXT NOT NULL,
    "detail" TEXT NOT NULL DEFAULT '',
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,
    "lifted_at" TIMESTAMP(3),
    "lifted_by" TEXT,

    CONSTRAINT "suppressions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "suppressions_address_hash_key" ON "suppressions"("address_hash");

-- CreateIndex
CREATE INDEX "suppressions_email_idx" ON "suppressions"("email");

-- CreateIndex
CREATE INDEX "suppressions_created_at_idx" ON "suppressions"("created_at");


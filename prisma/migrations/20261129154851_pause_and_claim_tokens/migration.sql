-- AlterEnum
ALTER TYPE "DigestStatus" ADD VALUE 'paused';

-- AlterTable
ALTER TABLE "digests" ADD COLUMN     "pause_count" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "pause_reason" TEXT,
ADD COLUMN     "paused_at" TIMESTAMP(3),
ADD COLUMN     "resume_at" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "deliveries" ADD COLUMN     "claim_token" UUID;


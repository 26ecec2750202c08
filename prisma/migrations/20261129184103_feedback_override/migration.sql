-- AlterTable
ALTER TABLE "digests" ADD COLUMN     "feedback_override_at" TIMESTAMP(3);


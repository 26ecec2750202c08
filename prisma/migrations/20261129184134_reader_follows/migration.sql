-- CreateEnum
CREATE TYPE "FollowKind" AS ENUM ('keyword', 'author');

-- CreateTable
CREATE TABLE "subscriber_follows" (
    "subscriber_id" UUID NOT NULL,
    "kind" "FollowKind" NOT NULL,
    "value" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "subscriber_follows_pkey" PRIMARY KEY ("subscriber_id","kind","value")
);

-- AddForeignKey
ALTER TABLE "subscriber_follows" ADD CONSTRAINT "subscriber_follows_subscriber_id_fkey" FOREIGN KEY ("subscriber_id") REFERENCES "subscribers"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- AlterTable
ALTER TABLE "papers" ADD COLUMN     "ai_summary" TEXT,
ADD COLUMN     "categories" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "curated" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "github_stars" INTEGER,
ADD COLUMN     "num_comments" INTEGER,
ADD COLUMN     "organization" TEXT,
ADD COLUMN     "thumbnail_url" TEXT;


-- Papers stored before this column came from a curated list unless arXiv brought them
UPDATE "papers" SET "curated" = true WHERE "source" <> 'arxiv';

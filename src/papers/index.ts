/**
 * What the rest of the product uses from papers. Digests: `listPapers` (with `topicSlugs` for a
 * subscriber's choice) and `latestFeaturedDay`, both in the one trending order of ranking.ts.
 */
export { papersFeature, INGEST_JOB, RETRY_FAILED_JOB, type IngestJobData, type PapersDeps } from "./feature";
export { listPapers, latestFeaturedDay, featuredDays, type PaperListItem, type ListPapersOptions } from "./queries";
export { compareTrending, rankTrending, trendingOrderSql, type Rankable } from "./ranking";
export { paperListing, type PaperListing } from "./listing";
export { listTopics, type TopicSummary } from "./topics";
export { registerPaperCommands } from "./cli";
export type { NormalizedPaper, PaperSource, DayResult, SkippedRecord } from "./types";
export { countRefresher } from "./feature";
export { addDays, todayIn } from "./days";
export { arxivUrl, authorLine, cleanLatex, compactCount, dayRangeLabel, longDay, shortDay } from "./display";
export { FIRST_DAY, LAST_DAY, isDay, neutraliseEncodedWords } from "./normalize";

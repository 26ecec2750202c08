import type { Db } from "../db";
import type { Config } from "../config";
import { dateToDay, todayIn, weekdayIn, type Day } from "./days";

/** The latest day with featured papers, up to today in DIGEST_TZ (papers of "the future" are ignored). */
export async function latestFeaturedDay(db: Db, today: Day): Promise<Day | undefined> {
  const row = await db.paper.findFirst({ where: { featuredOn: { lte: new Date(`${today}T00:00:00Z`) } }, orderBy: { featuredOn: "desc" }, select: { featuredOn: true } });
  return row ? dateToDay(row.featuredOn) : undefined;
}

/** What the daily schedule should assemble now: the latest featured day's daily digest. */
export async function dueDaily(db: Db, config: Config, now = new Date()): Promise<Day | undefined> {
  return latestFeaturedDay(db, todayIn(config.DIGEST_TZ, now));
}

/** The weekly digest is due on WEEKLY_DIGEST_DAY only: the seven days ending on the latest featured day. */
export async function dueWeekly(db: Db, config: Config, now = new Date()): Promise<Day | undefined> {
  if (weekdayIn(config.DIGEST_TZ, now) !== config.WEEKLY_DIGEST_DAY) return undefined;
  return latestFeaturedDay(db, todayIn(config.DIGEST_TZ, now));
}

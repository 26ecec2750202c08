import type { Db } from "../db";
import type { Config } from "../config";
import { todayIn, weekdayIn, type Day } from "./days";
import { latestFeaturedDay } from "../papers";

/** What the daily schedule should assemble now: the latest featured day's daily digest. */
export async function dueDaily(db: Db, config: Config, now = new Date()): Promise<Day | undefined> {
  return (await latestFeaturedDay(db, todayIn(config.DIGEST_TZ, now))) ?? undefined;
}

/** The weekly digest is due on WEEKLY_DIGEST_DAY only: the seven days ending on the latest featured day. */
export async function dueWeekly(db: Db, config: Config, now = new Date()): Promise<Day | undefined> {
  if (weekdayIn(config.DIGEST_TZ, now) !== config.WEEKLY_DIGEST_DAY) return undefined;
  return (await latestFeaturedDay(db, todayIn(config.DIGEST_TZ, now))) ?? undefined;
}

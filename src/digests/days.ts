import { badRequest } from "../errors";
import { addDays, todayIn } from "../papers";
import { dayRangeLabel, longDay } from "../papers";
import { FIRST_DAY, LAST_DAY, isDay } from "../papers";

export { addDays, todayIn };

/** A calendar day as YYYY-MM-DD; stored as a PostgreSQL `date` (a JS Date at UTC midnight). */
export type Day = string;

const dayPattern = /^\d{4}-\d{2}-\d{2}$/;

export function parseDay(value: unknown, name = "date"): Day {
  if (typeof value !== "string" || !dayPattern.test(value))
    throw badRequest(`${name} must be a day written YYYY-MM-DD`);
  const d = new Date(`${value}T00:00:00Z`);
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value)
    throw badRequest(`${name} ${value} is not a real day`);
  if (!isDay(value)) throw badRequest(`${name} must be a day from ${FIRST_DAY} to ${LAST_DAY}`);
  return value;
}

export const dayToDate = (day: Day) => new Date(`${day}T00:00:00Z`);
export const dateToDay = (date: Date): Day => date.toISOString().slice(0, 10);

export function weekdayIn(tz: string, now = new Date()): number {
  const name = new Intl.DateTimeFormat("en-US", { timeZone: tz, weekday: "short" }).format(now);
  return ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(name);
}

/** The days a digest covers: the day itself, or the seven days ending on it (weekly). */
export function digestRange(day: Day, frequency: "daily" | "weekly"): { from: Day; to: Day } {
  return frequency === "daily" ? { from: day, to: day } : { from: addDays(day, -6), to: day };
}

/** "Tuesday 10 December 2024", or "the week of 4–10 December 2024" (the site's date format too). */
export function digestHeading(day: Day, frequency: "daily" | "weekly"): string {
  return frequency === "daily" ? longDay(day) : `the week of ${dayRangeLabel(addDays(day, -6), day)}`;
}

import type { Queue } from "bullmq";

/** A job scheduler: BullMQ adds job `name` to `queue` on a cron pattern (in a time zone) or every N ms. */
export interface Schedule {
  id: string;
  queue: Queue;
  name: string;
  repeat: { pattern: string; tz: string } | { every: number };
  data?: Record<string, unknown>;
}

/** Upserts every schedule. Idempotent: every worker does it at start and again now and then, so
 * schedules come back by themselves after Redis was flushed or replaced. */
export async function upsertSchedules(schedules: Schedule[]): Promise<void> {
  for (const s of schedules) {
    await s.queue.upsertJobScheduler(s.id, s.repeat, { name: s.name, data: s.data ?? {} });
  }
}

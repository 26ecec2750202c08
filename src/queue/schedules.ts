import type { Queue } from "bullmq";

/** A job scheduler: BullMQ repeats `name` on `queue` at `pattern` in `tz`. */
export interface Schedule {
  id: string;
  queue: Queue;
  pattern: string;
  tz: string;
  name: string;
  data?: Record<string, unknown>;
}

/** Upserts every schedule (idempotent: many processes may do it at once). */
export async function upsertSchedules(schedules: Schedule[]): Promise<void> {
  for (const s of schedules) {
    await s.queue.upsertJobScheduler(s.id, { pattern: s.pattern, tz: s.tz }, { name: s.name, data: s.data ?? {} });
  }
}

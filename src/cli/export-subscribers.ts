/**
 * `subscribers export`: every subscriber (or those of some statuses) as CSV, streamed page by page.
 * The columns are the ones `subscribers import` reads (email, topics, frequency, opted_in,
 * opted_in_at, status), plus the dates, so an export imports again into another installation:
 * active people come back active, pending ones pending (with a new confirmation email), and people
 * who left are refused by the import.
 */
import { once } from "node:events";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { stringify } from "csv-stringify";
import type { Db } from "../db";
import type { SubscriberStatus } from "../generated/prisma/enums";

export const exportColumns = [
  "email",
  "status",
  "frequency",
  "topics",
  "opted_in",
  "opted_in_at",
  "created_at",
  "confirmed_at",
  "unsubscribed_at",
] as const;

const iso = (d: Date | null) => (d ? d.toISOString() : "");

/** Writes the CSV to `out` and resolves with the number of subscribers written (the stream is ended). */
export async function exportSubscribers(
  db: Db,
  out: Writable,
  opts: { statuses?: SubscriberStatus[]; pageSize?: number } = {},
): Promise<number> {
  const csv = stringify({ header: true, columns: [...exportColumns] });
  csv.pipe(out);
  const done = finished(out);
  let count = 0;
  let after: string | undefined;
  for (;;) {
    const page = await db.subscriber.findMany({
      where: opts.statuses?.length ? { status: { in: opts.statuses } } : {},
      orderBy: { id: "asc" },
      take: opts.pageSize ?? 1000,
      ...(after ? { cursor: { id: after }, skip: 1 } : {}),
      include: { topics: { include: { topic: { select: { slug: true } } } } },
    });
    if (page.length === 0) break;
    for (const s of page) {
      const ok = csv.write({
        email: s.email,
        status: s.status,
        frequency: s.frequency,
        topics: s.topics
          .map((t) => t.topic.slug)
          .sort()
          .join(";"),
        opted_in: s.status === "active" ? "yes" : "no",
        opted_in_at: s.status === "active" ? iso(s.confirmedAt) : "",
        created_at: iso(s.createdAt),
        confirmed_at: iso(s.confirmedAt),
        unsubscribed_at: iso(s.unsubscribedAt),
      });
      count += 1;
      if (!ok) await once(csv, "drain");
    }
    after = page[page.length - 1]!.id;
  }
  csv.end();
  await done;
  return count;
}

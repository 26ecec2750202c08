import crypto from "node:crypto";
import type { Request } from "express";
import type { Job } from "bullmq";

/**
 * The request id (pino-http's `req.id`, also answered as `x-request-id`) travels into the jobs a
 * request queues as `data.requestId`; workers put it on every log line of the job
 * (src/queue/workers.ts). A job that queues further jobs passes its own on the same way, and the
 * command line starts its own (`cli-...`), so one grep follows a request through every process.
 */
export type WithRequestId<T> = T & { requestId?: string };

/** The id pino-http gave `req` (a string from src/web/app.ts's genReqId), if it has one. */
export function requestIdOf(req: Pick<Request, "id">): string | undefined {
  const id: unknown = req.id;
  return typeof id === "string" || typeof id === "number" ? String(id) || undefined : undefined;
}

/** Job data for a job queued while answering `req`. */
export function jobDataFor<T extends object>(req: Pick<Request, "id">, data: T): WithRequestId<T> {
  return { ...data, requestId: requestIdOf(req) };
}

/** Job data for a job queued by another job: the request id is passed on. */
export function jobDataFromJob<T extends object>(parent: Pick<Job, "data">, data: T): WithRequestId<T> {
  const requestId = (parent.data as { requestId?: unknown } | undefined)?.requestId;
  return { ...data, requestId: typeof requestId === "string" ? requestId : undefined };
}

/** A request id for work started outside HTTP (the command line, schedules). */
export const newRequestId = (origin: string) => `${origin}-${crypto.randomUUID()}`;

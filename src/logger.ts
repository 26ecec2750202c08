import pino from "pino";

export type Logger = pino.Logger;

/** Structured JSON logs on stdout; `requestId` is carried from a request into the jobs it queues. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { ...base, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}

import crypto from "node:crypto";
import http from "node:http";
import { Writable } from "node:stream";
import { Router } from "express";
import pino from "pino";
import { Queue } from "bullmq";
import { createWebApp } from "../../src/web/app";
import { createViews } from "../../src/web/views";
import { createRedis, closeRedis, waitUntilReady } from "../../src/queue/connection";
import { startWorkers } from "../../src/queue/workers";
import { jobDataFor, jobDataFromJob } from "../../src/observability/request-id";

/** The fields of a log line this test reads. */
interface LogLine {
  msg?: string;
  queue?: string;
  job?: string;
  requestId?: string;
  req?: { id?: string };
  [field: string]: unknown;
}

/** A pino logger whose JSON lines are kept, to read what the web app and the workers logged. */
function capturingLogger() {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { log: pino({ level: "info" }, stream), lines };
}

describe("the request id", () => {
  const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
  const prefix = `test-${crypto.randomUUID()}`;
  const queueName = `requests-${crypto.randomUUID()}`;
  const connection = createRedis(redisUrl, "worker");
  const queue = new Queue(queueName, { connection, prefix });
  const { log, lines } = capturingLogger();
  let server: http.Server;
  let url: string;
  const done: string[] = [];

  beforeAll(async () => {
    await waitUntilReady(connection, redisUrl);
    const routes = Router().post("/work", async (req, res) => {
      const job = await queue.add("first", jobDataFor(req, { what: "something" }));
      res.status(202).json({ jobId: job.id });
    });
    server = http.createServer(createWebApp({ log, views: createViews(), routers: [routes], secure: false }));
    await new Promise<void>((resolve) => server.listen(0, resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await closeRedis(connection);
  });

  it("when a request queues a job that queues another, then every worker log line of both jobs carries the request's id", async () => {
    const workers = startWorkers(
      {
        // The queue of this test is not one of the product's; the handler table is typed by queue name.
        [queueName as "emails"]: {
          first: async (job, jobLog) => {
            jobLog.info("first step");
            await queue.add("second", jobDataFromJob(job, { more: true }));
          },
          second: (job, jobLog) => {
            jobLog.info("second step");
            done.push(String(job.id));
            return Promise.resolve();
          },
        },
      },
      { connection, prefix, concurrency: 1, log },
    );
    try {
      const res = await fetch(`${url}/work`, { method: "POST", headers: { "x-request-id": "req-abc-123" } });
      expect(res.status).toBe(202);
      expect(res.headers.get("x-request-id")).toBe("req-abc-123");
      const deadline = Date.now() + 15_000;
      while (done.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(done).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await workers.close();
    }
    const requestLog = lines.find((l) => l.msg === "request completed");
    expect(requestLog?.req?.id).toBe("req-abc-123");
    const jobLines = lines.filter((l) => l.queue === queueName);
    expect(jobLines.map((l) => `${l.job}: ${l.msg}`)).toEqual(
      expect.arrayContaining([
        "first: first step",
        "first: job completed",
        "second: second step",
        "second: job completed",
      ]),
    );
    expect(jobLines.every((l) => l.requestId === "req-abc-123")).toBe(true);
  });

  it("when a request comes without an id, then one is made up, answered, and put in the job data", async () => {
    const res = await fetch(`${url}/work`, { method: "POST" });
    const id = res.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const { jobId } = (await res.json()) as { jobId: string };
    expect((await queue.getJob(jobId))?.data).toEqual({ what: "something", requestId: id });
  });
});

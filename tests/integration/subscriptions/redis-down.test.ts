import { spawn, type ChildProcess } from "node:child_process";
import { startSmtpServer } from "../../helpers/smtp";
import { startTestApp } from "../../helpers/app";
import { freePort, portAnswers, waitFor } from "../../../src/infra/net";
import { requeueUnsentConfirmations } from "../../../src/subscriptions/unsent-confirmations";
import { relayUnprocessedRequests } from "../../../src/subscriptions/subscription-request-job";
import { QueueName } from "../../../src/queue/queues";

const startRedis = async (port: number): Promise<ChildProcess> => {
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  await waitFor(() => portAnswers("127.0.0.1", port), 10_000, "redis-server");
  return child;
};

describe("when Redis is down while someone subscribes", () => {
  it("then they get the usual answer, nothing is lost, and the confirmation goes out once Redis is back", async () => {
    const port = await freePort();
    let redis = await startRedis(port);
    const smtp = await startSmtpServer();
    const app = await startTestApp({ SMTP_URL: smtp.url, REDIS_URL: `redis://127.0.0.1:${port}` });
    try {
      redis.kill("SIGKILL");
      await new Promise((r) => redis.once("exit", r));
      const started = Date.now();
      const res = await fetch(`${app.url}/subscribe`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "patient@example.org" }),
      });
      expect(res.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(5_000);
      // The request is kept in PostgreSQL (the outbox row) until a job applies it.
      const stored = await app.db.subscriptionRequest.findFirstOrThrow({ where: { email: "patient@example.org" } });
      expect(stored.processedAt).toBeNull();

      redis = await startRedis(port);
      await waitFor(async () => (await app.redis.ping().catch(() => "")) === "PONG", 15_000, "the app to reconnect");
      // Maintenance relays what the request could not queue; a second round finds nothing left.
      expect(await relayUnprocessedRequests(app.db, app.queues[QueueName.emails], 0)).toBe(1);
      const [email] = await smtp.waitForCount(1);
      expect(email!.envelopeTo).toEqual(["patient@example.org"]);
      expect(await app.db.subscriber.findUniqueOrThrow({ where: { email: "patient@example.org" } })).toMatchObject({
        status: "pending",
      });
      // The consent entry is dated when the person asked, not when the job ran.
      const consent = await app.db.consentEvent.findFirstOrThrow({
        where: { subscriber: { email: "patient@example.org" } },
      });
      expect(consent.createdAt.getTime()).toBe(stored.createdAt.getTime());
      expect(await relayUnprocessedRequests(app.db, app.queues[QueueName.emails], 0)).toBe(0);
      expect(await requeueUnsentConfirmations(app.db, app.queues[QueueName.emails], 0)).toBe(0);
    } finally {
      await app.destroy();
      await smtp.close();
      redis.kill("SIGKILL");
    }
  }, 60_000);
});

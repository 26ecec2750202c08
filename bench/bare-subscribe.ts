/**
 * The subscribe baseline: a bare Express handler that parses the same form and does one INSERT
 * into the same PostgreSQL (pg pool of 10, like the app's). No validation, CSRF, rate limits,
 * consent log or confirmation job: the floor the real endpoint is compared with. With
 * BARE_CONCURRENCY=N it runs N processes sharing the port (node:cluster), as WEB_CONCURRENCY does.
 */
import cluster from "node:cluster";
import http from "node:http";
import express from "express";
import pg from "pg";

const processes = Number(process.env.BARE_CONCURRENCY ?? 1);
if (cluster.isPrimary && processes > 1) {
  for (let i = 0; i < processes; i++) cluster.fork();
  process.on("SIGTERM", () => {
    const workers = Object.values(cluster.workers ?? {});
    let left = workers.length;
    for (const w of workers) w?.once("exit", () => --left === 0 && process.exit(0)).process.kill("SIGTERM");
  });
} else {
  serve();
}

function serve() {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
  const app = express();
  app.use(express.urlencoded({ extended: false, limit: "8kb" }));
  app.use(express.json({ limit: "8kb" }));
  app.post("/subscribe", async (req, res) => {
    const { email } = req.body as { email?: unknown };
    await pool.query(
      "INSERT INTO subscribers (id, email, status, frequency, created_at, updated_at) VALUES (gen_random_uuid(), $1, 'pending', 'daily', now(), now())",
      // The same canonical form the real handler stores (the table checks it is lower case).
      [typeof email === "string" ? email.trim().toLowerCase() : ""],
    );
    res.json({ status: "ok" });
  });
  const server = http.createServer(app);
  server.keepAliveTimeout = 5_000;
  server.listen(Number(process.env.PORT), "127.0.0.1", () =>
    console.log(`bare subscribe listening on ${process.env.PORT}`),
  );
  process.on("SIGTERM", () => {
    server.close();
    void pool.end().then(() => process.exit(0));
  });
}

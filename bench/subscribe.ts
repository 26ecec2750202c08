/**
 * The subscribe endpoint under load, beside a bare Express handler doing one INSERT into the same
 * PostgreSQL. Both run as their own process; autocannon (in this process, loopback only) posts a
 * form with a fresh address per request (autocannon's `[<id>]` replacement) for a bounded time.
 *
 * The real route (POST /subscribe of the web role) protects form posts with a CSRF token: it is
 * read from the home page's form (`_csrf` field plus its cookie) and sent with every request. The
 * token is not bound to a session, so one token serves every request. If the form is refused
 * anyway, the JSON body (which needs no token) is used instead.
 */
import autocannon from "autocannon";
import { freePort, portAnswers, waitFor } from "../src/infra/net";
import { loadNow, runBuilt, runTs, type Child } from "./proc";

export interface LoadResult {
  target: "real" | "bare";
  mode: "form+csrf" | "form" | "json";
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  /** Load average (1, 5, 15 min) when this load started. */
  loadAverage: number[];
}

export interface SubscribeResult {
  /** Processes of each server (1: the target's comparison; more: WEB_CONCURRENCY beside as many bare ones). */
  processes: number;
  bare: LoadResult;
  /** Undefined when the web app has no POST /subscribe yet (answered 404). */
  real?: LoadResult;
  realMissing?: string;
  /** real / bare throughput. */
  throughputRatio?: number;
}

const TOPICS = ["language-models", "robotics"];

async function startServer(
  script: string,
  env: Record<string, string>,
  ready: RegExp,
  args: string[] = [],
): Promise<{ child: Child; url: string }> {
  const port = await freePort();
  // The product's roles run compiled (as in production); the bench's own bare handler through tsx.
  const run = script.startsWith("bench/") ? runTs : runBuilt;
  const child = run(script, { ...env, PORT: String(port) }, { args });
  try {
    await child.waitForOutput(ready, 180_000);
    await waitFor(() => portAnswers("127.0.0.1", port), 10_000, `${script} on port ${port}`);
  } catch (err) {
    await child.stop(2_000);
    throw err;
  }
  return { child, url: `http://127.0.0.1:${port}` };
}

interface Shape {
  mode: LoadResult["mode"];
  headers: Record<string, string>;
  body: (id: string) => string;
}

const formBody = (csrf?: string) => (id: string) => {
  const params = new URLSearchParams({ email: `load-${id}@bench.example`, frequency: "daily" });
  for (const t of TOPICS) params.append("topics", t);
  if (csrf) params.set("_csrf", csrf);
  return params.toString().replace(encodeURIComponent("[<id>]"), "[<id>]");
};
const jsonBody = (id: string) =>
  JSON.stringify({ email: `load-${id}@bench.example`, topics: TOPICS, frequency: "daily" });

/** What a browser would send: the form, with the CSRF token of the home page when it has one. */
async function requestShape(url: string): Promise<Shape | { missing: string }> {
  const home = await fetch(`${url}/`, { headers: { accept: "text/html" } });
  const page = await home.text();
  const token = page.match(/name="_csrf"\s+value="([^"]+)"/)?.[1] ?? page.match(/value="([^"]+)"\s+name="_csrf"/)?.[1];
  const cookie = home.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
  const candidates: Shape[] = [
    {
      mode: token ? "form+csrf" : "form",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        accept: "text/html",
        ...(cookie ? { cookie } : {}),
      },
      body: formBody(token),
    },
    { mode: "json", headers: { "content-type": "application/json", accept: "application/json" }, body: jsonBody },
  ];
  let last = "";
  for (const shape of candidates) {
    const res = await fetch(`${url}/subscribe`, {
      method: "POST",
      headers: shape.headers,
      body: shape.body(`probe-${shape.mode.replace(/\W/g, "")}-${Date.now()}`),
    });
    await res.text();
    if (res.status === 404)
      return { missing: "POST /subscribe answers 404 (the subscribe route is not in this build)" };
    if (res.ok) return shape;
    last = `${shape.mode}: ${res.status}`;
  }
  return { missing: `POST /subscribe refused both a form and a JSON post (${last})` };
}

async function load(
  target: LoadResult["target"],
  url: string,
  shape: Shape,
  seconds: number,
  connections: number,
): Promise<LoadResult> {
  const opts = {
    url: `${url}/subscribe`,
    method: "POST",
    connections,
    headers: shape.headers,
    body: shape.body("[<id>]"),
    idReplacement: true,
    timeout: 10,
  };
  // Warm-up (JIT, connection pools), not counted.
  await autocannon({ ...opts, duration: Math.min(2, seconds) });
  const loadAverage = loadNow();
  const r = await autocannon({ ...opts, duration: seconds });
  return {
    target,
    mode: shape.mode,
    requestsPerSecond: r.requests.total / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    loadAverage,
  };
}

export async function runSubscribeLoad(opts: {
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  secret: string;
  smtpUrl: string;
  seconds: number;
  connections: number;
  /** Processes of each server: the web role's WEB_CONCURRENCY, and as many for the bare handler. */
  processes?: number;
  log: (line: string) => void;
}): Promise<SubscribeResult> {
  const processes = opts.processes ?? 1;
  const bareServer = await startServer(
    "bench/bare-subscribe.ts",
    { DATABASE_URL: opts.databaseUrl, BARE_CONCURRENCY: String(processes) },
    /listening/,
  );
  let bare: LoadResult;
  try {
    opts.log(
      `  bare Express + one INSERT, ${processes} process(es), ${opts.seconds} s, ${opts.connections} connections`,
    );
    bare = await load(
      "bare",
      bareServer.url,
      { mode: "form", headers: { "content-type": "application/x-www-form-urlencoded" }, body: formBody() },
      opts.seconds,
      opts.connections,
    );
  } finally {
    await bareServer.child.stop();
  }

  const web = await startServer(
    "src/main.ts",
    {
      NODE_ENV: "production",
      DATABASE_URL: opts.databaseUrl,
      REDIS_URL: opts.redisUrl,
      QUEUE_PREFIX: opts.queuePrefix,
      SECRET: opts.secret,
      SMTP_URL: opts.smtpUrl,
      BASE_URL: "http://127.0.0.1",
      LOG_LEVEL: "warn",
      DISABLE_SCHEDULES: "true",
      WEB_CONCURRENCY: String(processes),
      // The load comes from one address: the per-IP and per-address limits would stop it at once.
      SUBSCRIBE_LIMIT_PER_IP: "1000000000",
      SUBSCRIBE_LIMIT_PER_ADDRESS: "1000000000",
    },
    /Daily Papers is running/,
    ["web"],
  );
  // The web role alone: confirmation jobs queued by the load stay in this run's queue (dropped after).
  try {
    const shape = await requestShape(web.url);
    if ("missing" in shape) {
      opts.log(`  real endpoint: ${shape.missing}`);
      return { processes, bare, realMissing: shape.missing };
    }
    opts.log(
      `  real POST /subscribe (${shape.mode}), ${processes} process(es), ${opts.seconds} s, ${opts.connections} connections`,
    );
    const real = await load("real", web.url, shape, opts.seconds, opts.connections);
    return { processes, bare, real, throughputRatio: real.requestsPerSecond / bare.requestsPerSecond };
  } finally {
    await web.child.stop();
  }
}

import http from "node:http";
import fs from "node:fs";
import path from "node:path";

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Answer only after this long (to test time-outs). */
  delayMs?: number;
}

export interface ReplayServer {
  url: string;
  /** Every request received, in order, with the time it arrived. */
  requests: { path: string; query: URLSearchParams; at: number }[];
  /** Queue replies for a path (answered in order; the last one repeats). */
  reply(pathname: string, ...replies: Reply[]): void;
  close(): Promise<void>;
}

export const fixture = (name: string) =>
  fs.readFileSync(path.join(__dirname, "..", "fixtures", "papers", name), "utf8");

/**
 * A real HTTP server on loopback that replays recorded responses, so HTTP sources are tested
 * through real sockets, headers and time-outs rather than a mocked fetch. Unknown paths answer 404.
 */
export async function startReplayServer(): Promise<ReplayServer> {
  const routes = new Map<string, Reply[]>();
  const requests: ReplayServer["requests"] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    requests.push({ path: url.pathname, query: url.searchParams, at: Date.now() });
    // Keyed by path plus the `date` and `p` parameters, which is how the sources page.
    const keys = [
      `${url.pathname}?date=${url.searchParams.get("date")}&p=${url.searchParams.get("p")}`,
      `${url.pathname}?start=${url.searchParams.get("start")}`,
      url.pathname,
    ];
    const key = keys.find((k) => routes.has(k));
    const queue = key ? routes.get(key)! : undefined;
    const reply = queue ? (queue.length > 1 ? queue.shift()! : queue[0]!) : { status: 404, body: "not found" };
    const send = () => {
      if (res.destroyed) return;
      res.writeHead(reply.status ?? 200, { "content-type": "application/json", ...reply.headers });
      res.end(reply.body ?? "");
    };
    if (reply.delayMs) setTimeout(send, reply.delayMs).unref();
    else send();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reply: (p, ...replies) => void routes.set(p, replies),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The HTTP servers' lifecycle. The public server listens before the app is built, so that the port
 * the OS chose (PORT=0 in tests) is known when the configuration is settled: nothing is rewritten
 * afterwards. Requests that arrive in between wait for the app.
 */
import http from "node:http";
import type { Logger } from "../logger";

export interface HttpServer {
  readonly port: number;
  /** Starts answering with `app`. */
  serve(app: http.RequestListener): void;
  /**
   * Stops accepting connections, closes the idle ones, lets requests in flight finish and cuts
   * what is still open after `forceAfterMs`.
   */
  close(forceAfterMs: number): Promise<void>;
}

export async function listenHttp(port: number): Promise<HttpServer> {
  let resolveApp: (app: http.RequestListener) => void = () => undefined;
  const app = new Promise<http.RequestListener>((resolve) => (resolveApp = resolve));
  const server = http.createServer((req, res) => void app.then((serve) => serve(req, res)));
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, resolve);
  });
  return {
    port: (server.address() as { port: number }).port,
    serve: (listener) => resolveApp(listener),
    async close(forceAfterMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), forceAfterMs);
      await closed;
      clearTimeout(force);
    },
  };
}

/**
 * A server of its own for /metrics and /healthz (METRICS_PORT). A port already taken is logged and
 * skipped: the process runs on without it.
 */
export async function listenOperations(
  port: number,
  app: http.RequestListener,
  log: Logger,
): Promise<{ url: string; close(): Promise<void> } | undefined> {
  const server = http.createServer(app);
  const url = await new Promise<string | undefined>((resolve) => {
    server.once("error", (err) => {
      log.warn({ port, err: err.message }, "METRICS_PORT is not free: this process serves no /metrics there");
      resolve(undefined);
    });
    server.listen(port, () => {
      const listening = (server.address() as { port: number }).port;
      log.info({ port: listening }, "worker metrics at /metrics");
      resolve(`http://localhost:${listening}/metrics`);
    });
  });
  if (url === undefined) return undefined;
  return {
    url,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/prisma/client";

export type Db = PrismaClient;
export { Prisma } from "./generated/prisma/client";
export type * from "./generated/prisma/client";

/**
 * The Prisma client over the pg driver adapter (no native engine), on a pool of our own that
 * survives connections PostgreSQL ends on its own (a restart, a failover, `pg_terminate_backend`):
 *
 * - Every connection gets an 'error' listener for its whole life. pg emits 'error' on a client
 *   whose connection ended; on a client the pool has just handed out, before the adapter listens on
 *   it, that event would otherwise end the process.
 * - A transaction whose COMMIT or ROLLBACK fails gives its connection back. Prisma 6.19 releases a
 *   transaction's connection only after that statement succeeds, so each transaction open when a
 *   connection died kept its slot for good, and after a few the pool had none left: every query
 *   waited forever (reproduced by terminating the backends under a handful of transactions).
 *
 * The query in flight still fails (callers that can, retry: src/infra/connection-loss.ts); the
 * pool drops the broken connection when it comes back and opens a new one for the next query.
 */
export function createDb(databaseUrl: string, opts: { poolSize?: number } = {}): Db {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: opts.poolSize ?? 10 });
  pool.on("connect", (client) => client.on("error", () => undefined));
  pool.on("error", () => undefined); // an idle connection that died: the pool has already dropped it
  return new PrismaClient({ adapter: releasingFailedEnds(new PrismaPg(pool, { disposeExternalPool: true })) });
}

type Adapter = Awaited<ReturnType<PrismaPg["connect"]>>;
type Transaction = Awaited<ReturnType<Adapter["startTransaction"]>>;

function releasingFailedEnds(factory: PrismaPg): PrismaPg {
  const wrapTransaction = (tx: Transaction): Transaction =>
    new Proxy(tx, {
      get(target, prop, receiver) {
        if (prop !== "executeRaw") return Reflect.get(target, prop, receiver) as unknown;
        return async (query: Parameters<Transaction["executeRaw"]>[0]) => {
          try {
            return await target.executeRaw(query);
          } catch (err) {
            // Prisma calls commit()/rollback() (which release the connection) only after this
            // statement succeeded: release it here, or the pool loses the slot.
            if (query.sql === "COMMIT" || query.sql === "ROLLBACK") await target.rollback().catch(() => undefined);
            throw err;
          }
        };
      },
    });
  const wrapAdapter = (adapter: Adapter): Adapter =>
    new Proxy(adapter, {
      get(target, prop, receiver) {
        if (prop !== "startTransaction") return Reflect.get(target, prop, receiver) as unknown;
        return async (...args: Parameters<Adapter["startTransaction"]>) =>
          wrapTransaction(await target.startTransaction(...args));
      },
    });
  return new Proxy(factory, {
    get(target, prop, receiver) {
      if (prop !== "connect") return Reflect.get(target, prop, receiver) as unknown;
      return async () => wrapAdapter(await target.connect());
    },
  });
}

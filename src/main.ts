/**
 * Entry point of every role: `all` (npm start), `web` (npm run start:web), `worker` (npm run start:worker),
 * `inbound` (npm run start:inbound: the bounce and unsubscribe listener; `all` runs it too when
 * INBOUND_SMTP_PORT or IMAP_URL is set).
 * Reads .env, validates the configuration, starts the roles, and stops them cleanly on SIGINT/SIGTERM;
 * after an unhandled rejection it stops them cleanly too and exits 70 (src/process-lifecycle.ts).
 */
import "dotenv/config";
import { loadConfig, ConfigError, type Config } from "./config";
import { createLogger, type Logger } from "./logger";
import { startApp, type Roles, type RunningApp } from "./app";
import { isClusterWorker, runWebCluster, STOP_MESSAGE } from "./web/cluster";
import { installProcessLifecycle } from "./process-lifecycle";

const roleTable: Record<string, Roles> = {
  all: { web: true, worker: true, schedules: true },
  web: { web: true, worker: false, schedules: false },
  worker: { web: false, worker: true, schedules: true },
  inbound: { web: false, worker: false, schedules: false, inbound: true },
};

/** The roles a name starts (`all` adds the inbound listener when it is configured); exits 2 on an unknown name. */
function rolesFor(role: string): Roles {
  const table = roleTable[role];
  const roles =
    role === "all" && table && (process.env.INBOUND_SMTP_PORT || process.env.IMAP_URL)
      ? { ...table, inbound: true }
      : table;
  if (!roles) {
    console.error(`Unknown role "${role}": use one of ${Object.keys(roleTable).join(", ")}.`);
    process.exit(2);
  }
  return roles;
}

/** The configuration, or exit 1 with what to fix. */
function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(
        `${err.message}\nFix these environment variables (or .env) and start again. The README lists every setting.`,
      );
      process.exit(1);
    }
    throw err;
  }
}

function exitCouldNotStart(log: Logger, err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  log.fatal({ err: message }, "could not start");
  console.error(`\nCould not start: ${message}`);
  process.exit(1);
}

/** Says where the app is running (or which role runs without a web server). */
function announce(app: RunningApp, roles: Roles, log: Logger): void {
  if (app.url) {
    const baseUrl = app.config.BASE_URL;
    log.info({ url: baseUrl }, "listening");
    console.log(
      `\nDaily Papers is running at ${baseUrl}${app.mailer.kind === "outbox" ? ` (emails: ${baseUrl}/dev/outbox)` : ""}\n`,
    );
  } else {
    log.info(roles.inbound ? "inbound listener running" : "worker running");
  }
  if (app.inboundPort !== undefined)
    console.log(`Listening for bounces and unsubscribes on SMTP port ${app.inboundPort}`);
}

export async function run(role: string): Promise<void> {
  const roles = rolesFor(role);
  const config = loadConfigOrExit();
  const log = createLogger(config.LOG_LEVEL, { app: "daily-papers", role });
  const lifecycle = installProcessLifecycle({
    log,
    role,
    stopTimeoutMs: config.SHUTDOWN_TIMEOUT_SECONDS * 1000,
    signals: true,
  });
  if (role === "web" && config.WEB_CONCURRENCY > 1 && !isClusterWorker()) {
    try {
      return await runWebCluster(config, log, role, lifecycle);
    } catch (err) {
      exitCouldNotStart(log, err);
    }
  }
  let app: RunningApp;
  try {
    app = await startApp({ config, roles, log });
  } catch (err) {
    exitCouldNotStart(log, err);
  }
  lifecycle.onStop(() => app.stop());
  announce(app, roles, log);
  // A web process of WEB_CONCURRENCY: the primary asks it to stop (src/web/cluster.ts).
  process.on("message", (m) => m === STOP_MESSAGE && void lifecycle.shutdown("primary", 0));
  // Its primary gone (killed with SIGKILL): stop too, or it would keep the port with nobody to stop it.
  if (isClusterWorker()) process.once("disconnect", () => void lifecycle.shutdown("primary gone", 0));
}

if (require.main === module) void run(process.argv[2] ?? "all");

/**
 * `npx newsletter <command>`: the operator's command line. Each command builds only what it needs
 * from the same wiring as the app (src/app.ts) and closes it when done.
 */
import "dotenv/config";
import { Command } from "commander";
import { loadConfig } from "../config";
import { createLogger } from "../logger";
import { ensureDatabase, applyMigrations, resolvePostgres, redact } from "../infra/postgres";
import { pendingMigrations } from "../infra/migrations";
import { commandLogger } from "./context";
import { subscribersCommand } from "./subscribers";
import { registerPaperCommands } from "../papers";
import { registerDigestCommands } from "../digests";
import { installProcessLifecycle } from "../process-lifecycle";

export function buildCli(): Command {
  const program = new Command("newsletter")
    .description("Daily Papers newsletter: operate subscribers, papers and digests")
    .showHelpAfterError("(add --help for usage)");

  program
    .command("migrate")
    .description("create the database if missing and apply pending migrations")
    .option("--status", "only list pending migrations")
    .action(async (opts: { status?: boolean }) => {
      const config = loadConfig();
      const log = commandLogger(config);
      const pgInfo = await resolvePostgres(
        { configuredUrl: config.DATABASE_URL, probeUrl: config.DEFAULT_DATABASE_PROBE, dataDir: config.dataDir },
        log,
      );
      try {
        if (await ensureDatabase(pgInfo.url)) console.log(`Created database ${redact(pgInfo.url)}`);
        const pending = await pendingMigrations(pgInfo.url);
        if (opts.status || pending.length === 0) {
          console.log(
            pending.length ? `Pending migrations:\n  ${pending.join("\n  ")}` : "The database is up to date.",
          );
          return;
        }
        await applyMigrations(pgInfo.url, log);
        console.log(`Applied ${pending.length} migration(s):\n  ${pending.join("\n  ")}`);
      } finally {
        await pgInfo.stop();
      }
    });

  program.addCommand(subscribersCommand());
  registerPaperCommands(program);
  registerDigestCommands(program);
  return program;
}

/**
 * Parses argv and runs the command; exits non-zero with the error's message on failure. An
 * unhandled rejection or uncaught exception ends the command the way it ends every role
 * (src/process-lifecycle.ts): a fatal log line, a message on stderr, exit code 70.
 */
export async function runCli(argv: string[]): Promise<void> {
  installProcessLifecycle({
    log: createLogger(process.env.LOG_LEVEL === "silent" ? "silent" : "warn", { app: "daily-papers", role: "cli" }),
    role: "cli",
    stopTimeoutMs: 0,
    tellOperator: (message) => console.error(message),
  });
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    console.error(`Error: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}

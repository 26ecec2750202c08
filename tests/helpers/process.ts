import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

export const root = path.resolve(__dirname, "..", "..");

export interface RunningProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the first match of `pattern` in the output. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs a TypeScript entry point of the product in a child process: node itself with tsx's loader
 * (not the tsx CLI, which would put a wrapper process in between), so a signal sent to `child`
 * reaches the product directly, SIGKILL included.
 */
export function runTs(script: string, args: string[], env: Record<string, string | undefined>): RunningProcess {
  return runNode(["--import", "tsx", path.join(root, script), ...args], env);
}

/**
 * Runs a product role the way `npm start` does: the compiled JavaScript in dist/ (`src/main.ts`
 * as `dist/src/main.js`), no TypeScript loader. Call `buildDist` once first.
 */
export function runBuilt(script: string, args: string[], env: Record<string, string | undefined>): RunningProcess {
  return runNode([path.join(root, "dist", script.replace(/\.ts$/, ".js")), ...args], env);
}

/** What `npm start` does before it starts: compile into dist/ when a source changed. */
export function buildDist(): void {
  execFileSync(process.execPath, [path.join(root, "scripts", "build-if-stale.js")], { cwd: root, stdio: "ignore" });
}

function runNode(argv: string[], env: Record<string, string | undefined>): RunningProcess {
  const child = spawn(process.execPath, argv, {
    cwd: root,
    // Paper APIs answer nothing unless a test says otherwise: no test reaches the internet.
    env: { HF_API_URL: "http://127.0.0.1:9", ARXIV_API_URL: "http://127.0.0.1:9/api/query", ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => out,
    exited,
    async waitForOutput(pattern, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = out.match(pattern);
        if (m) return m;
        if (child.exitCode !== null)
          throw new Error(`process exited (${child.exitCode}) before printing ${pattern}:\n${out}`);
        if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

/** What Linux says about a process: peak resident memory and CPU time used so far. */
import fs from "node:fs";
import os from "node:os";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

export const root = path.resolve(__dirname, "..");

/** Clock ticks per second of /proc/PID/stat (100 on every Linux we run on). */
const CLK_TCK = 100;

/** A memory line of /proc/PID/status in MB, or undefined when the process is gone. */
function statusMb(pid: number, field: "VmHWM" | "VmRSS"): number | undefined {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m"));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The 1, 5 and 15 minute load averages now, rounded: recorded beside every figure (the machine is shared). */
export const loadNow = () => os.loadavg().map((l) => Math.round(l * 100) / 100);

/** Peak resident set size (VmHWM) in MB. */
export const peakRssMb = (pid: number) => statusMb(pid, "VmHWM");

/** Current resident set size (VmRSS) in MB. */
export const rssMb = (pid: number) => statusMb(pid, "VmRSS");

/** User + system CPU seconds used by the process so far. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start at state (field 3).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

export interface Child {
  child: ChildProcess;
  pid: number;
  /** Date.now() when it was spawned. */
  spawnedAt: number;
  output(): string;
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Runs a TypeScript entry point with node and tsx's loader (no wrapper process), so the pid is
 * the process itself: its memory and CPU are what we read. For the bench's own helpers.
 */
export function runTs(
  script: string,
  env: Record<string, string>,
  opts: { nodeArgs?: string[]; args?: string[] } = {},
): Child {
  return runNode(script, ["--import", "tsx", path.join(root, script)], env, opts);
}

/**
 * Runs a product role as production does: the compiled JavaScript in dist/ (`src/main.ts` runs
 * as `dist/src/main.js`), no TypeScript loader in the process. `ensureBuilt` first.
 */
export function runBuilt(
  script: string,
  env: Record<string, string>,
  opts: { nodeArgs?: string[]; args?: string[] } = {},
): Child {
  return runNode(script, [path.join(root, "dist", script.replace(/\.ts$/, ".js"))], env, opts);
}

/** Compiles src/ and workers/ into dist/ if any source changed since the last build. */
export function ensureBuilt(): void {
  execFileSync(process.execPath, [path.join(root, "scripts", "build-if-stale.js")], { cwd: root, stdio: "inherit" });
}

function runNode(
  script: string,
  entry: string[],
  env: Record<string, string>,
  opts: { nodeArgs?: string[]; args?: string[] },
): Child {
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...entry, ...(opts.args ?? [])], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    pid: child.pid!,
    spawnedAt,
    output: () => out,
    async waitForOutput(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(out)) {
        if (child.exitCode !== null)
          throw new Error(`${script} exited (${child.exitCode}) before printing ${pattern}:\n${out.slice(-3000)}`);
        if (Date.now() > deadline)
          throw new Error(`${script}: no ${pattern} within ${timeoutMs} ms:\n${out.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

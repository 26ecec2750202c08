/**
 * postfix's smtp-sink on a free loopback port, as a child process. With `-c` it writes running
 * counters to stdout whenever a message ends ("." received), a QUIT arrives or a session ends:
 * "sess=N quit=N msg=N" ended by a carriage return on a terminal, but "sess=N quit=N mesg=N"
 * ended by a newline on a pipe (as here; checked). The message counter is what we read as
 * "messages accepted by the sink".
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { freePort, portAnswers, waitFor } from "../src/infra/net";

export const SMTP_SINK = "/usr/sbin/smtp-sink";

export interface Sink {
  port: number;
  url: string;
  /** Messages the sink has counted since it started. */
  messages(): number;
  /** The count at this moment, to measure a phase as a difference. */
  mark(): number;
  /** Resolves once the count reaches `n` (or rejects after `timeoutMs`). */
  waitForMessages(n: number, timeoutMs: number): Promise<void>;
  pid: number;
  stop(): Promise<void>;
}

export async function startSink(): Promise<Sink> {
  if (!fs.existsSync(SMTP_SINK)) {
    throw new Error(
      `${SMTP_SINK} is missing: install postfix (DEBIAN_FRONTEND=noninteractive apt-get install -y postfix)`,
    );
  }
  const port = await freePort();
  // Backlog 1000; -u is required when run as root (it drops to postfix after binding).
  const args = [...(process.getuid?.() === 0 ? ["-u", "postfix"] : []), "-c", `127.0.0.1:${port}`, "1000"];
  const child: ChildProcess = spawn(SMTP_SINK, args, { stdio: ["ignore", "pipe", "pipe"] });
  let count = 0;
  let tail = "";
  let errors = "";
  child.stdout!.setEncoding("latin1");
  child.stdout!.on("data", (chunk: string) => {
    tail = (tail + chunk).slice(-256);
    const all = [...tail.matchAll(/\bme?sg=(\d+)/g)];
    const last = all[all.length - 1];
    if (last) count = Math.max(count, Number(last[1]));
  });
  child.stderr!.on("data", (d) => (errors += String(d)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await waitFor(
    async () => child.exitCode === null && (await portAnswers("127.0.0.1", port)),
    5_000,
    `smtp-sink on port ${port} (${errors.trim()})`,
  );
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    pid: child.pid!,
    messages: () => count,
    mark: () => count,
    async waitForMessages(n, timeoutMs) {
      await waitFor(() => count >= n, timeoutMs, `the sink to count ${n} messages (it has ${count})`);
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2_000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}

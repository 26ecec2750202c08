/**
 * How a process stops: once (a second call gets the same promise), in order, and within a deadline,
 * after which what is left is abandoned with a warning (the process exits next).
 */
import type { Logger } from "./logger";

export function shutdownOnce(steps: () => Promise<void>, opts: { timeoutSeconds: number; log: Logger }) {
  let stopping: Promise<void> | undefined;
  return (): Promise<void> =>
    (stopping ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          opts.log.warn({ seconds: opts.timeoutSeconds }, "shutdown took too long: giving up on what is left");
          resolve();
        }, opts.timeoutSeconds * 1000);
        timer.unref();
      });
      await Promise.race([steps(), timedOut]);
      clearTimeout(timer);
    })());
}

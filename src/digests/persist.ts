const retryDelay = (attempt: number) => Math.min(2_000, 50 * 2 ** attempt);

/** Tries a ledger write a few times (a dropped connection is common and short), then gives up. */
export async function persist<T>(write: () => Promise<T>, tries = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (attempt >= tries) throw err;
      await new Promise((r) => setTimeout(r, retryDelay(attempt)));
    }
  }
}

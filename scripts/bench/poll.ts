// Waiting helpers for the benchmark. Unlike a test's waitFor, a timeout here is not an error: it is
// a measurement ("no take-over within 10 s"), recorded in the round and reported.

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Calls probe every intervalMs until it returns something other than undefined; undefined after timeoutMs. */
export async function poll<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, intervalMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) return undefined;
    await sleep(intervalMs);
  }
}

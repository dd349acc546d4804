// Polling with a deadline, shared by the lab, the demo, the benchmark and the tests.

/**
 * Polls until predicate returns a truthy value (which is returned) or throws after timeoutMs
 * with `what` and the last value or error, so a timeout says what was being waited for.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  timeoutMs: number,
  intervalMs = 50,
  what = 'condition',
): Promise<NonNullable<T>> {
  const started = Date.now();
  let last: unknown;
  let lastError: unknown;
  for (;;) {
    try {
      last = await predicate();
      lastError = undefined;
      if (last) return last as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    const elapsed = Date.now() - started;
    if (elapsed >= timeoutMs) {
      const detail = lastError !== undefined ? `last error: ${String(lastError)}` : `last value: ${JSON.stringify(last)}`;
      throw new Error(`waitFor timed out after ${elapsed} ms waiting for ${what}; ${detail}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, timeoutMs - elapsed)));
  }
}

// What the lab's one-shot tools (flood.ts, replay.ts: run as `node dist/scripts/lab/X.js` inside
// a namespace) share: their numeric options and how they end.

/** A number above 0 and at most `max`, or an Error naming the tool, the option and the value. */
export function positiveOption(tool: string, name: string, raw: string | undefined, max: number, what = 'a number'): number {
  const n = Number(raw);
  if (raw === undefined || !/^\d+(\.\d+)?$/.test(raw) || n <= 0 || n > max) {
    throw new Error(`${tool}: --${name} must be ${what} above 0 and at most ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/**
 * Runs `main` when the module is the program itself (not when a test imports it): its result is
 * the exit status; an error is one line on stderr and exit 64.
 */
export function runAsTool(moduleUrl: string, main: (argv: string[]) => Promise<number>): void {
  if (process.argv[1] === undefined || moduleUrl !== new URL(`file://${process.argv[1]}`).href) return;
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 64;
    },
  );
}

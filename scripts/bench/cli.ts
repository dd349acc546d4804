// What the benchmarks' command lines share: option parsing that fails with one line naming the
// benchmark, the option, its range and the value given (exit 64), --help, the command line echoed
// back so a run's output says how it was made, and the common frame of a run: its output, the
// machine it ran on, its closing line, its JSON file and its exit status.
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {}

/** An integer option: `fallback` when absent; otherwise digits only, within [min, max]. */
export function integerOption(prog: string, name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`${prog}: --${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * parseArgs, strict, with every benchmark's --quick, --json FILE and -h/--help added; its own
 * complaints become UsageErrors, and an empty --json is refused.
 */
export interface BenchArgs {
  /** The string options' values (undefined when absent). */
  readonly v: Readonly<Record<string, string | undefined>>;
  readonly quick: boolean;
  readonly help: boolean;
  flag(name: string): boolean;
}

export function parseBenchArgs(prog: string, argv: string[], options: Options): BenchArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        ...options,
        quick: { type: 'boolean', default: false },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      } as const,
    });
  } catch (err) {
    throw new UsageError(`${prog}: ${(err as Error).message}`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.json === '') throw new UsageError(`${prog}: --json must name a file, got ""`);
  const strings = Object.fromEntries(Object.entries(values).filter(([, value]) => typeof value === 'string')) as Record<string, string>;
  return { v: strings, quick: values.quick === true, help: values.help === true, flag: (name) => values[name] === true };
}

/** Shell-quoted, so the printed command line can be pasted back as it is. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The start every benchmark makes: its options, or the exit status when there is nothing to
 * run (0 after --help, 64 after a usage error); the command line is printed first.
 */
export function startBench<O extends { readonly help: boolean }>(
  argv: string[],
  parse: (argv: string[]) => O,
  usage: string,
  say: (text: string) => void,
): O | number {
  let o: O;
  try {
    o = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 64;
  }
  if (o.help) {
    say(usage);
    return 0;
  }
  say(`$ ${process.argv.map(shellQuote).join(' ')}`);
  return o;
}

/** One line of output. */
export type Say = (text?: string) => void;

/**
 * Output that goes quiet once its reader has gone away (`| head`, a closed terminal) instead of
 * dying on EPIPE: the benchmark checks `closed()` and stops after the round under way. An exit
 * while `ip netns add` is still running would leave that namespace behind, because the lab only
 * learns of a namespace once the command has returned.
 */
export function stdoutUntilClosed(): { say: Say; closed: () => boolean } {
  let closed = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    closed = true;
  });
  return {
    say: (text = '') => {
      if (!closed) process.stdout.write(`${text}\n`);
    },
    closed: () => closed,
  };
}

/** The CPU a run's figures come from: model × count, as every benchmark prints it. */
export function cpuText(): string {
  return `${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`;
}

/** The line a run ends with: when it finished, and after how many whole seconds. */
export function finishedLine(startedAt: Date, finishedAt: Date): string {
  return `\nfinished ${finishedAt.toISOString()} after ${((finishedAt.getTime() - startedAt.getTime()) / 1000).toFixed(0)} s`;
}

/**
 * --json FILE: every raw figure, pretty-printed, and a line saying where it went. A bigint (a
 * /proc counter read as one) is written as its decimal string, which JSON has no number for.
 */
export function writeJsonReport(file: string, data: unknown, say: Say): void {
  writeFileSync(file, `${JSON.stringify(data, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value), 2)}\n`);
  say(`raw figures written to ${file}`);
}

/** Runs a benchmark's main: its result is the exit status; a throw is one line on stderr and 1. */
export function runBench(prog: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${prog} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

// What the three benchmarks' command lines share: option parsing that fails with one line
// naming the benchmark, the option, its range and the value given (exit 64), --help, and the
// command line echoed back so a run's output says how it was made.
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

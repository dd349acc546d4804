// `npm run bench:checks` options: parsed once, validated with one line per mistake (the option,
// what it accepts, what it was given), then frozen. Same template as bench/options.ts.
import { VARIANT_IDS, type VariantId } from './checks-plan.js';
import { integerOption, parseBenchArgs, UsageError } from './cli.js';

export { UsageError } from './cli.js';

export interface ChecksBenchOptions {
  /** Rounds per variant; every round is a fresh lab. */
  readonly rounds: number;
  readonly variants: readonly VariantId[];
  readonly json: string | undefined;
  readonly quick: boolean;
  readonly help: boolean;
}

export const CHECKS_USAGE = `Usage: sudo node dist/scripts/bench-checks.js [options]   (or: sudo npm run bench:checks -- [options])

Health-check failover, carpd against keepalived 2.2.x, side by side in one run, each round in a
fresh network namespace lab (addresses from 198.18.0.0/15 only): an HTTP service runs on both
hosts, both nodes check it with the same curl command (fall 2, rise 2), the service on the
master is killed, and the bench measures the time until the VIP is on the other host and until
the client's first request is answered by it. Needs root, keepalived, curl, python3, tcpdump,
ping and a built carpd (npm run build).

  --rounds N          rounds per variant, interleaved (default 5)
  --variants LIST     comma-separated, from: ${VARIANT_IDS.join(', ')}
                      (default all: carpd checks every 0.5 s as asked; carpd-1s every 1 s, the
                      smallest interval keepalived 2.2.x accepts; keepalived every 1 s)
  --quick             smoke run: 2 rounds (an explicit --rounds still wins)
  --json FILE         also write every raw figure to FILE
  -h, --help          this text`;

function fail(message: string): never {
  throw new UsageError(`bench-checks: ${message}`);
}

const integer = (name: string, raw: string | undefined, fallback: number, min: number, max: number) =>
  integerOption('bench-checks', name, raw, fallback, min, max);

/** "carpd,keepalived" → ['carpd', 'keepalived']: known names, no repeats, in the order given. */
export function parseVariants(raw: string): VariantId[] {
  const items = raw.split(',').map((s) => s.trim());
  const known = new Set<string>(VARIANT_IDS);
  const out: VariantId[] = [];
  for (const item of items) {
    if (!known.has(item) || out.includes(item as VariantId)) {
      fail(`--variants must be a comma-separated list of distinct names from ${VARIANT_IDS.join(', ')}, got ${JSON.stringify(raw)}`);
    }
    out.push(item as VariantId);
  }
  return out;
}

export function parseChecksOptions(argv: string[]): ChecksBenchOptions {
  const { v, quick, help } = parseBenchArgs('bench-checks', argv, {
    rounds: { type: 'string' },
    variants: { type: 'string' },
  });
  return Object.freeze({
    rounds: integer('rounds', v.rounds, quick ? 2 : 5, 1, 100),
    variants: Object.freeze(v.variants === undefined ? [...VARIANT_IDS] : parseVariants(v.variants)),
    json: v.json,
    quick,
    help,
  });
}

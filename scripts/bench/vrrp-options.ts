// `npm run bench:vrrp` options: parsed once, validated with one line per mistake (the option,
// what it accepts, what it was given), then frozen. Same template as bench/options.ts.
import { integerOption, parseBenchArgs, UsageError } from './cli.js';
import { DEFAULT_PAIRS, PAIR_IDS, ROW_IDS, type PairId, type RowId } from './vrrp-plan.js';

export { UsageError } from './cli.js';

export interface VrrpBenchOptions {
  /** Rounds per row and pair. */
  readonly rounds: number;
  readonly pairs: readonly PairId[];
  readonly rows: readonly RowId[];
  readonly json: string | undefined;
  readonly quick: boolean;
  readonly help: boolean;
}

export const VRRP_USAGE = `Usage: sudo node dist/scripts/bench-vrrp.js [options]   (or: sudo npm run bench:vrrp -- [options])

VRRP failover, carpd against keepalived 2.2.x, side by side in one run, in a network namespace
lab (addresses from 198.18.0.0/15 only): host 1 priority 100 (the master), host 2 priority 80;
the master is stopped with SIGTERM or its link is cut, at advert_int 1 (VRRPv2, PASS) and at
0.1 s (VRRPv3). Each round measures the time until the VIP is on host 2 and until the client's
pings are answered again. Needs root, keepalived, tcpdump, ping and a built carpd.

  --rounds N          rounds per row and pair, interleaved (default 9)
  --pairs LIST        comma-separated, master first, from: ${PAIR_IDS.join(', ')}
                      (k = keepalived, c = carpd; default ${DEFAULT_PAIRS.join(',')}; the mixed
                      pairs kc and ck double the run)
  --rows LIST         comma-separated, from: ${ROW_IDS.join(', ')} (default all)
  --quick             smoke run: 2 rounds (an explicit --rounds still wins)
  --json FILE         also write every raw figure to FILE
  -h, --help          this text`;

/** "kk,cc" → ['kk', 'cc']: known names, no repeats, in the order given. */
export function parseList<T extends string>(option: string, raw: string, known: readonly T[]): T[] {
  const out: T[] = [];
  for (const item of raw.split(',').map((s) => s.trim())) {
    if (!(known as readonly string[]).includes(item) || out.includes(item as T)) {
      throw new UsageError(`bench-vrrp: --${option} must be a comma-separated list of distinct names from ${known.join(', ')}, got ${JSON.stringify(raw)}`);
    }
    out.push(item as T);
  }
  return out;
}

export function parseVrrpOptions(argv: string[]): VrrpBenchOptions {
  const { v, quick, help } = parseBenchArgs('bench-vrrp', argv, {
    rounds: { type: 'string' },
    pairs: { type: 'string' },
    rows: { type: 'string' },
  });
  return Object.freeze({
    // 9, not 5: the two daemons' medians are tenths of a millisecond apart, and a median of 5
    // moved by 0.1 to 0.3 ms from run to run (about 7 minutes for the full run).
    rounds: integerOption('bench-vrrp', 'rounds', v.rounds, quick ? 2 : 9, 1, 100),
    pairs: Object.freeze(v.pairs === undefined ? [...DEFAULT_PAIRS] : parseList('pairs', v.pairs, PAIR_IDS)),
    // Rows in the plan's order whatever order they were given in: the table reads the same.
    rows: Object.freeze(v.rows === undefined ? [...ROW_IDS] : ROW_IDS.filter((r) => parseList('rows', v.rows!, ROW_IDS).includes(r))),
    json: v.json,
    quick,
    help,
  });
}

// `npm run bench:vhosts` options: parsed once, validated with one line per mistake (the option,
// what it accepts, what it was given), then frozen. Same template as bench/options.ts.
import { DAEMONS, type Daemon } from './daemons.js';
import { MAX_VHOSTS } from './multi-plan.js';
import { integerOption, parseBenchArgs, UsageError } from './cli.js';

export { UsageError } from './cli.js';

export interface VhostsBenchOptions {
  /** Vhost counts to run, in this order; every count runs for every daemon. */
  readonly vhosts: readonly number[];
  readonly daemons: readonly Daemon[];
  /** Idle MASTER window for CPU, RSS and advert jitter. */
  readonly idleSeconds: number;
  /**
   * From the VIPs settling on the master to the start of the idle window: V8 keeps compiling
   * hot code for tens of seconds after a start (measured on 100 vhosts: 1440 ms of CPU a minute
   * in the first half minute, 420 in the second), and an idle figure should not include that.
   */
  readonly settleSeconds: number;
  /** carpd with ucarp-style options instead of a config file (smoke test; one vhost only). */
  readonly flatCarpd: boolean;
  readonly json: string | undefined;
  readonly quick: boolean;
  readonly help: boolean;
}

export const VHOSTS_USAGE = `Usage: sudo node dist/scripts/bench-vhosts.js [options]   (or: sudo npm run bench:vhosts -- [options])

N virtual hosts in ONE carpd against N ucarp processes, N = 1, 10, 100, inside throw-away network
namespace labs (addresses from 198.18.0.0/15 only): RSS and idle CPU of the master node, advert
jitter seen by the client, and the time for all N VIPs to reach the backup after a link cut.
Needs root, tcpdump, ucarp, and a built carpd (npm run build).

  --vhosts LIST       comma-separated vhost counts, each 1 to ${MAX_VHOSTS} (default 1,10,100)
  --daemons LIST      carpd, ucarp or both (default carpd,ucarp)
  --idle-seconds N    idle MASTER window for CPU, RSS and jitter (default 30)
  --settle-seconds N  wait after the VIPs settle, before the idle window (default 30)
  --flat-carpd        start carpd with ucarp's options (-i -s -v -p -a …) instead of a sectioned
                      config file; only with --vhosts 1 (a smoke test of the carpd half)
  --quick             smoke run: --vhosts 1,10, 5 s idle window (explicit options still win)
  --json FILE         also write every raw figure to FILE
  -h, --help          this text`;

function fail(message: string): never {
  throw new UsageError(`bench-vhosts: ${message}`);
}

const integer = (name: string, raw: string | undefined, fallback: number, min: number, max: number) =>
  integerOption('bench-vhosts', name, raw, fallback, min, max);

/** "1,10,100" → [1, 10, 100]; each an integer in range, no repeats. */
export function parseVhostCounts(raw: string): number[] {
  const items = raw.split(',').map((s) => s.trim());
  const counts = items.map((s) => {
    if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > MAX_VHOSTS) {
      fail(`--vhosts must be a comma-separated list of integers from 1 to ${MAX_VHOSTS}, got ${JSON.stringify(raw)}`);
    }
    return Number(s);
  });
  if (new Set(counts).size !== counts.length) fail(`--vhosts lists a count twice, got ${JSON.stringify(raw)}`);
  return counts;
}

export function parseDaemons(raw: string): Daemon[] {
  const names = raw.split(',').map((s) => s.trim());
  if (names.some((n) => !(DAEMONS as readonly string[]).includes(n)) || new Set(names).size !== names.length) {
    fail(`--daemons must be carpd, ucarp or carpd,ucarp, got ${JSON.stringify(raw)}`);
  }
  // Always in the canonical order, so tables read the same whatever was typed.
  return DAEMONS.filter((d) => names.includes(d));
}

export function parseVhostsOptions(argv: string[]): VhostsBenchOptions {
  const { v, quick, help, flag } = parseBenchArgs('bench-vhosts', argv, {
    vhosts: { type: 'string' },
    daemons: { type: 'string' },
    'idle-seconds': { type: 'string' },
    'settle-seconds': { type: 'string' },
    'flat-carpd': { type: 'boolean', default: false },
  });
  const vhosts = v.vhosts !== undefined ? parseVhostCounts(v.vhosts) : quick ? [1, 10] : [1, 10, 100];
  const daemons = v.daemons !== undefined ? parseDaemons(v.daemons) : [...DAEMONS];
  const flatCarpd = flag('flat-carpd');
  if (flatCarpd && vhosts.some((n) => n !== 1)) {
    fail(`--flat-carpd starts carpd for one vhost only, so it needs --vhosts 1, got --vhosts ${vhosts.join(',')}`);
  }
  return Object.freeze({
    vhosts: Object.freeze(vhosts),
    daemons: Object.freeze(daemons),
    idleSeconds: integer('idle-seconds', v['idle-seconds'], quick ? 5 : 30, 1, 600),
    settleSeconds: integer('settle-seconds', v['settle-seconds'], quick ? 2 : 30, 0, 600),
    flatCarpd,
    json: v.json,
    quick,
    help,
  });
}

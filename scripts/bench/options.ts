// `npm run bench` options. Parsed once, validated with one line per mistake (the same template as
// carpd's own CLI: the option, what it accepts, what it was given), then frozen.
import { integerOption, parseBenchArgs } from './cli.js';

export interface BenchOptions {
  /** Rounds of each failover scenario, for carpd and for ucarp each. */
  readonly rounds: number;
  /** How long the idle MASTER is watched for CPU time and memory. */
  readonly idleSeconds: number;
  /** Scenario (c): how long a settled pair is watched for spurious transitions before the cut. */
  readonly quietSeconds: number;
  /** Where to write every raw figure as JSON, if anywhere. */
  readonly json: string | undefined;
  readonly quick: boolean;
  readonly help: boolean;
}

export const USAGE = `Usage: sudo node dist/scripts/bench.js [options]   (or: sudo npm run bench -- [options])

Failover and footprint benchmark of carpd against ucarp 1.5.2, inside a throw-away network
namespace lab (addresses from 198.18.0.0/15 only). Needs root, tcpdump, ping and ucarp.

  --rounds N          rounds of each failover scenario per daemon (default 5)
  --idle-seconds N    how long an idle MASTER is measured for CPU and memory (default 60)
  --quiet-seconds N   scenario (c): spurious-transition watch before the cut (default 10)
  --quick             smoke run: 2 rounds, 15 s idle (explicit options still win)
  --json FILE         also write every raw figure to FILE
  -h, --help          this text`;

export { UsageError } from './cli.js';

const integer = (name: string, raw: string | undefined, fallback: number, min: number, max: number) =>
  integerOption('bench', name, raw, fallback, min, max);

export function parseBenchOptions(argv: string[]): BenchOptions {
  const { v, quick, help } = parseBenchArgs('bench', argv, {
    rounds: { type: 'string' },
    'idle-seconds': { type: 'string' },
    'quiet-seconds': { type: 'string' },
  });
  return Object.freeze({
    rounds: integer('rounds', v.rounds, quick ? 2 : 5, 1, 100),
    idleSeconds: integer('idle-seconds', v['idle-seconds'], quick ? 15 : 60, 1, 3600),
    quietSeconds: integer('quiet-seconds', v['quiet-seconds'], 10, 1, 600),
    json: v.json,
    quick,
    help,
  });
}

// `npm run bench:flood`: options (one line per mistake, as the other benchmarks) and the table.
// Pure, so both are tested without a lab.
import { integerOption, parseBenchArgs } from './cli.js';
import type { DaemonFloodFigures, FloodBenchResult } from './flood.js';

export interface FloodBenchOptions {
  readonly rate: number;
  readonly seconds: number;
  readonly settleSeconds: number;
  readonly json: string | undefined;
  readonly quick: boolean;
  readonly help: boolean;
}

export const FLOOD_USAGE = `Usage: sudo node dist/scripts/bench-flood.js [options]   (or: sudo npm run bench:flood -- [options])

carpd and ucarp side by side under a flood of bogus CARP frames, in a throw-away network
namespace lab (addresses from 198.18.0.0/15 only): each is the lone MASTER of its own vhid while
a third host sends frames with one defect each (TTL 1 and 64, bad checksum, version, type, HMAC,
size, other vhids) from random sources. Reports each one's CPU, RSS, log lines, state changes and
longest advert gap over the flood, and carpd/ucarp ratios. Needs root, tcpdump, ucarp, and a
built carpd (npm run build).

  --rate N            frames per second, both vhids together (default 20000)
  --seconds N         length of the flood (default 30)
  --settle-seconds N  wait after both are MASTER, before the flood (default 5)
  --quick             smoke run: 5000 frames/s for 10 s (explicit options still win)
  --json FILE         also write every raw figure to FILE
  -h, --help          this text`;

export function parseFloodOptions(argv: string[]): FloodBenchOptions {
  const a = parseBenchArgs('bench-flood', argv, {
    rate: { type: 'string' },
    seconds: { type: 'string' },
    'settle-seconds': { type: 'string' },
  });
  const int = (name: string, fallback: number, min: number, max: number) => integerOption('bench-flood', name, a.v[name], fallback, min, max);
  return Object.freeze({
    rate: int('rate', a.quick ? 5_000 : 20_000, 1, 200_000),
    seconds: int('seconds', a.quick ? 10 : 30, 1, 600),
    settleSeconds: int('settle-seconds', 5, 0, 600),
    json: a.v.json,
    quick: a.quick,
    help: a.help,
  });
}

const mib = (kb: number): string => `${(kb / 1024).toFixed(1)} MiB`;

function ratio(a: number, b: number): string {
  if (b === 0) return a === 0 ? '1' : '–';
  const r = a / b;
  if (r >= 10 || r === 0) return r.toFixed(0);
  return r >= 0.01 ? r.toFixed(2) : `1/${Math.round(1 / r)}`;
}

/** Rows: what, carpd, ucarp, carpd/ucarp. */
export function floodRows(r: FloodBenchResult): string[][] {
  const carpd = r.daemons.find((d) => d.daemon === 'carpd') as DaemonFloodFigures;
  const ucarp = r.daemons.find((d) => d.daemon === 'ucarp') as DaemonFloodFigures;
  const perSecond = (d: DaemonFloodFigures) => d.logLines / (r.windowMs / 1000);
  const gap = (d: DaemonFloodFigures) => (d.maxAdvertGapMs === undefined ? 'none' : `${d.maxAdvertGapMs.toFixed(0)} ms`);
  return [
    ['frames counted', carpd.counted === undefined ? '?' : String(carpd.counted), 'no count', ''],
    ['CPU, % of one core', carpd.cpuPercent.toFixed(1), ucarp.cpuPercent.toFixed(1), ratio(carpd.cpuPercent, ucarp.cpuPercent)],
    ['log lines in the flood', String(carpd.logLines), String(ucarp.logLines), ratio(carpd.logLines, ucarp.logLines)],
    ['  per second', perSecond(carpd).toFixed(1), perSecond(ucarp).toFixed(0), ratio(perSecond(carpd), perSecond(ucarp))],
    ['  log bytes', String(carpd.logBytes), String(ucarp.logBytes), ratio(carpd.logBytes, ucarp.logBytes)],
    ['  summaries at stop', String(carpd.stopLines), '–', ''],
    ['RSS before', mib(carpd.rssBeforeKb), mib(ucarp.rssBeforeKb), ratio(carpd.rssBeforeKb, ucarp.rssBeforeKb)],
    ['RSS peak', mib(carpd.rssPeakKb), mib(ucarp.rssPeakKb), ratio(carpd.rssPeakKb, ucarp.rssPeakKb)],
    ['RSS growth (peak − before)', mib(carpd.rssPeakKb - carpd.rssBeforeKb), mib(ucarp.rssPeakKb - ucarp.rssBeforeKb), ''],
    ['state changes', String(carpd.transitions), String(ucarp.transitions), ''],
    ['adverts seen / longest gap', `${carpd.adverts} / ${gap(carpd)}`, `${ucarp.adverts} / ${gap(ucarp)}`, ''],
  ];
}

export function formatTable(rows: string[][], header = ['', 'carpd', 'ucarp', 'carpd/ucarp']): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((row) => (row[c] ?? '').length)));
  return all.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}

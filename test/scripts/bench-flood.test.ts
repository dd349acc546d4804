import { describe, expect, it } from 'vitest';
import { floodRows, formatTable, parseFloodOptions } from '../../scripts/bench/flood-report.js';
import { maxGap, type DaemonFloodFigures, type FloodBenchResult } from '../../scripts/bench/flood.js';

describe('bench:flood options', () => {
  it('defaults to 20,000 frames/s for 30 s; --quick to 5,000 for 10 s; explicit options win', () => {
    expect(parseFloodOptions([])).toMatchObject({ rate: 20_000, seconds: 30, settleSeconds: 5, quick: false });
    expect(parseFloodOptions(['--quick'])).toMatchObject({ rate: 5_000, seconds: 10 });
    expect(parseFloodOptions(['--quick', '--rate', '800'])).toMatchObject({ rate: 800, seconds: 10 });
  });

  it('refuses a bad value with one line naming the option, the range and the value', () => {
    expect(() => parseFloodOptions(['--rate', '0'])).toThrow('bench-flood: --rate must be an integer from 1 to 200000, got "0"');
    expect(() => parseFloodOptions(['--seconds', 'ten'])).toThrow('bench-flood: --seconds must be an integer from 1 to 600, got "ten"');
    expect(() => parseFloodOptions(['--burst'])).toThrow(/bench-flood: .*burst/);
  });
});

describe('bench:flood report', () => {
  const figures = (daemon: 'carpd' | 'ucarp', o: Partial<DaemonFloodFigures>): DaemonFloodFigures => ({
    daemon, pid: 1, cpuPercent: 10, cpuSource: 'schedstat', rssBeforeKb: 1024, rssPeakKb: 2048, rssAfterKb: 2048,
    logLines: 0, stopLines: 0, logBytes: 0, transitions: 0, adverts: 30, maxAdvertGapMs: 1004, counted: undefined, sample: [], ...o,
  });

  it('gives carpd/ucarp ratios, small ones as 1/N', () => {
    const result: FloodBenchResult = {
      plan: { rate: 20_000, seconds: 30, settleSeconds: 5 },
      sender: { sent: 600_000, errors: 0, seconds: 30, rate: 20_000, byKind: {} },
      windowMs: 30_000,
      daemons: [figures('carpd', { cpuPercent: 16, logLines: 7, counted: 590_000 }), figures('ucarp', { cpuPercent: 8, logLines: 329_413 })],
      problems: [],
    };
    const rows = floodRows(result);
    expect(rows.find((r) => r[0] === 'CPU, % of one core')).toEqual(['CPU, % of one core', '16.0', '8.0', '2.00']);
    expect(rows.find((r) => r[0] === 'log lines in the flood')).toEqual(['log lines in the flood', '7', '329413', '1/47059']);
    expect(rows.find((r) => r[0] === 'frames counted')?.[1]).toBe('590000');
    expect(formatTable(rows).split('\n')[0]).toMatch(/carpd\s+ucarp\s+carpd\/ucarp$/);
  });

  it('finds the longest gap between adverts', () => {
    expect(maxGap([0, 1000, 2300, 3200])).toBe(1300);
    expect(maxGap([5])).toBeUndefined();
  });
});

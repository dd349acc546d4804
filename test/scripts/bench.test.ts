// The benchmark's arithmetic and options are pure; its figures are only as good as these.
import { describe, expect, it } from 'vitest';
import { outageAfter } from '../../scripts/bench/failover.js';
import { parseBenchOptions, UsageError } from '../../scripts/bench/options.js';
import { ratio, sum, summarise } from '../../scripts/bench/stats.js';
import type { PingReport } from '../../scripts/lab/lab.js';

describe('summarise', () => {
  it.each([
    [[3, 1, 2], { n: 3, median: 2, min: 1, max: 3 }],
    [[4, 1, 3, 2], { n: 4, median: 2.5, min: 1, max: 4 }],
    [[5, undefined, Number.NaN, 1], { n: 2, median: 3, min: 1, max: 5 }],
    [[], { n: 0, median: undefined, min: undefined, max: undefined }],
  ] as const)('%j', (values, expected) => {
    expect(summarise(values)).toEqual(expected);
  });

  it('gives a ratio only when both figures exist and the divisor is not zero', () => {
    expect(ratio(27, 3100)).toBeCloseTo(0.0087, 4);
    expect(ratio(27, 0)).toBeUndefined();
    expect(ratio(undefined, 3)).toBeUndefined();
    expect(sum([1, undefined, 2])).toBe(3);
  });
});

function report(replyTimesMs: number[], stoppedMs: number): PingReport {
  return { replyTimesMs, stoppedMs } as PingReport;
}

describe('outageAfter', () => {
  it('is the longest gap between replies that ends after the fault', () => {
    // A 40 ms gap before the fault does not count; the 300 ms one after it does.
    const r = report([0, 5, 45, 50, 55, 355, 360], 400);
    expect(outageAfter(r, 52)).toEqual({ outageMs: 300, recovered: true });
  });

  it('counts a gap that spans the fault', () => {
    expect(outageAfter(report([0, 5, 105, 110], 200), 50)).toEqual({ outageMs: 100, recovered: true });
  });

  it('with no reply after the fault, lasts from the last reply until ping stopped, unrecovered', () => {
    expect(outageAfter(report([0, 5, 10], 2_010), 12)).toEqual({ outageMs: 2_000, recovered: false });
  });
});

describe('bench options', () => {
  it('has documented defaults and --quick', () => {
    expect(parseBenchOptions([])).toMatchObject({ rounds: 5, idleSeconds: 60, quietSeconds: 10, quick: false });
    expect(parseBenchOptions(['--quick'])).toMatchObject({ rounds: 2, idleSeconds: 15 });
    expect(parseBenchOptions(['--quick', '--rounds', '3'])).toMatchObject({ rounds: 3, idleSeconds: 15 });
  });

  it.each([
    [['--rounds', '0'], /--rounds must be an integer from 1 to 100, got "0"/],
    [['--rounds', '2.5'], /--rounds must be an integer/],
    [['--idle-seconds', 'x'], /--idle-seconds must be an integer/],
    [['--json', ''], /--json must name a file/],
    [['--bogus'], /bench: /],
  ])('rejects %j with one line', (argv, message) => {
    expect(() => parseBenchOptions(argv)).toThrow(UsageError);
    expect(() => parseBenchOptions(argv)).toThrow(message);
  });
});

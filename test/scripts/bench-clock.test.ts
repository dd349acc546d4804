// scripts/bench/clock.ts: a wall clock to the µs, from a millisecond clock and a fine monotonic one.
import { describe, expect, it } from 'vitest';
import { preciseWallClock } from '../../scripts/bench/clock.js';

describe('preciseWallClock', () => {
  it("sets the monotonic clock against the wall clock at the moment the wall clock's millisecond turns", () => {
    // A monotonic clock read in steps of 0.01 ms; the wall clock is it plus 1_000_000.637 ms,
    // seen only in whole ms, as Date.now() is.
    let t = 5;
    const monotonic = () => (t += 0.01);
    const wall = () => Math.floor(t + 1_000_000.637);
    const now = preciseWallClock(wall, monotonic);
    t = 40;
    // Exact to one step of the spin, not to Date.now()'s millisecond.
    expect(Math.abs(now() - (40.01 + 1_000_000.637))).toBeLessThan(0.011);
  });

  it('on the real clocks, agrees with Date.now() to its millisecond and never goes back', () => {
    const now = preciseWallClock();
    let last = now();
    for (let i = 0; i < 2000; i++) {
      const before = Date.now();
      const t = now();
      const after = Date.now();
      expect(t).toBeGreaterThanOrEqual(last);
      expect(t).toBeGreaterThanOrEqual(before - 0.05);
      expect(t).toBeLessThan(after + 1.05);
      last = t;
    }
  });
});

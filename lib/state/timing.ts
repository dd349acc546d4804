/**
 * CARP timing arithmetic, written once. Intervals are compared in exact integer units of
 * 1/256 s (the unit of advskew), so no float rounding can decide an election.
 */

/** Units of 1/256 s per second. */
export const SKEW_UNITS_PER_SECOND = 256;

export interface AdvertTiming {
  readonly advbase: number;
  readonly advskew: number;
}

/** advbase + advskew/256 s, in 1/256 s units: a smaller value is a stronger claim to MASTER. */
export function advertisementInterval256(t: AdvertTiming): number {
  return t.advbase * SKEW_UNITS_PER_SECOND + t.advskew;
}

/** Converts 1/256 s units to milliseconds: the one place that does. */
export function units256ToMs(units: number): number {
  return (units * 1000) / SKEW_UNITS_PER_SECOND;
}

/** The advertisement interval in milliseconds. */
export function advertisementIntervalMs(t: AdvertTiming): number {
  return units256ToMs(advertisementInterval256(t));
}

/**
 * How long a BACKUP waits without a valid advert before it declares the master dead, in
 * 1/256 s units.
 *
 * ucarp (and OpenBSD) use advbase × deadratio + advskew/256. That formula is kept for
 * advbase ≥ 1 so mixed carpd/ucarp groups agree on who times out first. With advbase 0 it
 * degenerates to advskew/256 — exactly one advert interval — so a backup would declare a
 * healthy ~100 ms master dead on the slightest jitter and flap. carpd therefore multiplies
 * the whole interval by deadratio when advbase is 0: the one deliberate difference from
 * ucarp's timing.
 */
export function masterDownInterval256(t: AdvertTiming, deadratio: number): number {
  if (t.advbase === 0) return t.advskew * deadratio;
  return t.advbase * deadratio * SKEW_UNITS_PER_SECOND + t.advskew;
}

export function masterDownIntervalMs(t: AdvertTiming, deadratio: number): number {
  return units256ToMs(masterDownInterval256(t, deadratio));
}

/** Formats milliseconds as seconds for log lines ("3.04 s"). */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

// Advert jitter (pure): how far apart consecutive adverts of one vhid really are, compared with
// the interval the master announces. The times come from tcpdump on the client (kernel receive
// timestamps), so the figure includes everything between the daemon's timer and the wire
// (scheduling, the event loop, the raw socket) and nothing of the benchmark's own event loop.
import type { CapturedPacket } from '../lab/lab.js';

/**
 * Nearest-rank percentile: the smallest value with at least p % of the values at or below it.
 * No interpolation, so the figure is always one that was measured.
 */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (!(p > 0 && p <= 100)) throw new Error(`percentile must be in (0, 100], received ${String(p)}`);
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return undefined;
  return xs[Math.ceil((p / 100) * xs.length) - 1];
}

/**
 * Advert times per vhid from one source address, ascending, within [fromMs, toMs). Bow-out
 * adverts (advbase 255, sent by a carpd that stops) are not part of the rhythm and are left out.
 */
export function advertTimesByVhid(
  packets: readonly CapturedPacket[],
  srcIp: string,
  fromMs = -Infinity,
  toMs = Infinity,
): Map<number, number[]> {
  const byVhid = new Map<number, number[]>();
  for (const p of packets) {
    if (p.kind !== 'carp' || p.carp === undefined || p.srcIp !== srcIp || p.carp.advbase === 255) continue;
    if (p.timeMs < fromMs || p.timeMs >= toMs) continue;
    const times = byVhid.get(p.carp.vhid) ?? [];
    times.push(p.timeMs);
    byVhid.set(p.carp.vhid, times);
  }
  for (const times of byVhid.values()) times.sort((a, b) => a - b);
  return byVhid;
}

/** |interval − nominal| for every pair of consecutive adverts of every vhid, in ms. */
export function intervalErrors(timesByVhid: ReadonlyMap<number, readonly number[]>, nominalMs: number): number[] {
  const errors: number[] = [];
  for (const times of timesByVhid.values()) {
    for (let i = 1; i < times.length; i++) errors.push(Math.abs(times[i]! - times[i - 1]! - nominalMs));
  }
  return errors;
}

export interface JitterSummary {
  /** vhids with at least one advert in the window. */
  vhids: number;
  /** Consecutive-advert intervals measured, over all vhids. */
  intervals: number;
  nominalMs: number;
  meanIntervalMs: number | undefined;
  p50Ms: number | undefined;
  p99Ms: number | undefined;
  maxMs: number | undefined;
  /**
   * Intervals longer than 1.5 × nominal: an advert missing (the daemon skipped one, or the
   * capture lost it). They stay in the percentiles, since a client cannot tell the two apart.
   */
  missedAdverts: number;
}

export function summariseJitter(timesByVhid: ReadonlyMap<number, readonly number[]>, nominalMs: number): JitterSummary {
  const errors = intervalErrors(timesByVhid, nominalMs);
  const intervals = [...timesByVhid.values()].flatMap((t) => t.slice(1).map((x, i) => x - t[i]!));
  const sum = intervals.reduce((a, b) => a + b, 0);
  return {
    vhids: [...timesByVhid.values()].filter((t) => t.length > 0).length,
    intervals: errors.length,
    nominalMs,
    meanIntervalMs: intervals.length > 0 ? sum / intervals.length : undefined,
    p50Ms: percentile(errors, 50),
    p99Ms: percentile(errors, 99),
    maxMs: errors.length > 0 ? Math.max(...errors) : undefined,
    missedAdverts: intervals.filter((d) => d > 1.5 * nominalMs).length,
  };
}

/** Per vhid, the last advert strictly before `t` (the moment of the link cut). */
export function lastAdvertBefore(timesByVhid: ReadonlyMap<number, readonly number[]>, t: number): Map<number, number> {
  const last = new Map<number, number>();
  for (const [vhid, times] of timesByVhid) {
    const before = times.filter((x) => x < t);
    if (before.length > 0) last.set(vhid, before[before.length - 1]!);
  }
  return last;
}

// Summary arithmetic for the benchmark (pure). Medians rather than means: one round that hits a
// scheduling hiccup on a two-core machine should not move the headline figure.

export interface Summary {
  /** Rounds that produced a value (a round that timed out contributes nothing). */
  n: number;
  median: number | undefined;
  min: number | undefined;
  max: number | undefined;
}

export function summarise(values: readonly (number | undefined)[]): Summary {
  const xs = values.filter((v): v is number => v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return { n: 0, median: undefined, min: undefined, max: undefined };
  const mid = Math.floor(xs.length / 2);
  const median = xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
  return { n: xs.length, median, min: xs[0], max: xs[xs.length - 1] };
}

/** carpd ÷ ucarp; undefined when either is missing or ucarp's figure is zero (no meaningful ratio). */
export function ratio(carpd: number | undefined, ucarp: number | undefined): number | undefined {
  if (carpd === undefined || ucarp === undefined || ucarp === 0) return undefined;
  return carpd / ucarp;
}

export function sum(values: readonly (number | undefined)[]): number {
  return values.reduce<number>((acc, v) => acc + (v ?? 0), 0);
}

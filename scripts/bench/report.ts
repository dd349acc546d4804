// Turning raw figures into the text the benchmark prints: one line per round as it finishes, and
// the summary table (medians, ranges, carpd/ucarp ratios, the targets and whether they were met).
// Nothing here measures or decides a figure; every number comes from the results passed in.
import type { Daemon } from './daemons.js';
import type { RoundResult, Scenario, ScenarioId } from './failover.js';
import type { FootprintResult } from './footprint.js';
import { ratio, summarise, sum, type Summary } from './stats.js';

export function ms(v: number | undefined): string {
  if (v === undefined) return '—';
  if (Math.abs(v) >= 10_000) return `${(v / 1000).toFixed(2)} s`;
  return Math.abs(v) >= 100 ? `${v.toFixed(0)} ms` : `${v.toFixed(1)} ms`;
}

export function roundLine(sc: Scenario, r: RoundResult, rounds: number): string {
  const start = r.readyMs.map((x) => ms(x.ms)).join('/');
  const parts = [
    `outage ${ms(r.outageMs)}${r.recovered ? '' : ' (not recovered)'}`,
    `GARP ${ms(r.garpMs)}`,
    `advert ${ms(r.advertMs)}`,
    `last advert → GARP ${ms(r.lastAdvertToGarpMs)} (fault ${ms(r.faultPhaseMs)} after it)`,
    ...(r.bowOutMs !== undefined ? [`bow-out ${ms(r.bowOutMs)}`] : []),
    `spurious ${r.spuriousBefore}+${r.spuriousAfter}`,
    `start ${start}`,
  ];
  const problems = r.problems.length > 0 ? `\n      ! ${r.problems.join('\n      ! ')}` : '';
  return `  (${sc.id}) ${r.daemon.padEnd(5)} round ${r.round}/${rounds}: ${parts.join(', ')}${problems}`;
}

export function footprintLine(f: FootprintResult): string {
  const sched = f.schedCpuMs !== undefined ? ` (schedstat ${ms(f.schedCpuMs)})` : '';
  const problems = f.problems.length > 0 ? `\n      ! ${f.problems.join('\n      ! ')}` : '';
  return (
    `  ${f.daemon.padEnd(5)} idle ${(f.idleMs / 1000).toFixed(1)} s: CPU ${ms(f.cpuMs)} = ${f.cpuTicks} ticks${sched}, ` +
    `children ${ms(f.childCpuMs)}, peak RSS ${kb(f.peakRssKb)}, RSS ${kb(f.rssKb)}, threads ${f.threads ?? '—'}, ` +
    `start → BACKUP line ${ms(f.readyMs)}, → first advert ${ms(f.firstAdvertMs)}${problems}`
  );
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function kb(v: number | undefined): string {
  return v === undefined ? '—' : `${(v / 1024).toFixed(1)} MiB`;
}

/** A row of the summary: one metric, both daemons, the ratio, and optionally a target verdict. */
export interface SummaryRow {
  section: string;
  metric: string;
  carpd: Summary;
  ucarp: Summary;
  /** How a Summary is printed: a time with its range, a count, a size. */
  unit: 'ms' | 'count' | 'kB';
  ratio: number | undefined;
  /** The daemon's pair never settled in some round (it flapped): its figures are not comparable. */
  unsettled?: { carpd: boolean; ucarp: boolean };
  target?: { text: string; met: boolean | undefined };
}

function cell(s: Summary, unit: SummaryRow['unit'], unsettled = false): string {
  if (s.n === 0 || s.median === undefined) return '—';
  if (unsettled) return `${cell(s, unit)} †`;
  if (unit === 'count') return String(s.median);
  if (unit === 'kB') return kb(s.median);
  const range = s.n > 1 ? ` [${ms(s.min)}–${ms(s.max)}]` : '';
  return `${ms(s.median)}${range}`;
}

function ratioText(r: number | undefined): string {
  if (r === undefined) return '—';
  return r >= 10 ? r.toFixed(0) : r >= 0.1 ? r.toFixed(2) : r.toFixed(3);
}

const byDaemon = <T extends { daemon: Daemon }>(xs: T[], d: Daemon): T[] => xs.filter((x) => x.daemon === d);

/** Every figure of the summary, computed from the raw results. */
export function summaryRows(scs: Scenario[], rounds: RoundResult[], footprints: FootprintResult[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const targets: Record<ScenarioId, (carpd: RoundResult[], ucarp: RoundResult[], outage: { c: Summary; u: Summary }) => SummaryRow['target']> = {
    a: (_c, _u, o) => ({
      text: 'median ≤ ucarp',
      met: o.c.median !== undefined && o.u.median !== undefined ? o.c.median <= o.u.median : undefined,
    }),
    b: (c, _u, o) => ({ text: 'every round < 100 ms', met: o.c.max !== undefined && o.c.n === c.length ? o.c.max < 100 : false }),
    c: (c, _u, o) => ({
      text: 'every round < 400 ms',
      met: o.c.max !== undefined && o.c.n === c.length ? o.c.max < 400 : false,
    }),
  };
  for (const sc of scs) {
    const c = byDaemon(rounds, 'carpd').filter((r) => r.scenario === sc.id);
    const u = byDaemon(rounds, 'ucarp').filter((r) => r.scenario === sc.id);
    if (c.length === 0 && u.length === 0) continue;
    const section = `(${sc.id}) ${sc.title}`;
    const unsettled = { carpd: c.some((r) => !r.settled), ucarp: u.some((r) => !r.settled) };
    const comparable = !unsettled.carpd && !unsettled.ucarp;
    const timeRow = (metric: string, pick: (r: RoundResult) => number | undefined): SummaryRow => {
      const cs = summarise(c.map(pick));
      const us = summarise(u.map(pick));
      // A ratio against a pair that was flapping when the fault came would compare nothing.
      return { section, metric, carpd: cs, ucarp: us, unit: 'ms', ratio: comparable ? ratio(cs.median, us.median) : undefined, unsettled };
    };
    const outage = timeRow('client outage (longest ping gap)', (r) => r.outageMs);
    outage.target = targets[sc.id](c, u, { c: outage.carpd, u: outage.ucarp });
    rows.push(outage);
    rows.push(timeRow('fault → GARP from new master', (r) => r.garpMs));
    rows.push(timeRow('fault → first advert from new master', (r) => r.advertMs));
    rows.push(timeRow("old master's last advert → GARP", (r) => r.lastAdvertToGarpMs));
    if ([...c, ...u].some((r) => r.bowOutMs !== undefined)) rows.push(timeRow("fault → old master's bow-out advert", (r) => r.bowOutMs));
    const spurious = (rs: RoundResult[]): Summary => {
      const total = sum(rs.map((r) => r.spuriousBefore + r.spuriousAfter));
      return { n: rs.length, median: total, min: total, max: total };
    };
    const sc_ = spurious(c);
    const su = spurious(u);
    rows.push({
      section,
      metric: `spurious MASTER transitions (total over ${plural(Math.max(c.length, u.length), 'round')})`,
      carpd: sc_,
      ucarp: su,
      unit: 'count',
      ratio: undefined,
      unsettled,
      ...(sc.id === 'c' ? { target: { text: 'zero', met: c.length > 0 ? sc_.median === 0 : undefined } } : {}),
    });
    const failed = (rs: RoundResult[]): Summary => {
      const n = rs.filter((r) => r.problems.length > 0).length;
      return { n: rs.length, median: n, min: n, max: n };
    };
    rows.push({ section, metric: 'rounds with a problem (see above)', carpd: failed(c), ucarp: failed(u), unit: 'count', ratio: undefined });
  }

  if (footprints.length > 0) {
    const idle = footprints[0] ? Math.round(footprints[0].idleMs / 1000) : 0;
    const section = `idle MASTER, advbase 1, over ${idle} s`;
    const row = (metric: string, unit: SummaryRow['unit'], pick: (f: FootprintResult) => number | undefined): SummaryRow => {
      const cs = summarise(byDaemon(footprints, 'carpd').map(pick));
      const us = summarise(byDaemon(footprints, 'ucarp').map(pick));
      return { section, metric, carpd: cs, ucarp: us, unit, ratio: ratio(cs.median, us.median) };
    };
    rows.push(row('CPU time, utime+stime (/proc stat)', 'ms', (f) => f.cpuMs));
    rows.push(row('CPU time, all threads (schedstat)', 'ms', (f) => f.schedCpuMs));
    rows.push(row('CPU of children (scripts, ip, arping)', 'ms', (f) => f.childCpuMs));
    rows.push(row('CPU from start to end of window', 'ms', (f) => f.cpuSinceStartMs));
    rows.push(row('peak RSS (VmHWM)', 'kB', (f) => f.peakRssKb));
    rows.push(row('start → first advert on the wire', 'ms', (f) => f.firstAdvertMs));
  }
  // Start-up cost: every daemon started in every round (and the footprint run) is one sample.
  const starts = (d: Daemon): (number | undefined)[] => [
    ...byDaemon(rounds, d).flatMap((r) => r.readyMs.map((x) => x.ms)),
    ...byDaemon(footprints, d).map((f) => f.readyMs),
  ];
  const cs = summarise(starts('carpd'));
  const us = summarise(starts('ucarp'));
  if (cs.n + us.n > 0) {
    rows.push({
      section: 'start-up',
      metric: `start → BACKUP log line (${cs.n}/${us.n} starts)`,
      carpd: cs,
      ucarp: us,
      unit: 'ms',
      ratio: ratio(cs.median, us.median),
    });
  }
  return rows;
}

export function formatTable(rows: SummaryRow[]): string {
  const header = ['metric', 'carpd', 'ucarp', 'carpd/ucarp', 'target'];
  const body: string[][] = [];
  const sections: number[] = [];
  let last = '';
  for (const r of rows) {
    if (r.section !== last) {
      sections.push(body.length);
      body.push([r.section, '', '', '', '']);
      last = r.section;
    }
    const verdict = r.target ? `${r.target.text}: ${r.target.met === undefined ? 'n/a' : r.target.met ? 'met' : 'NOT met'}` : '';
    body.push([
      `  ${r.metric}`,
      cell(r.carpd, r.unit, r.unsettled?.carpd),
      cell(r.ucarp, r.unit, r.unsettled?.ucarp),
      ratioText(r.ratio),
      verdict,
    ]);
  }
  const widths = header.map((h, k) => Math.max(h.length, ...body.filter((_, i) => !sections.includes(i)).map((b) => b[k]!.length)));
  const line = (cols: string[]) => cols.map((c, k) => c.padEnd(widths[k]!)).join('  ').trimEnd();
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  ')];
  body.forEach((b, i) => out.push(sections.includes(i) ? b[0]! : line(b)));
  return out.join('\n');
}

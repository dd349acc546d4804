// The text of `npm run bench:vhosts` (pure): one line per run as it finishes, then the table
// scenario | N | carpd | ucarp | carpd/ucarp | target. Every number comes from the results passed in.
import type { Daemon } from './daemons.js';
import type { MultiRunResult } from './multi.js';
import {
  TARGET_CPU_MS_PER_MINUTE,
  TARGET_JITTER_P99_MS,
  TARGET_RSS_KB,
  TARGET_VHOSTS,
  failoverTargetMs,
  perMinute,
} from './multi-plan.js';
import { ms } from './report.js';
import { ratio } from './stats.js';

export type Unit = 'kB' | 'ms' | 'cpu' | 'count';

export function formatValue(v: number | undefined, unit: Unit): string {
  if (v === undefined) return '—';
  if (unit === 'count') return String(v);
  if (unit === 'kB') return `${(v / 1024).toFixed(1)} MiB`;
  // 600 ms of CPU per minute is 1 % of one core.
  if (unit === 'cpu') return `${v.toFixed(0)} ms/min (${((v / 60_000) * 100).toFixed(2)} %)`;
  return ms(v);
}

export function ratioText(r: number | undefined): string {
  if (r === undefined) return '—';
  return r >= 10 ? r.toFixed(0) : r >= 0.1 ? r.toFixed(2) : r.toFixed(3);
}

export interface VhostsRow {
  scenario: string;
  vhosts: number;
  unit: Unit;
  carpd: number | undefined;
  ucarp: number | undefined;
  /** A run that could not be measured, or had problems: shown next to its figure. */
  flags: Record<Daemon, '' | 'error' | 'problem'>;
  ratio: number | undefined;
  target: { text: string; met: boolean | undefined } | undefined;
}

interface Scenario {
  title: string;
  unit: Unit;
  pick: (r: MultiRunResult) => number | undefined;
  /** The target for carpd at this vhost count, if there is one. */
  target?: (vhosts: number) => { text: string; meets: (carpd: number) => boolean } | undefined;
}

const { masterDownMs, targetMs } = failoverTargetMs();

export const SCENARIOS: readonly Scenario[] = [
  {
    title: 'RSS of the master node (sum over processes)',
    unit: 'kB',
    pick: (r) => r.idle?.end.rssKb,
    target: (n) => (n === TARGET_VHOSTS ? { text: `< ${TARGET_RSS_KB / 1024} MiB`, meets: (v) => v < TARGET_RSS_KB } : undefined),
  },
  {
    title: 'CPU per idle minute (utime+stime)',
    unit: 'cpu',
    pick: (r) => r.idle?.cpuMsPerMinute,
    target: (n) =>
      n === TARGET_VHOSTS ? { text: `< 1 % of a core (${TARGET_CPU_MS_PER_MINUTE} ms/min)`, meets: (v) => v < TARGET_CPU_MS_PER_MINUTE } : undefined,
  },
  {
    // Ticks are 10 ms: an idle ucarp often spends none in a window, and a ratio against 0 is no ratio.
    title: 'CPU per idle minute (schedstat, ns)',
    unit: 'cpu',
    pick: (r) => (r.idle?.schedCpuMs !== undefined ? perMinute(r.idle.schedCpuMs, r.idle.windowMs) : undefined),
  },
  {
    title: 'advert jitter p99 (all vhids)',
    unit: 'ms',
    pick: (r) => r.jitter?.p99Ms,
    target: () => ({ text: `< ${TARGET_JITTER_P99_MS} ms`, meets: (v) => v < TARGET_JITTER_P99_MS }),
  },
  {
    title: 'link cut → all N VIPs on the backup',
    unit: 'ms',
    pick: (r) => r.failover?.allMovedMs,
    // "Within": at most, so exactly master-down + 200 ms still meets it.
    target: () => ({ text: `≤ master-down ${ms(masterDownMs)} + 200 ms = ${ms(targetMs)}`, meets: (v) => v <= targetMs }),
  },
  {
    title: "worst vhid: its last advert → its VIP on the backup",
    unit: 'ms',
    pick: (r) => r.failover?.worstLastAdvertToVipMs,
  },
  {
    title: 'spurious MASTER transitions before the cut (both hosts)',
    unit: 'count',
    pick: (r) => (r.idle ? r.spuriousMaster.reduce((n, x) => n + x.transitions, 0) : undefined),
    target: () => ({ text: 'zero', meets: (v) => v === 0 }),
  },
  {
    title: 'start → all N VIPs on the master',
    unit: 'ms',
    pick: (r) => r.startMs,
  },
];

function flag(r: MultiRunResult | undefined): '' | 'error' | 'problem' {
  if (!r) return '';
  return r.error !== undefined ? 'error' : r.problems.length > 0 ? 'problem' : '';
}

export function vhostsRows(results: readonly MultiRunResult[], vhostCounts: readonly number[]): VhostsRow[] {
  const rows: VhostsRow[] = [];
  for (const sc of SCENARIOS) {
    for (const n of vhostCounts) {
      const c = results.find((r) => r.daemon === 'carpd' && r.vhosts === n);
      const u = results.find((r) => r.daemon === 'ucarp' && r.vhosts === n);
      const carpd = c ? sc.pick(c) : undefined;
      const ucarp = u ? sc.pick(u) : undefined;
      const t = sc.target?.(n);
      rows.push({
        scenario: sc.title,
        vhosts: n,
        unit: sc.unit,
        carpd,
        ucarp,
        flags: { carpd: flag(c), ucarp: flag(u) },
        ratio: sc.unit === 'count' ? undefined : ratio(carpd, ucarp),
        target: t ? { text: t.text, met: carpd === undefined ? undefined : t.meets(carpd) } : undefined,
      });
    }
  }
  return rows;
}

function cell(v: number | undefined, unit: Unit, f: '' | 'error' | 'problem'): string {
  if (f === 'error') return 'ERROR';
  return `${formatValue(v, unit)}${f === 'problem' && v !== undefined ? ' !' : ''}`;
}

export function formatVhostsTable(rows: readonly VhostsRow[]): string {
  const header = ['scenario', 'N', 'carpd', 'ucarp', 'carpd/ucarp', 'target (carpd)'];
  const body = rows.map((r, k) => [
    k > 0 && rows[k - 1]!.scenario === r.scenario ? '' : r.scenario,
    String(r.vhosts),
    cell(r.carpd, r.unit, r.flags.carpd),
    cell(r.ucarp, r.unit, r.flags.ucarp),
    ratioText(r.ratio),
    r.target ? `${r.target.text}: ${r.target.met === undefined ? 'n/a' : r.target.met ? 'met' : 'NOT met'}` : '',
  ]);
  const widths = header.map((h, k) => Math.max(h.length, ...body.map((b) => b[k]!.length)));
  const line = (cols: string[]) => cols.map((c, k) => (k === 1 ? c.padStart(widths[k]!) : c.padEnd(widths[k]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The same table in the README's Markdown form. */
export function markdownTable(rows: readonly VhostsRow[]): string {
  const out = ['| scenario | N | carpd | ucarp | carpd/ucarp | target |', '|---|---|---|---|---|---|'];
  for (const r of rows) {
    const verdict = r.target ? `${r.target.text}: ${r.target.met === undefined ? 'n/a' : r.target.met ? 'met' : 'NOT met'}` : '';
    out.push(`| ${r.scenario} | ${r.vhosts} | ${cell(r.carpd, r.unit, r.flags.carpd)} | ${cell(r.ucarp, r.unit, r.flags.ucarp)} | ${ratioText(r.ratio)} | ${verdict} |`);
  }
  return out.join('\n');
}

/** One line per run, printed as it finishes. */
export function runLine(r: MultiRunResult): string {
  const head = `  ${r.daemon.padEnd(5)} N=${String(r.vhosts).padEnd(3)}`;
  if (r.error !== undefined) return `${head}: ERROR ${r.error}${problemLines(r)}`;
  const i = r.idle;
  const procs = i ? Object.entries(i.end.commands).map(([comm, n]) => `${comm} ×${n}`).join(', ') : '—';
  const j = r.jitter;
  const f = r.failover;
  const parts = [
    i ? `idle ${(i.windowMs / 1000).toFixed(1)} s: CPU ${ms(i.cpuMs)} = ${i.cpuTicks} ticks (${formatValue(i.cpuMsPerMinute, 'cpu')}; schedstat ${ms(i.schedCpuMs)})` : 'idle —',
    i ? `RSS ${formatValue(i.end.rssKb, 'kB')} (PSS ${formatValue(i.end.pssKb, 'kB')}) over ${procs}` : '',
    j ? `jitter p50 ${ms(j.p50Ms)} p99 ${ms(j.p99Ms)} max ${ms(j.maxMs)} over ${j.intervals} intervals of ${j.vhids} vhids (mean interval ${ms(j.meanIntervalMs)}, ${j.missedAdverts} missed)` : '',
    f ? `cut → all ${f.moved}/${r.vhosts} VIPs on host 2 ${ms(f.allMovedMs)} (worst last advert → VIP ${ms(f.worstLastAdvertToVipMs)}; cut command ${ms(f.faultCommandMs)})` : '',
    `start → VIPs on host 1 ${ms(r.startMs)}`,
  ].filter(Boolean);
  return `${head}: ${parts.join('\n             ')}${problemLines(r)}`;
}

function problemLines(r: MultiRunResult): string {
  return r.problems.length > 0 ? `\n      ! ${r.problems.join('\n      ! ')}` : '';
}

// Turning VRRP rounds into text (pure): one line per round as it finishes, and the summary with
// each row's median and max per pair, the carpd/keepalived ratio and the target of issue 9
// (carpd's pair at most keepalived's figure in every row). Every number comes from the rounds
// passed in.
import { ms } from './report.js';
import { ratio, summarise, type Summary } from './stats.js';
import type { VrrpFigures } from './vrrp-figures.js';
import { pairOf, protocolWaitMs, ROWS, type PairId, type RowId } from './vrrp-plan.js';
import type { VrrpRoundResult } from './vrrp-round.js';

export function vrrpRoundLine(r: VrrpRoundResult, rounds: number): string {
  const f = r.figures;
  const row = ROWS[r.row];
  const parts = [
    `VIP on host 2 ${ms(f.vipOnBackupMs)}`,
    `pings back ${ms(f.pingsBackMs)}`,
    `outage ${ms(f.outageMs)}${f.pingRecovered ? '' : ' (not recovered)'}`,
    row.fault === 'clean-stop'
      ? `prio 0 at ${ms(f.resignMs)} → VIP +${ms(f.resignToVipMs)}`
      : `last advert → VIP ${ms(f.lastAdvertToVipMs)}`,
    `beyond protocol ${ms(f.beyondProtocolMs)} (timer ${ms(f.advertLatenessMs)}, advert → VIP ${ms(f.advertToVipMs)})`,
    `VIP → GARP ${ms(f.vipToGarpMs)}`,
    `ip monitor +${ms(f.monitorLagMs)}`,
    `fault ${ms(f.faultPhaseMs)} after an advert`,
  ];
  const problems = r.problems.length > 0 ? `\n      ! ${r.problems.join('\n      ! ')}` : '';
  return `  ${pairOf(r.pair).label.padEnd(22)} round ${r.round}/${rounds}: ${parts.join(', ')}${problems}`;
}

export interface VrrpSummaryRow {
  section: RowId;
  metric: string;
  unit: 'ms' | 'count';
  cells: Partial<Record<PairId, Summary>>;
  /** carpd pair ÷ keepalived pair, medians. */
  ratio: number | undefined;
  /** `level`: above keepalived's by no more than the figure's resolution (the pings'). */
  target?: { text: string; met: boolean | undefined; level?: true };
}

type Pick = (f: VrrpFigures) => number | undefined;

/**
 * How finely the client's figures are known: while replies are missing iputils ping probes
 * about every 10 ms (note [2] of the run), so two medians closer than this are level.
 */
export const PING_RESOLUTION_MS = 10;

/**
 * The target: the carpd pair's median at most the keepalived pair's. A carpd round without the
 * figure (the VIP never moved, the pings never came back) fails it; a run without both pairs
 * cannot judge it. A figure measured only to `resolutionMs` (the pings') that is above
 * keepalived's by no more than that is `level`: neither met nor missed as far as the
 * measurement can tell, and said so.
 */
export function judgeTarget(
  carpd: readonly (number | undefined)[],
  keepalived: readonly (number | undefined)[],
  resolutionMs = 0,
): { met: boolean | undefined; marginMs: number | undefined; level?: true } {
  const c = summarise(carpd);
  const k = summarise(keepalived);
  if (carpd.length === 0 || k.median === undefined) return { met: undefined, marginMs: undefined };
  if (c.n < carpd.length || c.median === undefined) return { met: false, marginMs: undefined };
  const marginMs = c.median - k.median;
  if (marginMs <= 0) return { met: true, marginMs };
  if (marginMs <= resolutionMs) return { met: true, marginMs, level: true };
  return { met: false, marginMs };
}

/**
 * The row's headline figures: when the VIP reached the backup, and the client's. For a clean
 * stop the VIP is timed from the SIGTERM (the master's bow-out is part of the figure). For a
 * link cut it is timed from the master's last advert, the instant the backup's master-down
 * timer runs from: the fault itself falls 0-3 ms after that advert, as fast as the bench reacts
 * to its capture, and `ip link set down` takes 6-8 ms to return, so "fault → VIP" there carries
 * the bench's jitter, not the daemons' (it is still shown, without a target).
 */
export function headlineMetrics(row: RowId): { metric: string; pick: Pick; resolutionMs: number }[] {
  if (ROWS[row].fault === 'clean-stop') {
    return [
      { metric: 'fault → VIP on the backup', pick: (f) => f.vipOnBackupMs, resolutionMs: 0 },
      { metric: 'client outage (longest ping gap)', pick: (f) => f.outageMs, resolutionMs: PING_RESOLUTION_MS },
    ];
  }
  return [
    { metric: `master's last advert → VIP on the backup (master-down ${ms(protocolWaitMs(ROWS[row]))})`, pick: (f) => f.lastAdvertToVipMs, resolutionMs: 0 },
    { metric: 'fault → backup answers pings', pick: (f) => f.pingsBackMs, resolutionMs: PING_RESOLUTION_MS },
  ];
}

export function vrrpRows(rowIds: readonly RowId[], pairs: readonly PairId[], rounds: readonly VrrpRoundResult[]): VrrpSummaryRow[] {
  const out: VrrpSummaryRow[] = [];
  for (const section of rowIds) {
    const of = (p: PairId) => rounds.filter((r) => r.row === section && r.pair === p);
    if (pairs.every((p) => of(p).length === 0)) continue;
    // A ratio only where both figures are the size of the failover itself: of two sub-millisecond
    // parts it would say nothing.
    const timeRow = (metric: string, pick: Pick, withRatio = true): VrrpSummaryRow => {
      const cells: VrrpSummaryRow['cells'] = {};
      for (const p of pairs) cells[p] = summarise(of(p).map((r) => pick(r.figures)));
      return { section, metric, unit: 'ms', cells, ratio: withRatio ? ratio(cells.cc?.median, cells.kk?.median) : undefined };
    };
    for (const h of headlineMetrics(section)) {
      const r = timeRow(h.metric, h.pick);
      if (pairs.includes('cc') && pairs.includes('kk')) {
        const v = judgeTarget(of('cc').map((x) => h.pick(x.figures)), of('kk').map((x) => h.pick(x.figures)), h.resolutionMs);
        const margin = v.marginMs === undefined ? '' : ` (${v.marginMs > 0 ? '+' : ''}${ms(v.marginMs)})`;
        const verdict = v.met === undefined ? 'n/a' : v.level ? `level within the pings' ${h.resolutionMs} ms` : v.met ? 'met' : 'NOT met';
        r.target = { text: `carpd ≤ keepalived: ${verdict}${margin}`, met: v.met, ...(v.level ? { level: true as const } : {}) };
      }
      out.push(r);
    }
    const fault = ROWS[section].fault;
    if (fault === 'link-cut') {
      out.push(timeRow('client outage (longest ping gap)', (f) => f.outageMs));
      out.push(timeRow("fault → VIP on the backup (the bench's reaction and ip link's time included)", (f) => f.vipOnBackupMs));
    } else {
      out.push(timeRow('fault → backup answers pings', (f) => f.pingsBackMs));
      out.push(timeRow(`priority-0 advert → VIP on the backup (skew ${ms(protocolWaitMs(ROWS[section]))})`, (f) => f.resignToVipMs));
    }
    out.push(timeRow("  beyond the protocol's wait: the backup's own", (f) => f.beyondProtocolMs, false));
    out.push(timeRow("    its timer and receive latency (→ its first advert)", (f) => f.advertLatenessMs, false));
    out.push(timeRow('    its first advert → VIP on it (address add)', (f) => f.advertToVipMs, false));
    out.push(timeRow('VIP on the backup → its GARP at the client', (f) => f.vipToGarpMs, false));
    out.push(timeRow("VIP on the backup → ip monitor's report of it", (f) => f.monitorLagMs, false));
    out.push(timeRow("fault → the backup's first advert", (f) => f.backupAdvertMs));
    if (fault === 'clean-stop') {
      out.push(timeRow('SIGTERM → priority-0 advert at the client', (f) => f.resignMs, false));
      out.push(timeRow('SIGTERM → VIP gone from the master', (f) => f.vipOffMasterMs, false));
    }
    out.push(timeRow("fault after the master's advert (phase)", (f) => f.faultPhaseMs, false));
    const count = (metric: string, n: (rs: VrrpRoundResult[]) => number): VrrpSummaryRow => {
      const cells: VrrpSummaryRow['cells'] = {};
      for (const p of pairs) {
        const v = n(of(p));
        cells[p] = { n: of(p).length, median: v, min: v, max: v };
      }
      return { section, metric, unit: 'count', cells, ratio: undefined };
    };
    out.push(count('spurious MASTER transitions (all rounds)', (rs) => rs.reduce((s, r) => s + r.spurious, 0)));
    out.push(count('rounds with a problem (see above)', (rs) => rs.filter((r) => r.problems.length > 0).length));
  }
  return out;
}

function cell(s: Summary | undefined, unit: VrrpSummaryRow['unit']): string {
  if (!s || s.n === 0 || s.median === undefined) return '—';
  if (unit === 'count') return String(s.median);
  return s.n > 1 ? `${ms(s.median)} / ${ms(s.max)}` : ms(s.median);
}

function ratioText(r: number | undefined): string {
  return r === undefined ? '—' : r.toFixed(r >= 10 ? 0 : 3);
}

/** The summary as a text table: a heading per row, then one line per metric. */
export function formatVrrpTable(pairs: readonly PairId[], rows: readonly VrrpSummaryRow[]): string {
  const header = ['metric (median / max)', ...pairs.map((p) => pairOf(p).label), 'carpd/keepalived', 'target'];
  const lines: (string[] | string)[] = [];
  let last: RowId | undefined;
  for (const r of rows) {
    if (r.section !== last) {
      lines.push(ROWS[r.section].title);
      last = r.section;
    }
    lines.push([`  ${r.metric}`, ...pairs.map((p) => cell(r.cells[p], r.unit)), ratioText(r.ratio), r.target?.text ?? '']);
  }
  const cols = lines.filter((l): l is string[] => Array.isArray(l));
  const widths = header.map((h, k) => Math.max(h.length, ...cols.map((c) => c[k]!.length)));
  const line = (c: string[]) => c.map((x, k) => x.padEnd(widths[k]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map((l) => (Array.isArray(l) ? line(l) : l))].join('\n');
}

/** One line: did carpd meet the target in every headline figure of every row? */
export function targetVerdict(rows: readonly VrrpSummaryRow[]): string {
  const judged = rows.filter((r) => r.target !== undefined);
  if (judged.length === 0) return 'target (carpd ≤ keepalived in every row): not judged (the run needs both the kk and the cc pair)';
  const missed = judged.filter((r) => r.target!.met !== true);
  const level = judged.filter((r) => r.target!.level === true).length;
  const levelText = level > 0 ? ` (${level} of them level within the pings' resolution, not below)` : '';
  if (missed.length === 0) return `target (carpd ≤ keepalived in every row): met in all ${judged.length} headline figures${levelText}`;
  return `target (carpd ≤ keepalived in every row): NOT met in ${missed.length} of ${judged.length}: ` +
    missed.map((r) => `${r.section} ${r.metric.trim()} ${r.target!.text.replace(/^carpd ≤ keepalived: /, '')}`).join('; ');
}

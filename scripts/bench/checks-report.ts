// Turning checks rounds into text (pure): one line per round as it finishes, and the summary
// table with medians, ranges, carpd/keepalived ratios and the targets. Every number comes from
// the rounds passed in.
import type { ChecksRoundResult } from './checks.js';
import { detectionWindowMs, targetMs, VARIANTS, type VariantId } from './checks-plan.js';
import { ms } from './report.js';
import { ratio, summarise, type Summary } from './stats.js';

export function checksRoundLine(r: ChecksRoundResult, rounds: number): string {
  const f = r.figures;
  const label = VARIANTS[r.variant].label;
  const parts = [
    `VIP on host 2 ${ms(f.vipOnBackupMs)}`,
    `first answer from host 2 ${ms(f.firstBackupResponseMs)} (sent at ${ms(f.firstBackupRequestSentMs)})`,
    `resignation ${ms(f.resignMs)} → VIP ${f.resignToVipMs !== undefined ? `+${ms(f.resignToVipMs)}` : '—'}`,
    `VIP off host 1 ${ms(f.vipOffMasterMs)}`,
    `GARP ${ms(f.garpMs)}`,
    `ping outage ${ms(r.pingOutageMs)}${r.pingRecovered ? '' : ' (not recovered)'}`,
    `${f.failedRequests} failed requests`,
    `last check → kill ${ms(r.sinceLastCheckMs)}`,
    `settled after ${ms(r.settleMs)}`,
  ];
  const problems = r.problems.length > 0 ? `\n      ! ${r.problems.join('\n      ! ')}` : '';
  return `  ${label.padEnd(14)} round ${r.round}/${rounds}: ${parts.join(', ')}${problems}`;
}

export interface ChecksRow {
  metric: string;
  unit: 'ms' | 'count';
  cells: Partial<Record<VariantId, Summary>>;
  /** carpd variant ÷ keepalived, for each carpd variant in the run. */
  ratios: { variant: VariantId; value: number | undefined }[];
  target?: { text: string; met: boolean | undefined };
}

type Pick = (r: ChecksRoundResult) => number | undefined;

/**
 * What the implementation adds to the detection window: from the last check that passed (the
 * fault came sinceLastCheckMs after it) to the VIP on host 2, minus fall × interval.
 */
export const beyondWindow: Pick = (r) =>
  r.figures.vipOnBackupMs === undefined ? undefined : r.figures.vipOnBackupMs + r.sinceLastCheckMs - detectionWindowMs(VARIANTS[r.variant]);

const CARPD_VARIANTS: readonly VariantId[] = ['carpd', 'carpd-1s'];

/**
 * The target of issue 8 for carpd (0.5 s): every round within fall × interval + 100 ms, and the
 * median below keepalived's in the same run. undefined when the run has no figure to judge.
 */
export function judgeTarget(carpd: readonly (number | undefined)[], keepalivedMedian: number | undefined, limitMs: number): { within: boolean | undefined; faster: boolean | undefined } {
  const s = summarise(carpd);
  // A round without a figure (the VIP never moved) fails the target; no rounds at all cannot judge it.
  const complete = s.n > 0 && s.n === carpd.length;
  return {
    within: carpd.length === 0 ? undefined : complete ? s.max! <= limitMs : false,
    faster: s.median === undefined || keepalivedMedian === undefined ? undefined : s.median < keepalivedMedian,
  };
}

export function checksRows(variants: readonly VariantId[], rounds: readonly ChecksRoundResult[]): ChecksRow[] {
  const of = (v: VariantId) => rounds.filter((r) => r.variant === v);
  const row = (metric: string, pick: Pick, unit: ChecksRow['unit'] = 'ms'): ChecksRow => {
    const cells: ChecksRow['cells'] = {};
    for (const v of variants) cells[v] = summarise(of(v).map(pick));
    const keepalived = cells.keepalived?.median;
    const ratios = ratioVariants(variants).map((v) => ({ variant: v, value: unit === 'ms' ? ratio(cells[v]?.median, keepalived) : undefined }));
    return { metric, unit, cells, ratios };
  };
  const withTarget = (r: ChecksRow, pick: Pick): ChecksRow => {
    if (!variants.includes('carpd')) return r;
    const limit = targetMs(VARIANTS.carpd);
    const verdict = judgeTarget(of('carpd').map(pick), r.cells.keepalived?.median, limit);
    const parts = [`carpd every round ≤ ${ms(limit)}: ${verdictText(verdict.within)}`];
    if (variants.includes('keepalived')) parts.push(`median < keepalived: ${verdictText(verdict.faster)}`);
    const met = verdict.within === undefined ? undefined : verdict.within && verdict.faster !== false;
    return { ...r, target: { text: parts.join('; '), met } };
  };
  const count = (metric: string, pick: (rs: ChecksRoundResult[]) => number): ChecksRow => {
    const cells: ChecksRow['cells'] = {};
    for (const v of variants) {
      const n = pick(of(v));
      cells[v] = { n: of(v).length, median: n, min: n, max: n };
    }
    return { metric, unit: 'count', cells, ratios: [] };
  };
  const a: Pick = (r) => r.figures.vipOnBackupMs;
  const b: Pick = (r) => r.figures.firstBackupResponseMs;
  return [
    {
      metric: 'fall × check interval (configured)',
      unit: 'ms',
      cells: Object.fromEntries(variants.map((v) => [v, { n: 1, median: detectionWindowMs(VARIANTS[v]), min: undefined, max: undefined }])),
      ratios: [],
    },
    withTarget(row('(a) service killed → VIP on host 2', a), a),
    withTarget(row('(b) service killed → first HTTP answer from host 2', b), b),
    row('service killed → resignation on the wire', (r) => r.figures.resignMs),
    row('resignation → VIP on host 2', (r) => r.figures.resignToVipMs),
    row('last good check → VIP on host 2, beyond fall × interval', beyondWindow),
    row('service killed → VIP gone from host 1', (r) => r.figures.vipOffMasterMs),
    row('service killed → GARP from host 2', (r) => r.figures.garpMs),
    row('ping outage (longest gap, 5 ms pings)', (r) => r.pingOutageMs),
    row('failed HTTP requests before host 2 answered', (r) => r.figures.failedRequests, 'count'),
    count('rounds with a problem (see above)', (rs) => rs.filter((r) => r.problems.length > 0).length),
  ];
}

function verdictText(met: boolean | undefined): string {
  return met === undefined ? 'n/a' : met ? 'met' : 'NOT met';
}

function cell(s: Summary | undefined, unit: ChecksRow['unit']): string {
  if (!s || s.n === 0 || s.median === undefined) return '—';
  if (unit === 'count') return s.min === s.max || s.min === undefined ? String(s.median) : `${s.median} [${s.min}–${s.max}]`;
  const range = s.n > 1 && s.min !== undefined && s.max !== undefined ? ` [${ms(s.min)}–${ms(s.max)}]` : '';
  return `${ms(s.median)}${range}`;
}

function ratioText(r: number | undefined): string {
  if (r === undefined) return '—';
  return r >= 10 ? r.toFixed(0) : r >= 0.1 ? r.toFixed(2) : r.toFixed(3);
}

/** The carpd variants that get a ratio column: those in the run, when keepalived is too. */
function ratioVariants(variants: readonly VariantId[]): VariantId[] {
  return variants.includes('keepalived') ? variants.filter((v) => CARPD_VARIANTS.includes(v)) : [];
}

function columns(variants: readonly VariantId[], rows: readonly ChecksRow[]): { header: string[]; body: string[][] } {
  const ratioColumns = ratioVariants(variants);
  const header = [
    'metric (median [min–max])',
    ...variants.map((v) => VARIANTS[v].label),
    ...ratioColumns.map((v) => `${VARIANTS[v].label}/keepalived`),
    'target',
  ];
  const body = rows.map((r) => [
    r.metric,
    ...variants.map((v) => cell(r.cells[v], r.unit)),
    ...ratioColumns.map((v) => ratioText(r.ratios.find((x) => x.variant === v)?.value)),
    r.target ? r.target.text : '',
  ]);
  return { header, body };
}

export function formatChecksTable(variants: readonly VariantId[], rows: readonly ChecksRow[]): string {
  const { header, body } = columns(variants, rows);
  const widths = header.map((h, k) => Math.max(h.length, ...body.map((b) => b[k]!.length)));
  const line = (cols: string[]) => cols.map((c, k) => c.padEnd(widths[k]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function checksMarkdown(variants: readonly VariantId[], rows: readonly ChecksRow[]): string {
  const { header, body } = columns(variants, rows);
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...body.map((b) => `| ${b.join(' | ')} |`)].join('\n');
}

// `npm run bench:vrrp`: VRRP failover, carpd against Debian's keepalived 2.2.x, side by side in
// one run, in a namespace lab (two hosts, a client and a bridge, addresses from 198.18.0.0/15
// only; see scripts/lab/lab.ts).
//
// Host 1 runs priority 100 (the master), host 2 priority 80, both in one VRRP group; the pairs
// are keepalived → keepalived and carpd → carpd (and, with --pairs, the mixed ones). Rows: the
// master stopped with SIGTERM (clean stop) or its link cut at the bridge (carrier loss), at
// advert_int 1 (VRRPv2 with PASS) and at 0.1 s (VRRPv3). Every round starts a fresh pair; the
// pairs alternate within a row (bench/vrrp-plan.ts says in which order). The run prints each
// round, then medians and maxima per row, the carpd/keepalived ratio and the target of issue 9:
// carpd at most keepalived's figure in every row. It ends by itself: every wait has a deadline,
// and the lab is destroyed in `finally` (and on exit or a signal by the lab's own handlers).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab } from './lab/lab.js';
import { cpuText, finishedLine, runBench, shellQuote, startBench, stdoutUntilClosed, writeJsonReport } from './bench/cli.js';
import { versions } from './bench/daemons.js';
import { findExecutable, keepalivedVersion } from './bench/keepalived.js';
import { ms } from './bench/report.js';
import { parseVrrpOptions, VRRP_USAGE } from './bench/vrrp-options.js';
import { carpdArgs, estimateRunS, keepalivedConfig, pairOf, protocolWaitMs, PRIORITY, roundPlan, ROWS, type PairId, type RowId } from './bench/vrrp-plan.js';
import { formatVrrpTable, targetVerdict, vrrpRoundLine, vrrpRows } from './bench/vrrp-report.js';
import { runVrrpRound, type VrrpRoundResult, type VrrpTools } from './bench/vrrp-round.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// Once the reader has gone away (`| head`), stop after the round under way (see stdoutUntilClosed).
const { say, closed: outputClosed } = stdoutUntilClosed();

function preflight(): { tools?: VrrpTools; problem?: string } {
  if (process.getuid?.() !== 0) return { problem: 'the benchmark needs root (it creates network namespaces): sudo npm run bench:vrrp' };
  if (!existsSync(`${ROOT}dist/lib/cli/main.js`)) return { problem: 'carpd is not built: run `npm run build` first' };
  const keepalived = findExecutable('keepalived');
  if (!keepalived) return { problem: 'keepalived is not installed (the comparison needs it): apt-get install keepalived, or scripts/bootstrap' };
  const missing = ['tcpdump', 'ping', 'ip'].filter((c) => !findExecutable(c));
  if (missing.length > 0) return { problem: `missing ${missing.join(', ')}: scripts/bootstrap installs them` };
  return { tools: { carpd: `${ROOT}bin/carpd`, keepalived } };
}

interface RoundError {
  row: RowId;
  pair: PairId;
  round: number;
  error: string;
}

async function main(argv: string[]): Promise<number> {
  const o = startBench(argv, parseVrrpOptions, VRRP_USAGE, say);
  if (typeof o === 'number') return o;
  const commandLine = process.argv.map(shellQuote).join(' ');
  const pre = preflight();
  if (!pre.tools) {
    say(`bench-vrrp: ${pre.problem}`);
    return 1;
  }
  const tools = pre.tools;
  const startedAt = new Date();
  const environment = {
    carpd: versions().carpd,
    keepalived: keepalivedVersion(tools.keepalived),
    node: process.version,
    kernel: release(),
    cpu: cpuText(),
    loadAverageAtStart: loadavg().map((l) => Number(l.toFixed(2))),
  };
  say(`carpd ${environment.carpd}; keepalived ${environment.keepalived}; node ${environment.node}; Linux ${environment.kernel}; ` +
    `${environment.cpu}; load average ${environment.loadAverageAtStart.join(' ')}`);
  const plan = roundPlan(o.rows, o.pairs, o.rounds);
  say(`${o.rounds} rounds × rows ${o.rows.join(', ')} × pairs ${o.pairs.map((p) => pairOf(p).label).join(', ')}: ${plan.length} rounds; ` +
    `started ${startedAt.toISOString()}, expect roughly ${Math.ceil(estimateRunS(plan) / 60)} min`);

  // What each row runs, as an operator would type or write it.
  const vip = '198.18.0.50/24';
  const configs: Record<string, { carpd: Record<number, string>; keepalived: Record<number, string> }> = {};
  for (const id of o.rows) {
    const row = ROWS[id];
    const key = `v${row.timing.version}-${row.timing.advertIntS}s`;
    if (configs[key]) continue;
    configs[key] = { carpd: {}, keepalived: {} };
    say(`\nVRRPv${row.timing.version}, advert_int ${row.timing.advertIntS}${row.timing.pass ? ', PASS' : ''}:`);
    for (const index of [1, 2] as const) {
      const node = { index, vip };
      const line = ['carpd', ...carpdArgs(node, row.timing)].map(shellQuote).join(' ');
      configs[key].carpd[index] = line;
      configs[key].keepalived[index] = keepalivedConfig(node, row.timing);
      say(`    host ${index} (priority ${PRIORITY[index]}): ${line}`);
    }
    say(`    keepalived, host 2: ${configs[key].keepalived[2]!.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.trim()).join(' ')}`);
  }

  const rounds: VrrpRoundResult[] = [];
  const errors: RoundError[] = [];
  const dir = mkdtempSync(join(tmpdir(), `carpd-bench-vrrp-${process.pid}-`));
  const lab = await Lab.create({ hosts: 2, name: `bvrrp-${process.pid}` });
  try {
    let lastRow: RowId | undefined;
    for (const planned of plan) {
      if (outputClosed()) break;
      const row = ROWS[planned.row];
      if (planned.row !== lastRow) {
        say(`\n${row.title}: ${row.fault === 'link-cut' ? "host 1's link cut at the bridge" : 'SIGTERM to host 1'}, ` +
          `just after one of its adverts; protocol wait ${ms(protocolWaitMs(row))}`);
        lastRow = planned.row;
      }
      try {
        const r = await runVrrpRound({ lab, tools, dir }, row, planned.pair, planned.round);
        rounds.push(r);
        say(vrrpRoundLine(r, o.rounds));
      } catch (err) {
        // A lab command that failed: record it, keep going with the other rounds.
        const error = err instanceof Error ? err.message : String(err);
        errors.push({ row: planned.row, pair: planned.pair, round: planned.round, error });
        say(`  ${pairOf(planned.pair).label.padEnd(22)} round ${planned.round}/${o.rounds}: ERROR ${error}`);
      }
    }
  } finally {
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }

  const rows = vrrpRows(o.rows, o.pairs, rounds);
  say(`\nSummary: median / max over ${o.rounds} rounds per pair; carpd/keepalived = ratio of the carpd pair's median to the keepalived pair's`);
  say(formatVrrpTable(o.pairs, rows));
  say('');
  say(targetVerdict(rows));
  say('');
  const faultCommand = rounds.filter((r) => ROWS[r.row].fault === 'link-cut').map((r) => r.faultCommandMs).sort((a, b) => a - b);
  const notes = [
    'Fault time: the wall clock to the µs (performance.now() set against Date.now() at a millisecond\'s edge, each round) just before the fault, ' +
      'taken right after the master\'s advert reached the client\'s capture (tcpdump --immediate-mode), so every round cuts at about the same ' +
      'phase. SIGTERM is one kill(); a link cut is `ip link set down` on the bridge port, which took ' +
      `${ms(faultCommand[Math.floor(faultCommand.length / 2)])} (max ${ms(faultCommand[faultCommand.length - 1])}) to return. ` +
      'A link cut\'s target figure is timed from the master\'s last advert (the instant the backup\'s timer runs from), so neither that nor ' +
      'the bench\'s reaction to the capture is in it; "fault → VIP" includes both.',
    'VIP on the backup: the earlier of `ip -ts monitor address` in host 2\'s namespace (the netlink event, stamped by ip when it has ' +
      'read it) and host 2\'s first gratuitous ARP for the VIP at the client. Both daemons send that ARP only once the address is added, ' +
      'so each is an upper bound; ip\'s stamp includes its own wake-up, which on this VM is sometimes 1-2 ms (a GARP reached the client ' +
      'before ip reported the address, in keepalived\'s rounds and carpd\'s alike; how much later ip was is shown). Adverts and GARP: ' +
      'tcpdump on the client (kernel timestamps). Pings: a 5 ms ping -D -O from the client to the VIP; while replies are missing iputils ping probes about ' +
      'every 10 ms, so the end of an outage is known to ~10 ms: a client figure of carpd\'s above keepalived\'s by no more than that is ' +
      'reported as level, not as met or missed.',
    'Protocol wait (identical formulas in both, RFC 3768/5798 as keepalived computes them): clean stop = skew time after the priority-0 advert, ' +
      'v2 (256 − 80)/256 s = 687.5 ms, v3 the same × 0.1 = 68.75 ms; link cut = 3 × interval + skew after the master\'s last advert, ' +
      '3687.5 ms (v2, 1 s) and 368.75 ms (v3, 0.1 s). "Of which the backup\'s own" is the measured wait minus this: timers, processing, netlink.',
    'Both implementations run as configured above; both change the VIP over rtnetlink and send their gratuitous ARPs from a packet socket ' +
      '(carpd falls back to ip(8) and arping with CARPD_HOST_IO=commands).',
    'The lab is veth pairs on one bridge; the machine is shared (see the load average): figures vary from run to run by a few ms (clean stop) ' +
      'and by the fault command\'s time (link cut).',
  ];
  notes.forEach((n, k) => say(`[${k + 1}] ${n}`));
  if (errors.length > 0) say(`\n${errors.length} round(s) failed with an error; see above${o.json ? ' and the JSON' : ''}.`);
  const finishedAt = new Date();
  say(finishedLine(startedAt, finishedAt));

  if (o.json) {
    const data = {
      commandLine,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      environment: { ...environment, loadAverageAtEnd: loadavg().map((l) => Number(l.toFixed(2))) },
      options: o,
      rows: o.rows.map((id) => ({ ...ROWS[id], protocolWaitMs: protocolWaitMs(ROWS[id]) })),
      pairs: o.pairs.map(pairOf),
      configs,
      plan,
      rounds,
      errors,
      summary: rows,
      verdict: targetVerdict(rows),
      notes,
    };
    writeJsonReport(o.json, data, say);
  }
  return errors.length > 0 ? 1 : 0;
}

runBench('bench-vrrp', () => main(process.argv.slice(2)));

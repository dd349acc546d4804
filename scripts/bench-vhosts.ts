// `npm run bench:vhosts`: N virtual hosts in ONE carpd against N ucarp processes (N = 1, 10, 100),
// side by side in one run, in the namespace lab (two hosts, a client and a bridge, addresses from
// 198.18.0.0/15 only; see scripts/lab/lab.ts and bench/multi-plan.ts for the VIPs).
//
// For every N, carpd and ucarp each get a fresh lab (bench/multi.ts): host 1 becomes MASTER of
// vhids 1..N, host 2 stays BACKUP; an idle window measures host 1's RSS and CPU and the client
// captures its adverts for the jitter; then host 1's link is cut and host 2's addresses are polled
// until all N VIPs are there. The table gives carpd/ucarp ratios and the targets of issue 7.
// It ends by itself: every wait has a deadline and every lab is destroyed in `finally` (and on
// exit or a signal by the lab's own handlers).
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CLK_TCK, findUcarp, UcarpScripts, versions, type Daemon } from './bench/daemons.js';
import { runMulti, type MultiRunResult } from './bench/multi.js';
import { parseVhostsOptions, VHOSTS_USAGE, type VhostsBenchOptions } from './bench/multi-options.js';
import { BACKUP_TIMING, failoverTargetMs, MASTER_TIMING, nominalIntervalMs, VHOST_VIP_OFFSET } from './bench/multi-plan.js';
import { formatVhostsTable, markdownTable, runLine, vhostsRows } from './bench/multi-report.js';
import { ms } from './bench/report.js';
import { cpuText, finishedLine, runBench, shellQuote, startBench, writeJsonReport } from './bench/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const say = (text = '') => process.stdout.write(`${text}\n`);

function which(cmd: string): boolean {
  return ['/usr/sbin', '/usr/bin', '/sbin', '/bin', ...(process.env.PATH ?? '').split(':')].some((d) => d.startsWith('/') && existsSync(`${d}/${cmd}`));
}

function preflight(o: VhostsBenchOptions): string | undefined {
  if (process.getuid?.() !== 0) return 'the benchmark needs root (it creates network namespaces): sudo npm run bench:vhosts';
  if (o.daemons.includes('carpd') && !existsSync(`${ROOT}dist/lib/cli/main.js`)) return 'carpd is not built: run `npm run build` first';
  if (o.daemons.includes('ucarp') && !findUcarp()) return 'ucarp is not installed (the comparison needs it): apt-get install ucarp, or scripts/bootstrap';
  if (!which('tcpdump')) return 'tcpdump is not installed (the jitter figure needs it)';
  return undefined;
}

async function main(argv: string[]): Promise<number> {
  const o = startBench(argv, parseVhostsOptions, VHOSTS_USAGE, say);
  if (typeof o === 'number') return o;
  const commandLine = process.argv.map(shellQuote).join(' ');
  const problem = preflight(o);
  if (problem) {
    say(`bench-vhosts: ${problem}`);
    return 1;
  }
  const startedAt = new Date();
  const v = versions();
  const environment = {
    carpd: v.carpd,
    ucarp: v.ucarp,
    node: process.version,
    kernel: release(),
    cpu: cpuText(),
    clkTck: CLK_TCK,
  };
  say(`carpd ${environment.carpd}; ucarp ${environment.ucarp}; node ${environment.node}; Linux ${environment.kernel}; ${environment.cpu}`);
  // A rough guide from the lab's timings (start ~5 s, settle, window, cut ~4 s, teardown ~3 s), not a promise.
  const estimateS = o.vhosts.length * o.daemons.length * (14 + o.settleSeconds + o.idleSeconds);
  say(
    `vhosts ${o.vhosts.join(', ')} × ${o.daemons.join(' and ')}; idle window ${o.idleSeconds} s after ${o.settleSeconds} s settling; ` +
      `started ${startedAt.toISOString()}, expect roughly ${Math.ceil(estimateS / 60)} min`,
  );

  const results: MultiRunResult[] = [];
  const scripts = new UcarpScripts();
  let seq = 0;
  try {
    for (const [k, n] of o.vhosts.entries()) {
      // Alternate who goes first, so slow drift on the machine affects both alike.
      const order: Daemon[] = k % 2 === 0 ? [...o.daemons] : [...o.daemons].reverse();
      for (const d of order) {
        say(`\nN=${n}, ${d}: host 1 advskew ${MASTER_TIMING.advskew}, host 2 advskew ${BACKUP_TIMING.advskew}, advbase ${MASTER_TIMING.advbase}`);
        const r = await runMulti(
          { scripts, flatCarpd: o.flatCarpd, idleMs: o.idleSeconds * 1_000, settleMs: o.settleSeconds * 1_000, seq: ++seq, say },
          d,
          n,
        );
        results.push(r);
        say(runLine(r));
      }
    }
  } finally {
    scripts.remove();
  }

  const rows = vhostsRows(results, o.vhosts);
  say(`\nSummary: one run per N and implementation; ratio = carpd / ucarp; "!" = that run reported a problem (see above)`);
  say(formatVhostsTable(rows));
  say('');
  const { masterDownMs, targetMs } = failoverTargetMs();
  const notes = [
    'Processes counted (all on the master node, host 1): carpd is ONE node process serving every vhost plus its children ' +
      '(the long-lived `ip -o monitor link` it runs for carrier state, and any ip/arping alive at the sample); ucarp is N processes ' +
      '(one per vhost) plus their children (up/down scripts, none alive when idle). The run lines list them by command name.',
    'RSS: the sum of VmRSS at the end of the idle window. Pages shared between processes (libc, libpcap for ucarp, node\'s binary) ' +
      'are counted once per process, as the target asks; PSS (smaps_rollup), which divides shared pages among their users, is in the run lines and the JSON.',
    `CPU: utime+stime (+ cutime+cstime of children reaped inside the window) from /proc/<pid>/stat, summed over the tree, ` +
      `between the start and the end of the idle window, scaled to a minute. Clock ticks are ${ms(1000 / CLK_TCK)} (CLK_TCK ${CLK_TCK}), ` +
      `so small figures over a short window are coarse (an idle single ucarp often shows 0 ticks, which gets no ratio); the schedstat ` +
      'row sums every live thread\'s on-CPU time in ns instead (children that exited inside the window are not in it).',
    `Jitter: tcpdump on the client (kernel receive timestamps) captures host 1's adverts during the idle window; per vhid, ` +
      `|interval − ${ms(nominalIntervalMs())}| (advbase ${MASTER_TIMING.advbase} + advskew ${MASTER_TIMING.advskew}/256 s) for every pair of consecutive adverts; ` +
      'the p99 (nearest rank) is over every interval of every vhid. An advert lost or skipped shows as ~1000 ms and is counted.',
    `Link cut: host 1's bridge port is set down (carrier loss) just after one of its adverts was seen; host 2's addresses are ` +
      `polled every 20 ms (\`ip -j addr\`) and a VIP counts from the end of the poll that first showed it. The target uses the ` +
      `backup's master-down interval as both daemons compute it (lib/state/timing.ts: advbase × 3 + advskew/256 = ${ms(masterDownMs)}), ` +
      `so ${ms(targetMs)}. Measured from the cut, the figure depends on where in each vhid's interval the cut fell (with N vhids the ` +
      'phases differ); "worst vhid: its last advert → its VIP" removes that phase and is the stricter figure. A BACKUP ucarp looks at ' +
      'its master-down timer only when its poll() returns, which with no packets arriving is every advbase + advskew/256 s (1.39 s ' +
      'here), so its take-over comes up to that much after master-down.',
    `VIPs: vhid k has <lab subnet>.(${VHOST_VIP_OFFSET} + k)/32 (198.18.0.101 to .254 at most), inside the lab's on-link /24, ` +
      'so the client reaches them without a route. ucarp adds/removes them through up/down scripts (ip addr add|del <vip>/32 dev eth0); ' +
      'carpd itself. Every N and implementation runs in a fresh lab.',
  ];
  notes.forEach((n, k) => say(`[${k + 1}] ${n}`));
  say('\nAs Markdown:');
  say(markdownTable(rows));
  const failed = results.filter((r) => r.error !== undefined);
  if (failed.length > 0) say(`\n${failed.length} run(s) could not be measured: ${failed.map((r) => `${r.daemon} N=${r.vhosts}`).join(', ')}; see above${o.json ? ' and the JSON' : ''}.`);
  const finishedAt = new Date();
  say(finishedLine(startedAt, finishedAt));

  if (o.json) {
    const data = { commandLine, startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(), environment, options: o, results, summary: rows, notes };
    writeJsonReport(o.json, data, say);
  }
  return failed.length > 0 ? 1 : 0;
}

runBench('bench-vhosts', () => main(process.argv.slice(2)));

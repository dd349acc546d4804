// `npm run bench`: carpd against ucarp 1.5.2, side by side in one run, in the namespace lab
// (two hosts, a client and a bridge, addresses from 198.18.0.0/15 only; see scripts/lab/lab.ts).
//
//   (a) the master's link is cut at the bridge, default timing (advbase 1)
//   (b) the master is stopped cleanly with SIGTERM
//   (c) the master's link is cut with ~100 ms adverts (advbase 0, advskew 26), after a quiet
//       period in which any MASTER transition counts as spurious
//   footprint: CPU time and peak RSS of an idle MASTER, and start-up time
//
// Each scenario runs --rounds times per daemon, carpd and ucarp alternating, every round from a
// fresh start. The run prints each round as it finishes, then medians and carpd/ucarp ratios
// against the targets of issue 3; --json writes every raw figure. It ends by itself: every wait
// has a deadline, and the lab is destroyed in `finally` (and on exit or a signal by the lab's own
// handlers).
import { BOW_OUT_WAIT_MS_PER_SKEW, bowOutDelayMs } from '../lib/state/election.js';
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Lab } from './lab/lab.js';
import { CLK_TCK, DAEMONS, displayCommand, findUcarp, UcarpScripts, versions, type Daemon } from './bench/daemons.js';
import { runRound, scenarios, type RoundResult } from './bench/failover.js';
import { measureFootprint, SETTLE_MS, type FootprintResult } from './bench/footprint.js';
import { parseBenchOptions, USAGE, type BenchOptions } from './bench/options.js';
import { footprintLine, formatTable, ms, roundLine, summaryRows } from './bench/report.js';
import { summarise } from './bench/stats.js';
import { cpuText, finishedLine, runBench, shellQuote, startBench, writeJsonReport } from './bench/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const say = (text = '') => process.stdout.write(`${text}\n`);

function preflight(): string | undefined {
  if (process.getuid?.() !== 0) return 'the benchmark needs root (it creates network namespaces): sudo npm run bench';
  if (!existsSync(`${ROOT}dist/lib/cli/main.js`)) return 'carpd is not built: run `npm run build` first';
  if (!findUcarp()) {
    // The carpd .deb declares Conflicts: ucarp, so installing it removes ucarp.
    return 'ucarp is not installed (the comparison needs it): apt-get install ucarp, or scripts/bootstrap';
  }
  return undefined;
}

interface RoundError {
  scenario: string;
  daemon: Daemon;
  round: number;
  error: string;
}

async function main(argv: string[]): Promise<number> {
  const o = startBench(argv, parseBenchOptions, USAGE, say);
  if (typeof o === 'number') return o;
  const commandLine = process.argv.map(shellQuote).join(' ');
  const problem = preflight();
  if (problem) {
    say(`bench: ${problem}`);
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
  // A rough guide from the lab's timings (a: ~10 s a round, b: ~8 s, c: quiet period + ~4 s for
  // carpd and + ~7 s for a flapping ucarp; footprint: the window + ~17 s each), not a promise.
  const estimateS = o.rounds * (18 + 2 * o.quietSeconds + 11 + 20) + 2 * (o.idleSeconds + 17);
  say(`${o.rounds} rounds per scenario and daemon, idle window ${o.idleSeconds} s, quiet period (c) ${o.quietSeconds} s; ` +
    `started ${startedAt.toISOString()}, expect roughly ${Math.ceil(estimateS / 60)} min`);

  const scs = scenarios(o.quietSeconds);
  const rounds: RoundResult[] = [];
  const footprints: FootprintResult[] = [];
  const errors: RoundError[] = [];
  const lab = await Lab.create({ hosts: 2, name: `bench-${process.pid}` });
  const scripts = new UcarpScripts();
  try {
    const [h1, h2] = lab.hosts;
    for (const sc of scs) {
      say(`\n(${sc.id}) ${sc.title}: ${sc.fault === 'link-cut' ? "cut host 1's link at the bridge" : 'SIGTERM to the master'}` +
        `${sc.quietMs > 1_000 ? `, after a ${sc.quietMs / 1000} s quiet period` : ''}`);
      for (const d of DAEMONS) {
        say(`    host 1: ${displayCommand(d, lab, h1!, sc.master, scripts)}`);
        say(`    host 2: ${displayCommand(d, lab, h2!, sc.backup, scripts)}`);
      }
      for (let round = 1; round <= o.rounds; round++) {
        // Alternate who goes first, so slow drift on the machine affects both daemons alike.
        const order: Daemon[] = round % 2 === 1 ? ['carpd', 'ucarp'] : ['ucarp', 'carpd'];
        for (const d of order) {
          try {
            const r = await runRound({ lab, scripts }, sc, d, round);
            rounds.push(r);
            say(roundLine(sc, r, o.rounds));
          } catch (err) {
            // A lab command that failed: record it, keep going with the other rounds.
            const error = err instanceof Error ? err.message : String(err);
            errors.push({ scenario: sc.id, daemon: d, round, error });
            say(`  (${sc.id}) ${d.padEnd(5)} round ${round}/${o.rounds}: ERROR ${error}`);
          }
        }
      }
    }
    say(`\nfootprint: one daemon alone on host 1 (advbase 1), idle MASTER for ${o.idleSeconds} s`);
    for (const d of DAEMONS) {
      try {
        const f = await measureFootprint(lab, scripts, d, o.idleSeconds);
        footprints.push(f);
        say(footprintLine(f));
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        errors.push({ scenario: 'footprint', daemon: d, round: 1, error });
        say(`  ${d.padEnd(5)} footprint: ERROR ${error}`);
      }
    }
  } finally {
    scripts.remove();
    await lab.destroy();
  }

  const rows = summaryRows(scs, rounds, footprints);
  const faultCommand = summarise(rounds.filter((r) => r.scenario !== 'b').map((r) => r.faultCommandMs));
  say(`\nSummary: median [min–max] over ${o.rounds} rounds per daemon; ratio = carpd median / ucarp median`);
  say(formatTable(rows));
  say('');
  const notes = [
    'Outage: the longest silence between two replies of a 5 ms ping (-D -O) from the client to the VIP that ends after the fault. ' +
      'While replies are missing iputils ping backs off to a probe every ~10 ms, so the end of an outage is known to about 10 ms; ' +
      'outages under ~10 ms are at the resolution of the probe, not exact.',
    'Fault time: Date.now() just before the fault. A link cut is `ip link set down` on the bridge port, which took ' +
      `${ms(faultCommand.median)} (max ${ms(faultCommand.max)}) to return; link-cut figures include that. SIGTERM is one kill().`,
    'GARP and advert times come from tcpdump on the client (kernel timestamps, same clock as Date.now()). Both daemons send the ' +
      'gratuitous ARP after the VIP is on the interface (carpd: ip addr add, then arping -U; ucarp: its up-script returns first), ' +
      'so "fault → GARP" is when the new master has the VIP and says so.',
    ...scs
      .filter((sc) => sc.fault === 'sigterm')
      .map(
        (sc) =>
          `(${sc.id}): after a bow-out advert carpd's backup waits ${BOW_OUT_WAIT_MS_PER_SKEW} ms per advskew unit before claiming (so the best ` +
          `of several backups wins), here advskew ${sc.backup.advskew} = ${ms(bowOutDelayMs(sc.backup))}; even advskew 254 waits only ` +
          `${ms(bowOutDelayMs({ advbase: 1, advskew: 254 }))}. A stopping ucarp sends no bow-out, so its backup waits the full master-down time.`,
      ),
    'Each daemon runs as documented: carpd manages the VIP itself; ucarp adds/removes it through up/down scripts (sh + ip). Both get -z.',
    'Spurious: MASTER transitions ("X -> MASTER", "Switching to state: MASTER") in the daemons\' logs during the quiet period before ' +
      'the fault (1 s in (a) and (b)) or after it beyond the one expected takeover, summed over all rounds.',
    'ucarp in (c): with advbase 0 its master-down interval is one interval (advskew/256 s), so a ~15 ms scheduling delay makes the ' +
      'backup take over; its figures there are what it did, for comparison, not a configuration anyone should run.',
    `CPU: the idle window starts ${SETTLE_MS / 1000} s after the VIP appeared, so start-up work is outside it (the "from start" row includes it). ` +
      `/proc/<pid>/stat utime+stime is in clock ticks (CLK_TCK ${CLK_TCK}, so ${ms(1000 / CLK_TCK)} resolution: small idle figures are coarse, ` +
      'and a ratio against 0 ticks is not given); schedstat sums every live thread\'s on-CPU time in ns. Children (scripts, ip, arping) ' +
      'are counted apart, and only once reaped.',
    'Memory: VmHWM (peak resident set). carpd is a Node.js process, so most of its RSS is the V8 runtime, not carpd\'s own data.',
    'Start-up: from spawn (`ip netns exec`) to the first BACKUP log line as seen by the benchmark\'s event loop (~1 ms). The first ' +
      'advert comes after the 3 × advbase master-down wait that both daemons observe at start, so it is mostly protocol, not start-up.',
    'The lab is veth pairs on one bridge on a 2-core VM; rounds are interleaved carpd/ucarp; figures vary from run to run by ' +
      'a few ms in (b) and (c) and by up to the ucarp poll period (1 s) in (a) and (b) for ucarp.',
  ];
  if (rows.some((r) => r.unsettled?.carpd || r.unsettled?.ucarp)) {
    notes.push('† In at least one round this pair never settled (no single host held the VIP for 1.5 s before the fault): ' +
      'it was flapping. The fault was applied to host 1 anyway and the figures are what happened; they get no ratio.');
  }
  notes.forEach((n, k) => say(`[${k + 1}] ${n}`));
  if (errors.length > 0) say(`\n${errors.length} round(s) failed with an error; see above${o.json ? ' and the JSON' : ''}.`);
  const finishedAt = new Date();
  say(finishedLine(startedAt, finishedAt));

  if (o.json) {
    const data = {
      commandLine,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      environment,
      options: o,
      scenarios: scs,
      rounds,
      footprint: footprints,
      errors,
      summary: rows,
      notes,
    };
    writeJsonReport(o.json, data, say);
  }
  return errors.length > 0 ? 1 : 0;
}

runBench('bench', () => main(process.argv.slice(2)));

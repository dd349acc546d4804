// `npm run bench:flood`: carpd and ucarp side by side under a flood of bogus CARP frames (20,000
// a second for 30 s by default), in the namespace lab (three hosts, a client and a bridge,
// addresses from 198.18.0.0/15 only; see scripts/bench/flood.ts). Reports each one's CPU, RSS
// and log lines over the flood, and the ratios. It ends by itself: every wait has a deadline and
// the lab is destroyed in `finally` (and on exit or a signal by the lab's own handlers).
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { cpuText, finishedLine, runBench, shellQuote, startBench, writeJsonReport } from './bench/cli.js';
import { CLK_TCK, findUcarp, UcarpScripts, versions } from './bench/daemons.js';
import { runFloodBench } from './bench/flood.js';
import { FLOOD_USAGE, floodRows, formatTable, parseFloodOptions } from './bench/flood-report.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const say = (text = '') => process.stdout.write(`${text}\n`);

function preflight(): string | undefined {
  if (process.getuid?.() !== 0) return 'the benchmark needs root (it creates network namespaces): run it as root';
  if (!existsSync(`${ROOT}dist/lib/cli/main.js`)) return 'carpd is not built: run `npm run build` first';
  if (!findUcarp()) return 'ucarp is not installed (the comparison needs it): apt-get install ucarp, or scripts/bootstrap';
  return undefined;
}

async function main(argv: string[]): Promise<number> {
  const o = startBench(argv, parseFloodOptions, FLOOD_USAGE, say);
  if (typeof o === 'number') return o;
  const commandLine = process.argv.map(shellQuote).join(' ');
  const problem = preflight();
  if (problem) {
    say(`bench-flood: ${problem}`);
    return 1;
  }
  const startedAt = new Date();
  const v = versions();
  const environment = { carpd: v.carpd, ucarp: v.ucarp, node: process.version, kernel: release(), cpu: cpuText(), clkTck: CLK_TCK };
  say(`carpd ${environment.carpd}; ucarp ${environment.ucarp}; node ${environment.node}; Linux ${environment.kernel}; ${environment.cpu}`);
  say(`flood ${o.rate} frames/s for ${o.seconds} s; started ${startedAt.toISOString()}`);
  const scripts = new UcarpScripts();
  let result;
  try {
    result = await runFloodBench({ rate: o.rate, seconds: o.seconds, settleSeconds: o.settleSeconds }, scripts, say);
  } finally {
    scripts.remove();
  }
  const s = result.sender;
  say(`\nsender: ${s.sent} frames in ${s.seconds.toFixed(1)} s (${s.rate}/s), ${s.errors} send errors; by kind: ${Object.entries(s.byKind).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  say(`window: ${(result.windowMs / 1000).toFixed(1)} s (the flood and 0.5 s after it)\n`);
  say(formatTable(floodRows(result)));
  for (const d of result.daemons) say(`\n${d.daemon}'s first lines in the flood:\n${d.sample.map((l) => `  ${l}`).join('\n')}`);
  const notes = [
    'Both daemons run at once on the same machine and see the same frames: carpd is the lone MASTER of vhid 42 on host 1, ' +
      'ucarp of vhid 43 on host 2 (with the up/down scripts it needs to move its VIP); host 3 runs only the sender, and half of ' +
      'its frames claim each vhid. The sender competes with both for the CPU.',
    'CPU: on-CPU time of the daemon process (every thread, /proc/<pid>/task/*/schedstat) over the window, as % of one core. ' +
      'RSS: VmRSS before the flood, the peak of samples every 250 ms, and after.',
    'Log lines: what each wrote to stderr during the window (ucarp -f none: stderr only). carpd writes one line per drop reason ' +
      'at its first drop and a summary per reason per 60 s window; the summaries still pending at stop are counted apart.',
    'Advert gaps: tcpdump on the client, frames from the daemons\' own MACs only (the flood uses their addresses as sources too).',
  ];
  say('');
  notes.forEach((n, k) => say(`[${k + 1}] ${n}`));
  for (const p of result.problems) say(`problem: ${p}`);
  const finishedAt = new Date();
  say(finishedLine(startedAt, finishedAt));
  if (o.json) {
    writeJsonReport(o.json, { commandLine, startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(), environment, options: o, result, notes }, say);
  }
  return result.problems.length > 0 ? 1 : 0;
}

runBench('bench-flood', () => main(process.argv.slice(2)));

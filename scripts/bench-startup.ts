// `npm run bench:startup`: how fast carpd starts and how much memory it keeps, against the floor
// Node.js itself sets (`node -e 0`) and against ucarp 1.5.2 and keepalived, in one run, reported
// as medians and ratios (issue 11, item 4; targets: start to listening ≤ 200 ms, idle RSS ≤ 55 MiB
// for one vhost). With --compare DIR a second carpd (DIR/bin/carpd, e.g. a copy of main) is
// measured in the same run, interleaved, so before and after share the machine's load.
//
//   1. `carpd --help` and `node -e 0`, --runs times each, alternating: wall time and peak RSS.
//   2. start to listening, --rounds times per daemon, rotating the order: spawn → first BACKUP
//      line (and for carpd → its control socket answering), alone on host 1 of a lab.
//   3. idle: each daemon alone on host 1 of a lab of its own (all at once), MASTER, then
//      --idle-seconds of advertising; RSS of the process and of its process tree.
//
// Needs root for 2 and 3 (network namespaces, addresses from 198.18.0.0/15 only); every lab is
// destroyed in `finally` and by the lab's own exit handlers.
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuText, finishedLine, integerOption, parseBenchArgs, runBench, shellQuote, startBench, writeJsonReport } from './bench/cli.js';
import { findUcarp, versions } from './bench/daemons.js';
import { findExecutable } from './bench/keepalived.js';
import { ms } from './bench/report.js';
import { ratio, summarise, type Summary } from './bench/stats.js';
import {
  GNU_TIME,
  measureIdle,
  measureStart,
  runCommand,
  subjects,
  vipGone,
  type CommandRun,
  type IdleRun,
  type StartRun,
  type Subject,
} from './bench/startup.js';
import { Lab } from './lab/lab.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const say = (text = '') => process.stdout.write(`${text}\n`);

/** Issue 11's targets. */
const START_TARGET_MS = 200;
const IDLE_RSS_TARGET_KB = 55 * 1024;

interface Options {
  readonly runs: number;
  readonly rounds: number;
  readonly idleSeconds: number;
  readonly compare: string | undefined;
  readonly ucarp: string | undefined;
  readonly json: string | undefined;
  readonly quick: boolean;
  readonly help: boolean;
}

const USAGE = `Usage: sudo node dist/scripts/bench-startup.js [options]   (or: sudo npm run bench:startup -- [options])

Start-up time and idle memory of carpd against \`node -e 0\`, ucarp 1.5.2 and keepalived, inside
throw-away network namespace labs (addresses from 198.18.0.0/15 only).

  --runs N            runs of \`carpd --help\` and of \`node -e 0\` (default 20)
  --rounds N          starts to listening per daemon (default 10)
  --idle-seconds N    how long each MASTER idles before its memory is read (default 30)
  --compare DIR       also measure DIR/bin/carpd (a built copy of another revision) as "carpd (before)"
  --ucarp PATH        the ucarp binary (default: ucarp on PATH or /usr/sbin/ucarp)
  --quick             smoke run: 5 runs, 3 rounds, 10 s idle (explicit options still win)
  --json FILE         also write every raw figure to FILE
  -h, --help          this text`;

function parseOptions(argv: string[]): Options {
  const { v, quick, help } = parseBenchArgs('bench-startup', argv, {
    runs: { type: 'string' },
    rounds: { type: 'string' },
    'idle-seconds': { type: 'string' },
    compare: { type: 'string' },
    ucarp: { type: 'string' },
  });
  const integer = (name: string, fallback: number, min: number, max: number) => integerOption('bench-startup', name, v[name], fallback, min, max);
  return Object.freeze({
    runs: integer('runs', quick ? 5 : 20, 1, 1000),
    rounds: integer('rounds', quick ? 3 : 10, 1, 200),
    idleSeconds: integer('idle-seconds', quick ? 10 : 30, 1, 3600),
    compare: v.compare,
    ucarp: v.ucarp,
    json: v.json,
    quick,
    help,
  });
}

function preflight(o: Options): string | undefined {
  if (process.getuid?.() !== 0) return 'the benchmark needs root (it creates network namespaces): run it as root';
  if (!existsSync(join(ROOT, 'dist/lib/cli/main.js'))) return 'carpd is not built: run `npm run build` first';
  if (o.compare !== undefined && !existsSync(join(o.compare, 'bin/carpd'))) return `--compare ${o.compare}: no bin/carpd there`;
  if (o.ucarp !== undefined && !existsSync(o.ucarp)) return `--ucarp ${o.ucarp}: no such file`;
  return undefined;
}

const mib = (kb: number | undefined): string => (kb === undefined ? '—' : `${(kb / 1024).toFixed(1)} MiB`);
const times = (r: number | undefined): string => (r === undefined ? '—' : `${r.toFixed(2)}×`);
const range = (s: Summary, f: (v: number | undefined) => string): string => `${f(s.median)} [${f(s.min)}–${f(s.max)}]`;

async function main(argv: string[]): Promise<number> {
  const o = startBench(argv, parseOptions, USAGE, say);
  if (typeof o === 'number') return o;
  const problem = preflight(o);
  if (problem) {
    say(`bench-startup: ${problem}`);
    return 1;
  }
  const startedAt = new Date();
  const v = versions();
  const carpds = [{ name: 'carpd', bin: join(ROOT, 'bin/carpd') }];
  if (o.compare !== undefined) carpds.push({ name: 'carpd (before)', bin: join(resolve(o.compare), 'bin/carpd') });
  const ucarp = o.ucarp ?? findUcarp();
  const keepalived = findExecutable('keepalived');
  say(`carpd ${v.carpd}; ucarp ${ucarp ? v.ucarp : 'not found'}; keepalived ${keepalived ?? 'not found'}; node ${process.version}; ` +
    `Linux ${release()}; ${cpuText()}`);
  const missing = [...(ucarp ? [] : ['ucarp']), ...(keepalived ? [] : ['keepalived'])];
  if (missing.length > 0) say(`(not found, left out: ${missing.join(', ')})`);

  // ---- 1. the command line ------------------------------------------------------------------
  const programs = [{ name: 'node -e 0', args: ['-e', '0'] }, ...carpds.map((c) => ({ name: `${c.name} --help`, args: [c.bin, '--help'] }))];
  say(`\n1. ${programs.map((p) => p.name).join(', ')}: ${o.runs} runs each, alternating${existsSync(GNU_TIME) ? ` (CPU and peak RSS from ${GNU_TIME})` : ''}`);
  const cli = new Map<string, CommandRun[]>(programs.map((p) => [p.name, []]));
  for (const p of programs) runCommand(p.args); // warm the page cache, not counted
  for (let k = 0; k < o.runs; k++) {
    for (const p of k % 2 === 0 ? programs : [...programs].reverse()) cli.get(p.name)!.push(runCommand(p.args));
  }
  const cliSummary = programs.map((p) => {
    const rs = cli.get(p.name)!;
    return {
      name: p.name,
      wall: summarise(rs.map((r) => r.wallMs)),
      cpu: summarise(rs.map((r) => r.cpuMs)),
      peak: summarise(rs.map((r) => r.peakRssKb)),
    };
  });
  const floor = cliSummary[0]!;
  for (const s of cliSummary) {
    say(`   ${s.name.padEnd(24)} wall ${range(s.wall, ms).padEnd(28)} CPU ${range(s.cpu, ms).padEnd(28)} peak RSS ${range(s.peak, mib).padEnd(30)}` +
      (s === floor ? '' : `  ratio to node: wall ${times(ratio(s.wall.median, floor.wall.median))}, CPU ${times(ratio(s.cpu.median, floor.cpu.median))}, ` +
        `peak ${times(ratio(s.peak.median, floor.peak.median))}`));
  }

  // ---- 2 and 3 need the labs ----------------------------------------------------------------
  const dir = mkdtempSync(join(tmpdir(), 'carpd-bench-startup-'));
  const upScript = join(dir, 'vip-up.sh');
  const downScript = join(dir, 'vip-down.sh');
  // ucarp calls these as `<script> <interface> <vip>` inside the lab host's namespace.
  writeFileSync(upScript, '#!/bin/sh\nexec ip addr add "$2"/32 dev "$1"\n');
  writeFileSync(downScript, '#!/bin/sh\nexec ip addr del "$2"/32 dev "$1" 2>/dev/null\n');
  chmodSync(upScript, 0o755);
  chmodSync(downScript, 0o755);
  const list: Subject[] = subjects({ carpds, ucarp, keepalived, dir, upScript, downScript });
  const starts: StartRun[] = [];
  const idles: IdleRun[] = [];
  const labs: Lab[] = [];
  try {
    const lab = await Lab.create({ hosts: 1, name: `startup-${process.pid}` });
    labs.push(lab);
    say(`\n2. start to listening: each daemon alone on host 1, ${o.rounds} rounds, order rotated every round`);
    for (const s of list) say(`   ${s.name.padEnd(16)} ${s.command(lab, lab.hosts[0]!)}`);
    for (let round = 1; round <= o.rounds; round++) {
      const order = list.map((_, k) => list[(k + round) % list.length]!);
      for (const s of order) {
        const r = await measureStart(lab, s, round);
        starts.push(r);
        if (!(await vipGone(lab))) r.problems.push('the VIP was still on host 1 after the stop');
        const control = r.controlMs !== undefined ? `, control socket ${ms(r.controlMs)}` : '';
        say(`   round ${String(round).padStart(2)} ${s.name.padEnd(16)} BACKUP line ${ms(r.readyMs)} (CPU ${ms(r.cpuMs)})${control}` +
          (r.problems.length > 0 ? `  ! ${r.problems.join('; ')}` : ''));
      }
    }

    say(`\n3. idle: each daemon alone on host 1 of its own lab (all at once), MASTER, then ${o.idleSeconds} s of adverts`);
    const idleLabs = await Promise.all(list.map((_, k) => Lab.create({ hosts: 1, name: `startup-${process.pid}-i${k}` })));
    labs.push(...idleLabs);
    idles.push(...(await Promise.all(list.map((s, k) => measureIdle(idleLabs[k]!, s, o.idleSeconds)))));
    for (const r of idles) {
      const commands = Object.entries(r.treeCommands).map(([c, n]) => `${n} ${c}`).join(' + ');
      say(`   ${r.subject.padEnd(16)} MASTER after ${ms(r.masterMs)}; RSS ${mib(r.rssKb)} (peak ${mib(r.peakRssKb)}); ` +
        `process tree (${commands}) RSS ${mib(r.treeRssKb)}, PSS ${mib(r.treePssKb)}` + (r.problems.length > 0 ? `  ! ${r.problems.join('; ')}` : ''));
    }
  } finally {
    await Promise.allSettled(labs.map((l) => l.destroy()));
    rmSync(dir, { recursive: true, force: true });
  }

  // ---- summary --------------------------------------------------------------------------------
  const startOf = (name: string) => summarise(starts.filter((r) => r.subject === name).map((r) => r.readyMs));
  const cpuOf = (name: string) => summarise(starts.filter((r) => r.subject === name).map((r) => r.cpuMs));
  const controlOf = (name: string) => summarise(starts.filter((r) => r.subject === name).map((r) => r.controlMs));
  const idleOf = (name: string) => idles.find((r) => r.subject === name);
  const peers = list.filter((s) => s.kind !== 'carpd').map((s) => s.name);
  say(`\nSummary (medians; ratios are carpd ÷ the other)`);
  const carpdHelp = cliSummary.find((s) => s.name === 'carpd --help')!;
  say(`   carpd --help: wall ${ms(carpdHelp.wall.median)} = ${times(ratio(carpdHelp.wall.median, floor.wall.median))} node -e 0 ` +
    `(${ms(floor.wall.median)}), CPU ${ms(carpdHelp.cpu.median)} = ${times(ratio(carpdHelp.cpu.median, floor.cpu.median))} node -e 0, peak RSS ${mib(carpdHelp.peak.median)} = ${times(ratio(carpdHelp.peak.median, floor.peak.median))} node -e 0 (${mib(floor.peak.median)})`);
  for (const c of carpds) {
    const start = startOf(c.name);
    const control = controlOf(c.name);
    const idle = idleOf(c.name);
    const vs = (figure: (name: string) => number | undefined) =>
      peers.map((p) => `${times(ratio(figure(c.name), figure(p)))} ${p}`).join(', ');
    say(`   ${c.name}: start → BACKUP ${range(start, ms)} (${vs((n) => startOf(n).median)}), → control socket ${range(control, ms)}, ` +
      `CPU by then ${range(cpuOf(c.name), ms)} (${vs((n) => cpuOf(n).median)}); ` +
      `target ≤ ${START_TARGET_MS} ms ${start.median !== undefined && start.median <= START_TARGET_MS ? 'met' : 'NOT met'}`);
    say(`   ${c.name}: idle RSS ${mib(idle?.rssKb)} (${vs((n) => idleOf(n)?.rssKb)}); tree ${mib(idle?.treeRssKb)}; ` +
      `target ≤ ${mib(IDLE_RSS_TARGET_KB)} ${idle?.rssKb !== undefined && idle.rssKb <= IDLE_RSS_TARGET_KB ? 'met' : 'NOT met'}`);
  }
  for (const p of peers) say(`   ${p}: start → BACKUP ${range(startOf(p), ms)} (CPU ${ms(cpuOf(p).median)}), idle RSS ${mib(idleOf(p)?.rssKb)}, tree ${mib(idleOf(p)?.treeRssKb)}`);
  const notes = [
    'Wall time: spawn to exit as this process sees it (spawnSync), so it includes fork/exec and GNU time; `node -e 0` pays the same. ' +
      'CPU (user + system, 10 ms steps) and peak RSS (ru_maxrss): GNU time\'s %U %S %M.',
    'Start: from spawn (`ip netns exec <ns> …`, a few ms of it) to the first BACKUP line on the daemon\'s output; carpd\'s control ' +
      'socket is polled every 2 ms with a status request. keepalived\'s line comes from its VRRP child, after the parent forked it. ' +
      'CPU: what the daemon\'s live processes had run by then (schedstat of every thread), a figure a loaded machine disturbs less ' +
      'than the wall time; children that already exited (carpd\'s `ip` calls) are left out.',
    'Idle: RSS (VmRSS) of the daemon\'s own process, read after the idle window; "tree" adds its children (carpd: `ip monitor` for the ' +
      'link state; keepalived: its VRRP child; ucarp: none). PSS splits shared pages (libc, node\'s binary) among the processes sharing them.',
  ];
  notes.forEach((n, k) => say(`[${k + 1}] ${n}`));
  const problems = [...starts, ...idles].filter((r) => r.problems.length > 0).length;
  const finishedAt = new Date();
  say(finishedLine(startedAt, finishedAt) +
    (problems > 0 ? `; ${problems} measurement(s) had problems (see above)` : ''));
  if (o.json) {
    const data = { commandLine: process.argv.map(shellQuote).join(' '), startedAt, finishedAt, versions: v, options: o, cli: Object.fromEntries(cli), cliSummary, starts, idles, notes };
    writeJsonReport(o.json, data, say);
  }
  return problems > 0 ? 1 : 0;
}

runBench('bench-startup', () => main(process.argv.slice(2)));

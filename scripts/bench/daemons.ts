// The two daemons under test, started the way an operator would run them, plus what the bench
// reads back from them: their log lines and their /proc accounting.
//
// Each runs in the configuration its documentation recommends: carpd manages the VIP itself
// (`ip addr add` + `arping -U`), ucarp runs an up/down script that adds or removes it (ucarp
// sends the gratuitous ARP itself, after the up-script has returned). Both get -z (--shutdown):
// ucarp ignores SIGTERM's clean path without it, and it costs carpd nothing.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab, LabHost, LabProcess } from '../lab/lab.js';

export type Daemon = 'carpd' | 'ucarp';
export const DAEMONS: readonly Daemon[] = ['carpd', 'ucarp'];

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const CARPD = join(ROOT, 'bin', 'carpd');
export const VHID = 42;
const PASSWORD = 'bench';

export interface Timing {
  advbase: number;
  advskew: number;
}

/** A state change to MASTER, one per line, in each daemon's own words. */
const MASTER_LINE: Record<Daemon, RegExp> = {
  // `[WARNING] BACKUP -> MASTER (no master heard for 3.04 s)`
  carpd: /-> MASTER \(/g,
  // `2026-…: [WARNING] Switching to state: MASTER`
  ucarp: /Switching to state: MASTER/g,
};

/** The first line each prints once it is up and listening as BACKUP. */
export const READY_LINE: Record<Daemon, RegExp> = {
  carpd: /-> BACKUP \(start\)/,
  ucarp: /Switching to state: BACKUP/,
};

export function countMasterTransitions(daemon: Daemon, logText: string): number {
  return logText.match(MASTER_LINE[daemon])?.length ?? 0;
}

/**
 * The up/down scripts ucarp needs to move the VIP, written to a private temporary directory so the
 * benchmark depends on nothing under test/. They are the same two lines the lab tests use.
 */
export class UcarpScripts {
  readonly dir = mkdtempSync(join(tmpdir(), 'carpd-bench-'));
  readonly up = join(this.dir, 'vip-up.sh');
  readonly down = join(this.dir, 'vip-down.sh');

  constructor() {
    // ucarp calls these as `<script> <interface> <vip>` inside the lab host's namespace, so they
    // only ever change that host's eth0.
    writeFileSync(this.up, '#!/bin/sh\nexec ip addr add "$2"/32 dev "$1"\n');
    writeFileSync(this.down, '#!/bin/sh\n# At start-up as BACKUP the VIP is not there yet: that error is harmless.\nexec ip addr del "$2"/32 dev "$1" 2>/dev/null\n');
    chmodSync(this.up, 0o755);
    chmodSync(this.down, 0o755);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function daemonArgs(daemon: Daemon, lab: Lab, host: LabHost, timing: Timing, scripts: UcarpScripts): string[] {
  const common = [
    '-i', 'eth0', '-s', host.address, '-v', String(VHID), '-p', PASSWORD, '-a', lab.vip(),
    '-b', String(timing.advbase), '-k', String(timing.advskew), '-z',
  ];
  // `-f none`: ucarp logs to stderr only (no syslog), where the bench reads its transitions.
  return daemon === 'carpd' ? [CARPD, ...common] : [...common, '-u', scripts.up, '-d', scripts.down, '-f', 'none'];
}

export function startDaemon(daemon: Daemon, lab: Lab, host: LabHost, timing: Timing, scripts: UcarpScripts): LabProcess {
  const args = daemonArgs(daemon, lab, host, timing, scripts);
  // For carpd the command is `node bin/carpd …`: ip netns exec execs node, so the LabProcess pid
  // is the node process that is carpd (bin/carpd imports the daemon, it does not fork).
  return daemon === 'carpd' ? host.spawn(process.execPath, args) : host.spawn('ucarp', args);
}

/** The command line as an operator would type it, for the report. */
export function displayCommand(daemon: Daemon, lab: Lab, host: LabHost, timing: Timing, scripts: UcarpScripts): string {
  const args = daemonArgs(daemon, lab, host, timing, scripts);
  return daemon === 'carpd' ? ['carpd', ...args.slice(1)].join(' ') : ['ucarp', ...args].join(' ');
}

export function findUcarp(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  // Only absolute PATH entries: a relative one would depend on where the bench was started.
  return dirs.filter((d) => d.startsWith('/')).map((d) => join(d, 'ucarp')).find((p) => existsSync(p));
}

export function versions(): { carpd: string; ucarp: string } {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const quiet = (cmd: string, args: string[]): string => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], cwd: ROOT }).trim();
    } catch {
      return '';
    }
  };
  const rev = quiet('git', ['rev-parse', '--short', 'HEAD']);
  const dirty = quiet('git', ['status', '--porcelain', '--untracked-files=no']) !== '';
  const ucarp = quiet('dpkg-query', ['-W', '-f', '${Version}', 'ucarp']);
  return {
    carpd: `${pkg.version}${rev ? ` (git ${rev}${dirty ? ', uncommitted changes' : ''})` : ''}`,
    ucarp: ucarp ? `Debian ${ucarp}` : 'unknown version',
  };
}

// ---- /proc accounting --------------------------------------------------------------------------

export interface ProcSample {
  /** Date.now() when sampled. */
  atMs: number;
  /** utime + stime of the process (all its threads), clock ticks. */
  selfTicks: number;
  /** cutime + cstime: children it has waited for (ucarp's scripts; carpd's ip, arping). */
  childTicks: number;
  /** Sum of every live thread's on-CPU time from /proc/<pid>/task/<tid>/schedstat, ns. */
  schedNs: number | undefined;
  /** VmHWM and VmRSS, kB. */
  peakRssKb: number | undefined;
  rssKb: number | undefined;
  threads: number | undefined;
}

export const CLK_TCK = clockTicks();

function clockTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

export function sampleProc(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field k is rest[k - 3]: utime 14, stime 15, cutime 16, cstime 17.
  const field = (k: number): number => Number(rest[k - 3]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number | undefined => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) : undefined;
  };
  const threads = /^Threads:\s+(\d+)/m.exec(status);
  return {
    atMs: Date.now(),
    selfTicks: field(14) + field(15),
    childTicks: field(16) + field(17),
    schedNs: schedNs(pid),
    peakRssKb: kb('VmHWM'),
    rssKb: kb('VmRSS'),
    threads: threads ? Number(threads[1]) : undefined,
  };
}

function schedNs(pid: number): number | undefined {
  try {
    let total = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    }
    return Number.isFinite(total) ? total : undefined;
  } catch {
    // Kernels without CONFIG_SCHED_INFO have no schedstat; the tick figure still stands.
    return undefined;
  }
}

// Helpers for the failure-scenario integration tests (test/netns/failures.test.ts): recording
// scripts in private directories, parsing what carpd and the scripts logged, and looking at the
// processes left in a lab namespace.
import { mkdtempSync, readFileSync, rmSync, symlinkSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from '../../scripts/lab/command.js';
import type { CapturedPacket, Lab, LabHost } from '../../scripts/lab/lab.js';
import { NAMESPACE_PREFIX } from '../../scripts/lab/lab.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/netns/', import.meta.url));

/** A directory per test under /tmp; each host gets its own `up`/`down` links and calls.log. */
export class ScriptDirs {
  readonly root: string;

  constructor(label: string) {
    this.root = mkdtempSync(join(tmpdir(), `carpd-failures-${label}-`));
  }

  /**
   * Links the fixtures for one host as <root>/h<index>/up and .../down: the scripts log to
   * calls.log beside "$0", so each host's log is its own and says which script ran.
   */
  forHost(host: LabHost, up: 'record' | 'hang' = 'record'): HostScripts {
    const dir = join(this.root, `h${host.index}`);
    mkdirSync(dir);
    const upPath = join(dir, 'up');
    const downPath = join(dir, 'down');
    symlinkSync(join(FIXTURES, `${up}.sh`), upPath);
    symlinkSync(join(FIXTURES, 'record.sh'), downPath);
    return new HostScripts(dir, upPath, downPath);
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

export interface ScriptCall {
  /** When the script wrote its line, ms since the epoch (as Date.now()). */
  atMs: number;
  script: 'up' | 'down';
  /** 'start' for hang.sh's first line, 'end' if it was ever allowed to finish; 'call' for record.sh. */
  event: 'call' | 'start' | 'end';
  /** hang.sh: the shell's pid and the pid of the `sleep` it waits for. */
  pid?: number;
  childPid?: number;
  args: string[];
}

export class HostScripts {
  constructor(
    readonly dir: string,
    readonly up: string,
    readonly down: string,
  ) {}

  get log(): string {
    return join(this.dir, 'calls.log');
  }

  /** Every line the scripts wrote so far, in order. */
  calls(): ScriptCall[] {
    let text: string;
    try {
      text = readFileSync(this.log, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => parseCall(line));
  }

  /** The script flags carpd should get: --upscript, --downscript. */
  flags(): string[] {
    return [`--upscript=${this.up}`, `--downscript=${this.down}`];
  }
}

function parseCall(line: string): ScriptCall {
  const m = /^(\d+) (\S+) ?(.*)$/.exec(line);
  if (!m) throw new Error(`unexpected line in a script log: ${JSON.stringify(line)}`);
  const [, ns, path, rest] = m as unknown as [string, string, string, string];
  const script = path.endsWith('/up') ? 'up' : 'down';
  const args = [...rest.matchAll(/\[([^\]]*)\]/g)].map((a) => a[1]!);
  const call: ScriptCall = { atMs: Number(BigInt(ns) / 1_000_000n), script, event: 'call', args };
  const hang = /^(start|end) (\d+)(?: (\d+))?/.exec(rest);
  if (hang) {
    call.event = hang[1] as 'start' | 'end';
    call.pid = Number(hang[2]);
    if (hang[3] !== undefined) call.childPid = Number(hang[3]);
  }
  return call;
}

export interface Transition {
  from: string;
  to: string;
  reason: string;
}

/** carpd's `[WARNING] FROM -> TO (reason)` lines, in order. */
export function transitions(output: string): Transition[] {
  return [...output.matchAll(/^\[WARNING\] (INIT|BACKUP|MASTER) -> (INIT|BACKUP|MASTER) \((.*)\)$/gm)].map((m) => ({
    from: m[1]!,
    to: m[2]!,
    reason: m[3]!,
  }));
}

/** Intervals in ms between consecutive CARP adverts sent from srcIp (bow-outs included). */
export function advertIntervals(packets: CapturedPacket[], srcIp: string): number[] {
  const times = packets.filter((p) => p.kind === 'carp' && p.srcIp === srcIp).map((p) => p.timeMs);
  return times.slice(1).map((t, k) => t - times[k]!);
}

export interface NamespaceProcess {
  pid: number;
  /** The parent's pid as this namespace's pid namespace sees it (the lab shares the host's). */
  ppid: number;
  /** argv joined with spaces. */
  cmdline: string;
}

/** Every process in a lab namespace, with its command line (processes that exit meanwhile are skipped). */
export async function namespaceProcesses(ns: string): Promise<NamespaceProcess[]> {
  if (!ns.startsWith(NAMESPACE_PREFIX)) throw new Error(`not a lab namespace: ${ns}`);
  const result = await exec('ip', ['netns', 'pids', ns]);
  if (result.code !== 0) throw new Error(`ip netns pids ${ns}: ${result.stderr.trim()}`);
  const list: NamespaceProcess[] = [];
  for (const pid of result.stdout.split(/\s+/).filter(Boolean).map(Number)) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      list.push({ pid, ppid, cmdline });
    } catch {
      // exited between the listing and the read
    }
  }
  return list;
}

/** Whether a pid names a live (non-zombie) process. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Puts the lab back the way the next test expects it, whatever the last one did: links up,
 * ports on the bridge, no VIP on any host, the client's ARP table empty. Each step is
 * idempotent, so it is safe after a test that failed half-way.
 */
export async function resetLab(lab: Lab): Promise<void> {
  for (const host of lab.hosts) {
    await host.heal();
    await host.restoreLink();
    await host.exec('ip', ['addr', 'del', `${lab.vip()}/32`, 'dev', host.ifname]);
  }
  await lab.client.flushArp();
}

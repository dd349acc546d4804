import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { HostLogger } from '../../lib/host/types.js';

/** A HostLogger that keeps every line, for assertions. */
export class RecordingLogger implements HostLogger {
  readonly lines: Array<{ level: 'debug' | 'info' | 'warn' | 'error'; msg: string }> = [];
  debug(msg: string): void {
    this.lines.push({ level: 'debug', msg });
  }
  info(msg: string): void {
    this.lines.push({ level: 'info', msg });
  }
  warn(msg: string): void {
    this.lines.push({ level: 'warn', msg });
  }
  error(msg: string): void {
    this.lines.push({ level: 'error', msg });
  }
  at(level: 'debug' | 'info' | 'warn' | 'error'): string[] {
    return this.lines.filter((line) => line.level === level).map((line) => line.msg);
  }
  text(): string {
    return this.lines.map((line) => `[${line.level}] ${line.msg}`).join('\n');
  }
}

/**
 * Network namespaces for one test file, named carpd-host-<pid>-<tag>-<role> so they never
 * collide with other labs on the machine and a leftover one says where it came from.
 *
 * SAFETY: everything that changes addresses or sends ARP happens inside these namespaces, and
 * only with addresses from 198.18.0.0/15 (RFC 2544 benchmarking range); addr() refuses others.
 * The host's own interfaces are never touched.
 */
export class NetnsLab {
  private readonly created: string[] = [];
  private static readonly all = new Set<NetnsLab>();

  constructor(private readonly tag: string) {
    NetnsLab.all.add(this);
  }

  /**
   * Fails loudly — these tests must not silently skip or pass when the machine cannot run
   * them: they are the only proof that the host layer works on a real kernel.
   */
  static requireNetns(): void {
    if (process.getuid?.() !== 0) {
      throw new Error(
        'NETWORK NAMESPACE TESTS NEED ROOT: test/host/{vip,garp,link-monitor}.test.ts create network namespaces ' +
          `and veth pairs (running as uid ${String(process.getuid?.())}). Run the suite as root (or in a container with CAP_NET_ADMIN and CAP_SYS_ADMIN).`,
      );
    }
    const probe = `carpd-host-${process.pid}-probe`;
    const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
    if (add.status !== 0) {
      throw new Error(
        `NETWORK NAMESPACE TESTS CANNOT RUN: \`ip netns add ${probe}\` failed (${add.error?.message ?? `status ${add.status}`}): ${add.stderr.trim()}`,
      );
    }
    spawnSync('ip', ['netns', 'del', probe]);
  }

  name(role: string): string {
    return `carpd-host-${process.pid}-${this.tag}-${role}`;
  }

  /** Creates a namespace with lo up; returns its name. */
  add(role: string): string {
    const ns = this.name(role);
    ip(['netns', 'add', ns]);
    this.created.push(ns);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A veth pair between two namespaces, both ends up. */
  veth(nsA: string, ifA: string, nsB: string, ifB: string): void {
    ip(['link', 'add', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
    ip(['-n', nsA, 'link', 'set', ifA, 'up']);
    ip(['-n', nsB, 'link', 'set', ifB, 'up']);
  }

  addr(ns: string, ifname: string, cidr: string): void {
    assertLabAddress(cidr);
    ip(['-n', ns, 'addr', 'add', cidr, 'dev', ifname]);
  }

  /** Runs a command inside a namespace; returns stdout. Throws on failure. */
  exec(ns: string, file: string, args: string[]): string {
    return execFileSync('ip', ['netns', 'exec', ns, file, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  mac(ns: string, ifname: string): string {
    const links = JSON.parse(ip(['-n', ns, '-j', 'link', 'show', 'dev', ifname])) as Array<{ address: string }>;
    return links[0]!.address;
  }

  /** Every IPv4 address on an interface, as "a.b.c.d/len". */
  addresses(ns: string, ifname: string): string[] {
    const links = JSON.parse(ip(['-n', ns, '-j', '-4', 'addr', 'show', 'dev', ifname])) as Array<{
      addr_info: Array<{ local: string; prefixlen: number; label?: string }>;
    }>;
    return (links[0]?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`);
  }

  /** Tears everything down; safe to call twice and after a failed setup. */
  destroy(): void {
    for (const ns of this.created.splice(0)) {
      spawnSync('ip', ['netns', 'del', ns]);
    }
    NetnsLab.all.delete(this);
  }

  /** Last resort if a worker exits without running afterAll. */
  static destroyAll(): void {
    for (const lab of NetnsLab.all) lab.destroy();
  }
}

process.once('exit', () => NetnsLab.destroyAll());

export function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function assertLabAddress(cidr: string): void {
  const [first, second] = cidr.split('.').map(Number);
  if (first !== 198 || (second !== 18 && second !== 19)) {
    throw new Error(`lab addresses must come from 198.18.0.0/15, got ${cidr}`);
  }
}

/** Polls until fn returns true or timeoutMs passes; returns whether it became true. */
export async function waitFor(fn: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}

/**
 * Stand-ins for other carpd processes in lock and registration tests: live ones (a `sleep`
 * this object kills in killAll) and dead ones (the pid of a process that has exited).
 */
export class StandInProcesses {
  private readonly live: ChildProcess[] = [];

  livePid(): number {
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    this.live.push(sleeper);
    return sleeper.pid!;
  }

  deadPid(): number {
    return spawnSync('true').pid;
  }

  killAll(): void {
    for (const sleeper of this.live.splice(0)) sleeper.kill('SIGKILL');
  }
}

// The lab's namespaces as a set: creating them, and removing them with everything they leave
// behind. Lab (lab.ts) builds its fixed topology on one of these; tests that need another
// shape (a bare veth pair, a bridge with other interface names, an interface deleted and
// re-created) build it here, with the same names, the same guards and the same clean-up.
//
// Every namespace is named carpd-lab-<id>-<role>, so scripts/lab-clean.sh finds a leftover; every
// address comes from 198.18.0.0/15 (safety.ts); nothing is created in the machine's own namespace.
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_RUN_DIR } from '../../lib/host/run-dir.js';
import { exec, run, runSyncQuietly, type CommandResult } from './command.js';
import { assertLabNamespace } from './process.js';
import { registerLab, unregisterLab } from './registry.js';
import { NAMESPACE_PREFIX, validateLabAddress, validateLabName } from './safety.js';

let setCounter = 0;

export interface NamespaceSetOptions {
  /** Unique id, part of every namespace name; default `${process.pid}-<counter>`. */
  name?: string;
  /** Where carpd keeps its locks, control sockets and --nomcast registrations; default /run/carpd. */
  runDir?: string;
}

export class NamespaceSet {
  readonly id: string;
  readonly runDir: string;
  /**
   * The namespaces this set created itself, with their kernel id (the inode carpd names its run
   * files after). Teardown touches only these: if `ip netns add` fails because the name is
   * taken (two sets given the same name), the other set's namespaces survive.
   */
  private readonly created = new Map<string, string | undefined>();
  private destroyed: Promise<void> | undefined;
  private readonly lastResort = (): void => this.destroySync();

  constructor(o: NamespaceSetOptions = {}) {
    this.id = validateLabName(o.name ?? `${process.pid}-${++setCounter}`);
    this.runDir = o.runDir ?? DEFAULT_RUN_DIR;
    // Registered before the first namespace exists, so a failure half-way, or the process dying
    // during setup, still removes whatever was made.
    registerLab(this.lastResort);
  }

  /** The full name of a member: carpd-lab-<id>-<role>. */
  name(role: string): string {
    if (!/^[a-z0-9][a-z0-9-]{0,14}$/.test(role)) {
      throw new Error(`lab namespace role must be 1 to 15 lower-case letters, digits or dashes, received ${JSON.stringify(role)}`);
    }
    return `${NAMESPACE_PREFIX}${this.id}-${role}`;
  }

  /** Names of the namespaces that exist now, in creation order. */
  get namespaces(): string[] {
    return [...this.created.keys()];
  }

  /**
   * Creates carpd-lab-<id>-<role> with lo up and IPv6 off (CARP as ucarp speaks it is IPv4
   * only; without IPv6 a capture carries no router solicitations, MLD reports or DAD probes,
   * only what the test is about). Returns its name.
   */
  async add(role: string, o: { ipv6?: boolean } = {}): Promise<string> {
    const ns = this.name(role);
    await run('ip', ['netns', 'add', ns]);
    this.created.set(ns, netnsInode(ns));
    await run('ip', ['-n', ns, 'link', 'set', 'dev', 'lo', 'up']);
    if (o.ipv6 !== true) {
      await run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    }
    return ns;
  }

  /**
   * A veth pair between two of our namespaces, both ends up. It is created in nsA with its peer
   * moved straight into nsB, so no interface ever exists in the machine's own namespace.
   */
  async veth(nsA: string, ifA: string, nsB: string, ifB: string, o: { up?: boolean } = {}): Promise<void> {
    this.assertOurs(nsA);
    this.assertOurs(nsB);
    await run('ip', ['-n', nsA, 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
    if (o.up === false) return;
    await run('ip', ['-n', nsA, 'link', 'set', 'dev', ifA, 'up']);
    await run('ip', ['-n', nsB, 'link', 'set', 'dev', ifB, 'up']);
  }

  /**
   * A bridge that forwards at once and to everyone: STP off, forward delay 0, multicast
   * snooping off (the CARP group must reach every port whatever IGMP state the bridge learnt).
   */
  async bridge(ns: string, name = 'br0'): Promise<void> {
    this.assertOurs(ns);
    await run('ip', ['-n', ns, 'link', 'add', name, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0']);
    await run('ip', ['-n', ns, 'link', 'set', 'dev', name, 'up']);
  }

  /** Puts a port of ns into its bridge. */
  async attach(ns: string, port: string, bridge = 'br0'): Promise<void> {
    this.assertOurs(ns);
    await run('ip', ['-n', ns, 'link', 'set', 'dev', port, 'master', bridge]);
  }

  /**
   * `ip addr add <cidr> dev <ifname> [nodad]`; refuses any address outside 198.18.0.0/15 and
   * 2001:db8::/32. nodad (IPv6 only): usable at once, without duplicate address detection.
   */
  async addr(ns: string, ifname: string, cidr: string, o: { nodad?: boolean } = {}): Promise<void> {
    this.assertOurs(ns);
    await run('ip', ['-n', ns, 'addr', 'add', validateLabAddress(cidr), 'dev', ifname, ...(o.nodad === true ? ['nodad'] : [])]);
  }

  /** `ip -n <ns> <args>`, which must succeed; returns stdout. */
  ip(ns: string, args: string[]): Promise<string> {
    this.assertOurs(ns);
    return run('ip', ['-n', ns, ...args]);
  }

  /** `ip netns exec <ns> cmd args`; never throws for a non-zero exit. */
  exec(ns: string, cmd: string, args: string[]): Promise<CommandResult> {
    this.assertOurs(ns);
    return exec('ip', ['netns', 'exec', ns, cmd, ...args]);
  }

  async mac(ns: string, ifname: string): Promise<string> {
    const links = JSON.parse(await this.ip(ns, ['-j', 'link', 'show', 'dev', ifname])) as Array<{ address: string }>;
    const mac = links[0]?.address;
    if (mac === undefined) throw new Error(`no link ${ifname} in ${ns}`);
    return mac;
  }

  /** Every IPv4 address on an interface, as "a.b.c.d/len". */
  async addresses(ns: string, ifname: string): Promise<string[]> {
    const links = JSON.parse(await this.ip(ns, ['-j', '-4', 'addr', 'show', 'dev', ifname])) as Array<{
      addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
    }>;
    return links.flatMap((l) => l.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
  }

  /** Pids of every process in one of our namespaces. */
  async pids(ns: string): Promise<number[]> {
    this.assertOurs(ns);
    return namespacePids(ns);
  }

  /**
   * Idempotent: kills every process left in the namespaces, removes what carpd kept for them in
   * the run directory (a SIGKILLed carpd leaves its instance lock and control socket), deletes
   * them, and checks that they are gone.
   */
  destroy(): Promise<void> {
    this.destroyed ??= this.teardown();
    return this.destroyed;
  }

  private assertOurs(ns: string): void {
    assertLabNamespace(ns);
    if (!this.created.has(ns)) throw new Error(`${ns} is not a namespace of lab ${this.id}`);
  }

  private async teardown(): Promise<void> {
    // Daemons started with -B, scripts, strays: kill them, or `ip netns del` only removes the
    // name and the namespace (with its VIPs and sockets) lives on.
    const namespaces = this.namespaces;
    for (let attempt = 0; attempt < 20; attempt++) {
      const pids = (await Promise.all(namespaces.map((ns) => namespacePids(ns)))).flat();
      if (pids.length === 0) break;
      for (const pid of pids) killQuietly(pid);
      await new Promise((r) => setTimeout(r, 100));
    }
    removeRunFiles(this.runDir, [...this.created.values()]);
    const failures: string[] = [];
    // A veth pair dies with either of its namespaces, so the order does not matter.
    for (const ns of namespaces) {
      const result = await exec('ip', ['netns', 'del', ns]);
      // "No such file": someone (lab-clean.sh) deleted it already, which is what we wanted.
      if (result.code !== 0 && !/No such file/.test(result.stderr)) {
        failures.push(`${ns}: ${result.stderr.trim()}`);
      } else {
        this.created.delete(ns);
      }
    }
    unregisterLab(this.lastResort);
    const left = (await listNamespaces()).filter((ns) => namespaces.includes(ns));
    if (failures.length > 0 || left.length > 0) {
      throw new Error(`lab ${this.id} teardown incomplete; still present: ${left.join(', ')}\n${failures.join('\n')}`);
    }
  }

  /** The last-resort path (process 'exit', signals): synchronous, best effort. */
  private destroySync(): void {
    const namespaces = this.namespaces;
    for (const ns of namespaces) {
      for (const pid of runSyncQuietly('ip', ['netns', 'pids', ns]).split(/\s+/).filter(Boolean)) killQuietly(Number(pid));
    }
    removeRunFiles(this.runDir, [...this.created.values()]);
    for (const ns of namespaces) runSyncQuietly('ip', ['netns', 'del', ns]);
    this.created.clear();
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/**
 * The kernel's id of a named namespace, as carpd sees it in /proc/self/ns/net ("net:[<inode>]"):
 * /run/netns/<name> is a bind mount of that nsfs inode. Undefined if it cannot be read, in
 * which case teardown cannot find the run files by name (lab-clean.sh's stale sweep still can).
 */
function netnsInode(ns: string): string | undefined {
  try {
    return String(statSync(join('/run/netns', ns)).ino);
  } catch {
    return undefined;
  }
}

/**
 * What carpd keeps per network namespace in its run directory, keyed by the namespace's id:
 * `<id>-<if>-vhid<N>.pid` (instance locks), `control/<id>-<pid>.sock`, `nomcast/<id>-<if>-<group>/`.
 * A carpd that exits cleanly removes its own; one killed with SIGKILL (a test's crash, the
 * teardown's last resort) cannot.
 */
export function removeRunFiles(runDir: string, netnsIds: Iterable<string | undefined>): void {
  const ids = [...netnsIds].filter((id): id is string => id !== undefined);
  if (ids.length === 0) return;
  for (const dir of [runDir, join(runDir, 'control'), join(runDir, 'nomcast')]) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue; // no such directory: nothing of ours there
    }
    for (const name of names) {
      if (ids.some((id) => name.startsWith(`${id}-`))) rmSync(join(dir, name), { recursive: true, force: true });
    }
  }
}

async function namespacePids(ns: string): Promise<number[]> {
  const result = await exec('ip', ['netns', 'pids', ns]);
  return result.code === 0 ? result.stdout.split(/\s+/).filter(Boolean).map(Number) : [];
}

/** Names from `ip netns list` (which prints `name (id: N)` for namespaces with an id). */
export async function listNamespaces(): Promise<string[]> {
  const out = await run('ip', ['netns', 'list']);
  return out.split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean);
}

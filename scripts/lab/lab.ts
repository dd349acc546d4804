// The network lab: several "hosts" on one machine, each a network namespace with one interface
// eth0, joined by a Linux bridge that lives in a namespace of its own, plus a client that pings
// the VIP. Used by the integration tests, `npm run demo` and the failover benchmark.
//
//   carpd-lab-<id>-h1   eth0 198.18.0.1/24  02:00:00:00:00:01 ──veth── h1 ┐
//   carpd-lab-<id>-h2   eth0 198.18.0.2/24  02:00:00:00:00:02 ──veth── h2 ├─ br0  (carpd-lab-<id>-br)
//   carpd-lab-<id>-c    eth0 198.18.0.100/24 02:00:00:00:00:64 ──veth── c  ┘
//
// With `ipv6: true` the lab is dual-stack: host i also has 2001:db8::<i>/64, the client
// 2001:db8::100/64 (another /64 inside 2001:db8::/32 with `subnet6`), and each keeps the
// fe80:: link-local address the kernel gives eth0. Without it IPv6 is off everywhere.
//
// Nothing here touches the machine's own namespace except `ip netns add/del/pids`; addresses
// come from 198.18.0.0/15 and 2001:db8::/32 only (see safety.ts).
import { exec, run, type CommandResult } from './command.js';
import { NamespaceSet } from './namespaces.js';
import { assertLabNamespace, spawnInNamespace, type LabProcess, type SpawnOptions } from './process.js';
import { startPing, type PingMonitor } from './ping.js';
import { waitFor } from './wait.js';
import { CLIENT_OCTET, VIP_BASE, labMac, validateHostCount, validateSubnet, validateSubnet6, validateVipIndex } from './safety.js';

export { PacketCapture, parseTcpdump, type CapturedPacket, type CarpFields, type ArpFields } from './capture.js';
export { parsePingOutput, analysePing, type PingMonitor, type PingReport, type PingGap } from './ping.js';
export type { LabProcess, ProcessExit, SpawnOptions } from './process.js';
export type { CommandResult } from './command.js';
export { NAMESPACE_PREFIX } from './safety.js';
export { NamespaceSet, listNamespaces, removeRunFiles, type NamespaceSetOptions } from './namespaces.js';
export { waitFor } from './wait.js';

export interface LabOptions {
  hosts: number;
  /** Unique id, part of every namespace name; default `${process.pid}-${counter}`. */
  name?: string;
  /** carpd's run directory, cleaned of what carpd left for the lab's namespaces; default /run/carpd. */
  runDir?: string;
  /** First three octets of the lab's /24; default '198.18.0'. Must lie inside 198.18.0.0/15. */
  subnet?: string;
  /** Dual-stack: IPv6 on, every member given an address in subnet6 besides its link-local one. */
  ipv6?: boolean;
  /** Leading groups of the IPv6 /64 (e.g. '2001:db8:cafe'); default '2001:db8'. Inside 2001:db8::/32. */
  subnet6?: string;
}

export interface LinkState {
  /** Administratively up (flag UP). */
  up: boolean;
  /** Carrier present (flag LOWER_UP; absent means the kernel shows NO-CARRIER). */
  carrier: boolean;
}

export interface LabHost {
  /** 1-based, matching the last octet of its address and the bridge port name h<index>. */
  readonly index: number;
  readonly ns: string;
  readonly ifname: 'eth0';
  readonly address: string;
  /** Its address in the lab's IPv6 /64 (2001:db8::<index>), undefined unless the lab has `ipv6`. */
  readonly address6: string | undefined;
  readonly mac: string;
  /** Runs `ip netns exec <ns> cmd args`; the lab stops it on destroy(). */
  spawn(cmd: string, args: string[], o?: SpawnOptions): LabProcess;
  /** Carrier loss: the bridge-side veth end goes down, so this host's eth0 shows NO-CARRIER. */
  cutLink(): Promise<void>;
  restoreLink(): Promise<void>;
  /** Isolates the host with carrier kept up: its veth end is taken out of the bridge. */
  partition(): Promise<void>;
  heal(): Promise<void>;
  /** IPv4 addresses with prefix length, e.g. ['198.18.0.1/24', '198.18.0.50/32']. */
  addresses(ifname?: string): Promise<string[]>;
  /** IPv6 addresses of global scope with prefix length, e.g. ['2001:db8::1/64']; link-local left out. */
  addresses6(ifname?: string): Promise<string[]>;
  /** The fe80:: address the kernel gave the interface (without prefix), undefined if none. */
  linkLocal(ifname?: string): Promise<string | undefined>;
  /** `addr` (IPv4 or IPv6) with or without a prefix length; without one, any prefix matches. */
  hasAddress(addr: string): Promise<boolean>;
  linkState(ifname?: string): Promise<LinkState>;
  exec(cmd: string, args: string[]): Promise<CommandResult>;
}

export interface LabClient {
  readonly ns: string;
  readonly ifname: 'eth0';
  readonly address: string;
  /** 2001:db8::100 (in the lab's subnet6), undefined unless the lab has `ipv6`. */
  readonly address6: string | undefined;
  readonly mac: string;
  linkLocal(ifname?: string): Promise<string | undefined>;
  /** The client's neighbour entry for ip, or undefined when it has none. mac is '' while unresolved. */
  arpEntry(ip: string): Promise<{ mac: string; state: string } | undefined>;
  flushArp(): Promise<void>;
  /** `ping -i <intervalMs/1000> -n -D -O target`, recording every reply's timestamp. */
  startPing(target: string, intervalMs?: number): PingMonitor;
  spawn(cmd: string, args: string[], o?: SpawnOptions): LabProcess;
  exec(cmd: string, args: string[]): Promise<CommandResult>;
}

const BRIDGE = 'br0';

interface Inet6Entry {
  local: string;
  prefixlen: number;
  scope: string;
  tentative?: boolean;
}

/** Everything a namespace member needs, shared by hosts and the client. */
abstract class Member {
  constructor(
    protected readonly lab: Lab,
    readonly ns: string,
    readonly address: string,
    readonly mac: string,
    readonly address6: string | undefined,
  ) {}

  readonly ifname = 'eth0' as const;

  spawn(cmd: string, args: string[], o?: SpawnOptions): LabProcess {
    return this.lab.track(spawnInNamespace(this.ns, cmd, args, o));
  }

  exec(cmd: string, args: string[]): Promise<CommandResult> {
    assertLabNamespace(this.ns);
    return exec('ip', ['netns', 'exec', this.ns, cmd, ...args]);
  }

  async addresses(ifname: string = this.ifname): Promise<string[]> {
    const json = await run('ip', ['-n', this.ns, '-j', '-4', 'addr', 'show', 'dev', ifname]);
    const links = JSON.parse(json) as { addr_info?: { family: string; local: string; prefixlen: number }[] }[];
    return links.flatMap((l) => l.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
  }

  async addresses6(ifname: string = this.ifname): Promise<string[]> {
    return (await this.inet6(ifname)).filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`);
  }

  async linkLocal(ifname: string = this.ifname): Promise<string | undefined> {
    return (await this.inet6(ifname)).find((a) => a.scope === 'link')?.local;
  }

  /** @internal Every inet6 entry of the interface, with its flags (tentative while in DAD). */
  async inet6(ifname: string = this.ifname): Promise<Inet6Entry[]> {
    const json = await run('ip', ['-n', this.ns, '-j', '-6', 'addr', 'show', 'dev', ifname]);
    const links = JSON.parse(json) as { addr_info?: (Inet6Entry & { family: string })[] }[];
    return links.flatMap((l) => l.addr_info ?? []).filter((a) => a.family === 'inet6');
  }

  async hasAddress(addr: string): Promise<boolean> {
    const list = addr.includes(':') ? await this.addresses6() : await this.addresses();
    return addr.includes('/') ? list.includes(addr) : list.some((a) => a.split('/')[0] === addr);
  }

  async linkState(ifname: string = this.ifname): Promise<LinkState> {
    const json = await run('ip', ['-n', this.ns, '-j', 'link', 'show', 'dev', ifname]);
    const flags = (JSON.parse(json) as { flags?: string[] }[])[0]?.flags ?? [];
    return { up: flags.includes('UP'), carrier: flags.includes('LOWER_UP') };
  }
}

class Host extends Member implements LabHost {
  constructor(
    lab: Lab,
    readonly index: number,
    ns: string,
    address: string,
    mac: string,
    address6: string | undefined,
  ) {
    super(lab, ns, address, mac, address6);
  }

  /** The bridge-side end of this host's veth pair. */
  get port(): string {
    return `h${this.index}`;
  }

  async cutLink(): Promise<void> {
    await run('ip', ['-n', this.lab.bridgeNs, 'link', 'set', 'dev', this.port, 'down']);
  }

  async restoreLink(): Promise<void> {
    await run('ip', ['-n', this.lab.bridgeNs, 'link', 'set', 'dev', this.port, 'up']);
  }

  async partition(): Promise<void> {
    // The bridge-side veth end leaves the bridge but stays up, so the host keeps its carrier and
    // keeps sending (adverts included) into a cable that leads nowhere, and hears nothing:
    // unicast, broadcast and multicast are all gone, both ways. Setting the bridge port's STP
    // state to "disabled" does the same until the port's carrier flaps (the host or the test
    // bouncing eth0, or cutLink/restoreLink): with STP off the kernel then puts it straight back
    // into forwarding and the partition silently ends. Detaching survives any flap. (tc drop
    // filters would too, but this kernel has neither cls_matchall nor act_gact.)
    await this.lab.setPortAttached(this.port, false);
  }

  async heal(): Promise<void> {
    await this.lab.setPortAttached(this.port, true);
  }
}

class Client extends Member implements LabClient {
  async arpEntry(ip: string): Promise<{ mac: string; state: string } | undefined> {
    const json = await run('ip', ['-n', this.ns, '-j', 'neigh', 'show', 'to', ip, 'dev', this.ifname]);
    const entry = (JSON.parse(json) as { dst: string; lladdr?: string; state?: string[] }[]).find((e) => e.dst === ip);
    return entry ? { mac: entry.lladdr ?? '', state: (entry.state ?? []).join(',') } : undefined;
  }

  async flushArp(): Promise<void> {
    await run('ip', ['-n', this.ns, 'neigh', 'flush', 'dev', this.ifname]);
  }

  startPing(target: string, intervalMs = 5): PingMonitor {
    const monitor = startPing(this.ns, target, intervalMs);
    this.lab.track(monitor.process);
    return monitor;
  }
}

export class Lab {
  readonly id: string;
  readonly subnet: string;
  /** Leading groups of the IPv6 /64, undefined unless the lab was made with `ipv6`. */
  readonly subnet6: string | undefined;
  readonly hosts: LabHost[];
  readonly client: LabClient;
  readonly bridgeNs: string;
  private readonly processes = new Set<LabProcess>();
  /** The namespaces, created, registered for last-resort clean-up and deleted by one owner. */
  private readonly set: NamespaceSet;
  private destroyed: Promise<void> | undefined;

  private constructor(o: LabOptions, set: NamespaceSet) {
    this.set = set;
    this.id = set.id;
    this.subnet = validateSubnet(o.subnet ?? '198.18.0');
    this.subnet6 = o.ipv6 === true ? validateSubnet6(o.subnet6 ?? '2001:db8') : undefined;
    // The same digits as the IPv4 last octet, read as hex: host 1 is 2001:db8::1, the client ::100.
    const v6 = (n: number): string | undefined => (this.subnet6 === undefined ? undefined : `${this.subnet6}::${n}`);
    this.bridgeNs = set.name('br');
    this.hosts = Array.from(
      { length: validateHostCount(o.hosts) },
      (_, k) => new Host(this, k + 1, set.name(`h${k + 1}`), `${this.subnet}.${k + 1}`, labMac(k + 1), v6(k + 1)),
    );
    this.client = new Client(this, set.name('c'), `${this.subnet}.${CLIENT_OCTET}`, labMac(CLIENT_OCTET), v6(CLIENT_OCTET));
  }

  static async create(o: LabOptions): Promise<Lab> {
    // Every option is checked before the set registers or creates anything.
    validateHostCount(o.hosts);
    validateSubnet(o.subnet ?? '198.18.0');
    if (o.ipv6 === true) validateSubnet6(o.subnet6 ?? '2001:db8');
    const set = new NamespaceSet({ name: o.name, runDir: o.runDir });
    const lab = new Lab(o, set);
    try {
      await lab.build();
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  /** All namespaces of this lab: the hosts, the client, the bridge. */
  get namespaces(): string[] {
    return [...this.hosts.map((h) => h.ns), this.client.ns, this.bridgeNs];
  }

  /** Host by its 1-based index (host(1) is hosts[0]). */
  host(index: number): LabHost {
    const h = this.hosts[index - 1];
    if (!h) throw new Error(`lab has hosts 1 to ${this.hosts.length}, asked for host ${index}`);
    return h;
  }

  vip(n = 0): string {
    return `${this.subnet}.${VIP_BASE + validateVipIndex(n)}`;
  }

  /** IPv6 VIP n, 2001:db8::50 onwards (the IPv4 VIP's digits); only in a lab made with `ipv6`. */
  vip6(n = 0): string {
    if (this.subnet6 === undefined) throw new Error('lab.vip6(): the lab was created without the ipv6 option');
    return `${this.subnet6}::${VIP_BASE + validateVipIndex(n)}`;
  }

  /** The hosts that have VIP n on their interface right now. */
  async vipHolders(n = 0): Promise<LabHost[]> {
    const vip = this.vip(n);
    const has = await Promise.all(this.hosts.map((h) => h.hasAddress(vip)));
    return this.hosts.filter((_, k) => has[k]);
  }

  /**
   * Waits until one and the same host alone has held VIP n for stableMs. Right after an
   * election two hosts may both hold it for a moment (both claim, one yields), and a single
   * sample would catch that transition.
   */
  async waitForSingleHolder(timeoutMs: number, stableMs = 1_500, n = 0): Promise<LabHost> {
    let candidate: LabHost | undefined;
    let since = 0;
    return waitFor(
      async () => {
        const holders = await this.vipHolders(n);
        const only = holders.length === 1 ? holders[0] : undefined;
        if (only !== candidate) {
          candidate = only;
          since = Date.now();
        }
        return candidate && Date.now() - since >= stableMs ? candidate : undefined;
      },
      timeoutMs,
      50,
      `one host alone holding ${this.vip(n)} for ${stableMs} ms`,
    );
  }

  /** @internal Registers a process so destroy() stops it. */
  track(p: LabProcess): LabProcess {
    this.processes.add(p);
    void p.exited.then(() => this.processes.delete(p));
    return p;
  }

  /** @internal Attaches or detaches a bridge port and checks that the kernel really did it. */
  async setPortAttached(port: string, attached: boolean): Promise<void> {
    await run('ip', ['-n', this.bridgeNs, 'link', 'set', 'dev', port, ...(attached ? ['master', BRIDGE] : ['nomaster'])]);
    const json = await run('ip', ['-n', this.bridgeNs, '-j', 'link', 'show', 'dev', port]);
    const master = (JSON.parse(json) as { master?: string }[])[0]?.master;
    if ((master === BRIDGE) !== attached) {
      throw new Error(`port ${port} in ${this.bridgeNs} has master ${String(master)} after ${attached ? 'attaching' : 'detaching'} it`);
    }
  }

  /** Idempotent: stops every process the lab started, kills any other left in its namespaces, deletes them. */
  destroy(): Promise<void> {
    this.destroyed ??= this.teardown();
    return this.destroyed;
  }

  private async build(): Promise<void> {
    const roles = [...this.hosts.map((h) => `h${h.index}`), 'c', 'br'];
    // The bridge never needs IPv6 (it forwards frames); the members do in a dual-stack lab.
    const ipv6 = this.subnet6 !== undefined;
    await Promise.all(roles.map((role) => this.set.add(role, { ipv6: ipv6 && role !== 'br' })));
    await this.set.bridge(this.bridgeNs, BRIDGE);
    const members: { port: string; m: Member }[] = [
      ...this.hosts.map((h) => ({ port: `h${h.index}`, m: h as Host })),
      { port: 'c', m: this.client as Client },
    ];
    await Promise.all(members.map(({ port, m }) => this.attach(port, m)));
    if (ipv6) await Promise.all(members.map(({ m }) => this.waitForIpv6(m)));
  }

  /**
   * Until the link-local address has passed duplicate address detection (about a second after
   * the link comes up) the kernel cannot send from it: ff02::12 adverts would fail with
   * EADDRNOTAVAIL. DAD itself stays on, so a VIP added without `nodad` is as slow as for real.
   */
  private async waitForIpv6(m: Member): Promise<void> {
    await waitFor(
      async () => {
        const entries = await m.inet6();
        return entries.some((a) => a.scope === 'link') && !entries.some((a) => a.tentative === true) ? true : undefined;
      },
      10_000,
      50,
      `IPv6 addresses of ${m.ns} out of duplicate address detection`,
    );
  }

  private async attach(port: string, m: Member): Promise<void> {
    await this.set.veth(this.bridgeNs, port, m.ns, m.ifname, { up: false });
    await run('ip', ['-n', m.ns, 'link', 'set', 'dev', m.ifname, 'address', m.mac]);
    await run('ip', ['-n', m.ns, 'addr', 'add', `${m.address}/24`, 'dev', m.ifname]);
    // nodad: the lab's addresses are unique by construction; waiting for DAD gains nothing.
    if (m.address6 !== undefined) await this.set.addr(m.ns, m.ifname, `${m.address6}/64`, { nodad: true });
    await run('ip', ['-n', m.ns, 'link', 'set', 'dev', m.ifname, 'up']);
    await this.set.attach(this.bridgeNs, port, BRIDGE);
    await run('ip', ['-n', this.bridgeNs, 'link', 'set', 'dev', port, 'up']);
  }

  private async teardown(): Promise<void> {
    // Polite first: SIGTERM lets ucarp/carpd with --shutdown run their down-scripts. Then the
    // set kills anything else still in the namespaces (scripts, daemons started with -B,
    // strays), removes carpd's run files for them and deletes them.
    await Promise.all([...this.processes].map((p) => p.stop(2_000)));
    await this.set.destroy();
  }
}

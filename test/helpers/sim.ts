import type { VhostConfig } from '../../lib/config.js';
import { GroupWiring } from '../../lib/daemon/groups.js';
import { Link, type LinkSocket } from '../../lib/daemon/link.js';
import type { HostPort, TimerPort } from '../../lib/daemon/ports.js';
import { VirtualHost } from '../../lib/daemon/vhost.js';
import { RateLimitedLog, type Logger } from '../../lib/log.js';
import { ipv4 } from '../../lib/net/address.js';
import { CARP_HEADER_LENGTH, decodeAdvertisement } from '../../lib/protocol/carp.js';
import { decodeVrrp } from '../../lib/protocol/vrrp.js';
import { ManualClock } from '../../lib/state/clock.js';
import type { CarpState, MachineConfig, MachineEvent } from '../../lib/state/machine.js';

/**
 * An in-memory CARP segment: simulated hosts sharing one manual clock, each running the daemon's
 * real wiring — Link (checks, demultiplexing by vhid), VirtualHost (machine, counter, host-action
 * queue) and sync groups — on fake ports: timers on the manual clock, a segment that delivers
 * every datagram to the other hosts' links after a fixed latency, and a host that records VIPs,
 * GARPs and scripts. So a whole election, byte for byte and digest for digest, runs without
 * sockets or real time.
 *
 * Host actions run on promises, as in the daemon; the simulation drains pending promise work
 * after every event, so `await sim.runFor(ms)` leaves every effect applied.
 */

export interface SimVhostOptions extends Partial<Omit<MachineConfig, 'srcAddress' | 'rules'>> {
  name?: string;
  advbase?: number;
  advskew?: number;
  deadratio?: number;
  protocol?: 'carp' | 'vrrp2' | 'vrrp3';
  priority?: number;
  /** VRRP interval in centiseconds (default 100). */
  advertIntCs?: number;
  peers?: string[];
  vhid?: number;
  vips?: string[];
  group?: string;
  password?: string;
  /** The vhost ignores carrier (ucarp -S). */
  ignoreIfState?: boolean;
  notify?: string;
  /** --replay-protect. */
  replayProtect?: boolean;
}

export interface SimNodeOptions extends SimVhostOptions {
  name: string;
  address: string;
}

interface Pending {
  at: number;
  seq: number;
  run: () => void;
}

export interface Transition {
  at: number;
  node: string;
  vhost: string;
  from: CarpState;
  to: CarpState;
  reason: string;
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** What one vhost's host did, in order. */
class SimHost implements HostPort {
  readonly vips = new Set<string>();
  readonly scripts: ('up' | 'down')[] = [];
  readonly garps: number[] = [];
  /** Makes every `ip addr add` fail, as on a host where the address cannot be added. */
  failAdds = false;
  /**
   * Adds VIPs within the call (addVipNow), as carpd's netlink socket does; off, the vhost
   * queues them (addVip), as with `ip`.
   */
  addsNow = false;
  constructor(
    private readonly sim: Simulation,
    /** The node's host actions and adverts, in the order they happened. */
    private readonly actions: string[] = [],
  ) {}
  addVipNow(vip: { address: { text: string } }, heldAhead = false): boolean | undefined {
    if (!this.addsNow) return undefined;
    if (!heldAhead) this.actions.push('hold');
    this.actions.push('vip');
    this.vips.add(vip.address.text);
    return true;
  }
  async removeStale(): Promise<number> {
    return 0;
  }
  async addVip(vip: { address: { text: string } }): Promise<boolean> {
    if (this.failAdds) return false;
    this.vips.add(vip.address.text);
    return true;
  }
  async removeVip(vip: { address: { text: string } }): Promise<boolean> {
    this.vips.delete(vip.address.text);
    return true;
  }
  async garp(): Promise<boolean> {
    this.actions.push('garp');
    this.garps.push(this.sim.clock.now());
    return true;
  }
  /** What the vhost told the guardian ahead of a takeover, in order. */
  readonly ahead: ('hold' | 'release')[] = [];
  holdAhead(): void {
    this.ahead.push('hold');
    this.actions.push('hold ahead');
  }
  releaseAhead(): void {
    this.ahead.push('release');
  }
  requestScript(kind: 'up' | 'down'): void {
    this.scripts.push(kind);
  }
  readonly notifications: string[] = [];
  notify(_script: string, args: readonly string[]): void {
    this.notifications.push(args[0]!);
  }
  async scriptsIdle(): Promise<void> {}
  killScripts(): void {}
  async close(): Promise<void> {}
}

export class SimVhost {
  readonly vhost: VirtualHost;
  readonly host: SimHost;
  constructor(node: SimNode, config: VhostConfig) {
    this.host = new SimHost(node.sim, node.actions);
    this.vhost = new VirtualHost(config, {
      clock: node.sim.clock,
      timers: node.timers,
      host: this.host,
      adverts: node.link.advertPort(),
      log: silent,
      limited: new RateLimitedLog(silent, node.sim.clock),
      wallClock: () => node.sim.clock.now(),
      randomCounter: () => BigInt(config.vhid) << 32n,
      randomIpId: () => 1,
      onInternalError: (message) => {
        throw new Error(message);
      },
      onOwnTransition: node.groups.onOwnTransition,
      onAbilityChange: node.groups.onAbilityChange,
    });
    const apply = this.vhost.dispatch.bind(this.vhost);
    // Record every transition (own or group-made) for the tests.
    this.vhost.dispatch = (event: MachineEvent) => {
      const before = this.vhost.state;
      apply(event);
      const after = this.vhost.state;
      if (before !== after) {
        node.sim.transitions.push({ at: node.sim.clock.now(), node: node.name, vhost: config.name, from: before, to: after, reason: event.type });
      }
    };
  }
  get state(): CarpState {
    return this.vhost.state;
  }
  get hasVip(): boolean {
    return this.host.vips.size > 0;
  }
}

/** One simulated host: a link on the segment, carrying one or more vhosts. */
export class SimNode {
  readonly link: Link;
  readonly groups = new GroupWiring();
  readonly vhosts: SimVhost[] = [];
  readonly addressInt: number;
  alive = true;
  /** Whether this node's adverts reach the segment (false models a partition). */
  connected = true;
  /** CARP adverts this node sent, decoded. */
  adverts: { at: number; vhid: number; advbase: number; advskew: number }[] = [];
  /** VRRP adverts this node sent, decoded. */
  vrrpAdverts: { at: number; vrid: number; version: number; priority: number; intervalCs: number }[] = [];
  /** Its vhosts' host actions and its adverts ('advert'), in order (see SimHost). */
  readonly actions: string[] = [];
  readonly timers: TimerPort;

  constructor(
    readonly sim: Simulation,
    readonly name: string,
    readonly address: string,
  ) {
    this.addressInt = ipv4(address).int;
    const cancelled = new Set<number>();
    this.timers = {
      set: (delayMs, fire, exact) => {
        const seq = sim.schedule(delayMs, (seq) => {
          if (cancelled.delete(seq) || !this.alive) return;
          fire();
        });
        // An exact timer's `soon`, 5 ms before it as realTimers calls it (unless cancelled first).
        const soon = exact?.soon;
        if (soon !== undefined) {
          sim.schedule(Math.max(0, delayMs - 5), () => {
            if (!cancelled.has(seq) && this.alive) soon();
          });
        }
        return seq;
      },
      clear: (handle) => {
        if (typeof handle === 'number') cancelled.add(handle);
      },
    };
    const socket: LinkSocket = {
      send: async (datagram) => {
        if (!this.alive) return;
        // The vhosts build datagrams without IP options: the payload starts at byte 20. CARP's
        // is exactly 36 bytes; anything else is VRRP (which CARP's decoder would refuse, and a
        // failed send is only counted, so the datagram would silently never reach the segment).
        this.actions.push('advert');
        if (datagram.length - 20 === CARP_HEADER_LENGTH) {
          const ad = decodeAdvertisement(datagram, 20);
          this.adverts.push({ at: sim.clock.now(), vhid: ad.vhid, advbase: ad.advbase, advskew: ad.advskew });
        } else {
          const ad = decodeVrrp(datagram, 20, datagram.length - 20);
          this.vrrpAdverts.push({ at: sim.clock.now(), vrid: ad.vrid, version: ad.version, priority: ad.priority, intervalCs: ad.intervalCs });
        }
        if (this.connected) sim.broadcast(this, Buffer.from(datagram));
      },
      join() {},
      close() {},
    };
    this.link = new Link('eth0', {
      openSocket: () => socket,
      timers: this.timers,
      clock: { now: () => sim.clock.now() - sim.checksMs },
      log: silent,
      limited: new RateLimitedLog(silent, sim.clock),
      onFatal: (reason) => {
        throw new Error(`simulated link failed: ${reason}`);
      },
    });
  }

  addVhost(o: SimVhostOptions = {}): SimVhost {
    const vhid = o.vhid ?? 1;
    const config: VhostConfig = {
      name: o.name ?? `${this.name}-vhid${vhid}`,
      interface: 'eth0',
      srcip: ipv4(this.address),
      mcast: ipv4('224.0.0.18'),
      vhid,
      protocol: o.protocol ?? 'carp',
      password: Buffer.from(o.password ?? ((o.protocol ?? 'carp') === 'carp' ? 'love' : '')),
      priority: o.priority ?? 100,
      advertIntCs: o.advertIntCs ?? 100,
      peers: (o.peers ?? []).map(ipv4),
      initialMaster: o.initialMaster ?? false,
      v3ChecksumAsV2: false,
      preempt: o.preempt ?? (o.protocol !== undefined && o.protocol !== 'carp'),
      neutral: o.neutral ?? false,
      vips: (o.vips ?? [`198.18.0.${200 + (vhid % 50)}`]).map((text) => ({ address: ipv4(text), prefix: 32 })),
      vipLabel: undefined,
      manageVip: true,
      advbase: o.advbase ?? 1,
      advskew: o.advskew ?? 0,
      deadratio: o.deadratio ?? 3,
      upscript: undefined,
      downscript: undefined,
      xparam: undefined,
      shutdown: o.downScriptOnExit ?? true,
      ignoreIfState: o.ignoreIfState ?? false,
      noMcast: false,
      scriptTimeoutMs: 5000,
      group: o.group,
      checks: [],
      trackInterfaces: [],
      trackFiles: [],
      notify: o.notify,
      preemptDelayMs: o.preemptDelayMs ?? 0,
      stateNotify: {},
      keepalivedNotify: undefined,
      garpRepeat: 1,
      garpDelayMs: undefined,
      excludedVips: [],
      replayProtect: o.replayProtect ?? false,
    };
    const vhost = new SimVhost(this, config);
    this.vhosts.push(vhost);
    this.link.attach(vhost.vhost);
    this.groups.add(vhost.vhost);
    if (!this.link.isOpen) void this.link.start();
    return vhost;
  }

  /** The first (for single-vhost nodes: the only) vhost. */
  get main(): SimVhost {
    const first = this.vhosts[0];
    if (first === undefined) throw new Error(`${this.name} has no vhost`);
    return first;
  }

  get machine() {
    return this.main.vhost.machine;
  }

  get state(): CarpState {
    return this.main.state;
  }

  get hasVip(): boolean {
    return this.main.hasVip;
  }

  get scripts(): ('up' | 'down')[] {
    return this.main.host.scripts;
  }

  get garps(): number[] {
    return this.main.host.garps;
  }

  /** Feeds an event to every vhost of the node: start and shutdown as the daemon does them. */
  feed(event: MachineEvent): void {
    if (!this.alive) return;
    for (const v of this.vhosts) {
      if (event.type === 'start') v.vhost.start(event.linkUp);
      else if (event.type === 'shutdown') void v.vhost.shutdown();
      else v.vhost.dispatch(event);
    }
  }

  /** Carrier change on the node's interface, through the link as the monitor reports it. */
  carrier(up: boolean): void {
    this.link.onCarrier(up);
  }

  /** A crash: no more events, no goodbye. */
  kill(): void {
    this.alive = false;
  }
}

export class Simulation {
  readonly clock = new ManualClock(0);
  readonly nodes: SimNode[] = [];
  readonly transitions: Transition[] = [];
  private queue: Pending[] = [];
  private seq = 0;

  /**
   * `checksMs`: how long each received datagram's checks "took": the links read the clock that
   * much before the vhosts do (the real checks take time; simulated ones none).
   */
  constructor(
    readonly latencyMs = 0.2,
    readonly checksMs = 0,
  ) {}

  /** A node with one vhost. */
  add(o: SimNodeOptions): SimNode {
    const node = this.addHost(o.name, o.address);
    node.addVhost(o);
    return node;
  }

  /** A node without vhosts yet: add them with addVhost(). */
  addHost(name: string, address: string): SimNode {
    const node = new SimNode(this, name, address);
    this.nodes.push(node);
    return node;
  }

  schedule(delayMs: number, run: (seq: number) => void): number {
    const seq = ++this.seq;
    this.queue.push({ at: this.clock.now() + delayMs, seq, run: () => run(seq) });
    return seq;
  }

  broadcast(from: SimNode, datagram: Buffer): void {
    for (const node of this.nodes) {
      if (node === from || !node.connected) continue;
      this.schedule(this.latencyMs, () => {
        if (node.alive) node.link.receive(datagram);
      });
    }
  }

  /** Runs every scheduled event up to and including `until` (absolute ms), in time order. */
  async runUntil(until: number): Promise<void> {
    await drain();
    for (;;) {
      this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.queue[0];
      if (!next || next.at > until) break;
      this.queue.shift();
      this.clock.set(Math.max(this.clock.now(), next.at));
      next.run();
      await drain();
    }
    this.clock.set(Math.max(this.clock.now(), until));
  }

  runFor(ms: number): Promise<void> {
    return this.runUntil(this.clock.now() + ms);
  }

  masters(): SimNode[] {
    return this.nodes.filter((n) => n.alive && n.state === 'MASTER');
  }
}

/** Lets pending promise work (the host-action queues) finish at the current simulated time. */
function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

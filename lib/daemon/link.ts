/**
 * One link per interface: its socket, its carrier state, and the list of our virtual hosts on
 * it. Each datagram runs the link-level checks once, then the vhid picks the vhost (as
 * ip_carp.c's carp_proto_input_c walks the interface's list of vhosts), which runs its own
 * checks. Link events fan out to the vhosts that follow the carrier.
 *
 * The socket and the carrier monitor come through factories, so the simulation runs this class
 * on an in-memory segment.
 *
 * A link carries one family: an interface with IPv4 and IPv6 vhosts has two links, each with its
 * own socket (a raw IPv4 socket that sees whole datagrams, a raw IPv6 one that sees payloads
 * and the addresses and hop limit beside them), the same demultiplexer and the same vhosts' view.
 */
import { errorText } from '../errors.js';
import type { Logger, RateLimitedLog } from '../log.js';
import { addressKey, type IpAddress } from '../net/address.js';
import { kernelClockMs } from '../net/ipv6-socket.js';
import { checkLinkPacket, checkLinkPacket6, DropCounters, type Ipv6Datagram, type LinkCheckResult, type LinkInputContext } from '../protocol/checks.js';
import { intToIpv4, IPV4_MIN_HEADER_LENGTH } from '../protocol/ipv4.js';
import type { Clock } from '../state/clock.js';
import type { AdvertPort, TimerPort } from './ports.js';
import { QUIET_DROPS, type VirtualHost } from './vhost.js';

export interface LinkSocket {
  /** IPv4: a whole datagram. IPv6: the payload, from `src` when given (else the kernel's pick). */
  send(datagram: Buffer, to: string, src?: string): Promise<void>;
  join(group: string): void;
  close(): void;
  /**
   * IPv6: the interface's link-local address, the adverts' source when the vhost names none;
   * undefined while the interface has none (down, or still in duplicate address detection).
   */
  source?(): IpAddress | undefined;
}

export interface SocketOptions {
  readonly interface: string;
  readonly srcip: string;
  readonly groups: readonly string[];
  /** receivedMs: when the kernel received it (its timestamp, on kernelClockMs()'s clock), when known. */
  readonly onPacket: (datagram: Buffer, receivedMs?: number) => void;
  /** The socket failed for good (raw-socket closes it after an error). */
  readonly onError: (error: Error) => void;
}

export interface Socket6Options {
  readonly interface: string;
  readonly groups: readonly string[];
  readonly onPacket: (datagram: Ipv6Datagram) => void;
  readonly onError: (error: Error) => void;
}

/** Opens the raw socket; throws with the system's message when it cannot. */
export type OpenSocket = (o: SocketOptions) => LinkSocket;
export type OpenSocket6 = (o: Socket6Options) => LinkSocket;

/** What the link needs of a carrier monitor (lib/host/link-monitor.ts in the daemon). */
export interface CarrierMonitor {
  readonly up: boolean;
  start(): Promise<boolean>;
  stop(): void;
  on(event: 'change', listener: (up: boolean) => void): unknown;
  on(event: 'replaced', listener: (ifindex: number) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * The largest age of a datagram believed: beyond it the wall clock (which the kernel's stamp
 * and the age are read on) was probably stepped in between, and the arrival is taken as now.
 * An event loop held up longer than this has worse problems than a timer 0.2 ms late.
 */
const MAX_AGE_MS = 100;

/** When a datagram came in on the vhosts' clock: `now` less its age, if the age is believable. */
export function arrivedAt(now: number | undefined, ageMs: number | undefined): number | undefined {
  if (now === undefined || ageMs === undefined || !(ageMs >= 0 && ageMs <= MAX_AGE_MS)) return now;
  return now - ageMs;
}

export interface LinkDeps {
  readonly openSocket: OpenSocket;
  /** The IPv6 socket, for a link of IPv6 vhosts. */
  readonly openSocket6?: OpenSocket6;
  /** Undefined when no vhost on the link follows the carrier (all --ignoreifstate), or in tests. */
  readonly createMonitor?: () => CarrierMonitor;
  readonly timers: TimerPort;
  /**
   * The vhosts' clock, read as a datagram comes in: a BACKUP's master-down interval runs from
   * the advert's arrival, not from the end of its checks (see VirtualHost.receive).
   */
  readonly clock?: Clock;
  readonly log: Logger;
  readonly limited: RateLimitedLog;
  /** The socket died: the process gives every VIP up and exits non-zero. */
  readonly onFatal: (reason: string) => void;
}

/**
 * The IPv4 source of a datagram the link's checks refused, as an example for the drop log;
 * undefined when it is too short to have one.
 */
function datagramSource(datagram: Buffer): string | undefined {
  return datagram.length >= IPV4_MIN_HEADER_LENGTH ? intToIpv4(datagram.readUInt32BE(12)) : undefined;
}

/** After the interface was re-created: how often to retry opening the socket. */
const REOPEN_RETRY_MS = 1000;

/**
 * The demultiplexer's key. CARP and VRRPv2 packets both start with version 2 and carry the id
 * in their second byte, so they share one id space; VRRPv3 (version 3) has its own.
 */
function demuxKey(version: number, vhid: number): string {
  return `${version === 3 ? 3 : 2}/${vhid}`;
}

function vhostKey(vhost: VirtualHost): string {
  return demuxKey(vhost.config.protocol === 'vrrp3' ? 3 : 2, vhost.config.vhid);
}

export class Link {
  private readonly byVhid = new Map<string, VirtualHost>();
  private readonly drops = new DropCounters();
  /** Recomputed when a vhost comes or goes, not per datagram. */
  private linkContext: LinkInputContext = this.inputContext();
  private socket: LinkSocket | undefined;
  private monitor: CarrierMonitor | undefined;
  private reopenTimer: unknown;
  private closed = false;

  constructor(
    readonly name: string,
    private readonly deps: LinkDeps,
    /** The family of every vhost on this link and of its socket. */
    readonly family: 4 | 6 = 4,
  ) {}

  /** "CARP socket" or "IPv6 CARP socket", for the log. */
  private get socketName(): string {
    return this.family === 6 ? 'IPv6 CARP socket' : 'CARP socket';
  }

  get vhosts(): readonly VirtualHost[] {
    return [...this.byVhid.values()];
  }

  /** Carrier as the monitor last saw it (true without a monitor). */
  get up(): boolean {
    return this.monitor?.up ?? true;
  }

  get isOpen(): boolean {
    return this.socket !== undefined;
  }

  attach(vhost: VirtualHost): void {
    this.byVhid.set(vhostKey(vhost), vhost);
    this.linkContext = this.inputContext();
    // A vhost added by a reload may use a group the socket has not joined yet.
    try {
      this.socket?.join(vhost.config.mcast.text);
    } catch (error) {
      this.deps.log.error(`cannot join ${vhost.config.mcast.text} on ${this.name}: ${errorText(error)}`);
    }
  }

  detach(vhost: VirtualHost): void {
    if (this.byVhid.get(vhostKey(vhost)) === vhost) this.byVhid.delete(vhostKey(vhost));
    this.linkContext = this.inputContext();
  }

  /** The port a vhost sends through, on whatever socket is open now. */
  advertPort(): () => AdvertPort | undefined {
    return () => {
      const socket = this.socket;
      if (socket === undefined) return undefined;
      return {
        send: (datagram, to, src) => socket.send(datagram, to, src),
        ...(socket.source !== undefined ? { source: () => socket.source!() } : {}),
      };
    };
  }

  /** Opens the socket and starts the carrier monitor. false (logged) when the socket cannot open. */
  async start(): Promise<boolean> {
    if (!this.open((m) => this.deps.log.error(m))) return false;
    if (this.deps.createMonitor !== undefined) {
      const monitor = this.deps.createMonitor();
      this.monitor = monitor;
      monitor.on('change', (up) => this.onCarrier(up));
      // The interface was deleted and created again (ifdown/ifup of a VLAN, a re-plugged NIC):
      // the old socket is bound to a device that no longer exists, deaf and mute. Drop it; a
      // new one is opened when the link comes up (the address may not be back before that).
      monitor.on('replaced', (ifindex) => {
        this.socket?.close();
        this.socket = undefined;
        this.deps.log.warn(`${this.name} was re-created (index ${ifindex}): the ${this.socketName} will be reopened`);
      });
      monitor.on('error', (error) => this.deps.log.error(`link monitor: ${errorText(error)}`));
      await monitor.start();
    }
    return true;
  }

  /**
   * Carrier changes reach the vhosts through here: after the interface was re-created, "up" is
   * passed on only once a new socket is open — until then the vhosts stay as after a link
   * loss, and we retry every second (the address may come back after the link).
   */
  onCarrier(up: boolean): void {
    this.deps.timers.clear(this.reopenTimer);
    if (this.closed) return;
    if (up && this.socket === undefined) {
      if (!this.open((m) => this.deps.limited.warn('reopen', m))) {
        this.reopenTimer = this.deps.timers.set(REOPEN_RETRY_MS, () => {
          if (this.up) this.onCarrier(true);
        });
        return;
      }
      this.deps.log.warn(`${this.socketName} reopened on ${this.name}`);
    }
    for (const vhost of this.byVhid.values()) {
      if (!vhost.config.ignoreIfState) vhost.dispatch({ type: 'link', up });
    }
  }

  /** The carrier state a vhost starts with. */
  initialCarrier(vhost: VirtualHost): boolean {
    return vhost.config.ignoreIfState ? true : this.up;
  }

  /** One received datagram, the kernel's at `receivedMs`. Nothing a packet carries may escape this handler. */
  receive(datagram: Buffer, receivedMs?: number): void {
    const at = this.arrival(receivedMs);
    try {
      this.deliver(checkLinkPacket(datagram, this.linkContext), () => datagramSource(datagram), at);
    } catch (error) {
      this.deps.limited.warn('datagram-handler', `error handling a datagram: ${errorText(error)}`);
    }
  }

  /** One datagram from the IPv6 socket: its payload, with the addresses and hop limit beside it. */
  receive6(datagram: Ipv6Datagram): void {
    const at = this.arrival(datagram.receivedMs);
    try {
      this.deliver(checkLinkPacket6(datagram, this.linkContext), () => datagram.src, at);
    } catch (error) {
      this.deps.limited.warn('datagram-handler', `error handling a datagram: ${errorText(error)}`);
    }
  }

  /**
   * When a datagram the kernel received at `receivedMs` came in, on the vhosts' clock: its age
   * is read here, next to that clock, so that neither the addon's work nor the event emitters
   * between it and us count as time on the wire.
   */
  private arrival(receivedMs: number | undefined): number | undefined {
    const now = this.deps.clock?.now();
    return arrivedAt(now, receivedMs === undefined ? undefined : kernelClockMs() - receivedMs);
  }

  private deliver(result: LinkCheckResult, source: () => string | undefined, at: number | undefined): void {
    if (!result.ok) {
      this.drops.increment(result.reason);
      if (QUIET_DROPS.has(result.reason)) {
        this.deps.log.debug(`dropped advert: ${result.reason}: ${result.detail}`);
      } else {
        this.deps.limited.drop(result.reason, source(), result.detail);
      }
      return;
    }
    // 7. The version and vhid pick the vhost; another vhid is another virtual host on the
    //    segment.
    const vhost = this.byVhid.get(demuxKey(result.version, result.vhid));
    if (vhost === undefined) {
      this.drops.increment('other-vhid');
      this.deps.log.debug(`dropped advert: other-vhid: from ${result.ip.src}: vhid ${result.vhid}, ours ${this.vhidList()}`);
      return;
    }
    vhost.receive(result, at);
  }

  dropSnapshot(): Readonly<Record<string, number>> {
    return this.drops.snapshot();
  }

  close(): void {
    this.closed = true;
    this.deps.timers.clear(this.reopenTimer);
    this.monitor?.stop();
    this.socket?.close();
    this.socket = undefined;
  }

  private isOwn(src: number | bigint): boolean {
    for (const vhost of this.byVhid.values()) if (addressKey(vhost.config.srcip) === src) return true;
    // IPv6 multicast loopback is off, but a second socket of ours on the link (another carpd
    // in this namespace) would still be heard: its source is this link-local address.
    const own = this.socket?.source?.();
    return own !== undefined && addressKey(own) === src;
  }

  /**
   * What the link checks need to know of its vhosts. A link of CARP vhosts only checks exactly
   * as before VRRP existed; VRRP vhosts widen the versions and move the length rule to the vhost.
   */
  private inputContext(): LinkInputContext {
    let carpOnly = true;
    const versions = new Set<number>();
    for (const vhost of this.byVhid.values()) {
      if (vhost.config.protocol !== 'carp') carpOnly = false;
      versions.add(vhost.config.protocol === 'vrrp3' ? 3 : 2);
    }
    if (versions.size === 0) versions.add(2);
    return { isOwnAddress: (src) => this.isOwn(src), versions, carpOnly };
  }

  private vhidList(): string {
    const vhids = [...new Set([...this.byVhid.values()].map((v) => v.config.vhid))].sort((a, b) => a - b);
    return vhids.length <= 8 ? vhids.join(', ') : `${vhids.slice(0, 8).join(', ')}, ... (${vhids.length})`;
  }

  /** Opens (or re-opens, after the interface was re-created) the CARP socket. */
  private open(report: (message: string) => void): boolean {
    this.socket?.close();
    this.socket = undefined;
    const vhosts = [...this.byVhid.values()];
    const first = vhosts[0];
    if (first === undefined) return false;
    const groups = [...new Set(vhosts.map((v) => v.config.mcast.text))];
    const onError = (error: Error): void => {
      // raw-socket closes a socket after an error: without it we can neither hear nor
      // advertise, so give the VIPs up and exit non-zero (a supervisor restarts us).
      this.deps.log.error(`${this.socketName} error on ${this.name}: ${errorText(error)}`);
      this.deps.onFatal('socket failure');
    };
    try {
      if (this.family === 6) {
        if (this.deps.openSocket6 === undefined) throw new Error('IPv6 is not available here');
        this.socket = this.deps.openSocket6({ interface: this.name, groups, onPacket: (datagram) => this.receive6(datagram), onError });
        return true;
      }
      this.socket = this.deps.openSocket({
        interface: this.name,
        srcip: first.config.srcip.text,
        groups,
        onPacket: (datagram, receivedMs) => this.receive(datagram, receivedMs),
        onError,
      });
      return true;
    } catch (error) {
      const hint = /not permitted|EPERM|EACCES/i.test(errorText(error))
        ? ' (carpd needs root, or CAP_NET_RAW and CAP_NET_ADMIN)'
        : '';
      report(`cannot open the ${this.socketName} on ${this.name}: ${errorText(error)}${hint}`);
      return false;
    }
  }
}

import { EventEmitter } from 'node:events';
import { loadAddon } from './addon.js';

/**
 * A raw IPv6 socket for one IP protocol on one interface: CARP and VRRPv3 adverts (protocol
 * 112 to ff02::12) and, with protocol 58, unsolicited neighbour advertisements. The only
 * user of carpd's native addon's Ipv6Socket (native/ipv6_socket.cc).
 *
 * The addon exists because the input checks need what the kernel strips from an IPv6 raw
 * socket's datagrams: the hop limit (255, or the packet came from off the link) and the
 * destination address. Both arrive here with every packet, from recvmsg's ancillary data.
 *
 * Unlike the IPv4 transport we never write the IP header: the kernel builds it, with the hop
 * limit set on the socket (255) and the source given per send or picked by the kernel (the
 * interface's link-local address for ff02::/16, which is what RFC 5798 and ip_carp.c want).
 */

/** IPPROTO_ICMPV6: for neighbour advertisements; the kernel computes their checksum. */
export const IPPROTO_ICMPV6 = 58;
/** A send the kernel keeps refusing with EAGAIN for this long is reported as failed. */
const SEND_TIMEOUT_MS = 1000;
/** Pause before retrying a send refused with EAGAIN (the socket's send buffer was full). */
const SEND_RETRY_MS = 5;

export interface Ipv6SocketOptions {
  readonly interface: string;
  /** The IP protocol (next header) the socket sends and receives: 112, or 58 for ICMPv6. */
  readonly protocol: number;
  /** Hop limit of everything sent, multicast and unicast; default 255 (the protocols demand it). */
  readonly hopLimit?: number;
  /**
   * false: a send-only socket. Nothing is read, and for ICMPv6 the kernel is told to queue
   * nothing for it (the link's neighbour discovery would otherwise pile up). Default true.
   */
  readonly receive?: boolean;
}

export interface Ipv6Packet {
  /** What follows the IPv6 header (the kernel strips it): the CARP or VRRP header onwards. */
  readonly payload: Buffer;
  readonly src: string;
  readonly dst: string;
  /** The hop limit the datagram arrived with; -1 if the kernel gave none (never seen). */
  readonly hopLimit: number;
  readonly ifindex: number;
  /** When the kernel received it (its timestamp), on kernelClockMs()'s clock; NaN without one. */
  readonly receivedMs: number;
}

export interface Ipv6SocketEvents {
  packet: [packet: Ipv6Packet];
  error: [error: Error];
}

export interface NativeSocket {
  readonly ifindex: number;
  join(group: string): void;
  leave(group: string): void;
  send(payload: Buffer, dst: string, src: string | null): void;
  close(): void;
}

/** (payload, src, dst, hopLimit, ifindex, receivedMs); for family 4 the payload is the whole datagram, dst '' and hopLimit -1. */
export type NativePacketHandler = (payload: Buffer, src: string, dst: string, hopLimit: number, ifindex: number, receivedMs: number) => void;

/**
 * The clock of the addon's receive times: CLOCK_MONOTONIC in ms (process.hrtime's; libuv reads
 * CLOCK_MONOTONIC). A datagram's age is this less its receivedMs, read next to the clock that
 * uses it: an age taken in the addon was 50-100 µs stale by then (bench:vrrp).
 */
export function kernelClockMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}

export interface RawSocketAddon {
  /** native/ipv6_socket.cc; family 4 makes a receive-only IPv4 socket (lib/net/transport.ts). */
  Ipv6Socket: new (
    ifname: string,
    protocol: number,
    hopLimit: number,
    onPacket: NativePacketHandler | null,
    onError: ((error: Error) => void) | null,
    family?: 4 | 6,
  ) => NativeSocket;
}

interface PendingSend {
  readonly payload: Buffer;
  readonly dst: string;
  readonly src: string | null;
  readonly deadline: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

function isEagain(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
}

export class Ipv6Socket extends EventEmitter<Ipv6SocketEvents> {
  /** The interface's index in this network namespace, as the kernel numbers it. */
  readonly ifindex: number;
  private readonly socket: NativeSocket;
  private readonly joined = new Set<string>();
  private readonly queue: PendingSend[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(readonly options: Ipv6SocketOptions) {
    super();
    const hopLimit = options.hopLimit ?? 255;
    if (!Number.isInteger(options.protocol) || options.protocol < 1 || options.protocol > 255) {
      throw new RangeError(`IPv6 socket protocol must be an integer from 1 to 255, received ${String(options.protocol)}`);
    }
    if (!Number.isInteger(hopLimit) || hopLimit < 1 || hopLimit > 255) {
      throw new RangeError(`IPv6 socket hopLimit must be an integer from 1 to 255, received ${String(hopLimit)}`);
    }
    const { Ipv6Socket: Native } = loadAddon<RawSocketAddon>('IPv6');
    const onPacket =
      options.receive === false
        ? null
        : (payload: Buffer, src: string, dst: string, hopLimitIn: number, ifindex: number, receivedMs: number): void => {
            // The payload is a fresh copy: listeners may keep it.
            this.emit('packet', { payload, src, dst, hopLimit: hopLimitIn, ifindex, receivedMs });
          };
    this.socket = new Native(options.interface, options.protocol, hopLimit, onPacket, (error) => this.emit('error', error));
    this.ifindex = this.socket.ifindex;
  }

  /** Joins a multicast group on the interface (idempotent): needed to hear ff02::12. */
  join(group: string): void {
    if (this.joined.has(group)) return;
    this.socket.join(group);
    this.joined.add(group);
  }

  leave(group: string): void {
    if (!this.joined.has(group)) return;
    this.socket.leave(group);
    this.joined.delete(group);
  }

  /**
   * Sends `payload` (what follows the IPv6 header) to `dst`, from `src` if given (it must be
   * an address of this host on the interface), else from the address the kernel picks.
   * Resolves once the kernel took it; rejects with the errno error. Sends leave in call order.
   */
  send(payload: Buffer, dst: string, src?: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error('IPv6 socket closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ payload, dst, src: src ?? null, deadline: Date.now() + SEND_TIMEOUT_MS, resolve, reject });
      if (this.queue.length === 1) this.flush();
    });
  }

  /** Stops delivery, releases the socket, fails the sends still waiting. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.socket.close();
    for (const pending of this.queue.splice(0)) pending.reject(new Error('IPv6 socket closed'));
  }

  private flush(): void {
    this.retryTimer = undefined;
    while (!this.closed) {
      const next = this.queue[0];
      if (next === undefined) return;
      try {
        this.socket.send(next.payload, next.dst, next.src);
      } catch (err) {
        // EAGAIN: the send buffer is full for a moment; the kernel drains it within ms.
        if (isEagain(err) && Date.now() < next.deadline) {
          this.retryTimer = setTimeout(() => this.flush(), SEND_RETRY_MS);
          return;
        }
        this.queue.shift();
        next.reject(err instanceof Error ? err : new Error(String(err)));
        continue;
      }
      this.queue.shift();
      next.resolve();
    }
  }
}

import { EventEmitter } from 'node:events';
import raw, { type Socket } from 'raw-socket';
import { IPPROTO_CARP } from '../protocol/constants.js';
import { ipv4ToBytes } from '../protocol/ipv4.js';
import { loadAddon } from './addon.js';
import { AF_INET, inetAddress, openHostSocket, SOCK_RAW, type HostSocket } from './host-socket.js';
import type { NativeSocket, RawSocketAddon } from './ipv6-socket.js';
import { Kept } from './kept.js';

/**
 * The CARP socket: a raw IPv4 socket for protocol 112, the only importer of raw-socket.
 *
 * Adverts are read by carpd's addon (native/ipv6_socket.cc with family 4), which hands over
 * with each datagram the kernel's receive timestamp as an age (SO_TIMESTAMPNS): a backup's
 * master-down timer runs from the advert's arrival, not from when the event loop read it
 * (raw-socket reads with recvfrom, where the timestamp cannot be had). Without the addon,
 * raw-socket reads them, and ages are unknown.
 *
 * We write the IP header ourselves (IP_HDRINCL) so the datagram is the one ucarp puts on the
 * wire: TOS low-delay, DF, TTL 255, source = --srcip whatever address the kernel would pick.
 * ucarp writes whole Ethernet frames with a 00:00:5e:00:00:<vhid> source MAC through pcap; a
 * raw IP socket sends from the interface's own MAC, which receivers do not check.
 *
 * Adverts leave through a second, send-only socket of carpd's addon (IPPROTO_RAW: the header
 * is ours, and the kernel delivers nothing to it), in the call itself: raw-socket queues a send
 * until the event loop's next poll phase, so a new master's first advert waited behind the VIP,
 * the ARPs and the log lines of its takeover. raw-socket still receives, and sends whatever the
 * kernel would not take at once (a full send buffer), or everything if the addon is missing.
 */

// Linux values from <linux/in.h> and <asm-generic/socket.h>; raw-socket exports only a few.
const SOL_SOCKET = 1;
const SO_BINDTODEVICE = 25;
const IPPROTO_IP = 0;
const IP_HDRINCL = 3;
const IP_MULTICAST_IF = 32;
const IP_MULTICAST_TTL = 33;
const IP_MULTICAST_LOOP = 34;
const IP_ADD_MEMBERSHIP = 35;
const IPPROTO_RAW = 255;
/** A send the kernel has not taken by then is reported as failed rather than left hanging. */
const SEND_TIMEOUT_MS = 1000;

export interface TransportOptions {
  readonly interface: string;
  /** An address of ours on the interface: the kernel picks the device for IP_MULTICAST_IF by it. */
  readonly srcip: string;
  /** The multicast groups to join (every vhost's --mcast on this interface). */
  readonly groups: readonly string[];
}

export interface TransportEvents {
  /** receivedMs: when the kernel received it, on kernelClockMs()'s clock; undefined when not known. */
  packet: [datagram: Buffer, receivedMs: number | undefined];
  error: [error: Error];
}

/**
 * struct ip_mreqn with interface index 0: the kernel picks the device that holds `local` (our
 * --srcip). Reading the index from /sys would be wrong whenever /sys belongs to another
 * network namespace (nsenter --net without remounting it).
 */
function ipMreqn(group: string, local: string): Buffer {
  const b = Buffer.alloc(12);
  ipv4ToBytes(group).copy(b, 0);
  ipv4ToBytes(local).copy(b, 4);
  b.writeInt32LE(0, 8);
  return b;
}

/** The addon's receiving socket (no group joined yet); undefined if the addon cannot make it. */
function openReceiveSocket(o: TransportOptions, onPacket: (datagram: Buffer, receivedMs: number) => void, onError: (error: Error) => void): NativeSocket | undefined {
  try {
    const { Ipv6Socket: Native } = loadAddon<RawSocketAddon>('IPv4 receive timestamps');
    return new Native(o.interface, IPPROTO_CARP, 255, (datagram, _src, _dst, _hops, _ifindex, receivedMs) => onPacket(datagram, receivedMs), onError, 4);
  } catch {
    return undefined;
  }
}

/** The send-only socket, set up as the receiving one is; undefined if the addon cannot make it. */
function openSendSocket(o: TransportOptions): HostSocket | undefined {
  let socket: HostSocket | undefined;
  try {
    socket = openHostSocket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    socket.setOption(SOL_SOCKET, SO_BINDTODEVICE, Buffer.from(`${o.interface}\0`));
    socket.setOption(IPPROTO_IP, IP_MULTICAST_LOOP, 0);
    socket.setOption(IPPROTO_IP, IP_MULTICAST_IF, ipMreqn(o.groups[0] ?? '224.0.0.18', o.srcip));
    return socket;
  } catch {
    socket?.close();
    return undefined;
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'ENOBUFS';
}

export class CarpTransport extends EventEmitter<TransportEvents> {
  private readonly socket: Socket;
  private readonly receiver: NativeSocket | undefined;
  private readonly sendSocket: HostSocket | undefined;
  private closed = false;
  private readonly joined = new Set<string>();
  private readonly sockaddrs = new Kept<Buffer>();

  constructor(private readonly o: TransportOptions) {
    super();
    this.receiver = openReceiveSocket(o, (datagram, receivedMs) => this.emit('packet', datagram, Number.isFinite(receivedMs) ? receivedMs : undefined), (error) => this.emit('error', error));
    // With the addon's receiver, raw-socket only sends what the addon's send socket could not
    // take at once, on IPPROTO_RAW (the header is ours, and the kernel delivers nothing to it).
    this.socket = raw.createSocket({ protocol: this.receiver !== undefined ? IPPROTO_RAW : IPPROTO_CARP, bufferSize: 2048 });
    const s = this.socket;
    // Bound to the interface: a host with several interfaces never hears or sends the
    // adverts of one on another.
    const dev = Buffer.from(`${o.interface}\0`);
    s.setOption(SOL_SOCKET, SO_BINDTODEVICE, dev, dev.length);
    s.setOption(IPPROTO_IP, IP_HDRINCL, 1);
    s.setOption(IPPROTO_IP, IP_MULTICAST_TTL, 255);
    // Our own adverts need not come back to us (the input checks would drop them anyway).
    s.setOption(IPPROTO_IP, IP_MULTICAST_LOOP, 0);
    const mreqn = ipMreqn(o.groups[0] ?? '224.0.0.18', o.srcip);
    s.setOption(IPPROTO_IP, IP_MULTICAST_IF, mreqn, mreqn.length);
    try {
      for (const group of o.groups) this.join(group);
    } catch (error) {
      this.receiver?.close();
      s.close();
      throw error;
    }
    if (this.receiver === undefined) {
      s.on('message', (buffer) => {
        // raw-socket reuses its receive buffer: the listener must finish with it synchronously.
        this.emit('packet', buffer, undefined);
      });
    }
    s.on('error', (error) => this.emit('error', error));
    // raw-socket closes the socket itself after a poll error; later sends would queue forever.
    s.on('close', () => {
      this.closed = true;
    });
    this.sendSocket = openSendSocket(o);
  }

  /**
   * Joins a group (idempotent). Joined even with --nomcast: the kernel delivers a datagram for
   * 224.0.0.18 only to members of the group, whatever link-layer address the frame carried.
   */
  join(group: string): void {
    if (this.joined.has(group)) return;
    if (this.receiver !== undefined) {
      this.receiver.join(group);
    } else {
      const mreqn = ipMreqn(group, this.o.srcip);
      this.socket.setOption(IPPROTO_IP, IP_ADD_MEMBERSHIP, mreqn, mreqn.length);
    }
    this.joined.add(group);
  }

  /**
   * Sends a whole IPv4 datagram (header included) to `to`, its group; resolves once the kernel
   * took it. --nomcast: with IP_HDRINCL the kernel routes by the sendto() address but picks the
   * link-layer destination from the header's (the group's multicast MAC), so sending to
   * 255.255.255.255 alone does not give ucarp -M's broadcast frame; the daemon adds a neighbour
   * entry for that (host/neigh.ts) and we send to the group as usual.
   */
  send(datagram: Buffer, to: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error('transport closed'));
    if (this.sendSocket !== undefined) {
      try {
        this.sendSocket.send(datagram, this.sockaddr(to));
        return Promise.resolve();
      } catch (error) {
        if (!isBusy(error)) return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`send not completed within ${SEND_TIMEOUT_MS} ms`)), SEND_TIMEOUT_MS);
      this.socket.send(datagram, 0, datagram.length, to, null, (error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      });
    });
  }

  /** struct sockaddr_in of a destination (the group, or each unicast peer), built once. */
  private sockaddr(to: string): Buffer {
    return this.sockaddrs.get(to, () => inetAddress(ipv4ToBytes(to)));
  }

  close(): void {
    this.sendSocket?.close();
    this.receiver?.close();
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}

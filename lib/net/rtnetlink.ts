import { addressBytes, type IpAddress } from './address.js';
import { AF_NETLINK, interfaceIndex, netlinkAddress, NETLINK_ROUTE, openHostSocket, readI32, readU16, readU32, SOCK_RAW, writeU16, writeU32, type HostSocket } from './host-socket.js';
import { Kept } from './kept.js';

/**
 * VIP changes over rtnetlink, as `ip addr add|del` makes them, without a process. The messages
 * are the ones iproute2 sends for `ip -4|-6 addr add|del ADDR/PREFIX dev IF [label L] [nodad]`:
 * RTM_NEWADDR with NLM_F_CREATE|NLM_F_EXCL (so an address already there is EEXIST, which the
 * caller counts as done), RTM_DELADDR matching address and prefix (not there: EADDRNOTAVAIL),
 * each with NLM_F_ACK. IFA_LOCAL and IFA_ADDRESS both carry the address (no peer), IFA_LABEL
 * the IPv4 label, and an IPv6 add sets IFA_F_NODAD in ifa_flags (see lib/host/vip.ts for why).
 * Byte for byte what iproute2 6.1 sends (test/net/rtnetlink.test.ts has its messages).
 *
 * The kernel handles a NETLINK_ROUTE request inside sendto() and queues its acknowledgement on
 * our socket before sendto() returns, so change() is synchronous: the address is on (or off)
 * the interface when it returns, and the answer is read with one non-blocking recv.
 */

export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const NLMSG_ERROR = 2;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_LABEL = 3;
export const IFA_F_NODAD = 0x02;
const AF_INET = 2;
const AF_INET6 = 10;
const NLMSG_HDRLEN = 16;
const IFADDRMSG_LEN = 8;

export interface AddressChange {
  readonly op: 'add' | 'del';
  readonly address: IpAddress;
  readonly prefix: number;
  readonly ifindex: number;
  /** IPv4 only (the kernel keeps labels for IPv4 alone). */
  readonly label?: string;
}

const align4 = (n: number): number => (n + 3) & ~3;

function attribute(type: number, data: Buffer): Buffer {
  const b = Buffer.alloc(align4(4 + data.length));
  writeU16(b, 4 + data.length, 0);
  writeU16(b, type, 2);
  data.copy(b, 4);
  return b;
}

/** The one netlink message for a change, sequence number `seq`. */
export function addressRequest(change: AddressChange, seq: number): Buffer {
  const v6 = change.address.family === 6;
  const bytes = addressBytes(change.address);
  const flags = v6 && change.op === 'add' ? IFA_F_NODAD : 0;
  // In iproute2's order (local, label, address), so the bytes match what `ip` sends.
  const attrs = [attribute(IFA_LOCAL, bytes)];
  if (!v6 && change.label !== undefined && change.op === 'add') attrs.push(attribute(IFA_LABEL, Buffer.from(`${change.label}\0`, 'latin1')));
  attrs.push(attribute(IFA_ADDRESS, bytes));
  const body = Buffer.concat(attrs);
  const message = Buffer.alloc(NLMSG_HDRLEN + IFADDRMSG_LEN + body.length);
  writeU32(message, message.length, 0);
  writeU16(message, change.op === 'add' ? RTM_NEWADDR : RTM_DELADDR, 4);
  writeU16(message, NLM_F_REQUEST | NLM_F_ACK | (change.op === 'add' ? NLM_F_CREATE | NLM_F_EXCL : 0), 6);
  writeU32(message, seq, 8);
  writeU32(message, 0, 12);
  // struct ifaddrmsg: family, prefix length, flags (the low 8 bits), scope (universe), index.
  message.writeUInt8(v6 ? AF_INET6 : AF_INET, 16);
  message.writeUInt8(change.prefix, 17);
  message.writeUInt8(flags & 0xff, 18);
  message.writeUInt8(0, 19);
  writeU32(message, change.ifindex, 20);
  body.copy(message, NLMSG_HDRLEN + IFADDRMSG_LEN);
  return message;
}

export interface Ack {
  readonly seq: number;
  /** 0: done; else the errno (positive) the kernel refused it with. */
  readonly errno: number;
}

/** The acknowledgements (NLMSG_ERROR messages) in a received datagram; other messages are skipped. */
export function parseAcks(datagram: Buffer): Ack[] {
  const acks: Ack[] = [];
  let offset = 0;
  while (offset + NLMSG_HDRLEN <= datagram.length) {
    const length = readU32(datagram, offset);
    if (length < NLMSG_HDRLEN || offset + length > datagram.length) break;
    const type = readU16(datagram, offset + 4);
    const seq = readU32(datagram, offset + 8);
    if (type === NLMSG_ERROR && length >= NLMSG_HDRLEN + 4) {
      // The kernel writes -errno (0 for an ack, which must stay 0, not -0).
      const error = readI32(datagram, offset + NLMSG_HDRLEN);
      acks.push({ seq, errno: error === 0 ? 0 : -error });
    }
    offset += align4(length);
  }
  return acks;
}

/** The errno the acknowledgement of request `seq` in the first `length` bytes of buffer carries; undefined if none does. */
function errnoOfAck(buffer: Buffer, length: number, seq: number): number | undefined {
  return parseAcks(buffer.subarray(0, Math.min(length, buffer.length))).find((a) => a.seq === seq)?.errno;
}

/** What change() found: the kernel's errno (0 = done), or why there is no answer. */
export type ChangeOutcome = { readonly errno: number } | { readonly unanswered: string };

/**
 * One NETLINK_ROUTE socket of this process's network namespace. Only the daemon opens one
 * (lib/host/host-io.ts): anything else that built one would change the addresses of whatever
 * namespace it runs in.
 */
export class RouteNetlink {
  private readonly socket: HostSocket;
  private seq = Math.floor(Math.random() * 0x7fffffff);
  // An acknowledgement of an error echoes the request's header (NLM_F_CAPPED aside), so a
  // buffer of a page is plenty for one ack.
  private readonly buffer = Buffer.alloc(8192);
  private readonly kernel = netlinkAddress();
  /**
   * The messages built so far, by change (the sequence number aside, written into them on each
   * send: the kernel copies a message in sendto). A takeover's message is built ahead
   * (prepare), so the takeover only sends it: building took 60 µs of the 0.3 ms between the
   * master-down timer and the VIP (bench:vrrp).
   */
  private readonly requests = new Kept<Buffer>();

  constructor(open: (domain: number, type: number, protocol: number) => HostSocket = openHostSocket) {
    this.socket = open(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    try {
      this.socket.bind(this.kernel);
    } catch (error) {
      this.socket.close();
      throw error;
    }
  }

  /** The interface's index, or undefined when there is no such interface here. */
  static interfaceIndex(name: string): number | undefined {
    const index = interfaceIndex(name);
    return index === 0 ? undefined : index;
  }

  change(change: AddressChange): ChangeOutcome {
    const seq = (this.seq = (this.seq + 1) & 0x7fffffff);
    const request = this.request(change);
    writeU32(request, seq, 8);
    this.socket.send(request, this.kernel);
    // Normally the first datagram is our ack; a stale one (a request whose ack was never read,
    // after an exception) is skipped.
    for (let reads = 0; reads < 16; reads++) {
      const length = this.socket.receive(this.buffer);
      if (length < 0) return { unanswered: 'no acknowledgement from the kernel' };
      const errno = errnoOfAck(this.buffer, length, seq);
      if (errno !== undefined) return { errno };
    }
    return { unanswered: 'no acknowledgement for this request from the kernel' };
  }

  /**
   * Gets a change ready without making it: its message built, and the reading of an answer run
   * once on a made-up acknowledgement. Run on a real answer for the first time, that reading
   * cost 0.2 ms (Node compiles Buffer's little-endian readers on their first call), all of it
   * between a takeover's VIP and its advert.
   */
  prepare(change: AddressChange): void {
    this.request(change);
    const made = Buffer.alloc(NLMSG_HDRLEN + 4 + NLMSG_HDRLEN);
    writeU32(made, made.length, 0);
    writeU16(made, NLMSG_ERROR, 4);
    writeU32(made, 1, 8);
    errnoOfAck(made, made.length, 1);
  }

  private request(change: AddressChange): Buffer {
    const key = `${change.op} ${change.address.text}/${change.prefix} ${change.ifindex} ${change.label ?? ''}`;
    return this.requests.get(key, () => addressRequest(change, 0));
  }

  close(): void {
    this.socket.close();
  }
}

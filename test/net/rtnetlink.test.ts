import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ipv4, ipv6 } from '../../lib/net/address.js';
import type { HostSocket } from '../../lib/net/host-socket.js';
import { addressRequest, parseAcks, RouteNetlink } from '../../lib/net/rtnetlink.js';

// What iproute2 6.1 sent for these commands (strace -e write=3 ip ...; sequence number
// 0x6b103e6b, interface index 3), on this little-endian machine: the netlink header fields are
// in host order.
const IPROUTE2 = {
  'ip -4 addr add 198.18.0.50/24 dev v0 label v0:carp':
    '34000000140005066b3e106b00000000' + '0218000003000000' + '08000200c6120032' + '0c000300' + '76303a6361727000' + '08000100c6120032',
  'ip -4 addr del 198.18.0.50/24 dev v0': '28000000150005006b3e106b00000000' + '0218000003000000' + '08000200c6120032' + '08000100c6120032',
  'ip -6 addr add 2001:db8::50/64 dev v0 nodad':
    '40000000140005066b3e106b00000000' + '0a40020003000000' + '1400020020010db8000000000000000000000050' + '1400010020010db8000000000000000000000050',
  'ip -6 addr del 2001:db8::50/64 dev v0':
    '40000000150005006b3e106b00000000' + '0a40000003000000' + '1400020020010db8000000000000000000000050' + '1400010020010db8000000000000000000000050',
};
const SEQ = 0x6b103e6b;

describe('addressRequest', () => {
  it('runs on a little-endian machine, as the captured messages were', () => {
    expect(endianness()).toBe('LE');
  });

  it('is what ip addr add sends, label included', () => {
    const m = addressRequest({ op: 'add', address: ipv4('198.18.0.50'), prefix: 24, ifindex: 3, label: 'v0:carp' }, SEQ);
    expect(m.toString('hex')).toBe(IPROUTE2['ip -4 addr add 198.18.0.50/24 dev v0 label v0:carp']);
  });

  it('is what ip addr del sends (no label, no create flags)', () => {
    const m = addressRequest({ op: 'del', address: ipv4('198.18.0.50'), prefix: 24, ifindex: 3, label: 'v0:carp' }, SEQ);
    expect(m.toString('hex')).toBe(IPROUTE2['ip -4 addr del 198.18.0.50/24 dev v0']);
  });

  it('IPv6: nodad on add, no label ever', () => {
    const add = addressRequest({ op: 'add', address: ipv6('2001:db8::50'), prefix: 64, ifindex: 3, label: 'ignored' }, SEQ);
    expect(add.toString('hex')).toBe(IPROUTE2['ip -6 addr add 2001:db8::50/64 dev v0 nodad']);
    const del = addressRequest({ op: 'del', address: ipv6('2001:db8::50'), prefix: 64, ifindex: 3 }, SEQ);
    expect(del.toString('hex')).toBe(IPROUTE2['ip -6 addr del 2001:db8::50/64 dev v0']);
  });
});

/** An NLMSG_ERROR message: error (0 = ack) and the request's header echoed. */
function ack(seq: number, errno: number): Buffer {
  const b = Buffer.alloc(36);
  b.writeUInt32LE(36, 0);
  b.writeUInt16LE(2, 4);
  b.writeUInt32LE(seq, 8);
  b.writeInt32LE(-errno, 16);
  return b;
}

describe('parseAcks', () => {
  it('reads every acknowledgement of a datagram, error or not, and skips other messages', () => {
    const other = Buffer.alloc(20);
    other.writeUInt32LE(20, 0);
    other.writeUInt16LE(20, 4);
    expect(parseAcks(Buffer.concat([ack(7, 0), other, ack(8, 17)]))).toEqual([
      { seq: 7, errno: 0 },
      { seq: 8, errno: 17 },
    ]);
  });

  it('stops at a length that runs past the datagram or is below a header', () => {
    const bad = ack(9, 0);
    bad.writeUInt32LE(400, 0);
    expect(parseAcks(Buffer.concat([ack(1, 0), bad]))).toEqual([{ seq: 1, errno: 0 }]);
    const tiny = ack(2, 0);
    tiny.writeUInt32LE(4, 0);
    expect(parseAcks(tiny)).toEqual([]);
  });
});

/** A socket that answers each request with what `answer` says, as the kernel would at once. */
class FakeSocket implements HostSocket {
  readonly sent: Buffer[] = [];
  readonly waiting: Buffer[] = [];
  bound: Buffer | undefined;
  closed = false;
  constructor(private readonly answer: (seq: number) => Buffer[]) {}
  bind(sockaddr: Buffer): void {
    this.bound = sockaddr;
  }
  setOption(): void {}
  send(data: Buffer): number {
    // The kernel copies a message in sendto(); RouteNetlink reuses its buffers.
    this.sent.push(Buffer.from(data));
    this.waiting.push(...this.answer(data.readUInt32LE(8)));
    return data.length;
  }
  receive(buffer: Buffer): number {
    const next = this.waiting.shift();
    if (next === undefined) return -1;
    next.copy(buffer);
    return next.length;
  }
  close(): void {
    this.closed = true;
  }
}

describe('RouteNetlink', () => {
  const change = { op: 'add', address: ipv4('198.18.0.50'), prefix: 32, ifindex: 2 } as const;

  it('binds to the kernel and returns the errno of the answer to its own request', () => {
    const socket = new FakeSocket((seq) => [ack(seq, 17)]);
    const netlink = new RouteNetlink(() => socket);
    expect(socket.bound?.readUInt16LE(0)).toBe(16);
    expect(netlink.change(change)).toEqual({ errno: 17 });
    expect(netlink.change(change)).toEqual({ errno: 17 });
    // A fresh sequence number per request.
    expect(socket.sent[0]!.readUInt32LE(8)).not.toBe(socket.sent[1]!.readUInt32LE(8));
    netlink.close();
    expect(socket.closed).toBe(true);
  });

  it("skips a stale answer to an earlier request and finds this one's", () => {
    const socket = new FakeSocket((seq) => [ack(seq - 1, 99), ack(seq, 0)]);
    expect(new RouteNetlink(() => socket).change(change)).toEqual({ errno: 0 });
  });

  it('no answer is said so, for the caller to judge another way', () => {
    const socket = new FakeSocket(() => []);
    expect(new RouteNetlink(() => socket).change(change)).toEqual({ unanswered: 'no acknowledgement from the kernel' });
    const wrong = new FakeSocket((seq) => Array.from({ length: 20 }, () => ack(seq + 5, 0)));
    expect(new RouteNetlink(() => wrong).change(change)).toEqual({ unanswered: 'no acknowledgement for this request from the kernel' });
  });

  it("sends a prepared change as addressRequest builds it, only the sequence number its own; prepare itself sends nothing", () => {
    const socket = new FakeSocket((seq) => [ack(seq, 0)]);
    const netlink = new RouteNetlink(() => socket);
    const labelled = { ...change, label: 'eth0:vip' };
    const removal = { op: 'del', address: ipv4('198.18.0.50'), prefix: 32, ifindex: 2 } as const;
    netlink.prepare(labelled);
    netlink.prepare(removal);
    expect(socket.sent).toHaveLength(0);
    for (const c of [labelled, removal, labelled, change]) expect(netlink.change(c)).toEqual({ errno: 0 });
    const seqs = socket.sent.map((m) => m.readUInt32LE(8));
    expect(new Set(seqs).size).toBe(4);
    socket.sent.forEach((m, i) => expect(m.toString('hex')).toBe(addressRequest([labelled, removal, labelled, change][i]!, seqs[i]!).toString('hex')));
  });

  it('a socket that cannot bind is closed and the error thrown', () => {
    const socket = new FakeSocket(() => []);
    socket.bind = () => {
      throw new Error('bind: Operation not permitted');
    };
    expect(() => new RouteNetlink(() => socket)).toThrow('bind: Operation not permitted');
    expect(socket.closed).toBe(true);
  });
});

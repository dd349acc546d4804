// ArpSender (lib/net/arp.ts) with a stand-in socket: what it hands the kernel, built once.
import { describe, expect, it } from 'vitest';
import { ipv4 } from '../../lib/net/address.js';
import { ArpSender, gratuitousArp, macBytes } from '../../lib/net/arp.js';
import { ETH_P_ARP, packetAddress, type HostSocket } from '../../lib/net/host-socket.js';

class FakeSocket implements HostSocket {
  readonly sent: { data: Buffer; to: Buffer | null }[] = [];
  bind(): void {}
  setOption(): void {}
  send(data: Buffer, to: Buffer | null): number {
    this.sent.push({ data: Buffer.from(data), to: to && Buffer.from(to) });
    return data.length;
  }
  receive(): number {
    return -1;
  }
  close(): void {}
}

describe('ArpSender', () => {
  const mac = macBytes('02:00:5e:12:34:56')!;
  const broadcast = Buffer.alloc(6, 0xff);

  it('sends the gratuitous ARP of each VIP to the broadcast address on its interface, prepared or not', () => {
    const socket = new FakeSocket();
    const arp = new ArpSender(() => socket);
    arp.prepare(3, mac, ipv4('198.18.0.50'));
    expect(socket.sent).toHaveLength(0);
    arp.send(3, mac, ipv4('198.18.0.50'));
    arp.send(3, mac, ipv4('198.18.0.51'));
    arp.send(4, mac, ipv4('198.18.0.50'));
    arp.send(3, mac, ipv4('198.18.0.50'));
    expect(socket.sent.map((s) => s.data.toString('hex'))).toEqual(
      ['198.18.0.50', '198.18.0.51', '198.18.0.50', '198.18.0.50'].map((v) => gratuitousArp(mac, ipv4(v)).toString('hex')),
    );
    expect(socket.sent.map((s) => s.to?.toString('hex'))).toEqual(
      [3, 3, 4, 3].map((i) => packetAddress(i, ETH_P_ARP, broadcast).toString('hex')),
    );
  });

  it('a new MAC on the same interface gets its own frame', () => {
    const socket = new FakeSocket();
    const arp = new ArpSender(() => socket);
    const other = macBytes('02:00:5e:ab:cd:ef')!;
    arp.send(3, mac, ipv4('198.18.0.50'));
    arp.send(3, other, ipv4('198.18.0.50'));
    expect(socket.sent[1]!.data.subarray(8, 14)).toEqual(other);
  });
});

import { addressBytes, type Ipv4Address } from './address.js';
import { AF_PACKET, ETH_P_ARP, openHostSocket, packetAddress, SOCK_DGRAM, type HostSocket } from './host-socket.js';
import { Kept } from './kept.js';

/**
 * The gratuitous ARP, written by carpd itself on a packet socket instead of by arping(8): the
 * frame iputils `arping -U -c 1 -I IF -s VIP VIP` sends (lib/host/garp.ts says why that one),
 * byte for byte: an ARP request, sender and target address the VIP, sender hardware address
 * the interface's MAC, target hardware address ff:ff:ff:ff:ff:ff, to the Ethernet broadcast
 * address. SOCK_DGRAM: the kernel writes the Ethernet header, as it does for arping.
 */

const BROADCAST = Buffer.alloc(6, 0xff);

/** "aa:bb:cc:dd:ee:ff" → 6 bytes; undefined for anything else. */
export function macBytes(text: string): Buffer | undefined {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(text)) return undefined;
  return Buffer.from(text.split(':').map((h) => parseInt(h, 16)));
}

/** The 28-byte ARP request announcing vip at mac. */
export function gratuitousArp(mac: Uint8Array, vip: Ipv4Address): Buffer {
  if (mac.length !== 6) throw new RangeError(`a MAC address is 6 bytes, got ${mac.length}`);
  const ip = addressBytes(vip);
  const b = Buffer.alloc(28);
  b.writeUInt16BE(1, 0); // hardware type: Ethernet
  b.writeUInt16BE(0x0800, 2); // protocol type: IPv4
  b.writeUInt8(6, 4);
  b.writeUInt8(4, 5);
  b.writeUInt16BE(1, 6); // request
  b.set(mac, 8);
  ip.copy(b, 14);
  BROADCAST.copy(b, 18);
  ip.copy(b, 24);
  return b;
}

/** One send-only packet socket (protocol 0: the kernel delivers nothing to it) for every interface. */
export class ArpSender {
  private readonly socket: HostSocket;
  /**
   * Frame and link-layer address by interface, MAC and VIP: built ahead (prepare) or at the
   * first send, so a takeover's ARPs are only sendto() calls.
   */
  private readonly built = new Kept<{ readonly frame: Buffer; readonly to: Buffer }>();

  constructor(open: (domain: number, type: number, protocol: number) => HostSocket = openHostSocket) {
    this.socket = open(AF_PACKET, SOCK_DGRAM, 0);
  }

  /** Sends the frame on the interface of index ifindex; throws a system error (ENETDOWN, ENXIO, ...). */
  send(ifindex: number, mac: Uint8Array, vip: Ipv4Address): void {
    const { frame, to } = this.prepare(ifindex, mac, vip);
    this.socket.send(frame, to);
  }

  /** Builds what send() sends, and sends nothing. */
  prepare(ifindex: number, mac: Uint8Array, vip: Ipv4Address): { readonly frame: Buffer; readonly to: Buffer } {
    const key = `${ifindex} ${Buffer.from(mac.buffer, mac.byteOffset, mac.length).toString('hex')} ${vip.text}`;
    return this.built.get(key, () => ({ frame: gratuitousArp(mac, vip), to: packetAddress(ifindex, ETH_P_ARP, BROADCAST) }));
  }

  close(): void {
    this.socket.close();
  }
}

import { endianness } from 'node:os';
import { loadAddon } from './addon.js';

/**
 * carpd's host socket (native/host_socket.cc): a non-blocking datagram socket of any family,
 * used synchronously. Its users: rtnetlink for the VIPs (lib/net/rtnetlink.ts), a packet
 * socket for gratuitous ARP (lib/net/arp.ts), and the IPv4 adverts' send socket
 * (lib/net/transport.ts). The sockaddr structures are written here, in the
 * machine's byte order where the kernel expects host order.
 */

export const AF_INET = 2;
export const AF_NETLINK = 16;
export const AF_PACKET = 17;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const NETLINK_ROUTE = 0;
export const ETH_P_ARP = 0x0806;

export interface HostSocket {
  bind(sockaddr: Buffer): void;
  setOption(level: number, name: number, value: number | Buffer): void;
  /** One sendto(2); the number of bytes sent. Throws a Node-style system error. */
  send(data: Buffer, to: Buffer | null): number;
  /** One non-blocking recv(2): the datagram's full length (> buffer.length: truncated), -1 if none waits. */
  receive(buffer: Buffer): number;
  close(): void;
}

interface HostAddon {
  HostSocket: new (domain: number, type: number, protocol: number) => HostSocket;
  interfaceIndex(name: string): number;
}

const little = endianness() === 'LE';

/** Host-order writers for what the kernel reads in host order (netlink headers, sockaddr fields). */
export function writeU16(b: Buffer, value: number, offset: number): void {
  if (little) b.writeUInt16LE(value, offset);
  else b.writeUInt16BE(value, offset);
}

export function writeU32(b: Buffer, value: number, offset: number): void {
  if (little) b.writeUInt32LE(value, offset);
  else b.writeUInt32BE(value, offset);
}

export function openHostSocket(domain: number, type: number, protocol: number): HostSocket {
  const { HostSocket: Native } = loadAddon<HostAddon>('netlink and packet sockets');
  return new Native(domain, type, protocol);
}

/** The interface's index in this network namespace; 0 when there is none of that name. */
export function interfaceIndex(name: string): number {
  return loadAddon<HostAddon>('netlink and packet sockets').interfaceIndex(name);
}

/** struct sockaddr_nl: the kernel is pid 0; groups 0 subscribes to no multicast. */
export function netlinkAddress(pid = 0, groups = 0): Buffer {
  const b = Buffer.alloc(12);
  writeU16(b, AF_NETLINK, 0);
  writeU32(b, pid, 4);
  writeU32(b, groups, 8);
  return b;
}

/** struct sockaddr_in for a raw socket: port 0, the address in network order. */
export function inetAddress(address: Uint8Array): Buffer {
  const b = Buffer.alloc(16);
  writeU16(b, AF_INET, 0);
  b.set(address, 4);
  return b;
}

/** struct sockaddr_ll for sending on ifindex to a link-layer address (protocol in network order, as the kernel wants). */
export function packetAddress(ifindex: number, protocol: number, destination: Uint8Array): Buffer {
  const b = Buffer.alloc(20);
  writeU16(b, AF_PACKET, 0);
  b.writeUInt16BE(protocol, 2);
  if (little) b.writeInt32LE(ifindex, 4);
  else b.writeInt32BE(ifindex, 4);
  // sll_hatype and sll_pkttype are ignored on send.
  b.writeUInt8(destination.length, 11);
  b.set(destination, 12);
  return b;
}

/** Host-order readers for what the kernel writes (netlink headers). */
export function readU16(b: Buffer, offset: number): number {
  return little ? b.readUInt16LE(offset) : b.readUInt16BE(offset);
}

export function readU32(b: Buffer, offset: number): number {
  return little ? b.readUInt32LE(offset) : b.readUInt32BE(offset);
}

export function readI32(b: Buffer, offset: number): number {
  return little ? b.readInt32LE(offset) : b.readInt32BE(offset);
}

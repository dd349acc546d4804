/**
 * IPv4 addresses and headers, as much as CARP needs.
 *
 * ucarp builds the IPv4 header itself (it writes whole Ethernet frames through pcap);
 * carpd sends through a raw socket with IP_HDRINCL, so it builds the same 20-byte header:
 * TOS low-delay, DF set, TTL 255, a random IP id chosen by the caller. On receipt a Linux
 * raw socket hands us the whole datagram, header included, which `decodeIpv4Header` parses.
 */
import { internetChecksum } from './checksum.js';
import { ProtocolDecodeError } from './errors.js';
import { addressBytes, ipv4, ipv4FromInt, parseIpv4 } from '../net/address.js';

export const IPV4_MIN_HEADER_LENGTH = 20;

/** Flag bit in the 16-bit flags/fragment-offset word. */
const IP_DF = 0x4000;
const IP_MF = 0x2000;

// Address parsing has one home, lib/net/address.ts; these are the string-level helpers the
// codec and its tests use, written on top of it.

/** Strict dotted quad: four decimal octets 0..255, no leading zeros, nothing else. */
export function isValidIpv4(s: string): boolean {
  return parseIpv4(s) !== undefined;
}

/** "198.18.0.1" -> 0xc6120001 (unsigned). Throws a TypeError for anything but a strict dotted quad. */
export function ipv4ToInt(addr: string): number {
  return ipv4(addr).int;
}

/** 0xc6120001 -> "198.18.0.1". Accepts integers 0..2^32-1 only. */
export function intToIpv4(n: number): string {
  return ipv4FromInt(n).text;
}

/** The 4 bytes of an address in network order, as ucarp feeds the VIP to the HMAC. */
export function ipv4ToBytes(addr: string): Buffer {
  return addressBytes(ipv4(addr));
}

function bytesToIpv4(buf: Uint8Array, offset: number): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

export interface Ipv4Header {
  version: number;
  /** In bytes (IHL × 4), 20..60. */
  headerLength: number;
  tos: number;
  totalLength: number;
  id: number;
  /** The three flag bits (bit 1 = DF, bit 0 = MF), i.e. the top 3 bits of byte 6. */
  flags: number;
  /** In 8-byte units, as on the wire. */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  checksum: number;
  src: string;
  dst: string;
  srcInt: number;
  dstInt: number;
}

/**
 * Parses the IPv4 header at `offset`. Checks only what makes the header itself readable:
 * at least 20 bytes, version 4, IHL >= 5, the options present, total length not smaller
 * than the header. It does not verify the checksum (the input pipeline counts that as its
 * own drop reason) nor compare the total length with the bytes received.
 */
export function decodeIpv4Header(buf: Uint8Array, offset = 0): Ipv4Header {
  const available = buf.length - offset;
  if (!Number.isInteger(offset) || offset < 0 || available < IPV4_MIN_HEADER_LENGTH) {
    throw new ProtocolDecodeError(`IPv4 header truncated: ${Math.max(available, 0)} bytes, need ${IPV4_MIN_HEADER_LENGTH}`, 'truncated');
  }
  const b = (i: number): number => buf[offset + i]!;
  const u16 = (i: number): number => (b(i) << 8) | b(i + 1);
  const version = b(0) >> 4;
  if (version !== 4) {
    throw new ProtocolDecodeError(`IPv4 header has version ${version}, expected 4`, 'malformed');
  }
  const ihl = b(0) & 0x0f;
  const headerLength = ihl * 4;
  if (ihl < 5) {
    throw new ProtocolDecodeError(`IPv4 header length ${headerLength} bytes (IHL ${ihl}), minimum is ${IPV4_MIN_HEADER_LENGTH}`, 'malformed');
  }
  if (available < headerLength) {
    throw new ProtocolDecodeError(`IPv4 header truncated: ${available} bytes, need ${headerLength}`, 'truncated');
  }
  const totalLength = u16(2);
  if (totalLength < headerLength) {
    throw new ProtocolDecodeError(`IPv4 total length ${totalLength} is smaller than the header length ${headerLength}`, 'malformed');
  }
  const flagsAndOffset = u16(6);
  const srcInt = ((b(12) << 24) | (b(13) << 16) | (b(14) << 8) | b(15)) >>> 0;
  const dstInt = ((b(16) << 24) | (b(17) << 16) | (b(18) << 8) | b(19)) >>> 0;
  return {
    version,
    headerLength,
    tos: b(1),
    totalLength,
    id: u16(4),
    flags: flagsAndOffset >> 13,
    fragmentOffset: flagsAndOffset & 0x1fff,
    ttl: b(8),
    protocol: b(9),
    checksum: u16(10),
    src: bytesToIpv4(buf, offset + 12),
    dst: bytesToIpv4(buf, offset + 16),
    srcInt,
    dstInt,
  };
}

export interface Ipv4HeaderFields {
  tos: number;
  /** 16-bit IP id; ucarp draws a random one per advert. */
  id: number;
  dontFragment: boolean;
  ttl: number;
  protocol: number;
  src: string;
  dst: string;
  /** Bytes following the header (36 for a CARP advertisement). */
  payloadLength: number;
}

function checkByteField(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`IPv4 ${name} must be an integer 0..${max}, got ${value}`);
  }
}

/** A 20-byte IPv4 header without options, checksum filled in, for sending with IP_HDRINCL. */
export function encodeIpv4Header(h: Ipv4HeaderFields): Buffer {
  checkByteField('tos', h.tos, 0xff);
  checkByteField('id', h.id, 0xffff);
  checkByteField('ttl', h.ttl, 0xff);
  checkByteField('protocol', h.protocol, 0xff);
  checkByteField('payload length', h.payloadLength, 0xffff - IPV4_MIN_HEADER_LENGTH);
  const buf = Buffer.alloc(IPV4_MIN_HEADER_LENGTH);
  buf[0] = 0x45; // version 4, IHL 5: no options
  buf[1] = h.tos;
  buf.writeUInt16BE(IPV4_MIN_HEADER_LENGTH + h.payloadLength, 2);
  buf.writeUInt16BE(h.id, 4);
  buf.writeUInt16BE(h.dontFragment ? IP_DF : 0, 6);
  buf[8] = h.ttl;
  buf[9] = h.protocol;
  buf.writeUInt32BE(ipv4ToInt(h.src), 12);
  buf.writeUInt32BE(ipv4ToInt(h.dst), 16);
  buf.writeUInt16BE(internetChecksum(buf), 10);
  return buf;
}

/** True when the header's DF bit is set. */
export function hasDontFragment(h: Pick<Ipv4Header, 'flags'>): boolean {
  return (h.flags & (IP_DF >> 13)) !== 0;
}

/** True when the datagram is a fragment (MF set or a non-zero offset). */
export function isFragment(h: Pick<Ipv4Header, 'flags' | 'fragmentOffset'>): boolean {
  return (h.flags & (IP_MF >> 13)) !== 0 || h.fragmentOffset !== 0;
}

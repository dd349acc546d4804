/**
 * The VRRP advertisement, version 2 (RFC 3768) and version 3 (RFC 5798 / RFC 9568) over IPv4,
 * as keepalived puts them on the wire (IP protocol 112, like CARP).
 *
 *   VRRPv2                                VRRPv3
 *   0     version 2 / type 1              0     version 3 / type 1
 *   1     VRID                            1     VRID
 *   2     priority                        2     priority
 *   3     count of addresses              3     count of addresses
 *   4     auth type (0 none, 1 PASS)      4..5  4 reserved bits, Max Adver Int (12 bits, cs)
 *   5     advert interval (seconds)       6..7  checksum (with the IPv4 pseudo-header)
 *   6..7  checksum (the message alone)    8..   the addresses, 4 bytes each
 *   8..   the addresses, 4 bytes each
 *   ..+8  auth data: PASS, zero-padded
 *
 * VRRPv3 over IPv6 (RFC 5798 5.1.2) is the same message with 16-byte addresses, its checksum
 * over the IPv6 pseudo-header (source, destination, upper-layer length, next header 112), as
 * keepalived sends it. The family is the caller's to say: nothing in the message tells.
 *
 * A codec in the style of dns-packet: encode, decode, encodingLength, no I/O.
 */
import { internetChecksum } from './checksum.js';
import { ProtocolDecodeError } from './errors.js';
import { writeIpv6 } from '../net/address.js';

export const VRRP_TYPE_ADVERTISEMENT = 1;
export const VRRP_HEADER_LENGTH = 8;
export const VRRP_AUTH_DATA_LENGTH = 8;
export const VRRP_AUTH_NONE = 0;
export const VRRP_AUTH_PASS = 1;
/** keepalived's auth_type AH: sent as IPsec AH (IP protocol 51), never as protocol 112. */
export const VRRP_AUTH_AH = 2;
/** Max Adver Int is 12 bits of centiseconds. */
export const VRRP3_MAX_INTERVAL_CS = 0xfff;
/** keepalived (and RFC 3768) send VRRP with IP precedence "internetwork control". */
export const IPTOS_PREC_INTERNETCONTROL = 0xc0;

export type VrrpVersion = 2 | 3;
/** 4: addresses are 4 bytes (numbers); 6: VRRPv3 over IPv6, 16 bytes (bigints). */
export type VrrpFamily = 4 | 6;
/** An address in a VRRP message: an unsigned 32-bit number (IPv4) or a 128-bit bigint (IPv6). */
export type VrrpAddress = number | bigint;

export interface VrrpAdvertisement {
  version: number;
  type: number;
  vrid: number;
  priority: number;
  /** The count field as received; `addresses` holds what the packet carries. */
  count: number;
  /** v2 only (0 in a v3 packet). */
  authType: number;
  /** Centiseconds: v2's whole seconds × 100, v3's Max Adver Int as sent. */
  intervalCs: number;
  checksum: number;
  /** In packet order: IPv4 as unsigned 32-bit numbers, IPv6 as 128-bit bigints. */
  addresses: VrrpAddress[];
  /** v2: the 8 auth bytes (a copy); v3: empty. */
  authData: Buffer;
}

/** 8 + 4 × count (16 × count over IPv6), and 8 bytes of auth data for v2. */
export function encodingLength(version: VrrpVersion, count: number, family: VrrpFamily = 4): number {
  return VRRP_HEADER_LENGTH + (family === 6 ? 16 : 4) * count + (version === 2 ? VRRP_AUTH_DATA_LENGTH : 0);
}

/** The pseudo-header's addresses: IPv4 as numbers, IPv6 as bigints. */
export interface VrrpPseudoHeader {
  src: VrrpAddress;
  dst: VrrpAddress;
}

function writeAddress(buf: Buffer, address: VrrpAddress, offset: number, family: VrrpFamily): void {
  if (family === 4) {
    buf.writeUInt32BE(Number(address) >>> 0, offset);
    return;
  }
  writeIpv6(buf, BigInt(address), offset);
}

function readAddress6(view: Buffer, offset: number): bigint {
  return (view.readBigUInt64BE(offset) << 64n) | view.readBigUInt64BE(offset + 8);
}

export interface EncodeVrrp {
  version: VrrpVersion;
  /** Default 4; 6 only with version 3. */
  family?: VrrpFamily;
  vrid: number;
  priority: number;
  /** Centiseconds: v2 must be a whole number of seconds, 1..255 s; v3 1..4095. */
  intervalCs: number;
  addresses: readonly VrrpAddress[];
  /** v2: 0 or 1 (PASS). */
  authType?: number;
  /** v2 PASS: up to 8 bytes, zero-padded on the wire. */
  password?: Uint8Array;
  /**
   * v3 checksum: the IPv4 source and destination for the pseudo-header (keepalived's default),
   * or undefined for a checksum over the message alone (`v3_checksum_as_v2`).
   */
  pseudoHeader?: VrrpPseudoHeader;
}

function checkField(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`VRRP ${name} must be an integer ${min}..${max}, got ${value}`);
  }
}

/** The VRRP message, checksum filled in. */
export function encodeVrrp(a: EncodeVrrp): Buffer {
  checkField('vrid', a.vrid, 1, 255);
  checkField('priority', a.priority, 0, 255);
  checkField('address count', a.addresses.length, 1, 255);
  if (a.version === 2) {
    if (a.intervalCs % 100 !== 0) throw new RangeError(`VRRPv2 interval must be whole seconds, got ${a.intervalCs} cs`);
    checkField('v2 interval (s)', a.intervalCs / 100, 1, 255);
  } else {
    checkField('v3 interval (cs)', a.intervalCs, 1, VRRP3_MAX_INTERVAL_CS);
  }
  const family = a.family ?? 4;
  if (family === 6 && a.version !== 3) throw new RangeError('VRRP over IPv6 is version 3 only');
  const password = a.password ?? new Uint8Array(0);
  if (password.length > VRRP_AUTH_DATA_LENGTH) throw new RangeError(`VRRP PASS is at most 8 bytes, got ${password.length}`);
  const buf = Buffer.alloc(encodingLength(a.version, a.addresses.length, family));
  buf[0] = (a.version << 4) | VRRP_TYPE_ADVERTISEMENT;
  buf[1] = a.vrid;
  buf[2] = a.priority;
  buf[3] = a.addresses.length;
  if (a.version === 2) {
    buf[4] = a.authType ?? VRRP_AUTH_NONE;
    buf[5] = a.intervalCs / 100;
  } else {
    buf.writeUInt16BE(a.intervalCs & VRRP3_MAX_INTERVAL_CS, 4);
  }
  const size = family === 6 ? 16 : 4;
  a.addresses.forEach((address, i) => writeAddress(buf, address, VRRP_HEADER_LENGTH + size * i, family));
  if (a.version === 2 && (a.authType ?? 0) === VRRP_AUTH_PASS) buf.set(password, VRRP_HEADER_LENGTH + 4 * a.addresses.length);
  buf.writeUInt16BE(vrrpChecksum(buf, 0, buf.length, a.version === 3 ? a.pseudoHeader : undefined, family), 6);
  return buf;
}

/**
 * The checksum to store (or 0 when run over a message holding a correct one): the message
 * alone, or preceded by the IPv4 pseudo-header (source, destination, zero, protocol 112, VRRP
 * length) as keepalived checksums VRRPv3 by default, or by the IPv6 one (RFC 8200 8.1: source,
 * destination, 32-bit length, three zero bytes, next header 112).
 */
export function vrrpChecksum(buf: Uint8Array, start: number, end: number, pseudo?: VrrpPseudoHeader, family: VrrpFamily = 4): number {
  if (pseudo === undefined) return internetChecksum(buf, start, end);
  const length = end - start;
  if (family === 6) {
    const data = Buffer.alloc(40 + length);
    writeAddress(data, pseudo.src, 0, 6);
    writeAddress(data, pseudo.dst, 16, 6);
    data.writeUInt32BE(length, 32);
    data[39] = 112;
    data.set(buf.subarray(start, end), 40);
    return internetChecksum(data);
  }
  const data = Buffer.alloc(12 + length);
  data.writeUInt32BE(Number(pseudo.src) >>> 0, 0);
  data.writeUInt32BE(Number(pseudo.dst) >>> 0, 4);
  data[9] = 112;
  data.writeUInt16BE(length, 10);
  data.set(buf.subarray(start, end), 12);
  return internetChecksum(data);
}

/**
 * Reads a VRRP message of `length` bytes at `offset`. Only a message too short for its own
 * count (or its header) is an error; field values are for the input checks to judge.
 */
export function decodeVrrp(buf: Uint8Array, offset: number, length: number, family: VrrpFamily = 4): VrrpAdvertisement {
  const available = buf.length - offset;
  // A negative offset would read the bytes before a view (Buffer.from on its backing store).
  if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(length) || length < VRRP_HEADER_LENGTH || available < length) {
    const have = Math.max(0, Math.min(length, available));
    throw new ProtocolDecodeError(`VRRP message truncated: ${have} bytes, need ${Math.max(VRRP_HEADER_LENGTH, length)}`, 'truncated');
  }
  const view = Buffer.from(buf.buffer, buf.byteOffset + offset, length);
  const version = view[0]! >> 4;
  const count = view[3]!;
  const needed = version === 2 ? encodingLength(2, count, family) : encodingLength(3, count, family);
  if (length < needed) {
    throw new ProtocolDecodeError(`VRRP message truncated: ${length} bytes, ${count} addresses need ${needed}`, 'truncated');
  }
  const size = family === 6 ? 16 : 4;
  const addresses: VrrpAddress[] = [];
  for (let i = 0; i < count; i++) {
    const at = VRRP_HEADER_LENGTH + size * i;
    addresses.push(family === 6 ? readAddress6(view, at) : view.readUInt32BE(at));
  }
  const v2 = version === 2;
  return {
    version,
    type: view[0]! & 0x0f,
    vrid: view[1]!,
    priority: view[2]!,
    count,
    authType: v2 ? view[4]! : 0,
    intervalCs: v2 ? view[5]! * 100 : view.readUInt16BE(4) & VRRP3_MAX_INTERVAL_CS,
    checksum: view.readUInt16BE(6),
    addresses,
    authData: v2
      ? Buffer.from(view.subarray(VRRP_HEADER_LENGTH + size * count, VRRP_HEADER_LENGTH + size * count + VRRP_AUTH_DATA_LENGTH))
      : Buffer.alloc(0),
  };
}

/** The 8 auth bytes a PASS password is sent as: the password, zero-padded. */
export function passAuthData(password: Uint8Array): Buffer {
  const data = Buffer.alloc(VRRP_AUTH_DATA_LENGTH);
  data.set(password.subarray(0, VRRP_AUTH_DATA_LENGTH));
  return data;
}

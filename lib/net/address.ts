/**
 * IP addresses as carpd's layers pass them around: parsed once (here, and only here), then
 * carried as a value that holds its text and its numeric form together, so no layer converts
 * strings to numbers on its own. The `family` tag tells IPv4 from IPv6; code that only makes
 * sense for one family narrows on it.
 *
 * Pure: no sockets, no system calls.
 */

export interface Ipv4Address {
  readonly family: 4;
  /** Strict dotted quad, as given and as printed. */
  readonly text: string;
  /** Unsigned 32-bit value, network order read as a number (198.18.0.1 = 0xc6120001). */
  readonly int: number;
}

export interface Ipv6Address {
  readonly family: 6;
  /** RFC 5952 text (lower case, the longest run of zero groups as ::), as inet_ntop prints it. */
  readonly text: string;
  /** The 128-bit value, network order read as a number: orders addresses as memcmp does. */
  readonly big: bigint;
}

export type IpAddress = Ipv4Address | Ipv6Address;

/** A virtual address with the prefix length `ip addr add` is given. */
export interface VipAddress {
  readonly address: IpAddress;
  readonly prefix: number;
  /**
   * keepalived's `dev IF` on a virtual_ipaddress line: the interface the address lives on when
   * it is not the vhost's (the adverts still go out on the vhost's). Undefined: the vhost's.
   */
  readonly interface?: string;
  /** keepalived's `label L`: this address's label, over the vhost's --vip-label. */
  readonly label?: string;
}

// One octet 0..255 with no leading zero: "010" is rejected because inet_aton would read it
// as octal 8 while inet_pton rejects it; refusing it removes the ambiguity.
const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])';
const DOTTED_QUAD = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/** Strict dotted quad (inet_pton's AF_INET form): four decimal octets 0..255, no leading zeros. */
export function parseIpv4(text: string): Ipv4Address | undefined {
  if (typeof text !== 'string' || !DOTTED_QUAD.test(text)) return undefined;
  const [a, b, c, d] = text.split('.').map(Number) as [number, number, number, number];
  return Object.freeze({ family: 4, text, int: ((a << 24) | (b << 16) | (c << 8) | d) >>> 0 });
}

/** parseIpv4 for values that must be valid (wiring, constants): throws a TypeError otherwise. */
export function ipv4(text: string): Ipv4Address {
  const address = parseIpv4(text);
  if (address === undefined) throw new TypeError(`Invalid IPv4 address: ${JSON.stringify(text)}`);
  return address;
}

/** 0xc6120001 -> 198.18.0.1. Accepts integers 0..2^32-1 only. */
export function ipv4FromInt(n: number): Ipv4Address {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new RangeError(`IPv4 address as integer must be 0..4294967295, got ${n}`);
  }
  const text = `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
  return Object.freeze({ family: 4, text, int: n });
}

const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/** Strict IPv6 text (inet_pton's AF_INET6 form; scope ids like %eth0 refused) to its 16 bytes. */
export function ipv6Bytes(text: string): Buffer | undefined {
  if (typeof text !== 'string' || !/^[0-9A-Fa-f:.]{2,45}$/.test(text)) return undefined;
  let groupsText = text;
  const tail: number[] = [];
  if (text.includes('.')) {
    // An embedded dotted quad takes the place of the last two groups (::ffff:198.18.0.1).
    const cut = text.lastIndexOf(':');
    const v4 = parseIpv4(text.slice(cut + 1));
    if (v4 === undefined) return undefined;
    tail.push(v4.int >>> 16, v4.int & 0xffff);
    groupsText = text.slice(0, cut + 1);
    // "::198.18.0.1" leaves "::"; "1::2:198.18.0.1" leaves "1::2:", whose final ':' goes.
    if (!groupsText.endsWith('::')) groupsText = groupsText.slice(0, -1);
  }
  const halves = groupsText.split('::');
  if (halves.length > 2) return undefined;
  const split = (s: string | undefined): string[] | undefined => {
    if (s === undefined || s === '') return [];
    const groups = s.split(':');
    return groups.every((g) => HEX_GROUP.test(g)) ? groups : undefined;
  };
  const left = split(halves[0]);
  const right = split(halves[1]);
  if (left === undefined || right === undefined) return undefined;
  const total = left.length + right.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const zeros = new Array<number>(8 - total).fill(0);
  const groups = [...left.map((g) => parseInt(g, 16)), ...zeros, ...right.map((g) => parseInt(g, 16)), ...tail];
  const bytes = Buffer.alloc(16);
  groups.forEach((g, k) => bytes.writeUInt16BE(g, 2 * k));
  return bytes;
}

/**
 * RFC 5952 text of 16 bytes, as glibc's inet_ntop writes it: lower-case hex without leading
 * zeros, the longest run of two or more zero groups (the first of equals) as "::".
 */
function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let k = 0; k < 8; k++) groups.push((bytes[2 * k]! << 8) | bytes[2 * k + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let k = 0; k < 8; ) {
    if (groups[k] !== 0) {
      k++;
      continue;
    }
    let end = k;
    while (end < 8 && groups[end] === 0) end++;
    if (end - k > bestLength) {
      bestStart = k;
      bestLength = end - k;
    }
    k = end;
  }
  const hex = (from: number, to: number): string => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

function bigOf(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

/** The address of 16 bytes in network order (a received packet's, the kernel's). */
export function ipv6FromBytes(bytes: Uint8Array): Ipv6Address {
  if (bytes.length !== 16) throw new RangeError(`an IPv6 address is 16 bytes, got ${bytes.length}`);
  return Object.freeze({ family: 6, text: formatIpv6(bytes), big: bigOf(bytes) });
}

/** Writes a 128-bit value as 16 bytes in network order at `offset`; returns `buf`. */
export function writeIpv6(buf: Buffer, big: bigint, offset: number): Buffer {
  let value = big;
  for (let k = 15; k >= 0; k--) {
    buf[offset + k] = Number(value & 0xffn);
    value >>= 8n;
  }
  return buf;
}

/** The address of a 128-bit value. */
export function ipv6FromBig(big: bigint): Ipv6Address {
  if (big < 0n || big >> 128n !== 0n) throw new RangeError(`IPv6 address as integer must be 0..2^128-1, got ${big}`);
  return ipv6FromBytes(writeIpv6(Buffer.alloc(16), big, 0));
}

/** The inverse of addressKey: a number is IPv4, a bigint IPv6. */
export function addressFromKey(key: number | bigint): IpAddress {
  return typeof key === 'bigint' ? ipv6FromBig(key) : ipv4FromInt(key >>> 0);
}

/** Strict IPv6 text to an address carrying its canonical text ("2001:DB8:0::1" -> "2001:db8::1"). */
export function parseIpv6(text: string): Ipv6Address | undefined {
  const bytes = ipv6Bytes(text);
  return bytes === undefined ? undefined : ipv6FromBytes(bytes);
}

/** parseIpv6 for values that must be valid: throws a TypeError otherwise. */
export function ipv6(text: string): Ipv6Address {
  const address = parseIpv6(text);
  if (address === undefined) throw new TypeError(`Invalid IPv6 address: ${JSON.stringify(text)}`);
  return address;
}

/** `::`: an IPv6 vhost's --srcip when its interface's link-local address is the source. */
export const UNSPECIFIED_IPV6: Ipv6Address = Object.freeze({ family: 6, text: '::', big: 0n });

/** Either family: a dotted quad, or IPv6 text. */
export function parseIpAddress(text: string): IpAddress | undefined {
  return parseIpv4(text) ?? parseIpv6(text);
}

/** The address in network byte order (4 bytes for IPv4, 16 for IPv6). */
export function addressBytes(address: IpAddress): Buffer {
  if (address.family === 6) return writeIpv6(Buffer.alloc(16), address.big, 0);
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(address.int, 0);
  return bytes;
}

/**
 * The address as one number for ordering and sets: IPv4's 32-bit value, IPv6's 128-bit one.
 * Within one family `<` and `>` order them as OpenBSD does (ntohl for IPv4, memcmp for IPv6).
 */
export function addressKey(address: IpAddress): number | bigint {
  return address.family === 6 ? address.big : address.int;
}

/** IPv4 before IPv6; within a family numeric order, as OpenBSD sorts a vhost's addresses. */
export function compareAddresses(a: IpAddress, b: IpAddress): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.family === 6 && b.family === 6) return a.big < b.big ? -1 : a.big > b.big ? 1 : 0;
  return (a as Ipv4Address).int - (b as Ipv4Address).int;
}

export function sameAddress(a: IpAddress, b: IpAddress): boolean {
  return a.family === b.family && addressKey(a) === addressKey(b);
}

/** 224.0.0.0/4; ff00::/8. */
export function isMulticast(address: IpAddress): boolean {
  return address.family === 6 ? address.big >> 120n === 0xffn : address.int >>> 28 === 0xe;
}

/** fe80::/10: an interface's own address, never a VIP's (it would not float). */
export function isLinkLocal(address: IpAddress): boolean {
  return address.family === 6 ? address.big >> 118n === 0x3fan : address.int >>> 16 === 0xa9fe;
}

/**
 * Whether the address can be a host's: IPv4 not 0.0.0.0/8, not multicast, not the reserved
 * 240.0.0.0/4 (first octet 1 to 223); IPv6 not ::, not ::1, not multicast.
 */
export function isUnicastHost(address: IpAddress): boolean {
  if (address.family === 6) return address.big > 1n && !isMulticast(address);
  const first = address.int >>> 24;
  return first >= 1 && first <= 223;
}

/** "198.18.0.50/24", "2001:db8::50/64". */
export function formatVip(vip: VipAddress): string {
  return `${vip.address.text}/${vip.prefix}`;
}

/** The longest prefix of the address's family: /32 or /128. */
export function maxPrefix(address: IpAddress): number {
  return address.family === 6 ? 128 : 32;
}

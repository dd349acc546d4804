/**
 * IP addresses as carpd's layers pass them around: parsed once (here, and only here), then
 * carried as a value that holds its text and its numeric form together, so no layer converts
 * strings to numbers on its own. Only IPv4 exists today; the `family` tag is what lets IPv6 be
 * added as a second member of `IpAddress` without touching every file that holds an address.
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

export type IpAddress = Ipv4Address;

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

/** The address in network byte order (4 bytes for IPv4). */
export function addressBytes(address: IpAddress): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(address.int, 0);
  return bytes;
}

/** Numeric order, as OpenBSD sorts a vhost's addresses (ntohl comparison). */
export function compareAddresses(a: IpAddress, b: IpAddress): number {
  return a.int - b.int;
}

export function sameAddress(a: IpAddress, b: IpAddress): boolean {
  return a.family === b.family && a.int === b.int;
}

/** 224.0.0.0/4. */
export function isMulticast(address: IpAddress): boolean {
  return address.int >>> 28 === 0xe;
}

/**
 * Whether the address can be a host's: not 0.0.0.0/8, not multicast, not the reserved
 * 240.0.0.0/4 (first octet 1 to 223).
 */
export function isUnicastHost(address: IpAddress): boolean {
  const first = address.int >>> 24;
  return first >= 1 && first <= 223;
}

/** "198.18.0.50/24". */
export function formatVip(vip: VipAddress): string {
  return `${vip.address.text}/${vip.prefix}`;
}

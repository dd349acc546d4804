// The lab's only guard against touching the real machine: every address it configures comes
// from the benchmarking range 198.18.0.0/15 (RFC 2544), or for IPv6 from the documentation
// prefix 2001:db8::/32 (RFC 3849), and every namespace it creates carries
// the `carpd-lab-` prefix that scripts/lab-clean.sh removes. These checks are pure so they run
// before any command does.
import { isIPv6 } from 'node:net';

/** Prefix of every namespace the lab creates; scripts/lab-clean.sh deletes exactly these. */
export const NAMESPACE_PREFIX = 'carpd-lab-';

/** Host i gets `${subnet}.${i}`; VIPs start at .50 and the client sits at .100, so hosts stop at 49. */
export const MAX_HOSTS = 49;
export const VIP_BASE = 50;
export const MAX_VIPS = 50;
export const CLIENT_OCTET = 100;

/**
 * Accepts a /24 prefix written as three octets ('198.18.0') and refuses anything outside
 * 198.18.0.0/15, i.e. the first octet must be 198 and the second 18 or 19.
 */
export function validateSubnet(subnet: string): string {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(subnet);
  const octets = match ? match.slice(1).map(Number) : [];
  const [a, b, c] = octets;
  if (a !== 198 || (b !== 18 && b !== 19) || c === undefined || c > 255) {
    throw new Error(
      `lab option "subnet" must be the first three octets of a /24 inside 198.18.0.0/15 ` +
        `(198.18.0 to 198.19.255), received ${JSON.stringify(subnet)}`,
    );
  }
  return subnet;
}

/**
 * Accepts the /64 a dual-stack lab uses, written as its leading groups without '::'
 * ('2001:db8', '2001:db8:cafe', '2001:db8:cafe:1'), and refuses anything outside 2001:db8::/32.
 * Member i then gets `${prefix}::${i}`, the client `${prefix}::100`.
 */
export function validateSubnet6(prefix: string): string {
  if (!/^2001:0?db8(:[0-9a-f]{1,4}){0,2}$/i.test(prefix)) {
    throw new Error(
      `lab option "subnet6" must be the leading groups of a /64 inside 2001:db8::/32 ` +
        `('2001:db8' to '2001:db8:ffff:ffff'), received ${JSON.stringify(prefix)}`,
    );
  }
  return prefix.toLowerCase();
}

export function validateHostCount(hosts: number): number {
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > MAX_HOSTS) {
    throw new Error(`lab option "hosts" must be an integer from 1 to ${MAX_HOSTS}, received ${String(hosts)}`);
  }
  return hosts;
}

/** The id becomes part of namespace names (files under /run/netns): keep it to a safe alphabet. */
export function validateLabName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,39}$/.test(name)) {
    throw new Error(
      `lab option "name" must be 1 to 40 letters, digits or dashes, starting with a letter or digit, ` +
        `received ${JSON.stringify(name)}`,
    );
  }
  return name;
}

export function validateVipIndex(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n >= MAX_VIPS) {
    throw new Error(`lab vip index must be an integer from 0 to ${MAX_VIPS - 1}, received ${String(n)}`);
  }
  return n;
}

/** Locally administered, unicast MAC whose last byte is the address's last octet, easy to spot in dumps. */
export function labMac(lastOctet: number): string {
  return `02:00:00:00:00:${lastOctet.toString(16).padStart(2, '0')}`;
}

/**
 * An interface address for an ad-hoc topology (NamespaceSet.addr): `a.b.c.d/len` inside
 * 198.18.0.0/15, with a prefix no wider than the range, nothing else.
 */
export function validateLabAddress(cidr: string): string {
  if (cidr.includes(':')) {
    // IPv6: the documentation prefix only, with a prefix length that stays inside it.
    const [address = '', len = ''] = cidr.split('/');
    if (!isIPv6(address) || !/^2001:0{0,2}db8:/i.test(address) || !/^\d{2,3}$/.test(len) || Number(len) < 32 || Number(len) > 128) {
      throw new Error(`lab address must be an IPv6 address/len inside 2001:db8::/32, received ${JSON.stringify(cidr)}`);
    }
    return cidr;
  }
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const [a, b, c, d, len] = match ? match.slice(1).map(Number) : [];
  if (a !== 198 || (b !== 18 && b !== 19) || c === undefined || c > 255 || d === undefined || d > 255 || len === undefined || len < 15 || len > 32) {
    throw new Error(`lab address must be a.b.c.d/len inside 198.18.0.0/15, received ${JSON.stringify(cidr)}`);
  }
  return cidr;
}

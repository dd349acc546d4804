import { getSystemErrorMap } from 'node:util';
import { errorText } from '../errors.js';
import type { IpAddress, Ipv4Address } from '../net/address.js';
import { ArpSender, macBytes } from '../net/arp.js';
import { RouteNetlink } from '../net/rtnetlink.js';
import { readInterfaceAddresses } from './link-local.js';
import type { HostLogger } from './types.js';

/**
 * How the daemon changes its VIPs and announces them: over its own sockets, rtnetlink for the
 * addresses (lib/net/rtnetlink.ts) and a packet socket for the gratuitous ARP (lib/net/arp.ts),
 * where it used to start `ip addr` and `arping` on every takeover. Measured by bench:vrrp: the
 * VIP was on the interface about 5 ms after the takeover's first advert and its GARP 6 ms later
 * again, where keepalived, which does the same over its own sockets, needs 0.3 ms for both.
 *
 * Installed by the daemon alone (useHostIo, at start), in its own network namespace: code that
 * runs `ip` under a command prefix (the tests' `ip netns exec`) never reaches these sockets.
 * CARPD_HOST_IO=commands, or sockets that cannot be opened, keep the `ip` and `arping` path;
 * it also remains the fallback whenever the kernel's answer is missing.
 */

const EACCES = 13;
const EEXIST = 17;
const EADDRNOTAVAIL = 99;
const ENODEV = 19;
/** How long an interface's MAC and index are trusted: a takeover of many vhosts reads them once. */
const CACHE_MS = 1000;

/** 'done' (or already so); 'failed' with the kernel's reason; 'unanswered': decide with `ip`. */
export type HostIoOutcome = { readonly kind: 'done' } | { readonly kind: 'failed'; readonly reason: string } | { readonly kind: 'unanswered'; readonly reason: string };

function errnoText(errno: number): string {
  const known = getSystemErrorMap().get(-errno);
  return known !== undefined ? `${known[1]} (${known[0]})` : `errno ${errno}`;
}

export class HostIo {
  private readonly macs = new Map<string, { mac: Buffer | undefined; at: number }>();
  private readonly indices = new Map<string, { index: number; at: number }>();

  private constructor(
    private readonly netlink: RouteNetlink,
    private readonly arp: ArpSender,
    private readonly now: () => number,
  ) {}

  /** Both sockets, or undefined (one warning line) when either cannot be opened. */
  static open(log: HostLogger, now: () => number = () => performance.now()): HostIo | undefined {
    let netlink: RouteNetlink | undefined;
    try {
      netlink = new RouteNetlink();
      return new HostIo(netlink, new ArpSender(), now);
    } catch (error) {
      netlink?.close();
      log.warn(`cannot open carpd's netlink and packet sockets (${errorText(error)}): VIPs are changed with ip and announced with arping`);
      return undefined;
    }
  }

  /** `ip addr add|del address/prefix dev iface [label]`, idempotent: there already / not there count as done. */
  address(op: 'add' | 'del', address: IpAddress, prefix: number, iface: string, label?: string): HostIoOutcome {
    let outcome;
    for (let attempt = 0; ; attempt++) {
      const ifindex = this.ifindex(iface, attempt > 0);
      if (ifindex === undefined) return { kind: 'failed', reason: `there is no interface ${iface}` };
      try {
        outcome = this.netlink.change({ op, address, prefix, ifindex, ...(label !== undefined ? { label } : {}) });
      } catch (error) {
        return { kind: 'unanswered', reason: errorText(error) };
      }
      // A cached index of an interface re-created since: look it up again, once.
      if (attempt > 0 || !('errno' in outcome) || outcome.errno !== ENODEV) break;
    }
    if ('unanswered' in outcome) return { kind: 'unanswered', reason: outcome.unanswered };
    const idle = op === 'add' ? EEXIST : EADDRNOTAVAIL;
    if (outcome.errno === 0 || outcome.errno === idle) return { kind: 'done' };
    // The kernel's answer to an IPv6 address on an interface whose IPv6 is off.
    const hint = op === 'add' && address.family === 6 && outcome.errno === EACCES ? ` (is IPv6 disabled? net.ipv6.conf.${iface}.disable_ipv6)` : '';
    return { kind: 'failed', reason: `rtnetlink ${op === 'add' ? 'RTM_NEWADDR' : 'RTM_DELADDR'}: ${errnoText(outcome.errno)}${hint}` };
  }

  /** One gratuitous ARP for vip on iface; undefined when sent, else why not. */
  garp(iface: string, vip: Ipv4Address): string | undefined {
    const ifindex = this.ifindex(iface);
    if (ifindex === undefined) return `there is no interface ${iface}`;
    const mac = this.mac(iface);
    if (mac === undefined) return `${iface} is down or has no MAC`;
    try {
      this.arp.send(ifindex, mac, vip);
      return undefined;
    } catch (error) {
      this.macs.delete(iface);
      this.indices.delete(iface);
      return errorText(error);
    }
  }

  /** Builds what adding, removing and announcing the address takes, and sends nothing. */
  prepare(address: IpAddress, prefix: number, iface: string, label?: string): void {
    const ifindex = this.ifindex(iface) ?? 0;
    for (const op of ['add', 'del'] as const) this.netlink.prepare({ op, address, prefix, ifindex, ...(op === 'add' && label !== undefined ? { label } : {}) });
    const mac = this.mac(iface);
    if (address.family === 4 && mac !== undefined) this.arp.prepare(ifindex, mac, address);
    errnoText(EEXIST);
  }

  close(): void {
    this.netlink.close();
    this.arp.close();
  }

  /**
   * The interface's index, looked up (three system calls) at most once a second: a takeover's
   * VIP and its five ARPs would otherwise look it up six times, at about 40 µs each here.
   */
  private ifindex(iface: string, fresh = false): number | undefined {
    const cached = this.indices.get(iface);
    const now = this.now();
    if (!fresh && cached !== undefined && now - cached.at < CACHE_MS) return cached.index;
    const index = RouteNetlink.interfaceIndex(iface);
    if (index === undefined) this.indices.delete(iface);
    else this.indices.set(iface, { index, at: now });
    return index;
  }

  private mac(iface: string): Buffer | undefined {
    const cached = this.macs.get(iface);
    const now = this.now();
    if (cached !== undefined && now - cached.at < CACHE_MS && cached.mac !== undefined) return cached.mac;
    const text = readInterfaceAddresses(iface).mac;
    const mac = text === undefined ? undefined : macBytes(text);
    this.macs.set(iface, { mac, at: now });
    return mac;
  }
}

let installed: HostIo | undefined;

/** The daemon's HostIo (undefined: use ip and arping). */
export function hostIo(): HostIo | undefined {
  return installed;
}

export function useHostIo(io: HostIo | undefined): void {
  installed = io;
}

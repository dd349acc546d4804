import { networkInterfaces } from 'node:os';
import { isLinkLocal, parseIpv6, type Ipv6Address } from '../net/address.js';

/**
 * The IPv6 link-local address of an interface, the source of an IPv6 vhost's adverts when it
 * names no --srcip (RFC 5798 5.1.2.1; ip_carp.c sends from it too), and its MAC, which the
 * unsolicited neighbour advertisements carry.
 *
 * Read with getifaddrs (os.networkInterfaces), in this process's network namespace, and cached
 * for a second: an advert a second is the usual rate, and the address changes only when the
 * interface is re-created or its MAC changes. libuv lists only interfaces that are up and
 * running, so a link that is down has no source: that is when no advert could leave anyway.
 */

/** How long a lookup is trusted. */
const CACHE_MS = 1000;

export interface InterfaceAddresses {
  readonly linkLocal: Ipv6Address | undefined;
  /** "02:00:00:00:00:01"; undefined when the interface is not listed (down). */
  readonly mac: string | undefined;
}

type Lister = typeof networkInterfaces;

/** The interface's first fe80::/10 address and MAC, as getifaddrs lists them now. */
export function readInterfaceAddresses(ifname: string, list: Lister = networkInterfaces): InterfaceAddresses {
  const entries = list()[ifname] ?? [];
  let linkLocal: Ipv6Address | undefined;
  for (const entry of entries) {
    if (entry.family !== 'IPv6') continue;
    const address = parseIpv6(entry.address.split('%')[0]!);
    if (address !== undefined && isLinkLocal(address)) {
      linkLocal = address;
      break;
    }
  }
  const mac = entries.find((e) => e.mac !== '00:00:00:00:00:00')?.mac;
  return { linkLocal, mac };
}

export class LinkLocalSource {
  private cached: InterfaceAddresses | undefined;
  private readAt = -Infinity;

  constructor(
    readonly ifname: string,
    private readonly now: () => number = () => performance.now(),
    private readonly list: Lister = networkInterfaces,
  ) {}

  current(): Ipv6Address | undefined {
    return this.read().linkLocal;
  }

  mac(): string | undefined {
    return this.read().mac;
  }

  private read(): InterfaceAddresses {
    const now = this.now();
    // A miss is not cached: the address may appear (DAD done, link up) any moment.
    if (this.cached === undefined || this.cached.linkLocal === undefined || now - this.readAt >= CACHE_MS) {
      this.cached = readInterfaceAddresses(this.ifname, this.list);
      this.readAt = now;
    }
    return this.cached;
  }
}

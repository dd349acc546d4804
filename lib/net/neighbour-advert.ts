import { ipv6Bytes } from './address.js';
import { IPPROTO_ICMPV6, Ipv6Socket } from './ipv6-socket.js';

/**
 * Unsolicited neighbour advertisements (RFC 4861 §4.4, §7.2.6), the IPv6 counterpart of
 * gratuitous ARP: on takeover the new master tells the link that the VIP now lives at its MAC.
 *
 * The message: type 136, code 0, checksum, flags (Router, Solicited, Override) in the top bits
 * of a 32-bit field, the target address (the VIP), then one option, the target link-layer
 * address (type 2, length 1 = 8 bytes, our MAC). Solicited is clear (nobody asked); Override
 * is set, so neighbours replace the MAC they hold for the VIP instead of keeping the old
 * master's. Sent to all-nodes ff02::1 with hop limit 255, or receivers discard it (§7.1.2).
 *
 * The encoder is pure. The checksum field stays 0: on an ICMPv6 raw socket the kernel always
 * computes it over the IPv6 pseudo-header, which only it knows for sure (the source it picks).
 */

export const ICMPV6_NEIGHBOUR_ADVERT = 136;
/** All-nodes, link scope: where unsolicited advertisements go. */
export const ALL_NODES = 'ff02::1';
/** RFC 4861: receivers drop neighbour discovery that arrived with any other hop limit. */
export const NEIGHBOUR_DISCOVERY_HOP_LIMIT = 255;
/** Header (8) + target (16) + target link-layer address option (8). */
export const NEIGHBOUR_ADVERT_LENGTH = 32;

const FLAG_ROUTER = 0x80;
const FLAG_OVERRIDE = 0x20;
const OPTION_TARGET_LINK_LAYER_ADDRESS = 2;

export interface UnsolicitedNeighbourAdvert {
  /** The address announced: the VIP. */
  readonly target: string;
  /** The MAC it now lives at: our interface's. */
  readonly mac: string;
  /**
   * The Router flag. A host that receives an advertisement with it clear from an address it
   * uses as a default router drops that router (§7.2.5), so set it when the VIP is a gateway
   * (the sender forwards IPv6). Default false.
   */
  readonly router?: boolean;
}

function macBytes(mac: string): Buffer | undefined {
  if (typeof mac !== 'string' || !/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/.test(mac)) return undefined;
  return Buffer.from(mac.split(':').map((b) => parseInt(b, 16)));
}

/** The ICMPv6 message (checksum 0, the kernel fills it in). Throws a TypeError on a bad target or MAC. */
export function encodeUnsolicitedNeighbourAdvert(advert: UnsolicitedNeighbourAdvert): Buffer {
  const target = ipv6Bytes(advert.target);
  if (target === undefined || target[0] === 0xff) {
    throw new TypeError(`neighbour advertisement target must be a unicast IPv6 address, received ${JSON.stringify(advert.target)}`);
  }
  const mac = macBytes(advert.mac);
  if (mac === undefined) {
    throw new TypeError(`neighbour advertisement MAC must be six hex bytes like 02:00:00:00:00:01, received ${JSON.stringify(advert.mac)}`);
  }
  const message = Buffer.alloc(NEIGHBOUR_ADVERT_LENGTH);
  message[0] = ICMPV6_NEIGHBOUR_ADVERT;
  message[1] = 0; // code
  // bytes 2-3: checksum, left 0 for the kernel
  message[4] = FLAG_OVERRIDE | (advert.router === true ? FLAG_ROUTER : 0);
  target.copy(message, 8);
  message[24] = OPTION_TARGET_LINK_LAYER_ADDRESS;
  message[25] = 1; // option length in units of 8 bytes
  mac.copy(message, 26);
  return message;
}

/** A send-only ICMPv6 socket on the interface, hop limit 255: what the sender below needs. */
export function openNeighbourAdvertSocket(ifname: string): Ipv6Socket {
  return new Ipv6Socket({ interface: ifname, protocol: IPPROTO_ICMPV6, hopLimit: NEIGHBOUR_DISCOVERY_HOP_LIMIT, receive: false });
}

export interface SendNeighbourAdvertOptions extends UnsolicitedNeighbourAdvert {
  /**
   * Source address; it must be on the interface (the VIP once added, or the link-local
   * address). Default: the kernel's pick for ff02::1, the interface's link-local address.
   */
  readonly source?: string;
}

/** Sends one unsolicited advertisement to all-nodes; resolves once the kernel took it. */
export function sendUnsolicitedNeighbourAdvert(socket: Ipv6Socket, o: SendNeighbourAdvertOptions): Promise<void> {
  const { protocol, hopLimit = NEIGHBOUR_DISCOVERY_HOP_LIMIT } = socket.options;
  if (protocol !== IPPROTO_ICMPV6 || hopLimit !== NEIGHBOUR_DISCOVERY_HOP_LIMIT) {
    return Promise.reject(
      new TypeError(`neighbour advertisements need an ICMPv6 socket with hop limit 255, received protocol ${protocol}, hop limit ${hopLimit}`),
    );
  }
  let message: Buffer;
  try {
    message = encodeUnsolicitedNeighbourAdvert(o);
  } catch (err) {
    return Promise.reject(err as Error);
  }
  return socket.send(message, ALL_NODES, o.source);
}

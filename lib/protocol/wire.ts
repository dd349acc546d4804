/**
 * One vhost's wire: its input checks after the link's, and the datagrams it sends, for CARP or
 * VRRP. The vhost (lib/daemon/vhost.ts) holds one and never looks at a protocol field itself;
 * the state machine sees only claims (lib/state/rules.ts).
 *
 * Pure: codecs and checks, no sockets.
 */
import { addressKey, type IpAddress } from '../net/address.js';
import type { Claim, VrrpClaim } from '../state/rules.js';
import { isVrrpClaim } from '../state/rules.js';
import { buildAdvertisement, CARP_TTL, IPPROTO_CARP, IPTOS_LOWDELAY } from './carp.js';
import { checkVhostPacket, type Drop, type LinkAccepted } from './checks.js';
import { digestAddresses } from './hmac.js';
import { encodeIpv4Header } from './ipv4.js';
import { checkVrrpPacket, formatAddressList, sortAddressKeys, vrrpAuth, type VrrpInputContext } from './vrrp-checks.js';
import { encodeVrrp, IPTOS_PREC_INTERNETCONTROL } from './vrrp.js';

/** A valid advert, as the machine and the vhost's counters need it. */
export interface WireAccepted {
  readonly ok: true;
  readonly src: string;
  /** The sender's address key (lib/net/address.ts addressKey). */
  readonly srcInt: number | bigint;
  readonly claim: Claim;
  /** CARP's counter (the vhost adopts it, as ucarp does); undefined for VRRP. */
  readonly counter?: bigint;
  /** VRRP: the advert's address list differs from ours (logged once per sender). */
  readonly addressMismatch?: string;
  /** The --debug line. */
  readonly describe: () => string;
}

export type WireResult = WireAccepted | Drop;

export interface VhostWire {
  check(accepted: LinkAccepted): WireResult;
  /**
   * IPv4: the whole datagram, header included, for one destination, from --srcip. IPv6: what
   * follows the IPv6 header (the kernel writes it), for `src`, the address the socket sends
   * from (VRRPv3's checksum covers it).
   */
  encode(claim: Claim, dst: IpAddress, ipId: number, counter: bigint, src?: IpAddress): Buffer;
}

export interface WireConfig {
  readonly protocol: 'carp' | 'vrrp2' | 'vrrp3';
  /** The family of the adverts and of `vips`. Default 4. */
  readonly family?: 4 | 6;
  readonly vhid: number;
  /**
   * IPv4: the adverts' source. IPv6: the unicast destination of a peer's adverts (--srcip
   * given); `::` when the interface's link-local address is the source (multicast only).
   */
  readonly srcip: IpAddress;
  readonly mcast: IpAddress;
  readonly peers: readonly IpAddress[];
  readonly password: Buffer;
  readonly vips: readonly { readonly address: IpAddress }[];
  /**
   * CARP: the addresses the digest covers, when more than `vips`: every address of a
   * dual-stack vhost, both families, whichever family this wire carries (hmac.ts).
   */
  readonly digestVips?: readonly { readonly address: IpAddress }[];
  readonly advertIntCs: number;
  readonly v3ChecksumAsV2: boolean;
}

export function vhostWire(config: WireConfig): VhostWire {
  return config.protocol === 'carp' ? carpWire(config) : vrrpWire(config);
}

function carpWire(config: WireConfig): VhostWire {
  const digestVips = digestAddresses((config.digestVips ?? config.vips).map((vip) => vip.address));
  const ctx = {
    group: addressKey(config.mcast),
    vhid: config.vhid,
    password: config.password,
    vip: digestVips,
    srcip: addressKey(config.srcip),
    peers: new Set(config.peers.map(addressKey)),
  };
  return {
    check(accepted) {
      const result = checkVhostPacket(accepted, ctx);
      if (!result.ok) return result;
      const ad = result.advert;
      return {
        ok: true,
        src: result.src,
        srcInt: result.srcInt,
        claim: { advbase: ad.advbase, advskew: ad.advskew },
        counter: ad.counter,
        describe: () => `advert from ${result.src}: vhid ${ad.vhid} advbase ${ad.advbase} advskew ${ad.advskew} counter ${ad.counter}`,
      };
    },
    encode(claim, dst, ipId, counter) {
      if (isVrrpClaim(claim)) throw new TypeError('a VRRP claim on a CARP vhost');
      const payload = buildAdvertisement({ vhid: config.vhid, advbase: claim.advbase, advskew: claim.advskew, counter, password: config.password, vip: digestVips });
      // CARP's checksum covers the CARP header alone in both families (ip_carp.c carp_cksum).
      if (config.family === 6) return payload;
      const header = encodeIpv4Header({
        tos: IPTOS_LOWDELAY,
        id: ipId,
        dontFragment: true,
        ttl: CARP_TTL,
        protocol: IPPROTO_CARP,
        src: config.srcip.text,
        dst: dst.text,
        payloadLength: payload.length,
      });
      return Buffer.concat([header, payload]);
    },
  };
}

function vrrpWire(config: WireConfig): VhostWire {
  const version = config.protocol === 'vrrp3' ? 3 : 2;
  const family = config.family ?? 4;
  const addresses = config.vips.map((vip) => addressKey(vip.address));
  const { authType, authData } = vrrpAuth(config.password);
  const ctx: VrrpInputContext = {
    version,
    family,
    vrid: config.vhid,
    group: addressKey(config.mcast),
    srcip: addressKey(config.srcip),
    peers: new Set(config.peers.map(addressKey)),
    authType,
    authData,
    intervalCs: config.advertIntCs,
    addresses: sortAddressKeys(addresses),
  };
  return {
    check(accepted) {
      const result = checkVrrpPacket(accepted, ctx);
      if (!result.ok) return result;
      const ad = result.advert;
      const claim: VrrpClaim = { priority: ad.priority, intervalCs: ad.intervalCs };
      return {
        ok: true,
        src: result.src,
        srcInt: result.srcInt,
        claim,
        ...(result.addressesMatch ? {} : { addressMismatch: `advertises ${formatAddressList(ad.addresses)}, ours are ${formatAddressList(addresses)}` }),
        describe: () => `advert from ${result.src}: vrid ${ad.vrid} priority ${ad.priority} interval ${ad.intervalCs / 100} s`,
      };
    },
    encode(claim, dst, ipId, _counter, src = config.srcip) {
      if (!isVrrpClaim(claim)) throw new TypeError('a CARP claim on a VRRP vhost');
      const payload = encodeVrrp({
        version,
        family,
        vrid: config.vhid,
        priority: claim.priority,
        intervalCs: claim.intervalCs,
        // The VIPs in configuration order, as keepalived lists its virtual_ipaddress.
        addresses,
        authType,
        password: config.password,
        // IPv6 always has the pseudo-header (RFC 5798 5.2.8; keepalived's v3_checksum_as_v2 is IPv4's).
        ...(version === 3 && (family === 6 || !config.v3ChecksumAsV2) ? { pseudoHeader: { src: addressKey(src), dst: addressKey(dst) } } : {}),
      });
      if (family === 6) return payload;
      const header = encodeIpv4Header({
        // As keepalived sends them: precedence "internetwork control", DF clear.
        tos: IPTOS_PREC_INTERNETCONTROL,
        id: ipId,
        dontFragment: false,
        ttl: CARP_TTL,
        protocol: IPPROTO_CARP,
        src: config.srcip.text,
        dst: dst.text,
        payloadLength: payload.length,
      });
      return Buffer.concat([header, payload]);
    },
  };
}

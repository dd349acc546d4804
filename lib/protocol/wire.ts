/**
 * One vhost's wire: its input checks after the link's, and the datagrams it sends, for CARP or
 * VRRP. The vhost (lib/daemon/vhost.ts) holds one and never looks at a protocol field itself;
 * the state machine sees only claims (lib/state/rules.ts).
 *
 * Pure: codecs and checks, no sockets.
 */
import type { IpAddress } from '../net/address.js';
import type { Claim, VrrpClaim } from '../state/rules.js';
import { isVrrpClaim } from '../state/rules.js';
import { buildAdvertisement, CARP_TTL, IPPROTO_CARP, IPTOS_LOWDELAY } from './carp.js';
import { checkVhostPacket, type Drop, type LinkAccepted } from './checks.js';
import { digestAddresses } from './hmac.js';
import { encodeIpv4Header } from './ipv4.js';
import { checkVrrpPacket, formatAddressList, vrrpAuth, type VrrpInputContext } from './vrrp-checks.js';
import { encodeVrrp, IPTOS_PREC_INTERNETCONTROL } from './vrrp.js';

/** A valid advert, as the machine and the vhost's counters need it. */
export interface WireAccepted {
  readonly ok: true;
  readonly src: string;
  readonly srcInt: number;
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
  /** The whole IPv4 datagram, header included, for one destination. */
  encode(claim: Claim, dst: IpAddress, ipId: number, counter: bigint): Buffer;
}

export interface WireConfig {
  readonly protocol: 'carp' | 'vrrp2' | 'vrrp3';
  readonly vhid: number;
  readonly srcip: IpAddress;
  readonly mcast: IpAddress;
  readonly peers: readonly IpAddress[];
  readonly password: Buffer;
  readonly vips: readonly { readonly address: IpAddress }[];
  readonly advertIntCs: number;
  readonly v3ChecksumAsV2: boolean;
}

export function vhostWire(config: WireConfig): VhostWire {
  return config.protocol === 'carp' ? carpWire(config) : vrrpWire(config);
}

function carpWire(config: WireConfig): VhostWire {
  const digestVips = digestAddresses(config.vips.map((vip) => vip.address));
  const ctx = {
    group: config.mcast.int,
    vhid: config.vhid,
    password: config.password,
    vip: digestVips,
    srcip: config.srcip.int,
    peers: new Set(config.peers.map((p) => p.int)),
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
  const addresses = config.vips.map((vip) => vip.address.int >>> 0);
  const { authType, authData } = vrrpAuth(config.password);
  const ctx: VrrpInputContext = {
    version,
    vrid: config.vhid,
    group: config.mcast.int,
    srcip: config.srcip.int,
    peers: new Set(config.peers.map((p) => p.int)),
    authType,
    authData,
    intervalCs: config.advertIntCs,
    addresses: [...addresses].sort((a, b) => a - b),
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
    encode(claim, dst, ipId) {
      if (!isVrrpClaim(claim)) throw new TypeError('a CARP claim on a VRRP vhost');
      const payload = encodeVrrp({
        version,
        vrid: config.vhid,
        priority: claim.priority,
        intervalCs: claim.intervalCs,
        // The VIPs in configuration order, as keepalived lists its virtual_ipaddress.
        addresses,
        authType,
        password: config.password,
        ...(version === 3 && !config.v3ChecksumAsV2 ? { pseudoHeader: { src: config.srcip.int, dst: dst.int } } : {}),
      });
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

/**
 * The VRRP vhost's checks, after the link's (checks.ts, 1 to 6) and its demultiplexer (7):
 *
 *   8. length        8 + 4 × count bytes, + 8 of auth data for v2 ('too-short' / 'too-long')
 *   9. destination   the group, or unicast: to us from a listed peer ('other-group',
 *                    'unknown-peer'), as for CARP (checks.ts checkDestination)
 *  10. checksum      v2: the message alone; v3: with the IPv4 pseudo-header, as keepalived
 *                    sends it, or the message alone, as keepalived's v3_checksum_as_v2 and some
 *                    other vendors send it: both are accepted ('bad-checksum')
 *  11. auth          v2: the auth type must be ours, and for PASS the 8 bytes must be our
 *                    password zero-padded, compared in constant time ('bad-auth')
 *  12. interval      v2: the advert interval must be ours (RFC 3768 7.1); v3 backups adopt
 *                    the master's, so v3 does not compare it ('bad-interval')
 *
 * An address list that differs from ours is not a reason to drop (keepalived accepts the advert
 * and logs it): the result says so and the vhost logs it once.
 *
 * Pure; never throws for any packet bytes.
 */
import { timingSafeEqual } from 'node:crypto';
import { checkDestination, drop, hex16, type Drop, type LinkAccepted } from './checks.js';
import { addressFromKey } from '../net/address.js';
import {
  VRRP_AUTH_NONE,
  VRRP_AUTH_PASS,
  decodeVrrp,
  encodingLength,
  passAuthData,
  vrrpChecksum,
  type VrrpAddress,
  type VrrpAdvertisement,
  type VrrpFamily,
} from './vrrp.js';

export interface VrrpInputContext {
  readonly version: 2 | 3;
  /** 6: VRRPv3 over IPv6 (16-byte addresses, the IPv6 pseudo-header). Default 4. */
  readonly family?: VrrpFamily;
  readonly vrid: number;
  /** Address keys (lib/net/address.ts addressKey): numbers for IPv4, bigints for IPv6. */
  readonly group: number | bigint;
  /** Our own address: a unicast advert's destination, and the v3 pseudo-header's. */
  readonly srcip: number | bigint;
  readonly peers: ReadonlySet<number | bigint>;
  /** v2: VRRP_AUTH_NONE or VRRP_AUTH_PASS. */
  readonly authType: number;
  /** v2 PASS: the 8 bytes the password goes on the wire as (passAuthData). */
  readonly authData: Buffer;
  /** v2: our interval, which the master's must equal. */
  readonly intervalCs: number;
  /** Our VIPs' keys, sorted ascending (sortAddressKeys). */
  readonly addresses: readonly VrrpAddress[];
}

/** Ascending, for numbers and bigints alike (Array.prototype.sort's default is by text). */
export function sortAddressKeys(keys: readonly VrrpAddress[]): VrrpAddress[] {
  return [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export type VrrpCheckResult =
  | {
      ok: true;
      src: string;
      srcInt: number | bigint;
      ttl: number;
      advert: VrrpAdvertisement;
      /** The packet's address list is ours (in any order). */
      addressesMatch: boolean;
    }
  | Drop;

function authName(type: number): string {
  return type === VRRP_AUTH_NONE ? '0 (none)' : type === VRRP_AUTH_PASS ? '1 (PASS)' : type === 2 ? '2 (AH)' : String(type);
}

export function checkVrrpPacket(accepted: LinkAccepted, ctx: VrrpInputContext): VrrpCheckResult {
  const { packet, ip, payloadStart, payloadLength } = accepted;
  const from = `from ${ip.src}`;
  if (accepted.version !== ctx.version) {
    return drop('bad-version', `${from}: VRRP version ${accepted.version}, this vhost speaks VRRPv${ctx.version}`);
  }
  // 8. Length, from the count field.
  const count = packet[payloadStart + 3]!;
  const family = ctx.family ?? 4;
  const expected = encodingLength(ctx.version, count, family);
  if (payloadLength < expected) {
    return drop('too-short', `${from}: VRRPv${ctx.version} payload ${payloadLength} bytes, ${count} addresses need ${expected}`);
  }
  if (payloadLength > expected) {
    return drop('too-long', `${from}: VRRPv${ctx.version} payload ${payloadLength} bytes, ${count} addresses take ${expected}`);
  }
  const advert = decodeVrrp(packet, payloadStart, payloadLength, family);

  // 9. Destination and sender.
  const misdirected = checkDestination(ip, ctx);
  if (misdirected !== undefined) return misdirected;

  // 10. Checksum.
  const end = payloadStart + payloadLength;
  const plain = vrrpChecksum(packet, payloadStart, end) === 0;
  // keepalived before 2.0.x checksummed unicast v3 adverts with the group as the pseudo-header's
  // destination; today's keepalived detects and accepts that form, so do we.
  const pseudo = (dst: number | bigint): boolean => vrrpChecksum(packet, payloadStart, end, { src: ip.srcInt, dst }, family) === 0;
  const valid = ctx.version === 2 ? plain : plain || pseudo(ip.dstInt) || (ip.dstInt !== ctx.group && pseudo(ctx.group));
  if (!valid) {
    return drop('bad-checksum', `${from}: VRRPv${ctx.version} checksum ${hex16(advert.checksum)} does not verify`);
  }

  if (ctx.version === 2) {
    // 11. Authentication.
    if (advert.authType !== ctx.authType) {
      return drop('bad-auth', `${from} (vrid ${advert.vrid}): auth type ${authName(advert.authType)}, ours is ${authName(ctx.authType)}`);
    }
    if (ctx.authType === VRRP_AUTH_PASS && !timingSafeEqual(advert.authData, ctx.authData)) {
      return drop('bad-auth', `${from} (vrid ${advert.vrid}): wrong PASS password; check auth_pass`);
    }
    // 12. Interval.
    if (advert.intervalCs !== ctx.intervalCs) {
      return drop('bad-interval', `${from} (vrid ${advert.vrid}): advert interval ${advert.intervalCs / 100} s, ours is ${ctx.intervalCs / 100} s`);
    }
  }

  const theirs = sortAddressKeys(advert.addresses);
  const addressesMatch = theirs.length === ctx.addresses.length && theirs.every((a, i) => a === ctx.addresses[i]);
  return { ok: true, src: ip.src, srcInt: ip.srcInt, ttl: ip.ttl, advert, addressesMatch };
}

/** "198.18.0.50, 198.18.0.51", for the mismatch line. */
export function formatAddressList(addresses: readonly VrrpAddress[]): string {
  return addresses.map((a) => addressFromKey(a).text).join(', ');
}

/** The auth bytes a vhost expects, from its password (empty: no authentication). */
export function vrrpAuth(password: Uint8Array): { authType: number; authData: Buffer } {
  return password.length === 0
    ? { authType: VRRP_AUTH_NONE, authData: Buffer.alloc(8) }
    : { authType: VRRP_AUTH_PASS, authData: passAuthData(password) };
}

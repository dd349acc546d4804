/**
 * The CARP advertisement digest, as ucarp computes it.
 *
 * ucarp (carp_hmac_prepare / carp_hmac_generate, derived from OpenBSD) builds HMAC-SHA1 by
 * hand: the password, NUL-terminated and zero-padded to the 64-byte SHA-1 block, XORed with
 * 0x36 for the inner pad and 0x5c for the outer pad. That is exactly standard HMAC-SHA1 for any
 * key of at most 64 bytes (HMAC zero-pads short keys the same way, and the NUL ucarp copies is
 * one more zero of that padding), so node:crypto's HMAC reproduces it. ucarp refuses passwords
 * of 20 bytes or more ("Password too long": its key buffer is 20 bytes including the NUL); the
 * CLI enforces that limit, this module does not.
 *
 * The message is version 2, type 1, the vhid, the virtual IPs in network order and the 64-bit
 * counter in network order: 15 bytes for ucarp's one VIP. The VIPs are in the digest but not in
 * the packet, which is why a VIP mismatch shows up as a bad digest.
 *
 * Several VIPs in one vhost: OpenBSD's carp_hmac_prepare_ctx hashes every IPv4 address of the
 * carp interface from the smallest to the largest (ntohl order, each once), "not interface
 * order", so two nodes that list the same VIPs in another order still agree. digestAddresses()
 * builds that byte string; with one VIP it is exactly ucarp's 4 bytes.
 *
 * IPv6: carp_hmac_prepare_ctx goes on, after the IPv4 addresses, with the IPv6 ones, again
 * smallest to largest (memcmp order, 16 bytes each) and in the same one digest: a dual-stack
 * vhost's adverts carry one digest over both families, whichever family the advert travels in.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { addressBytes, compareAddresses, sameAddress, type IpAddress } from '../net/address.js';

export const CARP_DIGEST_LENGTH = 20;
/** Longest password ucarp accepts: its key buffer holds 20 bytes including the NUL. */
export const CARP_MAX_PASSWORD_LENGTH = 19;

const UINT64_MAX = (1n << 64n) - 1n;

/** A vhost's VIPs as the digest covers them: IPv4 ascending, then IPv6 ascending, each once. */
export function digestAddresses(vips: readonly IpAddress[]): Buffer {
  const sorted = [...vips].sort(compareAddresses).filter((v, i, all) => i === 0 || !sameAddress(all[i - 1]!, v));
  return Buffer.concat(sorted.map(addressBytes));
}

export function carpDigest(password: Uint8Array, vhid: number, vip: Uint8Array, counter: bigint): Buffer {
  if (!Number.isInteger(vhid) || vhid < 0 || vhid > 255) {
    throw new RangeError(`vhid must be an integer 0..255, got ${vhid}`);
  }
  if (vip.length === 0 || vip.length % 4 !== 0) {
    throw new RangeError(`virtual IP must be 4 bytes, got ${vip.length} (4 per IPv4 address, 16 per IPv6 one, when there are several)`);
  }
  if (counter < 0n || counter > UINT64_MAX) {
    throw new RangeError(`counter must be 0..2^64-1, got ${counter}`);
  }
  const message = Buffer.alloc(3 + vip.length + 8);
  message[0] = 2; // CARP_VERSION
  message[1] = 1; // CARP_TYPE_ADVERTISEMENT
  message[2] = vhid;
  message.set(vip, 3);
  message.writeBigUInt64BE(counter, 3 + vip.length);
  return createHmac('sha1', password).update(message).digest();
}

/**
 * Constant-time comparison, as OpenBSD's carp_hmac_verify does with timingsafe_bcmp (ucarp uses memcmp).
 * A length mismatch returns false at once: the length is not secret.
 */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    return false;
  }
  return timingSafeEqual(a, b);
}

/**
 * CARP's numbers, apart from the codec so the state machine can use them without pulling in
 * the codec's HMAC (node:crypto).
 */

export const CARP_VERSION = 2;
export const CARP_TYPE_ADVERTISEMENT = 1;
export const CARP_HEADER_LENGTH = 36;
export const CARP_AUTHLEN = 7;
/** Adverts are sent with TTL 255 and anything else is dropped: proof the sender is on-link. */
export const CARP_TTL = 255;
export const IPPROTO_CARP = 112;
export const CARP_DEFAULT_GROUP = '224.0.0.18';
/** The group CARP and VRRPv3 over IPv6 advertise to (ip_carp.c, RFC 5798): link scope. */
export const CARP_DEFAULT_GROUP6 = 'ff02::12';
/**
 * advbase 255 with advskew 255 is OpenBSD's "bowing out" advert, sent when a master's
 * interface goes down: its interval is longer than an ordinary backup's dead interval, so
 * backups take over without waiting for the master-down timer. ucarp understands it on
 * receipt (as a master too slow to live) but never sends it.
 */
export const BOW_OUT_ADVBASE = 255;
export const BOW_OUT_ADVSKEW = 255;
/** ucarp sets the IPv4 TOS to IPTOS_LOWDELAY on its adverts. */
export const IPTOS_LOWDELAY = 0x10;

export function isBowOut(a: { advbase: number; advskew: number }): boolean {
  return a.advbase === BOW_OUT_ADVBASE && a.advskew === BOW_OUT_ADVSKEW;
}

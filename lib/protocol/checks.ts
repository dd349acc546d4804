/**
 * The input pipeline: one received IPv4 datagram in, "accept" or one drop reason out.
 *
 * Checks run in a fixed order and the first failure decides the reason, as in OpenBSD's
 * carp_input, where each reason has its own counter (carps_badttl, carps_badauth, ...):
 *
 *   1. structure     the IPv4 header parses ('too-short' / 'not-carp'), protocol is 112
 *                    ('not-carp'), the datagram holds totalLength bytes and the CARP payload is
 *                    exactly 36 bytes ('too-short' / 'too-long'). Nothing later may read a byte
 *                    these checks have not vouched for.
 *   2. own-packet    our own adverts come back to us (multicast loopback on the raw socket).
 *                    ucarp drops them first of all (in its BPF filter and again in
 *                    packethandler), so they never count as errors; so do we.
 *   3. bad-ttl       TTL must be 255, proof the sender is on this link. ucarp and OpenBSD
 *                    (carp_proto_input_if) both check it before looking at the CARP header.
 *   4. bad-ip-checksum  the IPv4 header checksum. Linux already drops datagrams whose header
 *                    checksum fails before a raw socket sees them; kept so the core is correct
 *                    on its own. (ucarp checks one checksum over IP header + CARP header
 *                    together, after the group check; we check the two separately, which
 *                    differs only for a packet with two errors that cancel out.)
 *   5. bad-version   CARP version must be 2.
 *   6. bad-type      type must be 1 (advertisement), the only type CARP v2 defines. ucarp does
 *                    not look at the type; OpenBSD-derived peers only send type 1, so this
 *                    drops nothing a real CARP peer sends.
 *   7. other-vhid    another virtual host on the same link: normal, ucarp ignores these quietly
 *                    (debug level). It comes before the group and digest checks so that other
 *                    vhids, whose digest we cannot verify, are never reported as bad digests.
 *   8. other-group   destination is not our multicast group (ucarp: "Ignoring different
 *                    multicast ip"). With --nomcast ucarp still sends to the group address
 *                    (only the Ethernet destination becomes broadcast), so this holds there too.
 *   9. bad-checksum  the CARP checksum, cheap, before the HMAC. (OpenBSD checks it before the
 *                    vhid; we check it after, so corrupt adverts of other vhids stay quiet.)
 *  10. bad-digest    HMAC-SHA1, compared in constant time. ucarp logs "Check vhid, password and
 *                    virtual IP address": the VIP is in the digest but not in the packet.
 *
 * ucarp's order (own, TTL, version, vhid, group, checksum, digest) is kept; the checks ucarp
 * does not have (IP header checksum on its own, type) are slotted in where they are cheapest.
 *
 * Length: ucarp requires at least 36 bytes of payload and ignores any beyond; OpenBSD drops
 * payloads shorter than the header. carpd also drops payloads *longer* than 36 bytes
 * ('too-long'): no CARP v2 sender produces them (ucarp and OpenBSD send exactly 36 for IPv4),
 * and the likely source is VRRP, which shares protocol 112 and group 224.0.0.18. Bytes received
 * beyond the IPv4 total length are not part of the datagram and are ignored.
 *
 * The authlen and reserved/demote bytes are not checked, as ucarp does not check them.
 *
 * The pipeline is split where the vhid picks the vhost: checkLinkPacket runs 1 to 6 once per
 * datagram, the link's demultiplexer does 7, checkVhostPacket runs 8 to 10 for that vhost;
 * checkPacket is the whole pipeline for one vhost.
 *
 * `checkPacket` never throws for any packet bytes; it returns a reason with a short detail
 * for the log. The detail never contains the password.
 */
import { internetChecksum } from './checksum.js';
import {
  CARP_HEADER_LENGTH,
  CARP_TTL,
  CARP_TYPE_ADVERTISEMENT,
  CARP_VERSION,
  IPPROTO_CARP,
  decodeAdvertisement,
  type CarpAdvertisement,
} from './carp.js';
import { ProtocolDecodeError } from './errors.js';
import { carpDigest, digestsEqual } from './hmac.js';
import { decodeIpv4Header, intToIpv4, type Ipv4Header } from './ipv4.js';

export const DROP_REASONS = [
  'own-packet',
  'not-carp',
  'too-short',
  'too-long',
  'bad-ttl',
  'bad-ip-checksum',
  'bad-version',
  'bad-type',
  'other-vhid',
  'other-group',
  'bad-checksum',
  'bad-digest',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/**
 * What the link-level checks (1 to 6) need: which sources are our own. One interface carries
 * every vhost of ours on it, so that is the set of their --srcip values.
 */
export interface LinkInputContext {
  isOwnAddress(srcInt: number): boolean;
}

/** What the per-vhost checks (8 to 10) need, once the vhid has picked the vhost. */
export interface VhostInputContext {
  /** The multicast group this vhost listens on (--mcast), unsigned 32-bit. */
  group: number;
  vhid: number;
  password: Uint8Array;
  /** The vhost's VIPs as the digest covers them (hmac.ts digestAddresses): 4 bytes each. */
  vip: Uint8Array;
}

/** The whole pipeline for one vhost, as a single-vhost daemon (and its tests) see it. */
export interface InputContext extends VhostInputContext {
  /** Our own source address (--srcip), unsigned 32-bit. */
  srcip: number;
}

/** A datagram that passed checks 1 to 6: well-formed CARP v2 from someone else on this link. */
export interface LinkAccepted {
  readonly packet: Uint8Array;
  readonly ip: Ipv4Header;
  readonly payloadStart: number;
  readonly advert: CarpAdvertisement;
}

export type LinkCheckResult = ({ ok: true } & LinkAccepted) | { ok: false; reason: DropReason; detail: string };

export type CheckResult =
  | { ok: true; src: string; srcInt: number; ttl: number; advert: CarpAdvertisement }
  | { ok: false; reason: DropReason; detail: string };

function drop(reason: DropReason, detail: string): { ok: false; reason: DropReason; detail: string } {
  return { ok: false, reason, detail };
}

function hex16(n: number): string {
  return `0x${n.toString(16).padStart(4, '0')}`;
}

// VRRPv2 (keepalived) uses IP protocol 112, group 224.0.0.18 and the same first byte 0x21;
// its packets are not 36 bytes long, so they end up here. Saying so saves the operator a search.
function vrrpHint(firstByte: number | undefined): string {
  return firstByte === 0x21 ? ' (VRRP, e.g. keepalived, uses the same protocol number and group)' : '';
}

type ParsedHeader = { header: Ipv4Header } | { rejected: LinkCheckResult };

function parseHeader(packet: Uint8Array): ParsedHeader {
  try {
    return { header: decodeIpv4Header(packet) };
  } catch (error) {
    if (!(error instanceof ProtocolDecodeError)) {
      throw error; // a bug in the decoder, not a property of the packet
    }
    // A header cut short is 'too-short'; one that is not a well-formed IPv4 header
    // (version, IHL, total length) is not a CARP packet of ours at all.
    const reason: DropReason = error.kind === 'truncated' ? 'too-short' : 'not-carp';
    return { rejected: drop(reason, error.message) };
  }
}

/**
 * Checks 1 to 6, the ones that do not depend on the vhost: run once per datagram by the link,
 * before the vhid picks the vhost (step 7, the link's demultiplexer), as ip_carp.c checks TTL,
 * length and checksum in carp_proto_input_if before carp_proto_input_c walks the vhosts.
 */
export function checkLinkPacket(packet: Uint8Array, ctx: LinkInputContext): LinkCheckResult {
  // 1. Structure.
  const parsed = parseHeader(packet);
  if ('rejected' in parsed) {
    return parsed.rejected;
  }
  const ip = parsed.header;
  if (ip.protocol !== IPPROTO_CARP) {
    return drop('not-carp', `from ${ip.src}: IP protocol ${ip.protocol}, expected ${IPPROTO_CARP} (CARP)`);
  }
  if (packet.length < ip.totalLength) {
    return drop('too-short', `from ${ip.src}: datagram truncated: ${packet.length} bytes, IPv4 total length ${ip.totalLength}`);
  }
  const payloadLength = ip.totalLength - ip.headerLength;
  const payloadStart = ip.headerLength;
  if (payloadLength < CARP_HEADER_LENGTH) {
    return drop(
      'too-short',
      `from ${ip.src}: CARP payload ${payloadLength} bytes, need ${CARP_HEADER_LENGTH}${vrrpHint(packet[payloadStart])}`,
    );
  }
  if (payloadLength > CARP_HEADER_LENGTH) {
    return drop(
      'too-long',
      `from ${ip.src}: CARP payload ${payloadLength} bytes, expected ${CARP_HEADER_LENGTH}${vrrpHint(packet[payloadStart])}`,
    );
  }

  // 2. Our own adverts, looped back.
  if (ctx.isOwnAddress(ip.srcInt)) {
    return drop('own-packet', `source ${ip.src} is our own address`);
  }

  // 3. On-link proof.
  if (ip.ttl !== CARP_TTL) {
    return drop('bad-ttl', `from ${ip.src}: TTL ${ip.ttl}, expected ${CARP_TTL}`);
  }

  // 4. IPv4 header checksum.
  if (internetChecksum(packet, 0, ip.headerLength) !== 0) {
    return drop('bad-ip-checksum', `from ${ip.src}: IPv4 header checksum ${hex16(ip.checksum)} does not verify`);
  }

  // The length checks above guarantee the 36 bytes are there.
  const advert = decodeAdvertisement(packet, payloadStart);

  // 5, 6. Version and type.
  if (advert.version !== CARP_VERSION) {
    return drop('bad-version', `from ${ip.src}: CARP version ${advert.version}, expected ${CARP_VERSION}`);
  }
  if (advert.type !== CARP_TYPE_ADVERTISEMENT) {
    return drop('bad-type', `from ${ip.src}: CARP type ${advert.type}, expected ${CARP_TYPE_ADVERTISEMENT} (advertisement)`);
  }
  return { ok: true, packet, ip, payloadStart, advert };
}

/** Checks 8 to 10, for the vhost the vhid picked. */
export function checkVhostPacket(accepted: LinkAccepted, ctx: VhostInputContext): CheckResult {
  const { packet, ip, payloadStart, advert } = accepted;
  // 8. Someone else's group.
  if (ip.dstInt !== ctx.group) {
    return drop('other-group', `from ${ip.src}: destination ${ip.dst}, our group is ${intToIpv4(ctx.group >>> 0)}`);
  }

  // 9. CARP checksum over exactly the 36 bytes.
  if (internetChecksum(packet, payloadStart, payloadStart + CARP_HEADER_LENGTH) !== 0) {
    return drop('bad-checksum', `from ${ip.src}: CARP checksum ${hex16(advert.checksum)} does not verify`);
  }

  // 10. Authentication.
  const expected = carpDigest(ctx.password, ctx.vhid, ctx.vip, advert.counter);
  if (!digestsEqual(expected, advert.digest)) {
    return drop('bad-digest', `from ${ip.src} (vhid ${advert.vhid}): bad digest; check vhid, password and virtual IP address`);
  }

  return { ok: true, src: ip.src, srcInt: ip.srcInt, ttl: ip.ttl, advert };
}

/** The whole pipeline, 1 to 10, for one vhost. */
export function checkPacket(packet: Uint8Array, ctx: InputContext): CheckResult {
  const link = checkLinkPacket(packet, { isOwnAddress: (src) => src === ctx.srcip });
  if (!link.ok) return link;
  // 7. Another virtual host on the same link.
  if (link.advert.vhid !== ctx.vhid) {
    return drop('other-vhid', `from ${link.ip.src}: vhid ${link.advert.vhid}, ours is ${ctx.vhid}`);
  }
  return checkVhostPacket(link, ctx);
}

/** One counter per drop reason, like OpenBSD's carpstats. */
export class DropCounters {
  readonly #counts: Record<DropReason, number>;

  constructor() {
    this.#counts = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  }

  /** Counts one drop; returns the new count for that reason (handy for rate-limiting the log). */
  increment(reason: DropReason): number {
    this.#counts[reason] += 1;
    return this.#counts[reason];
  }

  get(reason: DropReason): number {
    return this.#counts[reason];
  }

  total(): number {
    return DROP_REASONS.reduce((sum, r) => sum + this.#counts[r], 0);
  }

  snapshot(): Readonly<Record<DropReason, number>> {
    return Object.freeze({ ...this.#counts });
  }
}

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
 * VRRP shares protocol 112, the group and the first byte 0x21 (VRRPv2); VRRPv3 starts 0x31. So
 * the link checks (1 to 6) are common: any payload of at least 8 bytes, version 2 or 3, type 1.
 * The version and the vhid (VRRP's VRID) pick the vhost: a version-2 packet goes to the CARP or
 * VRRPv2 vhost with that id (one link cannot carry both with one id: their packets look alike),
 * a version-3 packet to the VRRPv3 one. The CARP length rule (exactly 36 bytes) is the CARP
 * vhost's first check; checkVrrpPacket (vrrp-checks.ts) holds VRRP's.
 *
 * Unicast (--peer): the TTL rule is for multicast adverts; one addressed to us is checked by the
 * vhost, which accepts it from its listed peers only (see vrrp-checks.ts, checkDestination).
 *
 * IPv6 (checkLinkPacket6): the kernel strips the IPv6 header and hands over the source, the
 * destination and the hop limit (native/ipv6_socket.cc), so 1 is the payload's length alone and
 * 4 does not exist (IPv6 has no header checksum); 2, 3 (hop limit 255), 5 and 6 are the same.
 * Everything after the demultiplexer is family-blind: it sees an AdvertAddressing, whose
 * address keys are numbers for IPv4 and bigints for IPv6 (lib/net/address.ts addressKey).
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
import { decodeIpv4Header, type Ipv4Header } from './ipv4.js';
import { addressFromKey, isMulticast, parseIpv6 } from '../net/address.js';

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
  'unknown-peer',
  'bad-checksum',
  'bad-digest',
  'bad-auth',
  'bad-interval',
  // --replay-protect (replay.ts): a valid digest, but a counter already seen or older.
  'replayed',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** The reasons only VRRP's checks give (no CARP packet can be dropped for them). */
export const VRRP_ONLY_DROPS: ReadonlySet<DropReason> = new Set(['bad-auth', 'bad-interval']);

/** The smallest payload any advert of ours has: VRRP's fixed 8-byte header. */
const MIN_PAYLOAD = 8;

/**
 * What the link-level checks (1 to 6) need: which sources are our own. One interface carries
 * every vhost of ours on it, so that is the set of their --srcip values.
 */
export interface LinkInputContext {
  isOwnAddress(srcInt: number | bigint): boolean;
  /**
   * The versions some vhost on the link speaks: 2 (CARP, VRRPv2), 3 (VRRPv3). Default {2}.
   * Others are 'bad-version' here, before the vhid is looked at.
   */
  versions?: ReadonlySet<number>;
  /**
   * Every vhost on the link is CARP: then the link applies CARP's exact 36-byte rule itself,
   * right after the IPv4 structure, where ucarp and OpenBSD check the length.
   */
  carpOnly?: boolean;
}

const CARP_VERSIONS: ReadonlySet<number> = new Set([CARP_VERSION]);

/**
 * Unicast (--peer): adverts go to each peer and only theirs are accepted. Empty: multicast.
 * Shared by the CARP and VRRP vhost checks.
 */
export interface DestinationContext {
  /** The multicast group this vhost listens on (--mcast): its address key (addressKey). */
  group: number | bigint;
  /** Our own address (--srcip): a unicast advert's destination. */
  srcip: number | bigint;
  /** The peers' address keys; empty for multicast. */
  peers: ReadonlySet<number | bigint>;
}

/** What the per-vhost checks (8 to 10) need, once the vhid has picked the vhost. */
export interface VhostInputContext extends Omit<DestinationContext, 'srcip' | 'peers'> {
  vhid: number;
  password: Uint8Array;
  /** The vhost's VIPs as the digest covers them (hmac.ts digestAddresses): 4 or 16 bytes each. */
  vip: Uint8Array;
  srcip?: number | bigint;
  peers?: ReadonlySet<number | bigint>;
}

/** The whole pipeline for one vhost, as a single-vhost daemon (and its tests) see it. */
export interface InputContext extends VhostInputContext {
  /** Our own source address (--srcip), unsigned 32-bit. */
  srcip: number;
}

/**
 * Where an advert came from and went, for either family: an Ipv4Header is one (family
 * undefined); an IPv6 advert's comes from the socket's ancillary data.
 */
export interface AdvertAddressing {
  readonly family?: 4 | 6;
  readonly src: string;
  readonly dst: string;
  /** The address keys: unsigned 32-bit numbers for IPv4, bigints for IPv6. */
  readonly srcInt: number | bigint;
  readonly dstInt: number | bigint;
  /** TTL, or the IPv6 hop limit. */
  readonly ttl: number;
}

/** A datagram that passed checks 1 to 6: a well-formed advert of version 2 or 3 from someone else. */
export interface LinkAccepted {
  readonly packet: Uint8Array;
  readonly ip: AdvertAddressing;
  readonly payloadStart: number;
  readonly payloadLength: number;
  /** 2: CARP or VRRPv2; 3: VRRPv3. */
  readonly version: number;
  /** CARP's vhid, VRRP's VRID: the second byte either way. */
  readonly vhid: number;
}

export type LinkCheckResult = ({ ok: true } & LinkAccepted) | Drop;

export interface Drop {
  ok: false;
  reason: DropReason;
  detail: string;
}

export type CheckResult = { ok: true; src: string; srcInt: number | bigint; ttl: number; advert: CarpAdvertisement } | Drop;

export function drop(reason: DropReason, detail: string): Drop {
  return { ok: false, reason, detail };
}

export function hex16(n: number): string {
  return `0x${n.toString(16).padStart(4, '0')}`;
}

// VRRPv2 (keepalived) uses IP protocol 112, group 224.0.0.18 and the same first byte 0x21;
// its packets are not 36 bytes long, so they end up here. Saying so saves the operator a search.
function vrrpHint(firstByte: number | undefined): string {
  return firstByte === 0x21 ? ' (VRRP, e.g. keepalived, uses the same protocol number and group; --protocol=vrrp2 speaks it)' : '';
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

function isMulticastInt(address: number): boolean {
  return address >>> 28 === 0xe;
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
  const carpOnly = ctx.carpOnly ?? true;
  if (carpOnly) {
    const wrongLength = checkCarpLength(packet, ip, payloadStart, payloadLength);
    if (wrongLength !== undefined) return wrongLength;
  } else if (payloadLength < MIN_PAYLOAD) {
    return drop('too-short', `from ${ip.src}: payload ${payloadLength} bytes, need ${CARP_HEADER_LENGTH} (CARP) or at least ${MIN_PAYLOAD} (VRRP)`);
  }

  // 2. Our own adverts, looped back.
  if (ctx.isOwnAddress(ip.srcInt)) {
    return drop('own-packet', `source ${ip.src} is our own address`);
  }

  // 3. On-link proof, for the adverts that go to a group. A unicast advert's TTL is the
  //    vhost's to judge: it knows its peers (checkDestination).
  if (isMulticastInt(ip.dstInt) && ip.ttl !== CARP_TTL) {
    return drop('bad-ttl', `from ${ip.src}: TTL ${ip.ttl}, expected ${CARP_TTL}`);
  }

  // 4. IPv4 header checksum.
  if (internetChecksum(packet, 0, ip.headerLength) !== 0) {
    return drop('bad-ip-checksum', `from ${ip.src}: IPv4 header checksum ${hex16(ip.checksum)} does not verify`);
  }

  return checkVersionAndType(packet, ip, payloadStart, payloadLength, ctx, ' (CARP, VRRPv2)');
}

/**
 * Checks 5 and 6, for either family: version and type, the first byte, the same place in CARP
 * and VRRP. `twoIs` names what version 2 is on this family's links.
 */
function checkVersionAndType(
  packet: Uint8Array,
  ip: AdvertAddressing,
  payloadStart: number,
  payloadLength: number,
  ctx: LinkInputContext,
  twoIs: string,
): LinkCheckResult {
  const carpOnly = ctx.carpOnly ?? true;
  const version = packet[payloadStart]! >> 4;
  const type = packet[payloadStart]! & 0x0f;
  const versions = ctx.versions ?? CARP_VERSIONS;
  const kind = carpOnly ? 'CARP ' : '';
  if (!versions.has(version)) {
    const spoken = [...versions].sort().map((v) => (v === 3 ? '3 (VRRPv3)' : carpOnly ? String(v) : `${v}${twoIs}`)).join(' or ');
    return drop('bad-version', `from ${ip.src}: ${kind}version ${version}, expected ${spoken}`);
  }
  if (type !== CARP_TYPE_ADVERTISEMENT) {
    return drop('bad-type', `from ${ip.src}: ${kind}type ${type}, expected ${CARP_TYPE_ADVERTISEMENT} (advertisement)`);
  }
  return { ok: true, packet, ip, payloadStart, payloadLength, version, vhid: packet[payloadStart + 1]! };
}

/** What an IPv6 raw socket hands over for one datagram (lib/net/ipv6-socket.ts Ipv6Packet). */
export interface Ipv6Datagram {
  readonly payload: Uint8Array;
  readonly src: string;
  readonly dst: string;
  readonly hopLimit: number;
  /** When the kernel received it (NaN or absent when not known); the checks ignore it. */
  readonly receivedMs?: number;
}

/** Checks 1 to 6 for an IPv6 datagram (see the header comment: no header of ours to parse). */
export function checkLinkPacket6(datagram: Ipv6Datagram, ctx: LinkInputContext): LinkCheckResult {
  const source = parseIpv6(datagram.src);
  const destination = parseIpv6(datagram.dst);
  if (source === undefined || destination === undefined) {
    // The kernel formats these; reaching this is a bug in the addon, not a packet's property.
    return drop('not-carp', `from ${datagram.src}: addresses ${datagram.src} -> ${datagram.dst} are not IPv6`);
  }
  const ip: AdvertAddressing = { family: 6, src: source.text, dst: destination.text, srcInt: source.big, dstInt: destination.big, ttl: datagram.hopLimit };
  const packet = datagram.payload;
  const payloadLength = packet.length;
  const carpOnly = ctx.carpOnly ?? true;
  if (carpOnly) {
    const wrongLength = checkCarpLength(packet, ip, 0, payloadLength);
    if (wrongLength !== undefined) return wrongLength;
  } else if (payloadLength < MIN_PAYLOAD) {
    return drop('too-short', `from ${ip.src}: payload ${payloadLength} bytes, need ${CARP_HEADER_LENGTH} (CARP) or at least ${MIN_PAYLOAD} (VRRP)`);
  }
  if (ctx.isOwnAddress(ip.srcInt)) {
    return drop('own-packet', `source ${ip.src} is our own address`);
  }
  // RFC 5798 5.1.2.3 and ip_carp.c's carp6_proto_input: hop limit 255, or it came from off the link.
  if (isMulticast(destination) && ip.ttl !== CARP_TTL) {
    return drop('bad-ttl', `from ${ip.src}: hop limit ${ip.ttl}, expected ${CARP_TTL}`);
  }
  // VRRPv2 is IPv4 only: version 2 over IPv6 is CARP.
  return checkVersionAndType(packet, ip, 0, payloadLength, ctx, ' (CARP)');
}

/**
 * Where the advert was sent and by whom, for a multicast vhost (its group) or a unicast one
 * (to us, from a listed peer). A unicast advert's TTL is not checked: keepalived and FreeBSD do
 * not require 255 there, since a unicast peer may sit behind a router.
 */
export function checkDestination(ip: AdvertAddressing, ctx: DestinationContext): Drop | undefined {
  if (ctx.peers.size === 0) {
    if (ip.dstInt !== ctx.group) {
      return drop('other-group', `from ${ip.src}: destination ${ip.dst}, our group is ${addressFromKey(ctx.group).text}`);
    }
    return undefined;
  }
  if (!ctx.peers.has(ip.srcInt)) {
    return drop('unknown-peer', `from ${ip.src}: not one of our peers (--peer)`);
  }
  if (ip.dstInt !== ctx.srcip) {
    return drop('other-group', `from ${ip.src}: destination ${ip.dst}, unicast adverts come to ${addressFromKey(ctx.srcip).text}`);
  }
  return undefined;
}

/** CARP over IPv4 is exactly 36 bytes (see the header comment). */
function checkCarpLength(packet: Uint8Array, ip: AdvertAddressing, payloadStart: number, payloadLength: number): Drop | undefined {
  if (payloadLength < CARP_HEADER_LENGTH) {
    return drop('too-short', `from ${ip.src}: CARP payload ${payloadLength} bytes, need ${CARP_HEADER_LENGTH}${vrrpHint(packet[payloadStart])}`);
  }
  if (payloadLength > CARP_HEADER_LENGTH) {
    return drop('too-long', `from ${ip.src}: CARP payload ${payloadLength} bytes, expected ${CARP_HEADER_LENGTH}${vrrpHint(packet[payloadStart])}`);
  }
  return undefined;
}

/** Checks 8 to 10 for a CARP vhost (after its length rule, when the link did not apply it). */
export function checkVhostPacket(accepted: LinkAccepted, ctx: VhostInputContext): CheckResult {
  const { packet, ip, payloadStart, payloadLength } = accepted;
  const wrongLength = checkCarpLength(packet, ip, payloadStart, payloadLength);
  if (wrongLength !== undefined) return wrongLength;
  if (accepted.version !== CARP_VERSION) {
    return drop('bad-version', `from ${ip.src}: CARP version ${accepted.version}, expected ${CARP_VERSION}`);
  }
  const advert = decodeAdvertisement(packet, payloadStart);

  // 8. Someone else's group (or, unicast, not from a peer of ours).
  const misdirected = checkDestination(ip, { group: ctx.group, srcip: ctx.srcip ?? -1, peers: ctx.peers ?? new Set() });
  if (misdirected !== undefined) return misdirected;

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
  const link = checkLinkPacket(packet, { isOwnAddress: (src) => src === ctx.srcip, carpOnly: true });
  if (!link.ok) return link;
  // 7. Another virtual host on the same link.
  if (link.vhid !== ctx.vhid) {
    return drop('other-vhid', `from ${link.ip.src}: vhid ${link.vhid}, ours is ${ctx.vhid}`);
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

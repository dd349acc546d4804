/**
 * The CARP v2 advertisement: a 36-byte header carried directly in IPv4 (protocol 112).
 *
 *   0      version (high nibble) / type (low nibble)
 *   1      vhid
 *   2      advskew
 *   3      authlen (7: counter + digest in 32-bit words)
 *   4      reserved; OpenBSD carries its demotion counter here, ucarp writes 0 and ignores it
 *   5      advbase (seconds)
 *   6..7   checksum (Internet checksum over the 36 bytes)
 *   8..15  counter, 64-bit big-endian
 *   16..35 HMAC-SHA1 digest
 *
 * A codec in the style of dns-packet: encode, decode, encodingLength, no I/O.
 */
import { internetChecksum } from './checksum.js';
import { ProtocolDecodeError } from './errors.js';
import { CARP_DIGEST_LENGTH, carpDigest } from './hmac.js';
import { ipv4ToBytes } from './ipv4.js';

export {
  BOW_OUT_ADVBASE,
  BOW_OUT_ADVSKEW,
  CARP_AUTHLEN,
  CARP_DEFAULT_GROUP,
  CARP_HEADER_LENGTH,
  CARP_TTL,
  CARP_TYPE_ADVERTISEMENT,
  CARP_VERSION,
  IPPROTO_CARP,
  IPTOS_LOWDELAY,
  isBowOut,
} from './constants.js';
import { CARP_AUTHLEN, CARP_HEADER_LENGTH, CARP_TYPE_ADVERTISEMENT, CARP_VERSION } from './constants.js';

const UINT64_MAX = (1n << 64n) - 1n;

export interface CarpAdvertisement {
  version: number;
  type: number;
  vhid: number;
  advskew: number;
  authlen: number;
  demote: number;
  advbase: number;
  checksum: number;
  counter: bigint;
  /** 20 bytes. */
  digest: Buffer;
}

export function encodingLength(): number {
  return CARP_HEADER_LENGTH;
}

function checkField(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`CARP ${name} must be an integer 0..${max}, got ${value}`);
  }
}

/**
 * Writes the 36-byte header at `offset` of `buf` (a new buffer when none is given), computing
 * the checksum over the 36 bytes with the checksum field zeroed, as ucarp's carp_send_ad does.
 * Returns the buffer written to.
 */
export function encodeAdvertisement(
  a: Omit<CarpAdvertisement, 'checksum'>,
  buf: Buffer = Buffer.alloc(CARP_HEADER_LENGTH),
  offset = 0,
): Buffer {
  checkField('version', a.version, 0x0f);
  checkField('type', a.type, 0x0f);
  checkField('vhid', a.vhid, 0xff);
  checkField('advskew', a.advskew, 0xff);
  checkField('authlen', a.authlen, 0xff);
  checkField('demote', a.demote, 0xff);
  checkField('advbase', a.advbase, 0xff);
  if (a.counter < 0n || a.counter > UINT64_MAX) {
    throw new RangeError(`CARP counter must be 0..2^64-1, got ${a.counter}`);
  }
  if (a.digest.length !== CARP_DIGEST_LENGTH) {
    throw new RangeError(`CARP digest must be ${CARP_DIGEST_LENGTH} bytes, got ${a.digest.length}`);
  }
  if (!Number.isInteger(offset) || offset < 0 || buf.length - offset < CARP_HEADER_LENGTH) {
    throw new RangeError(`CARP header needs ${CARP_HEADER_LENGTH} bytes at offset ${offset} of a ${buf.length}-byte buffer`);
  }
  buf[offset] = (a.version << 4) | a.type;
  buf[offset + 1] = a.vhid;
  buf[offset + 2] = a.advskew;
  buf[offset + 3] = a.authlen;
  buf[offset + 4] = a.demote;
  buf[offset + 5] = a.advbase;
  buf.writeUInt16BE(0, offset + 6);
  buf.writeBigUInt64BE(a.counter, offset + 8);
  buf.set(a.digest, offset + 16);
  buf.writeUInt16BE(internetChecksum(buf, offset, offset + CARP_HEADER_LENGTH), offset + 6);
  return buf;
}

/**
 * Reads the 36-byte header at `offset`. Any field values are accepted (the input pipeline
 * decides what to drop); only a short buffer is an error. The digest is copied, so the
 * result does not alias the packet buffer.
 */
export function decodeAdvertisement(buf: Uint8Array, offset = 0): CarpAdvertisement {
  const available = buf.length - offset;
  if (!Number.isInteger(offset) || offset < 0 || available < CARP_HEADER_LENGTH) {
    throw new ProtocolDecodeError(`CARP header truncated: ${Math.max(available, 0)} bytes, need ${CARP_HEADER_LENGTH}`, 'truncated');
  }
  const view = Buffer.from(buf.buffer, buf.byteOffset + offset, CARP_HEADER_LENGTH);
  return {
    version: view[0]! >> 4,
    type: view[0]! & 0x0f,
    vhid: view[1]!,
    advskew: view[2]!,
    authlen: view[3]!,
    demote: view[4]!,
    advbase: view[5]!,
    checksum: view.readUInt16BE(6),
    counter: view.readBigUInt64BE(8),
    digest: Buffer.from(view.subarray(16, 16 + CARP_DIGEST_LENGTH)),
  };
}

export interface AdvertisementParams {
  vhid: number;
  advbase: number;
  advskew: number;
  counter: bigint;
  password: Uint8Array;
  /**
   * The virtual IP, dotted quad, or the vhost's VIPs as digestAddresses() lays them out: they
   * are part of the digest, not of the packet.
   */
  vip: string | Uint8Array;
}

/** The 36-byte CARP payload ucarp would send with these settings and this counter. */
export function buildAdvertisement(p: AdvertisementParams): Buffer {
  return encodeAdvertisement({
    version: CARP_VERSION,
    type: CARP_TYPE_ADVERTISEMENT,
    vhid: p.vhid,
    advskew: p.advskew,
    authlen: CARP_AUTHLEN,
    demote: 0, // ucarp: "must be zero"
    advbase: p.advbase,
    counter: p.counter,
    digest: carpDigest(p.password, p.vhid, typeof p.vip === 'string' ? ipv4ToBytes(p.vip) : p.vip, p.counter),
  });
}

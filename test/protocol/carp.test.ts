import { describe, it, expect } from 'vitest';
import {
  BOW_OUT_ADVBASE,
  BOW_OUT_ADVSKEW,
  CARP_AUTHLEN,
  CARP_HEADER_LENGTH,
  CARP_TYPE_ADVERTISEMENT,
  CARP_VERSION,
  buildAdvertisement,
  decodeAdvertisement,
  encodeAdvertisement,
  encodingLength,
  isBowOut,
  type CarpAdvertisement,
} from '../../lib/protocol/carp.js';
import { internetChecksum } from '../../lib/protocol/checksum.js';
import { ProtocolDecodeError } from '../../lib/protocol/errors.js';
import { allGolden, loadGolden, prng, randomBytes, randomCounter, randomInt } from './golden.js';

function randomAdvert(rand: () => number): Omit<CarpAdvertisement, 'checksum'> {
  return {
    version: randomInt(rand, 15),
    type: randomInt(rand, 15),
    vhid: randomInt(rand, 255),
    advskew: randomInt(rand, 255),
    authlen: randomInt(rand, 255),
    demote: randomInt(rand, 255),
    advbase: randomInt(rand, 255),
    counter: randomCounter(rand),
    digest: randomBytes(rand, 20),
  };
}

describe('CARP codec', () => {
  it('encodingLength is the 36-byte header', () => {
    expect(encodingLength()).toBe(36);
    expect(CARP_HEADER_LENGTH).toBe(36);
  });

  it('round-trips 2000 random advertisements, with a valid checksum each time', () => {
    const rand = prng(0xc0ffee);
    for (let i = 0; i < 2000; i++) {
      const a = randomAdvert(rand);
      const buf = encodeAdvertisement(a);
      expect(buf).toHaveLength(36);
      expect(internetChecksum(buf)).toBe(0);
      const decoded = decodeAdvertisement(buf);
      expect(decoded).toEqual({ ...a, checksum: buf.readUInt16BE(6) });
      // Re-encoding what was decoded gives the same bytes.
      const { checksum: _checksum, ...rest } = decoded;
      expect(encodeAdvertisement(rest)).toEqual(buf);
    }
  });

  it('covers the extremes of every field', () => {
    for (const v of [0, 255]) {
      const a = { version: v & 15, type: v & 15, vhid: v, advskew: v, authlen: v, demote: v, advbase: v,
        counter: v === 0 ? 0n : (1n << 64n) - 1n, digest: Buffer.alloc(20, v) };
      const { checksum: _c, ...decoded } = decodeAdvertisement(encodeAdvertisement(a));
      expect(decoded).toEqual(a);
    }
  });

  it('encodes into a caller buffer at an offset, leaving the rest alone', () => {
    const buf = Buffer.alloc(50, 0xaa);
    const a = randomAdvert(prng(1));
    expect(encodeAdvertisement(a, buf, 14)).toBe(buf);
    expect(buf.subarray(0, 14).every((b) => b === 0xaa)).toBe(true);
    expect(buf.subarray(14, 50)).toEqual(encodeAdvertisement(a));
  });

  it('decodes at an offset and does not alias the digest', () => {
    const f = loadGolden('ucarp-vhid42-love-1.json');
    const frame = Buffer.from(f.ethernet);
    const a = decodeAdvertisement(frame, 34);
    expect(a).toEqual(decodeAdvertisement(f.ip, 20));
    frame.fill(0);
    expect(a.digest).toEqual(f.ip.subarray(36, 56));
  });

  it('decodes a Uint8Array that is a view into a larger ArrayBuffer', () => {
    const f = loadGolden('ucarp-vhid42-love-1.json');
    const backing = new Uint8Array(100);
    backing.set(f.ip, 10);
    const view = new Uint8Array(backing.buffer, 30, 36);
    expect(decodeAdvertisement(view)).toEqual(decodeAdvertisement(f.ip, 20));
  });

  describe('malformed input', () => {
    it('throws on fewer than 36 bytes', () => {
      expect(() => decodeAdvertisement(new Uint8Array(35))).toThrow(new ProtocolDecodeError('CARP header truncated: 35 bytes, need 36', 'truncated'));
      expect(() => decodeAdvertisement(new Uint8Array(0))).toThrow('CARP header truncated: 0 bytes, need 36');
    });

    it('throws when the offset leaves fewer than 36 bytes', () => {
      expect(() => decodeAdvertisement(new Uint8Array(56), 21)).toThrow('CARP header truncated: 35 bytes, need 36');
      expect(() => decodeAdvertisement(new Uint8Array(56), 80)).toThrow('CARP header truncated: 0 bytes, need 36');
      expect(() => decodeAdvertisement(new Uint8Array(56), -1)).toThrow(ProtocolDecodeError);
    });

    it('decodes any field values (policy belongs to the input checks)', () => {
      const buf = Buffer.alloc(36, 0xff);
      expect(decodeAdvertisement(buf)).toMatchObject({ version: 15, type: 15, vhid: 255, counter: (1n << 64n) - 1n });
    });
  });

  describe('encoder argument checks', () => {
    const valid = randomAdvert(prng(2));
    it.each([
      ['version', { version: 16 }, 'CARP version must be an integer 0..15, got 16'],
      ['type', { type: -1 }, 'CARP type must be an integer 0..15, got -1'],
      ['vhid', { vhid: 256 }, 'CARP vhid must be an integer 0..255, got 256'],
      ['advskew', { advskew: 1.5 }, 'CARP advskew must be an integer 0..255, got 1.5'],
      ['advbase', { advbase: 300 }, 'CARP advbase must be an integer 0..255, got 300'],
      ['counter', { counter: 1n << 64n }, 'CARP counter must be 0..2^64-1, got 18446744073709551616'],
      ['digest', { digest: Buffer.alloc(19) }, 'CARP digest must be 20 bytes, got 19'],
    ])('rejects a bad %s', (_name, patch, message) => {
      expect(() => encodeAdvertisement({ ...valid, ...patch })).toThrow(message);
    });

    it('rejects a buffer too small for the header at the offset', () => {
      expect(() => encodeAdvertisement(valid, Buffer.alloc(40), 5)).toThrow('CARP header needs 36 bytes at offset 5 of a 40-byte buffer');
    });
  });
});

describe('golden ucarp adverts', () => {
  const fixtures = allGolden();

  it('has fixtures for three configurations and a takeover', () => {
    const names = new Set(fixtures.map((f) => f.file.replace(/-\d+\.json$/, '')));
    expect([...names].sort()).toEqual(['ucarp-takeover', 'ucarp-vhid42-love', 'ucarp-vhid42-nomcast', 'ucarp-vhid7-secret']);
  });

  it.each(fixtures.map((f) => [f.file, f] as const))('decodes %s', (_file, f) => {
    const a = decodeAdvertisement(f.ip, 20);
    expect(a).toMatchObject({
      version: CARP_VERSION,
      type: CARP_TYPE_ADVERTISEMENT,
      vhid: f.vhid,
      advskew: f.advskew,
      authlen: CARP_AUTHLEN,
      demote: 0,
      advbase: f.advbase,
      checksum: f.ip.readUInt16BE(26),
    });
    expect(a.counter).toBe(f.ip.readBigUInt64BE(28));
  });

  it.each(fixtures.map((f) => [f.file, f] as const))('buildAdvertisement reproduces %s byte for byte', (_file, f) => {
    const counter = decodeAdvertisement(f.ip, 20).counter;
    const built = buildAdvertisement({
      vhid: f.vhid,
      advbase: f.advbase,
      advskew: f.advskew,
      counter,
      password: Buffer.from(f.password),
      vip: f.vip,
    });
    expect(built.toString('hex')).toBe(f.ip.subarray(20, 56).toString('hex'));
  });
});

describe('isBowOut', () => {
  it('is true only for advbase 255 and advskew 255', () => {
    expect(isBowOut({ advbase: BOW_OUT_ADVBASE, advskew: BOW_OUT_ADVSKEW })).toBe(true);
    expect(isBowOut({ advbase: 255, advskew: 254 })).toBe(false);
    expect(isBowOut({ advbase: 254, advskew: 255 })).toBe(false);
    expect(isBowOut({ advbase: 1, advskew: 0 })).toBe(false);
  });
});

import { describe, it, expect } from 'vitest';
import { internetChecksum } from '../../lib/protocol/checksum.js';
import { allGolden } from './golden.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('internetChecksum', () => {
  it('matches the RFC 1071 worked example (sum 0xddf2)', () => {
    expect(internetChecksum(hex('0001 f203 f4f5 f6f7'))).toBe(0xffff - 0xddf2);
  });

  it('matches a textbook IPv4 header (checksum 0xb861)', () => {
    const header = hex('4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7');
    expect(internetChecksum(header)).toBe(0xb861);
    header.writeUInt16BE(0xb861, 10);
    expect(internetChecksum(header)).toBe(0);
  });

  it('pads an odd trailing byte with zero', () => {
    expect(internetChecksum(hex('01'))).toBe(0xfeff);
    expect(internetChecksum(hex('0001 f203 f4f5 f6f7 01'))).toBe(internetChecksum(hex('0001 f203 f4f5 f6f7 0100')));
  });

  it('returns 0xffff for empty or all-zero data', () => {
    expect(internetChecksum(new Uint8Array(0))).toBe(0xffff);
    expect(internetChecksum(new Uint8Array(36))).toBe(0xffff);
  });

  it('folds carries (all 0xff words sum to 0xffff, checksum 0)', () => {
    expect(internetChecksum(new Uint8Array(4096).fill(0xff))).toBe(0);
  });

  it('honours start and end', () => {
    const framed = Buffer.concat([hex('dead beef'), hex('0001 f203 f4f5 f6f7'), hex('cafe')]);
    expect(internetChecksum(framed, 4, 12)).toBe(0xffff - 0xddf2);
  });

  it('rejects ranges outside the buffer', () => {
    expect(() => internetChecksum(new Uint8Array(4), 0, 5)).toThrow(RangeError);
    expect(() => internetChecksum(new Uint8Array(4), 3, 2)).toThrow(RangeError);
    expect(() => internetChecksum(new Uint8Array(4), -1)).toThrow(RangeError);
  });

  it('verifies both checksums of every ucarp packet captured', () => {
    const fixtures = allGolden();
    expect(fixtures.length).toBeGreaterThan(0);
    for (const f of fixtures) {
      expect(internetChecksum(f.ip, 0, 20), `${f.file} IPv4 header`).toBe(0);
      expect(internetChecksum(f.ip, 20, 56), `${f.file} CARP header`).toBe(0);
    }
  });
});

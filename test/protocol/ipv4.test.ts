import { describe, it, expect } from 'vitest';
import { ProtocolDecodeError } from '../../lib/protocol/errors.js';
import {
  decodeIpv4Header,
  encodeIpv4Header,
  hasDontFragment,
  intToIpv4,
  ipv4ToBytes,
  ipv4ToInt,
  isFragment,
  isValidIpv4,
} from '../../lib/protocol/ipv4.js';
import { CARP_TTL, IPPROTO_CARP, IPTOS_LOWDELAY } from '../../lib/protocol/carp.js';
import { allGolden, loadGolden } from './golden.js';

describe('isValidIpv4', () => {
  it.each(['0.0.0.0', '198.18.0.1', '255.255.255.255', '224.0.0.18', '10.0.0.9', '1.20.199.250'])('accepts %s', (s) => {
    expect(isValidIpv4(s)).toBe(true);
  });

  it.each([
    ['leading zero', '010.0.0.1'],
    ['leading zero in last octet', '10.0.0.01'],
    ['octet > 255', '256.0.0.1'],
    ['three octets', '1.2.3'],
    ['five octets', '1.2.3.4.5'],
    ['empty', ''],
    ['empty octet', '1..2.3'],
    ['trailing dot', '1.2.3.4.'],
    ['whitespace', ' 1.2.3.4'],
    ['trailing newline', '1.2.3.4\n'],
    ['sign', '+1.2.3.4'],
    ['hex', '0x1.2.3.4'],
    ['IPv6', '::1'],
    ['hostname', 'localhost'],
    ['integer form', '3323068417'],
  ])('rejects %s (%j)', (_name, s) => {
    expect(isValidIpv4(s)).toBe(false);
  });
});

describe('ipv4ToInt / intToIpv4 / ipv4ToBytes', () => {
  it('converts in network order, unsigned', () => {
    expect(ipv4ToInt('198.18.0.1')).toBe(0xc6120001);
    expect(ipv4ToInt('255.255.255.255')).toBe(0xffffffff);
    expect(ipv4ToInt('0.0.0.0')).toBe(0);
    expect(intToIpv4(0xe0000012)).toBe('224.0.0.18');
    expect(ipv4ToBytes('198.18.0.50')).toEqual(Buffer.from([198, 18, 0, 50]));
  });

  it('round-trips', () => {
    for (const s of ['1.2.3.4', '128.0.0.1', '198.19.255.254', '255.255.255.255']) {
      expect(intToIpv4(ipv4ToInt(s))).toBe(s);
    }
  });

  it('throws on invalid strings, naming the value', () => {
    expect(() => ipv4ToInt('256.1.1.1')).toThrow('Invalid IPv4 address: "256.1.1.1"');
    expect(() => ipv4ToInt('010.0.0.1')).toThrow(TypeError);
    expect(() => ipv4ToBytes('nope')).toThrow(TypeError);
  });

  it('throws on out-of-range integers', () => {
    expect(() => intToIpv4(-1)).toThrow(RangeError);
    expect(() => intToIpv4(2 ** 32)).toThrow(RangeError);
    expect(() => intToIpv4(1.5)).toThrow(RangeError);
  });
});

describe('decodeIpv4Header', () => {
  it('decodes a ucarp advert header', () => {
    const f = loadGolden('ucarp-vhid42-love-1.json');
    const h = decodeIpv4Header(f.ip);
    expect(h).toMatchObject({
      version: 4,
      headerLength: 20,
      tos: IPTOS_LOWDELAY,
      totalLength: 56,
      flags: 0b010,
      fragmentOffset: 0,
      ttl: CARP_TTL,
      protocol: IPPROTO_CARP,
      src: '198.18.0.1',
      dst: '224.0.0.18',
      srcInt: 0xc6120001,
      dstInt: 0xe0000012,
    });
    expect(h.id).toBe(f.ip.readUInt16BE(4));
    expect(h.checksum).toBe(f.ip.readUInt16BE(10));
    expect(hasDontFragment(h)).toBe(true);
    expect(isFragment(h)).toBe(false);
  });

  it('decodes at an offset (inside the Ethernet frame)', () => {
    const f = loadGolden('ucarp-vhid7-secret-1.json');
    expect(decodeIpv4Header(f.ethernet, 14)).toEqual(decodeIpv4Header(f.ip));
  });

  it('reads options: IHL 6 gives a 24-byte header', () => {
    const buf = Buffer.alloc(24 + 36);
    encodeIpv4Header({ tos: 0, id: 1, dontFragment: false, ttl: 255, protocol: 112, src: '198.18.0.2', dst: '224.0.0.18', payloadLength: 40 }).copy(buf);
    buf[0] = 0x46;
    expect(decodeIpv4Header(buf).headerLength).toBe(24);
  });

  it('reports fragments', () => {
    expect(isFragment({ flags: 0b001, fragmentOffset: 0 })).toBe(true);
    expect(isFragment({ flags: 0b000, fragmentOffset: 3 })).toBe(true);
    expect(isFragment({ flags: 0b010, fragmentOffset: 0 })).toBe(false);
  });

  // One test per way a header can be malformed.
  const good = (): Buffer => Buffer.from(loadGolden('ucarp-vhid42-love-1.json').ip);

  it('throws on a buffer shorter than 20 bytes', () => {
    expect(() => decodeIpv4Header(good().subarray(0, 12))).toThrow(new ProtocolDecodeError('IPv4 header truncated: 12 bytes, need 20', 'truncated'));
    expect(() => decodeIpv4Header(new Uint8Array(0))).toThrow('IPv4 header truncated: 0 bytes, need 20');
  });

  it('throws when the offset leaves fewer than 20 bytes', () => {
    expect(() => decodeIpv4Header(good(), 40)).toThrow('IPv4 header truncated: 16 bytes, need 20');
    expect(() => decodeIpv4Header(good(), 100)).toThrow('IPv4 header truncated: 0 bytes, need 20');
  });

  it('throws on a version other than 4', () => {
    const buf = good();
    buf[0] = 0x65;
    expect(() => decodeIpv4Header(buf)).toThrow('IPv4 header has version 6, expected 4');
  });

  it('throws on IHL below 5', () => {
    const buf = good();
    buf[0] = 0x44;
    expect(() => decodeIpv4Header(buf)).toThrow('IPv4 header length 16 bytes (IHL 4), minimum is 20');
  });

  it('throws when the options announced by IHL are missing', () => {
    const buf = good().subarray(0, 20);
    buf[0] = 0x4f;
    expect(() => decodeIpv4Header(buf)).toThrow('IPv4 header truncated: 20 bytes, need 60');
  });

  it('throws when the total length is smaller than the header', () => {
    const buf = good();
    buf.writeUInt16BE(19, 2);
    expect(() => decodeIpv4Header(buf)).toThrow('IPv4 total length 19 is smaller than the header length 20');
  });

  it('throws ProtocolDecodeError with a kind', () => {
    try {
      decodeIpv4Header(new Uint8Array(3));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ProtocolDecodeError);
      expect((error as ProtocolDecodeError).kind).toBe('truncated');
      expect((error as ProtocolDecodeError).name).toBe('ProtocolDecodeError');
    }
  });
});

describe('encodeIpv4Header', () => {
  it('reproduces every captured ucarp IPv4 header, given the captured random IP id', () => {
    for (const f of allGolden()) {
      const encoded = encodeIpv4Header({
        tos: IPTOS_LOWDELAY,
        id: f.ip.readUInt16BE(4),
        dontFragment: true,
        ttl: CARP_TTL,
        protocol: IPPROTO_CARP,
        src: f.srcip,
        dst: '224.0.0.18',
        payloadLength: 36,
      });
      expect(encoded.toString('hex'), f.file).toBe(f.ip.subarray(0, 20).toString('hex'));
    }
  });

  it('round-trips through the decoder', () => {
    const encoded = encodeIpv4Header({ tos: 3, id: 0xbeef, dontFragment: false, ttl: 64, protocol: 17, src: '198.19.1.2', dst: '198.18.255.1', payloadLength: 100 });
    expect(decodeIpv4Header(encoded)).toMatchObject({
      version: 4, headerLength: 20, tos: 3, totalLength: 120, id: 0xbeef, flags: 0, fragmentOffset: 0,
      ttl: 64, protocol: 17, src: '198.19.1.2', dst: '198.18.255.1',
    });
  });

  it('rejects out-of-range fields and bad addresses', () => {
    const base = { tos: 0, id: 0, dontFragment: true, ttl: 255, protocol: 112, src: '198.18.0.1', dst: '224.0.0.18', payloadLength: 36 };
    expect(() => encodeIpv4Header({ ...base, id: 0x10000 })).toThrow('IPv4 id must be an integer 0..65535, got 65536');
    expect(() => encodeIpv4Header({ ...base, ttl: 256 })).toThrow(RangeError);
    expect(() => encodeIpv4Header({ ...base, tos: -1 })).toThrow(RangeError);
    expect(() => encodeIpv4Header({ ...base, payloadLength: 65516 })).toThrow(RangeError);
    expect(() => encodeIpv4Header({ ...base, src: '198.18.0' })).toThrow(TypeError);
  });
});

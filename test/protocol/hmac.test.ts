import { createHash } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import { carpDigest, digestsEqual } from '../../lib/protocol/hmac.js';
import { ipv4ToBytes } from '../../lib/protocol/ipv4.js';
import { allGolden, loadGolden } from './golden.js';

/**
 * HMAC-SHA1 built by hand the way ucarp's carp_hmac_prepare/carp_hmac_generate describe it:
 * NUL-terminated password zero-padded to 64 bytes, XOR 0x36 for the inner hash over
 * version, type, vhid, VIP, counter; XOR 0x5c for the outer hash. Uses only SHA-1, not HMAC,
 * so it checks our use of node's HMAC independently.
 */
function ucarpStyleDigest(password: string, vhid: number, vip: string, counter: bigint): Buffer {
  const pad = Buffer.alloc(64);
  Buffer.from(password + '\0', 'latin1').copy(pad);
  const ipad = Buffer.from(pad.map((b) => b ^ 0x36));
  const opad = Buffer.from(pad.map((b) => b ^ 0x5c));
  const counterBytes = Buffer.alloc(8);
  counterBytes.writeBigUInt64BE(counter);
  const inner = createHash('sha1')
    .update(ipad)
    .update(Buffer.from([2, 1, vhid]))
    .update(ipv4ToBytes(vip))
    .update(counterBytes)
    .digest();
  return createHash('sha1').update(opad).update(inner).digest();
}

describe('carpDigest', () => {
  it('reproduces the digest of every captured ucarp advert byte for byte', () => {
    for (const f of allGolden()) {
      const counter = f.ip.readBigUInt64BE(20 + 8);
      const captured = f.ip.subarray(20 + 16, 20 + 36);
      const ours = carpDigest(Buffer.from(f.password), f.vhid, ipv4ToBytes(f.vip), counter);
      expect(ours.toString('hex'), f.file).toBe(captured.toString('hex'));
    }
  });

  it('equals an independent hand-built HMAC over 02 01 vhid vip counter', () => {
    const cases: Array<[string, number, string, bigint]> = [
      ['love', 42, '198.18.0.50', 0x0123456789abcdefn],
      ['secret', 7, '198.18.0.51', 0n],
      ['', 1, '198.19.255.255', (1n << 64n) - 1n],
      ['nineteen-bytes-long', 255, '198.18.1.1', 42n],
    ];
    for (const [password, vhid, vip, counter] of cases) {
      expect(carpDigest(Buffer.from(password), vhid, ipv4ToBytes(vip), counter)).toEqual(
        ucarpStyleDigest(password, vhid, vip, counter),
      );
    }
  });

  it('hand-built digest also matches the golden packet (the reference itself is right)', () => {
    const f = loadGolden('ucarp-vhid42-love-1.json');
    const counter = f.ip.readBigUInt64BE(28);
    expect(ucarpStyleDigest('love', 42, '198.18.0.50', counter)).toEqual(f.ip.subarray(36, 56));
  });

  it('changes with each input: vhid, VIP, counter, password', () => {
    const base = carpDigest(Buffer.from('love'), 42, ipv4ToBytes('198.18.0.50'), 5n);
    expect(carpDigest(Buffer.from('love'), 43, ipv4ToBytes('198.18.0.50'), 5n)).not.toEqual(base);
    expect(carpDigest(Buffer.from('love'), 42, ipv4ToBytes('198.18.0.51'), 5n)).not.toEqual(base);
    expect(carpDigest(Buffer.from('love'), 42, ipv4ToBytes('198.18.0.50'), 6n)).not.toEqual(base);
    expect(carpDigest(Buffer.from('Love'), 42, ipv4ToBytes('198.18.0.50'), 5n)).not.toEqual(base);
    expect(base).toHaveLength(20);
  });

  it('rejects bad arguments', () => {
    const vip = ipv4ToBytes('198.18.0.50');
    expect(() => carpDigest(Buffer.from('x'), 256, vip, 0n)).toThrow('vhid must be an integer 0..255, got 256');
    expect(() => carpDigest(Buffer.from('x'), 1, vip.subarray(0, 3), 0n)).toThrow('virtual IP must be 4 bytes, got 3');
    expect(() => carpDigest(Buffer.from('x'), 1, vip, -1n)).toThrow(RangeError);
    expect(() => carpDigest(Buffer.from('x'), 1, vip, 1n << 64n)).toThrow(RangeError);
  });
});

describe('digestsEqual', () => {
  it('compares contents', () => {
    const a = Buffer.from('00112233445566778899aabbccddeeff00112233', 'hex');
    expect(digestsEqual(a, Buffer.from(a))).toBe(true);
    const b = Buffer.from(a);
    b[19]! ^= 1;
    expect(digestsEqual(a, b)).toBe(false);
  });

  it('returns false on a length mismatch instead of throwing', () => {
    expect(digestsEqual(new Uint8Array(20), new Uint8Array(19))).toBe(false);
    expect(digestsEqual(new Uint8Array(0), new Uint8Array(20))).toBe(false);
  });
});

describe('digest over several VIPs', () => {
  it('covers every VIP in ascending numeric order, each once, whatever the configured order', async () => {
    const { digestAddresses } = await import('../../lib/protocol/hmac.js');
    const { ipv4 } = await import('../../lib/net/address.js');
    const a = ipv4('10.1.1.252');
    const b = ipv4('10.1.1.9');
    const c = ipv4('9.255.255.255');
    const bytes = digestAddresses([a, b, c, b]);
    expect([...bytes]).toEqual([9, 255, 255, 255, 10, 1, 1, 9, 10, 1, 1, 252]);
    // One VIP: exactly ucarp's 4 bytes, so single-VIP digests are unchanged.
    expect(digestAddresses([a])).toEqual(Buffer.from([10, 1, 1, 252]));
    // Order of configuration does not matter; the set does.
    const key = Buffer.from('love');
    expect(carpDigest(key, 7, digestAddresses([a, b]), 5n)).toEqual(carpDigest(key, 7, digestAddresses([b, a]), 5n));
    expect(carpDigest(key, 7, digestAddresses([a, b]), 5n)).not.toEqual(carpDigest(key, 7, digestAddresses([a]), 5n));
  });
});

describe('digest over IPv6 VIPs (ip_carp.c carp_hmac_prepare_ctx)', () => {
  it('takes the IPv4 addresses ascending, then the IPv6 ones ascending by bytes, 16 each', async () => {
    const { digestAddresses } = await import('../../lib/protocol/hmac.js');
    const { ipv4, ipv6 } = await import('../../lib/net/address.js');
    const bytes = digestAddresses([ipv6('2001:db8:cafe::50'), ipv4('198.18.0.50'), ipv6('2001:db8::51'), ipv6('2001:db8:cafe::50')]);
    expect(bytes.toString('hex')).toBe('c6120032' + '20010db8000000000000000000000051' + '20010db8cafe00000000000000000050');
    // The whole message HMAC-SHA1 covers, written out by hand: version 2, type 1, vhid, the
    // addresses, the counter.
    const { createHmac } = await import('node:crypto');
    const message = Buffer.concat([Buffer.from([2, 1, 42]), bytes, Buffer.from('0000000000000007', 'hex')]);
    expect(carpDigest(Buffer.from('love'), 42, bytes, 7n)).toEqual(createHmac('sha1', 'love').update(message).digest());
  });
});

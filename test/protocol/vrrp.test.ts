import { describe, expect, it } from 'vitest';
import { ipv4, ipv6 } from '../../lib/net/address.js';
import { checkLinkPacket6 } from '../../lib/protocol/checks.js';
import { ProtocolDecodeError } from '../../lib/protocol/errors.js';
import { decodeIpv4Header, ipv4ToInt } from '../../lib/protocol/ipv4.js';
import {
  VRRP_AUTH_NONE,
  VRRP_AUTH_PASS,
  decodeVrrp,
  encodeVrrp,
  encodingLength,
  passAuthData,
  vrrpChecksum,
  type EncodeVrrp,
} from '../../lib/protocol/vrrp.js';
import { vhostWire } from '../../lib/protocol/wire.js';
import { allVrrpGolden, vrrpPayload, type VrrpGoldenFixture } from './golden-vrrp.js';

/**
 * The codec against the packets the real keepalived 2.2.7 sent (test/fixtures/golden-vrrp,
 * captured by scripts/capture-vrrp-golden.sh with the settings stored next to each frame).
 *
 * Left out of the codec tests, on purpose:
 * - the AH fixtures (vrrp2-ah-*): keepalived's auth_type AH sends IP protocol 51 with an IPsec AH
 *   header in front of the VRRP packet; carpd refuses AH (issue 9), and a carpd link never sees
 *   these as protocol 112 (test/protocol/vrrp-checks.test.ts checks that the link drops them);
 * - the IPv6 fixtures (vrrp3-ipv6*): they have their own block at the end (16-byte addresses,
 *   the IPv6 pseudo-header, no IP header of ours).
 */
const all = allVrrpGolden();
const ipv4Fixtures = all.filter((f) => f.family === 'ipv4' && f.ipProtocol === 112);

/** What keepalived's VRRPv2 puts in byte 7 for an advert_int (it rounds 0.5 up to 1). */
function wireIntervalCs(f: VrrpGoldenFixture): number {
  return f.version === 2 ? Math.max(1, Math.round(f.advertInt)) * 100 : Math.round(f.advertInt * 100);
}

/** The IPv4 pseudo-header destination keepalived used for the fixture's checksum. */
function pseudoDst(f: VrrpGoldenFixture): string {
  return f.checksumMode === 'v3-ipv4-pseudo-header-mcast-dst' ? '224.0.0.18' : f.dst;
}

function encodeFromFixture(f: VrrpGoldenFixture): Buffer {
  const fields: EncodeVrrp = {
    version: f.version,
    vrid: f.vrid,
    priority: f.stopping ? 0 : f.priority,
    intervalCs: wireIntervalCs(f),
    addresses: f.vips.map(ipv4ToInt),
    ...(f.authType === 'PASS' ? { authType: VRRP_AUTH_PASS, password: Buffer.from(f.authPass) } : {}),
    ...(f.version === 3 ? { pseudoHeader: { src: ipv4ToInt(f.src), dst: ipv4ToInt(pseudoDst(f)) } } : {}),
  };
  return encodeVrrp(fields);
}

describe('the golden keepalived packets', () => {
  it('cover what the codec must read: v2 and v3, PASS, several VIPs, priority 0, unicast, the old unicast checksum', () => {
    const names = ipv4Fixtures.map((f) => f.file);
    expect(ipv4Fixtures.length).toBeGreaterThanOrEqual(30);
    for (const stem of ['vrrp2-noauth', 'vrrp2-pass-ab', 'vrrp2-pass-secret12', 'vrrp2-3vips', 'vrrp2-prio0', 'vrrp2-adv05', 'vrrp2-unicast', 'vrrp3-adv1', 'vrrp3-adv01', 'vrrp3-unicast-1', 'vrrp3-unicast-oldcsum']) {
      expect(names.some((n) => n.startsWith(stem)), stem).toBe(true);
    }
    expect(ipv4Fixtures.some((f) => f.stopping && f.version === 2)).toBe(true);
    expect(ipv4Fixtures.some((f) => f.stopping && f.version === 3)).toBe(true);
    // The left-out ones exist, so the filter above is what leaves them out.
    expect(all.some((f) => f.ipProtocol === 51)).toBe(true);
    expect(all.some((f) => f.family === 'ipv6')).toBe(true);
  });

  describe.each(ipv4Fixtures.map((f) => [f.file, f] as const))('%s', (_file, f) => {
    const payload = vrrpPayload(f);

    it('decodes to the settings keepalived was run with', () => {
      const ad = decodeVrrp(payload, 0, payload.length);
      expect(ad.version).toBe(f.version);
      expect(ad.type).toBe(1);
      expect(ad.vrid).toBe(f.vrid);
      expect(ad.priority).toBe(f.stopping ? 0 : f.priority);
      expect(ad.count).toBe(f.vips.length);
      // Configuration order, not sorted (vrrp2-3vips has .50, .52, .51).
      expect(ad.addresses).toEqual(f.vips.map(ipv4ToInt));
      expect(ad.intervalCs).toBe(wireIntervalCs(f));
      expect(ad.checksum).toBe(payload.readUInt16BE(6));
      expect(payload.length).toBe(encodingLength(f.version, f.vips.length));
      if (f.version === 2) {
        expect(ad.authType).toBe(f.authType === 'PASS' ? VRRP_AUTH_PASS : VRRP_AUTH_NONE);
        expect(ad.authData).toEqual(f.authType === 'PASS' ? passAuthData(Buffer.from(f.authPass)) : Buffer.alloc(8));
      } else {
        expect(ad.authType).toBe(0);
        expect(ad.authData.length).toBe(0);
        // The 4 reserved bits before Max Adver Int are zero as keepalived sends them.
        expect(payload[4]! >> 4).toBe(0);
      }
    });

    it('re-encodes from those settings byte for byte', () => {
      expect(encodeFromFixture(f).toString('hex')).toBe(payload.toString('hex'));
    });

    it('verifies with the checksum form it was sent with, and only that one', () => {
      const end = payload.length;
      const plain = vrrpChecksum(payload, 0, end) === 0;
      const pseudo = { src: ipv4ToInt(f.src), dst: ipv4ToInt(pseudoDst(f)) };
      if (f.version === 2) {
        expect(plain).toBe(true);
      } else {
        expect(vrrpChecksum(payload, 0, end, pseudo)).toBe(0);
        expect(plain).toBe(false);
      }
    });

    it("carpd's IPv4 header (wire.ts) matches keepalived's except the IP id", () => {
      const wire = vhostWire({
        protocol: f.version === 3 ? 'vrrp3' : 'vrrp2',
        vhid: f.vrid,
        srcip: ipv4(f.src),
        mcast: ipv4('224.0.0.18'),
        peers: f.unicastPeers.map(ipv4),
        password: Buffer.from(f.authType === 'PASS' ? f.authPass : ''),
        vips: f.vips.map((text) => ({ address: ipv4(text) })),
        advertIntCs: wireIntervalCs(f),
        v3ChecksumAsV2: false,
      });
      // keepalived counts its IP ids 1, 2, 3; carpd draws a random one. Encode with the
      // captured id so the header checksum is comparable too, then with another one.
      const capturedId = f.ip.readUInt16BE(4);
      const claim = { priority: f.stopping ? 0 : f.priority, intervalCs: wireIntervalCs(f) };
      const datagram = wire.encode(claim, ipv4(f.dst), capturedId, 0n);
      const header = datagram.subarray(0, 20);
      const theirs = f.ip.subarray(0, 20);
      if (f.checksumMode === 'v3-ipv4-pseudo-header-mcast-dst') {
        // carpd sends the current unicast form (pseudo dst = the peer), not the pre-2.0 one:
        // only the VRRP checksum differs.
        expect(datagram.subarray(20, 26)).toEqual(f.ip.subarray(20, 26));
        expect(datagram.subarray(28)).toEqual(f.ip.subarray(28));
        expect(vrrpChecksum(datagram, 20, datagram.length, { src: ipv4ToInt(f.src), dst: ipv4ToInt(f.dst) })).toBe(0);
      } else {
        expect(datagram.toString('hex')).toBe(f.ip.toString('hex'));
      }
      expect(header.toString('hex')).toBe(theirs.toString('hex'));
      const h = decodeIpv4Header(header);
      expect(h.tos).toBe(0xc0);
      expect(h.flags & 0b010).toBe(0); // DF clear
      expect(h.ttl).toBe(255);
      expect(h.protocol).toBe(112);
      // With any other id only bytes 4, 5 (id) and 10, 11 (header checksum) change.
      const other = wire.encode(claim, ipv4(f.dst), capturedId ^ 0x5a5a, 0n).subarray(0, 20);
      const differing = [...other.keys()].filter((i) => other[i] !== theirs[i]);
      expect(differing.every((i) => [4, 5, 10, 11].includes(i))).toBe(true);
      expect(differing).toEqual(expect.arrayContaining([4, 5]));
    });
  });
});

describe('decodeVrrp', () => {
  const v2 = encodeVrrp({ version: 2, vrid: 7, priority: 150, intervalCs: 100, addresses: [ipv4ToInt('198.18.0.50'), ipv4ToInt('198.18.0.51')] });
  const v3 = encodeVrrp({ version: 3, vrid: 7, priority: 150, intervalCs: 10, addresses: [ipv4ToInt('198.18.0.50')], pseudoHeader: { src: 1, dst: 2 } });

  it('round-trips both versions', () => {
    expect(decodeVrrp(v2, 0, v2.length)).toMatchObject({ version: 2, vrid: 7, priority: 150, count: 2, intervalCs: 100, authType: 0 });
    expect(decodeVrrp(v3, 0, v3.length)).toMatchObject({ version: 3, vrid: 7, priority: 150, count: 1, intervalCs: 10 });
  });

  it('reads at an offset inside a larger buffer, and from a Uint8Array view', () => {
    const backing = new Uint8Array(100);
    backing.set(v2, 37);
    const view = new Uint8Array(backing.buffer, 5, 90);
    expect(decodeVrrp(view, 32, v2.length).addresses).toEqual([ipv4ToInt('198.18.0.50'), ipv4ToInt('198.18.0.51')]);
  });

  it('the auth data is a copy, not a view of the packet', () => {
    const packet = Buffer.from(v2);
    const ad = decodeVrrp(packet, 0, packet.length);
    packet.fill(0xee);
    expect(ad.authData).toEqual(Buffer.alloc(8));
  });

  const truncated = (f: () => unknown): ProtocolDecodeError => {
    try {
      f();
    } catch (error) {
      expect(error).toBeInstanceOf(ProtocolDecodeError);
      expect((error as ProtocolDecodeError).kind).toBe('truncated');
      return error as ProtocolDecodeError;
    }
    throw new Error('expected a ProtocolDecodeError');
  };

  it.each([0, 1, 7])('refuses a message of %i bytes (shorter than the 8-byte header)', (length) => {
    truncated(() => decodeVrrp(v2, 0, length));
  });

  it('refuses a length running past the end of the buffer, naming what it has and needs', () => {
    expect(truncated(() => decodeVrrp(v2, 4, v2.length)).message).toBe('VRRP message truncated: 20 bytes, need 24');
  });

  it('refuses a negative or fractional offset instead of reading before a view', () => {
    const backing = new Uint8Array(64).fill(0xaa);
    const view = new Uint8Array(backing.buffer, 16, 32);
    view.set(v2);
    truncated(() => decodeVrrp(view, -8, 24));
    truncated(() => decodeVrrp(view, 0.5, 24));
    truncated(() => decodeVrrp(view, 0, Number.NaN));
  });

  it('refuses a count larger than the bytes: v2 needs its 8 auth bytes, v3 4 bytes an address', () => {
    expect(truncated(() => decodeVrrp(v2, 0, v2.length - 1)).message).toContain('2 addresses need 24');
    const lying = Buffer.from(v3);
    lying[3] = 2;
    expect(truncated(() => decodeVrrp(lying, 0, lying.length)).message).toContain('2 addresses need 16');
    const many = Buffer.from(v2);
    many[3] = 255;
    truncated(() => decodeVrrp(many, 0, many.length));
  });
});

describe('encodeVrrp', () => {
  const base: EncodeVrrp = { version: 2, vrid: 1, priority: 100, intervalCs: 100, addresses: [ipv4ToInt('198.18.0.50')] };

  it('zero-pads a PASS password, and leaves the auth bytes zero without PASS', () => {
    const pass = encodeVrrp({ ...base, authType: VRRP_AUTH_PASS, password: Buffer.from('ab') });
    expect(pass.subarray(12).toString('hex')).toBe('6162000000000000');
    expect(pass[4]).toBe(1);
    const none = encodeVrrp({ ...base, password: Buffer.from('ab') });
    expect(none.subarray(12)).toEqual(Buffer.alloc(8));
  });

  it('v3 without a pseudo-header checksums the message alone (v3_checksum_as_v2)', () => {
    const v3 = encodeVrrp({ ...base, version: 3, intervalCs: 4095 });
    expect(v3.length).toBe(12);
    expect(vrrpChecksum(v3, 0, v3.length)).toBe(0);
    expect(v3.readUInt16BE(4)).toBe(0x0fff);
  });

  it.each<[string, Partial<EncodeVrrp>, RegExp]>([
    ['vrid 0', { vrid: 0 }, /vrid must be an integer 1\.\.255, got 0/],
    ['vrid 256', { vrid: 256 }, /vrid/],
    ['priority -1', { priority: -1 }, /priority must be an integer 0\.\.255/],
    ['priority 256', { priority: 256 }, /priority/],
    ['priority 1.5', { priority: 1.5 }, /priority/],
    ['no address', { addresses: [] }, /address count must be an integer 1\.\.255, got 0/],
    ['256 addresses', { addresses: new Array<number>(256).fill(1) }, /address count/],
    ['v2 interval of 1.5 s', { intervalCs: 150 }, /whole seconds, got 150 cs/],
    ['v2 interval 0', { intervalCs: 0 }, /v2 interval \(s\) must be an integer 1\.\.255, got 0/],
    ['v2 interval 256 s', { intervalCs: 25600 }, /v2 interval/],
    ['v3 interval 0', { version: 3, intervalCs: 0 }, /v3 interval \(cs\) must be an integer 1\.\.4095, got 0/],
    ['v3 interval 4096 cs', { version: 3, intervalCs: 4096 }, /v3 interval/],
    ['v3 interval 1.5 cs', { version: 3, intervalCs: 1.5 }, /v3 interval/],
    ['a 9-byte password', { authType: VRRP_AUTH_PASS, password: Buffer.from('123456789') }, /at most 8 bytes, got 9/],
  ])('refuses %s with a RangeError', (_name, over, message) => {
    expect(() => encodeVrrp({ ...base, ...over })).toThrow(RangeError);
    expect(() => encodeVrrp({ ...base, ...over })).toThrow(message);
  });
});

describe('the golden keepalived packets over IPv6 (VRRPv3)', () => {
  const ipv6Fixtures = all.filter((f) => f.family === 'ipv6');
  const key = (text: string) => ipv6(text).big;

  it('include a link-local-first address list and the plain one', () => {
    expect(ipv6Fixtures.map((f) => f.file)).toEqual(expect.arrayContaining(['vrrp3-ipv6-1.json', 'vrrp3-ipv6-ll-1.json']));
  });

  describe.each(ipv6Fixtures.map((f) => [f.file, f] as const))('%s', (_file, f) => {
    const payload = vrrpPayload(f);
    const pseudo = { src: key(f.src), dst: key(f.dst) };
    /** An IPv6 VRRPv3 vhost with the fixture's id and VIPs, sending from the link-local address. */
    const wire6 = (advertIntCs: number) =>
      vhostWire({
        protocol: 'vrrp3',
        family: 6,
        vhid: f.vrid,
        srcip: ipv6('::'),
        mcast: ipv6('ff02::12'),
        peers: [],
        password: Buffer.alloc(0),
        vips: f.vips.map((text) => ({ address: ipv6(text) })),
        advertIntCs,
        v3ChecksumAsV2: false,
      });

    it('decodes to the settings keepalived was run with, 16 bytes per address', () => {
      const ad = decodeVrrp(payload, 0, payload.length, 6);
      expect(ad.version).toBe(3);
      expect(ad.vrid).toBe(f.vrid);
      expect(ad.priority).toBe(f.stopping ? 0 : f.priority);
      expect(ad.addresses).toEqual(f.vips.map(key));
      expect(ad.intervalCs).toBe(wireIntervalCs(f));
      expect(payload.length).toBe(encodingLength(3, f.vips.length, 6));
    });

    it('verifies with the IPv6 pseudo-header only', () => {
      expect(vrrpChecksum(payload, 0, payload.length, pseudo, 6)).toBe(0);
      expect(vrrpChecksum(payload, 0, payload.length)).not.toBe(0);
      // The same bytes under the IPv4 pseudo-header rule do not verify.
      expect(vrrpChecksum(payload, 0, payload.length, { src: 1, dst: 2 })).not.toBe(0);
    });

    it("carpd's wire.ts sends exactly keepalived's payload from the same link-local source", () => {
      const wire = wire6(wireIntervalCs(f));
      const claim = { priority: f.stopping ? 0 : f.priority, intervalCs: wireIntervalCs(f) };
      expect(wire.encode(claim, ipv6(f.dst), 0, 0n, ipv6(f.src)).toString('hex')).toBe(payload.toString('hex'));
    });

    it('passes the link and vhost checks as it arrived (hop limit 255 from the link-local source)', () => {
      // A v3 backup adopts the master's interval: ours need not match.
      const wire = wire6(100);
      const link = checkLinkPacket6({ payload, src: f.src, dst: f.dst, hopLimit: f.ttl }, { isOwnAddress: () => false, versions: new Set([3]), carpOnly: false });
      expect(link.ok).toBe(true);
      if (!link.ok) return;
      const result = wire.check(link);
      expect(result.ok).toBe(true);
      if (result.ok) {
        expect(result.src).toBe(f.src);
        expect(result.srcInt).toBe(key(f.src));
        expect(result.addressMismatch).toBeUndefined();
      }
      // One hop less: it came through a router, and is dropped before anything else is read.
      const routed = checkLinkPacket6({ payload, src: f.src, dst: f.dst, hopLimit: 254 }, { isOwnAddress: () => false, versions: new Set([3]), carpOnly: false });
      expect(routed).toMatchObject({ ok: false, reason: 'bad-ttl' });
      // A flipped address byte breaks the pseudo-header checksum.
      const corrupt = Buffer.from(payload);
      corrupt[corrupt.length - 1] = corrupt[corrupt.length - 1]! ^ 1;
      const again = checkLinkPacket6({ payload: corrupt, src: f.src, dst: f.dst, hopLimit: 255 }, { isOwnAddress: () => false, versions: new Set([3]), carpOnly: false });
      expect(again.ok && wire.check(again)).toMatchObject({ ok: false, reason: 'bad-checksum' });
    });
  });
});

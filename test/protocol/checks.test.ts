import { describe, it, expect } from 'vitest';
import { CARP_DEFAULT_GROUP, encodeAdvertisement } from '../../lib/protocol/carp.js';
import { internetChecksum } from '../../lib/protocol/checksum.js';
import { DROP_REASONS, DropCounters, checkPacket, type DropReason, type InputContext } from '../../lib/protocol/checks.js';
import { carpDigest } from '../../lib/protocol/hmac.js';
import { encodeIpv4Header, ipv4ToBytes, ipv4ToInt } from '../../lib/protocol/ipv4.js';
import { allGolden, prng, randomBytes, randomInt } from './golden.js';

const PASSWORD = 'hunter2-secret';
const OUR_ADDRESS = '198.18.0.1';
const PEER_ADDRESS = '198.18.0.2';
const VIP = '198.18.0.50';

const ctx: InputContext = {
  srcip: ipv4ToInt(OUR_ADDRESS),
  group: ipv4ToInt(CARP_DEFAULT_GROUP),
  vhid: 42,
  password: Buffer.from(PASSWORD),
  vip: ipv4ToBytes(VIP),
};

interface PacketOptions {
  src: string;
  dst: string;
  ttl: number;
  protocol: number;
  breakIpChecksum: boolean;
  version: number;
  type: number;
  vhid: number;
  breakCarpChecksum: boolean;
  password: string;
  vip: string;
  counter: bigint;
}

const VALID: PacketOptions = {
  src: PEER_ADDRESS,
  dst: CARP_DEFAULT_GROUP,
  ttl: 255,
  protocol: 112,
  breakIpChecksum: false,
  version: 2,
  type: 1,
  vhid: 42,
  breakCarpChecksum: false,
  password: PASSWORD,
  vip: VIP,
  counter: 0x1122334455667788n,
};

/** A whole IPv4 datagram as a Linux raw socket delivers it; each option spoils one thing. */
function packet(overrides: Partial<PacketOptions> = {}): Buffer {
  const o = { ...VALID, ...overrides };
  const digest = carpDigest(Buffer.from(o.password), o.vhid, ipv4ToBytes(o.vip), o.counter);
  const carp = encodeAdvertisement({
    version: o.version, type: o.type, vhid: o.vhid, advskew: 0, authlen: 7, demote: 0, advbase: 1, counter: o.counter, digest,
  });
  if (o.breakCarpChecksum) carp[7]! ^= 0xff;
  const ip = encodeIpv4Header({ tos: 0x10, id: 0x1234, dontFragment: true, ttl: o.ttl, protocol: o.protocol, src: o.src, dst: o.dst, payloadLength: carp.length });
  if (o.breakIpChecksum) ip[11]! ^= 0xff;
  return Buffer.concat([ip, carp]);
}

function reasonOf(buf: Uint8Array, context: InputContext = ctx): DropReason | 'ok' {
  const r = checkPacket(buf, context);
  return r.ok ? 'ok' : r.reason;
}

/** One mutation per semantic drop reason, in pipeline order. */
const MUTATIONS: Array<[DropReason, Partial<PacketOptions>]> = [
  ['own-packet', { src: OUR_ADDRESS }],
  ['bad-ttl', { ttl: 64 }],
  ['bad-ip-checksum', { breakIpChecksum: true }],
  ['bad-version', { version: 3 }],
  ['bad-type', { type: 2 }],
  ['other-vhid', { vhid: 7 }],
  ['other-group', { dst: '224.0.0.19' }],
  ['bad-checksum', { breakCarpChecksum: true }],
  ['bad-digest', { password: 'wrong' }],
];

describe('checkPacket', () => {
  it('accepts a valid advert and returns what the state machine needs', () => {
    const r = checkPacket(packet(), ctx);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.src).toBe(PEER_ADDRESS);
    expect(r.srcInt).toBe(ipv4ToInt(PEER_ADDRESS));
    expect(r.ttl).toBe(255);
    expect(r.advert).toMatchObject({ version: 2, type: 1, vhid: 42, advbase: 1, advskew: 0, counter: VALID.counter });
  });

  it.each(MUTATIONS)('drops with %s when only that is wrong', (reason, mutation) => {
    expect(reasonOf(packet(mutation))).toBe(reason);
  });

  it('has a test mutation for every semantic reason and the list is in DROP_REASONS order', () => {
    // unknown-peer needs --peer; bad-auth and bad-interval are VRRP's (test/protocol/vrrp-checks.test.ts);
    // replayed is the vhost's, after the pipeline (test/protocol/replay.test.ts).
    const semantic = DROP_REASONS.filter((r) => !['not-carp', 'too-short', 'too-long', 'unknown-peer', 'bad-auth', 'bad-interval', 'replayed'].includes(r));
    expect(MUTATIONS.map(([r]) => r)).toEqual(semantic);
  });

  // For every pair of faults, the earlier check in the pipeline decides the reason.
  const pairs = MUTATIONS.flatMap(([first, a], i) => MUTATIONS.slice(i + 1).map(([second, b]) => [first, second, { ...a, ...b }] as const));
  it.each(pairs)('reports %s before %s', (first, _second, mutation) => {
    expect(reasonOf(packet(mutation))).toBe(first);
  });

  it('own packet with a bad TTL is own-packet (ucarp drops its own packets first)', () => {
    expect(reasonOf(packet({ src: OUR_ADDRESS, ttl: 1 }))).toBe('own-packet');
  });

  it('another vhid with a digest we cannot verify is other-vhid, not bad-digest', () => {
    expect(reasonOf(packet({ vhid: 7, password: 'theirs', vip: '198.18.0.99' }))).toBe('other-vhid');
  });

  describe('bad-digest', () => {
    it.each([
      ['wrong password', { password: 'love' }],
      ['wrong virtual IP (it is in the digest, not the packet)', { vip: '198.18.0.51' }],
    ])('%s', (_name, mutation) => {
      expect(reasonOf(packet(mutation))).toBe('bad-digest');
    });

    it('a flipped digest bit with a recomputed CARP checksum', () => {
      const buf = packet();
      buf[20 + 16 + 5]! ^= 0x01;
      buf.writeUInt16BE(0, 26);
      buf.writeUInt16BE(internetChecksum(buf, 20, 56), 26);
      expect(reasonOf(buf)).toBe('bad-digest');
    });

    it('names the sender and what to check, never the password', () => {
      const r = checkPacket(packet({ password: 'nope' }), ctx);
      expect(r).toEqual({ ok: false, reason: 'bad-digest', detail: 'from 198.18.0.2 (vhid 42): bad digest; check vhid, password and virtual IP address' });
    });
  });

  describe('structural drops', () => {
    it('not-carp: another IP protocol', () => {
      const r = checkPacket(packet({ protocol: 17 }), ctx);
      expect(r).toEqual({ ok: false, reason: 'not-carp', detail: 'from 198.18.0.2: IP protocol 17, expected 112 (CARP)' });
    });

    it('not-carp: IP version 6', () => {
      const buf = packet();
      buf[0] = 0x65;
      expect(checkPacket(buf, ctx)).toEqual({ ok: false, reason: 'not-carp', detail: 'IPv4 header has version 6, expected 4' });
    });

    it('not-carp: IHL below 5', () => {
      const buf = packet();
      buf[0] = 0x43;
      expect(reasonOf(buf)).toBe('not-carp');
    });

    it('not-carp: total length smaller than the header', () => {
      const buf = packet();
      buf.writeUInt16BE(10, 2);
      expect(reasonOf(buf)).toBe('not-carp');
    });

    it('too-short: truncated IPv4 header', () => {
      expect(checkPacket(packet().subarray(0, 12), ctx)).toEqual({ ok: false, reason: 'too-short', detail: 'IPv4 header truncated: 12 bytes, need 20' });
      expect(reasonOf(new Uint8Array(0))).toBe('too-short');
    });

    it('too-short: IHL announces options that are not there', () => {
      const buf = packet().subarray(0, 20);
      buf[0] = 0x4f;
      expect(reasonOf(buf)).toBe('too-short');
    });

    it('too-short: datagram shorter than its total length', () => {
      const r = checkPacket(packet().subarray(0, 50), ctx);
      expect(r).toEqual({ ok: false, reason: 'too-short', detail: 'from 198.18.0.2: datagram truncated: 50 bytes, IPv4 total length 56' });
    });

    it('too-short: CARP payload under 36 bytes (total length says so)', () => {
      const buf = packet();
      buf.writeUInt16BE(20 + 35, 2);
      fixIpChecksum(buf);
      expect(checkPacket(buf, ctx)).toMatchObject({ reason: 'too-short', detail: expect.stringContaining('CARP payload 35 bytes, need 36') });
    });

    it('too-short: a VRRPv2-sized packet gets a hint about VRRP', () => {
      // VRRPv2 with one address: 8 + 4 + 8 bytes, first byte 0x21 like CARP.
      const vrrp = Buffer.from('212a64010101' + '0000' + 'c6120032' + '0000000000000000', 'hex');
      const ip = encodeIpv4Header({ tos: 0, id: 1, dontFragment: false, ttl: 255, protocol: 112, src: PEER_ADDRESS, dst: CARP_DEFAULT_GROUP, payloadLength: vrrp.length });
      const r = checkPacket(Buffer.concat([ip, vrrp]), ctx);
      expect(r).toMatchObject({ reason: 'too-short', detail: expect.stringContaining('VRRP') });
    });

    it('too-long: CARP payload over 36 bytes', () => {
      const carp = Buffer.concat([packet().subarray(20), Buffer.alloc(4)]);
      const ip = encodeIpv4Header({ tos: 0x10, id: 1, dontFragment: true, ttl: 255, protocol: 112, src: PEER_ADDRESS, dst: CARP_DEFAULT_GROUP, payloadLength: carp.length });
      expect(checkPacket(Buffer.concat([ip, carp]), ctx)).toMatchObject({ reason: 'too-long', detail: expect.stringContaining('CARP payload 40 bytes, expected 36') });
    });

    it('ignores bytes beyond the IPv4 total length (not part of the datagram)', () => {
      expect(reasonOf(Buffer.concat([packet(), Buffer.alloc(10, 0xee)]))).toBe('ok');
    });

    it('accepts a header with options (IHL 6)', () => {
      const plain = packet();
      const withOptions = Buffer.concat([plain.subarray(0, 20), Buffer.from([1, 1, 1, 0]), plain.subarray(20)]);
      withOptions[0] = 0x46;
      withOptions.writeUInt16BE(withOptions.length, 2);
      fixIpChecksum(withOptions, 24);
      expect(reasonOf(withOptions)).toBe('ok');
    });
  });

  it('gives short details naming the value seen and the value expected', () => {
    expect(checkPacket(packet({ ttl: 64 }), ctx)).toEqual({ ok: false, reason: 'bad-ttl', detail: 'from 198.18.0.2: TTL 64, expected 255' });
    expect(checkPacket(packet({ src: OUR_ADDRESS }), ctx)).toEqual({ ok: false, reason: 'own-packet', detail: 'source 198.18.0.1 is our own address' });
    expect(checkPacket(packet({ vhid: 7 }), ctx)).toEqual({ ok: false, reason: 'other-vhid', detail: 'from 198.18.0.2: vhid 7, ours is 42' });
    expect(checkPacket(packet({ dst: '224.0.0.19' }), ctx)).toEqual({ ok: false, reason: 'other-group', detail: 'from 198.18.0.2: destination 224.0.0.19, our group is 224.0.0.18' });
    expect(checkPacket(packet({ version: 3 }), ctx)).toEqual({ ok: false, reason: 'bad-version', detail: 'from 198.18.0.2: CARP version 3, expected 2' });
    expect(checkPacket(packet({ type: 2 }), ctx)).toEqual({ ok: false, reason: 'bad-type', detail: 'from 198.18.0.2: CARP type 2, expected 1 (advertisement)' });
    expect(checkPacket(packet({ breakIpChecksum: true }), ctx)).toMatchObject({ reason: 'bad-ip-checksum', detail: expect.stringMatching(/^from 198\.18\.0\.2: IPv4 header checksum 0x[0-9a-f]{4} does not verify$/) });
    expect(checkPacket(packet({ breakCarpChecksum: true }), ctx)).toMatchObject({ reason: 'bad-checksum', detail: expect.stringMatching(/^from 198\.18\.0\.2: CARP checksum 0x[0-9a-f]{4} does not verify$/) });
  });

  describe('golden ucarp packets', () => {
    it.each(allGolden().map((f) => [f.file, f] as const))('accepts %s as a peer would', (_file, f) => {
      const peer: InputContext = {
        srcip: ipv4ToInt('198.18.0.99'),
        group: ipv4ToInt(CARP_DEFAULT_GROUP),
        vhid: f.vhid,
        password: Buffer.from(f.password),
        vip: ipv4ToBytes(f.vip),
      };
      expect(reasonOf(f.ip, peer)).toBe('ok');
      expect(reasonOf(f.ip, { ...peer, srcip: ipv4ToInt(f.srcip) })).toBe('own-packet');
      expect(reasonOf(f.ip, { ...peer, password: Buffer.from(f.password + 'x') })).toBe('bad-digest');
      expect(reasonOf(f.ip, { ...peer, vip: ipv4ToBytes('198.18.0.77') })).toBe('bad-digest');
    });
  });

  describe('never throws', () => {
    it('on 20000 random buffers, random-ish headers and mutated valid packets', () => {
      const rand = prng(0x5eed);
      const seen = new Set<string>();
      const valid = packet();
      for (let i = 0; i < 20000; i++) {
        let buf: Buffer;
        const mode = i % 4;
        if (mode === 0) {
          buf = randomBytes(rand, randomInt(rand, 100));
        } else if (mode === 1) {
          // Plausible IPv4/CARP header so deeper checks are reached.
          buf = randomBytes(rand, randomInt(rand, 80));
          if (buf.length > 9) {
            buf[0] = 0x40 | randomInt(rand, 15);
            buf[9] = 112;
          }
          if (buf.length > 3) buf.writeUInt16BE(randomInt(rand, 80), 2);
        } else {
          buf = Buffer.from(valid);
          const flips = 1 + randomInt(rand, 3);
          for (let k = 0; k < flips; k++) buf[randomInt(rand, buf.length - 1)]! ^= 1 << randomInt(rand, 7);
          if (mode === 3) fixIpChecksum(buf);
          if (rand() < 0.2) buf = buf.subarray(0, randomInt(rand, buf.length));
        }
        let r: ReturnType<typeof checkPacket> | undefined;
        expect(() => {
          r = checkPacket(buf, ctx);
        }, buf.toString('hex')).not.toThrow();
        seen.add(r!.ok ? 'ok' : r!.reason);
        if (r && !r.ok) expect(r.detail).not.toContain(PASSWORD);
      }
      // The fuzz reached (almost) every branch, so "never throws" means something.
      for (const reason of ['not-carp', 'too-short', 'too-long', 'bad-ttl', 'bad-ip-checksum', 'bad-version', 'other-vhid', 'other-group', 'bad-checksum', 'bad-digest', 'ok']) {
        expect(seen, `fuzz never produced ${reason}`).toContain(reason);
      }
    });

    it('on non-Buffer Uint8Array views', () => {
      const backing = new Uint8Array(200);
      backing.set(packet(), 64);
      expect(reasonOf(new Uint8Array(backing.buffer, 64, 56))).toBe('ok');
    });
  });
});

describe('DropCounters', () => {
  it('starts at zero for every reason', () => {
    const c = new DropCounters();
    expect(c.total()).toBe(0);
    for (const r of DROP_REASONS) expect(c.get(r)).toBe(0);
    expect(Object.keys(c.snapshot()).sort()).toEqual([...DROP_REASONS].sort());
  });

  it('counts per reason and in total; increment returns the new count', () => {
    const c = new DropCounters();
    expect(c.increment('bad-ttl')).toBe(1);
    expect(c.increment('bad-ttl')).toBe(2);
    expect(c.increment('bad-digest')).toBe(1);
    expect(c.get('bad-ttl')).toBe(2);
    expect(c.get('own-packet')).toBe(0);
    expect(c.total()).toBe(3);
  });

  it('snapshot is a frozen copy', () => {
    const c = new DropCounters();
    c.increment('other-vhid');
    const snap = c.snapshot();
    c.increment('other-vhid');
    expect(snap['other-vhid']).toBe(1);
    expect(Object.isFrozen(snap)).toBe(true);
    expect(c.snapshot()['other-vhid']).toBe(2);
  });

  it('feeds from checkPacket results', () => {
    const c = new DropCounters();
    for (const [reason, mutation] of MUTATIONS) {
      const r = checkPacket(packet(mutation), ctx);
      if (!r.ok) c.increment(r.reason);
      expect(c.get(reason)).toBe(1);
    }
    expect(c.total()).toBe(MUTATIONS.length);
  });
});

function fixIpChecksum(buf: Buffer, headerLength = 20): void {
  if (buf.length < headerLength) return;
  buf.writeUInt16BE(0, 10);
  let sum = 0;
  for (let i = 0; i < headerLength; i += 2) sum += buf.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  buf.writeUInt16BE(~sum & 0xffff, 10);
}

describe('CARP over IPv6 (checkLinkPacket6, then the vhost wire)', async () => {
  const { checkLinkPacket6 } = await import('../../lib/protocol/checks.js');
  const { vhostWire } = await import('../../lib/protocol/wire.js');
  type WireConfig = Parameters<typeof vhostWire>[0];
  const { ipv4, ipv6 } = await import('../../lib/net/address.js');
  const vips = [{ address: ipv6('2001:db8:cafe::50') }];
  const config = {
    protocol: 'carp' as const,
    family: 6 as const,
    vhid: 42,
    srcip: ipv6('::'),
    mcast: ipv6('ff02::12'),
    peers: [],
    password: Buffer.from('love'),
    vips,
    advertIntCs: 100,
    v3ChecksumAsV2: false,
  };
  const sender = vhostWire(config);
  const payload = sender.encode({ advbase: 1, advskew: 0 }, ipv6('ff02::12'), 0, 9n, ipv6('fe80::ff:fe00:2'));
  const ctx = { isOwnAddress: (src: number | bigint) => src === ipv6('fe80::ff:fe00:1').big };
  const datagram = (o: Partial<{ payload: Buffer; src: string; dst: string; hopLimit: number }> = {}) => ({
    payload,
    src: 'fe80::ff:fe00:2',
    dst: 'ff02::12',
    hopLimit: 255,
    ...o,
  });

  it('the payload is the 36-byte CARP header alone, its checksum over itself (no pseudo-header)', () => {
    expect(payload.length).toBe(36);
    expect(internetChecksum(payload)).toBe(0);
  });

  it('accepts a valid advert and hands the vhost its source as a bigint key', () => {
    const link = checkLinkPacket6(datagram(), ctx);
    expect(link).toMatchObject({ ok: true, vhid: 42, version: 2 });
    if (!link.ok) return;
    const result = vhostWire(config).check(link);
    expect(result).toMatchObject({ ok: true, src: 'fe80::ff:fe00:2', srcInt: ipv6('fe80::ff:fe00:2').big, claim: { advbase: 1, advskew: 0 }, counter: 9n });
  });

  it.each([
    ['a hop limit below 255', datagram({ hopLimit: 64 }), 'bad-ttl'],
    ['our own link-local source', datagram({ src: 'fe80::ff:fe00:1' }), 'own-packet'],
    ['a short payload', datagram({ payload: payload.subarray(0, 20) }), 'too-short'],
    ['a long payload', datagram({ payload: Buffer.concat([payload, Buffer.alloc(4)]) }), 'too-long'],
  ] as const)('drops %s at the link', (_name, d, reason) => {
    expect(checkLinkPacket6(d, ctx)).toMatchObject({ ok: false, reason });
  });

  it('drops another group, another digest (another VIP list), a corrupt checksum at the vhost', () => {
    const check = (d: ReturnType<typeof datagram>, c: WireConfig = config) => {
      const link = checkLinkPacket6(d, ctx);
      return link.ok ? vhostWire(c).check(link) : link;
    };
    expect(check(datagram({ dst: 'ff02::1' }))).toMatchObject({ ok: false, reason: 'other-group' });
    expect(check(datagram(), { ...config, vips: [{ address: ipv6('2001:db8:cafe::51') }] })).toMatchObject({ ok: false, reason: 'bad-digest' });
    // A dual-stack vhost's digest covers its IPv4 address too: an IPv6-only peer disagrees.
    expect(check(datagram(), { ...config, digestVips: [...vips, { address: ipv4('198.18.0.50') }] })).toMatchObject({ ok: false, reason: 'bad-digest' });
    const corrupt = Buffer.from(payload);
    corrupt[10] = corrupt[10]! ^ 0xff;
    expect(check(datagram({ payload: corrupt }))).toMatchObject({ ok: false, reason: 'bad-checksum' });
  });
});

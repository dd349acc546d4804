import { describe, expect, it } from 'vitest';
import { checkLinkPacket, type LinkInputContext, type LinkAccepted } from '../../lib/protocol/checks.js';
import { internetChecksum } from '../../lib/protocol/checksum.js';
import { encodeIpv4Header, ipv4ToInt } from '../../lib/protocol/ipv4.js';
import { checkVrrpPacket, formatAddressList, vrrpAuth, type VrrpInputContext } from '../../lib/protocol/vrrp-checks.js';
import { VRRP_AUTH_NONE, VRRP_AUTH_PASS, encodeVrrp, passAuthData, vrrpChecksum } from '../../lib/protocol/vrrp.js';
import { allVrrpGolden } from './golden-vrrp.js';
import { prng, randomBytes, randomInt } from './golden.js';

const OURS = '198.18.0.1';
const PEER = '198.18.0.2';
const STRANGER = '198.18.0.9';
const GROUP = '224.0.0.18';
const VIPS = ['198.18.0.50', '198.18.0.51'];
const PASSWORD = 'hunter2'; // 7 bytes: VRRPv2 PASS carries at most 8

const sortedVips = VIPS.map(ipv4ToInt).sort((a, b) => a - b);

const V2: VrrpInputContext = {
  version: 2,
  vrid: 51,
  group: ipv4ToInt(GROUP),
  srcip: ipv4ToInt(OURS),
  peers: new Set(),
  ...vrrpAuth(Buffer.from(PASSWORD)),
  intervalCs: 100,
  addresses: sortedVips,
};
const V3: VrrpInputContext = { ...V2, version: 3, ...vrrpAuth(Buffer.alloc(0)), intervalCs: 100 };
const UNICAST_V3: VrrpInputContext = { ...V3, peers: new Set([ipv4ToInt(PEER)]) };

/** A link carrying VRRPv2 and VRRPv3 vhosts (and perhaps CARP ones): VRRP lengths pass to the vhost. */
const LINK: LinkInputContext = { isOwnAddress: (src) => src === ipv4ToInt(OURS), versions: new Set([2, 3]), carpOnly: false };

interface PacketOptions {
  version: 2 | 3;
  src: string;
  dst: string;
  ttl: number;
  vrid: number;
  priority: number;
  intervalCs: number;
  addresses: string[];
  /** v2 auth type on the wire; PASS bytes from `password`. */
  authType: number;
  password: string;
  /** v3: 'pseudo' (keepalived's default), 'plain' (v3_checksum_as_v2), or a wrong one. */
  v3Checksum: 'pseudo' | 'plain' | 'broken';
  /** Bytes appended to the VRRP message (the IPv4 length includes them). */
  trailing: number;
  /** Overrides the count byte after encoding (checksum left as it was). */
  count?: number;
}

const VALID_V2: PacketOptions = {
  version: 2,
  src: PEER,
  dst: GROUP,
  ttl: 255,
  vrid: 51,
  priority: 100,
  intervalCs: 100,
  addresses: [VIPS[1]!, VIPS[0]!], // keepalived sends configuration order; ours is sorted
  authType: VRRP_AUTH_PASS,
  password: PASSWORD,
  v3Checksum: 'pseudo',
  trailing: 0,
};
const VALID_V3: PacketOptions = { ...VALID_V2, version: 3, authType: VRRP_AUTH_NONE, password: '' };

/** A whole IPv4 datagram as the raw socket delivers it. */
function packet(over: Partial<PacketOptions> = {}): Buffer {
  const o = { ...VALID_V2, ...over };
  let vrrp = encodeVrrp({
    version: o.version,
    vrid: o.vrid,
    priority: o.priority,
    intervalCs: o.intervalCs,
    addresses: o.addresses.map(ipv4ToInt),
    authType: o.authType,
    password: Buffer.from(o.password),
    ...(o.version === 3 && o.v3Checksum !== 'plain' ? { pseudoHeader: { src: ipv4ToInt(o.src), dst: ipv4ToInt(o.dst) } } : {}),
  });
  if (o.version === 3 && o.v3Checksum === 'broken') vrrp[7]! ^= 0x01;
  if (o.trailing > 0) vrrp = Buffer.concat([vrrp, Buffer.alloc(o.trailing)]);
  if (o.count !== undefined) vrrp[3] = o.count;
  const ip = encodeIpv4Header({ tos: 0xc0, id: 1, dontFragment: false, ttl: o.ttl, protocol: 112, src: o.src, dst: o.dst, payloadLength: vrrp.length });
  return Buffer.concat([ip, vrrp]);
}

type Outcome = { reason: string; detail?: string; addressesMatch?: boolean; ttl?: number };

/** The link's checks, then the vhost's, as the daemon runs them. */
function run(buf: Uint8Array, ctx: VrrpInputContext = V2, link: LinkInputContext = LINK): Outcome {
  const l = checkLinkPacket(buf, link);
  if (!l.ok) return { reason: l.reason, detail: l.detail };
  const r = checkVrrpPacket(l, ctx);
  return r.ok ? { reason: 'ok', addressesMatch: r.addressesMatch, ttl: r.ttl } : { reason: r.reason, detail: r.detail };
}

const reasonOf = (buf: Uint8Array, ctx: VrrpInputContext = V2): string => run(buf, ctx).reason;

describe('checkVrrpPacket', () => {
  it('accepts a valid VRRPv2 PASS advert and a valid VRRPv3 advert', () => {
    expect(run(packet())).toEqual({ reason: 'ok', addressesMatch: true, ttl: 255 });
    expect(run(packet(VALID_V3), V3)).toEqual({ reason: 'ok', addressesMatch: true, ttl: 255 });
  });

  it('returns the decoded advert with its sender', () => {
    const l = checkLinkPacket(packet({ priority: 200 }), LINK) as LinkAccepted & { ok: true };
    const r = checkVrrpPacket(l, V2);
    expect(r).toMatchObject({ ok: true, src: PEER, srcInt: ipv4ToInt(PEER), advert: { vrid: 51, priority: 200, intervalCs: 100 } });
  });

  describe('drops', () => {
    it.each<[string, Partial<PacketOptions>, VrrpInputContext, string, RegExp]>([
      ['a count claiming more addresses than the bytes', { count: 3 }, V2, 'too-short', /VRRPv2 payload 24 bytes, 3 addresses need 28/],
      ['v3: a count claiming more addresses than the bytes', { ...VALID_V3, count: 3 }, V3, 'too-short', /VRRPv3 payload 16 bytes, 3 addresses need 20/],
      ['bytes beyond the count (naddr not matching the length)', { trailing: 4 }, V2, 'too-long', /VRRPv2 payload 28 bytes, 2 addresses take 24/],
      ['v3: bytes beyond the count', { ...VALID_V3, trailing: 8 }, V3, 'too-long', /VRRPv3 payload 24 bytes/],
      ['another multicast group', { dst: '224.0.0.19' }, V2, 'other-group', /destination 224\.0\.0\.19, our group is 224\.0\.0\.18/],
      ['unicast: an advert from a node not among the peers', { ...VALID_V3, dst: OURS, src: STRANGER }, UNICAST_V3, 'unknown-peer', /198\.18\.0\.9: not one of our peers/],
      ['unicast: a peer\'s advert to another address', { ...VALID_V3, dst: '198.18.0.3' }, UNICAST_V3, 'other-group', /unicast adverts come to 198\.18\.0\.1/],
      ['unicast: a peer\'s advert to the group', { ...VALID_V3 }, UNICAST_V3, 'other-group', /unicast adverts come to/],
      ['v3: a checksum that verifies in neither form', { ...VALID_V3, v3Checksum: 'broken' }, V3, 'bad-checksum', /VRRPv3 checksum 0x[0-9a-f]{4} does not verify/],
      ['v2: the auth type of no authentication when ours is PASS', { authType: VRRP_AUTH_NONE, password: '' }, V2, 'bad-auth', /auth type 0 \(none\), ours is 1 \(PASS\)/],
      ['v2: PASS when we have none', {}, { ...V2, ...vrrpAuth(Buffer.alloc(0)) }, 'bad-auth', /auth type 1 \(PASS\), ours is 0 \(none\)/],
      ['v2: AH\'s auth type (2)', { authType: 2, password: '' }, V2, 'bad-auth', /auth type 2 \(AH\)/],
      ['v2: an unknown auth type', { authType: 7, password: '' }, V2, 'bad-auth', /auth type 7, ours/],
      ['v2: a wrong PASS password', { password: 'hunter3' }, V2, 'bad-auth', /wrong PASS password; check auth_pass/],
      ['v2: our password with one more byte', { password: `${PASSWORD}x` }, V2, 'bad-auth', /wrong PASS password/],
      ['v2: our password cut short', { password: PASSWORD.slice(0, -1) }, V2, 'bad-auth', /wrong PASS password/],
      ['v2: another advert interval (RFC 3768 7.1, keepalived drops it too)', { intervalCs: 200 }, V2, 'bad-interval', /advert interval 2 s, ours is 1 s/],
      ['a VRRPv3 advert on a VRRPv2 vhost', VALID_V3, V2, 'bad-version', /VRRP version 3, this vhost speaks VRRPv2/],
      ['a VRRPv2 advert on a VRRPv3 vhost', { authType: VRRP_AUTH_NONE, password: '' }, V3, 'bad-version', /VRRP version 2, this vhost speaks VRRPv3/],
    ])('%s', (_name, over, ctx, reason, detail) => {
      const r = run(packet(over), ctx);
      expect(r.reason).toBe(reason);
      expect(r.detail).toMatch(detail);
      expect(r.detail).not.toContain(PASSWORD);
    });

    it('v2: a checksum that does not verify, and the v3 pseudo-header form (v2 has none)', () => {
      const corrupt = packet();
      corrupt[20 + 6]! ^= 0x80;
      expect(run(corrupt)).toMatchObject({ reason: 'bad-checksum', detail: expect.stringMatching(/VRRPv2 checksum/) });
      // The same VRRPv2 message with the checksum computed over the IPv4 pseudo-header.
      const pseudo = packet();
      pseudo.writeUInt16BE(0, 26);
      pseudo.writeUInt16BE(vrrpChecksum(pseudo, 20, pseudo.length, { src: ipv4ToInt(PEER), dst: ipv4ToInt(GROUP) }), 26);
      expect(reasonOf(pseudo)).toBe('bad-checksum');
    });

    it('checks the checksum before the password, so a corrupted packet is not reported as a wrong password', () => {
      const buf = packet({ password: 'wrong' });
      buf[20 + 6]! ^= 0x01;
      expect(reasonOf(buf)).toBe('bad-checksum');
    });
  });

  describe('VRRPv3 checksum', () => {
    it('accepts the pseudo-header form (keepalived) and the message-alone form (v3_checksum_as_v2)', () => {
      expect(reasonOf(packet({ ...VALID_V3, v3Checksum: 'pseudo' }), V3)).toBe('ok');
      expect(reasonOf(packet({ ...VALID_V3, v3Checksum: 'plain' }), V3)).toBe('ok');
    });

    it('the pseudo-header is the packet\'s own addresses: a unicast advert\'s checksum is over our address as dst', () => {
      expect(reasonOf(packet({ ...VALID_V3, dst: OURS }), UNICAST_V3)).toBe('ok');
      // Checksummed for another destination, then sent to us: neither form verifies.
      const buf = packet({ ...VALID_V3, dst: '198.18.0.3' });
      buf.writeUInt32BE(ipv4ToInt(OURS), 16);
      buf.writeUInt16BE(0, 10);
      buf.writeUInt16BE(internetChecksum(buf, 0, 20), 10);
      expect(reasonOf(buf, UNICAST_V3)).toBe('bad-checksum');
    });

    it('v3 does not compare intervals: backups adopt the master\'s (RFC 5798 6.4.2)', () => {
      const r = checkVrrpPacket(checkLinkPacket(packet({ ...VALID_V3, intervalCs: 10 }), LINK) as LinkAccepted, V3);
      expect(r).toMatchObject({ ok: true, advert: { intervalCs: 10 } });
      expect(reasonOf(packet({ ...VALID_V3, intervalCs: 4095 }), V3)).toBe('ok');
    });
  });

  describe('the address list', () => {
    it('in another order matches (keepalived sends configuration order)', () => {
      expect(run(packet({ addresses: [VIPS[0]!, VIPS[1]!] })).addressesMatch).toBe(true);
      expect(run(packet({ addresses: [VIPS[1]!, VIPS[0]!] })).addressesMatch).toBe(true);
    });

    it.each([
      ['another address, same count', ['198.18.0.50', '198.18.0.99']],
      ['one address fewer', ['198.18.0.50']],
      ['one address more', ['198.18.0.50', '198.18.0.51', '198.18.0.52']],
      ['one address twice instead of two', ['198.18.0.50', '198.18.0.50']],
    ])('%s: accepted, flagged as a mismatch', (_name, addresses) => {
      expect(run(packet({ addresses }))).toMatchObject({ reason: 'ok', addressesMatch: false });
    });

    it('formats a list for the mismatch line', () => {
      expect(formatAddressList([ipv4ToInt('198.18.0.50'), 0xc6120033])).toBe('198.18.0.50, 198.18.0.51');
    });
  });

  describe('TTL', () => {
    it('unicast: accepts any TTL from a listed peer (keepalived does not check it, the peer may be routed)', () => {
      for (const ttl of [1, 64, 254, 255]) {
        expect(run(packet({ ...VALID_V3, dst: OURS, ttl }), UNICAST_V3), `TTL ${ttl}`).toMatchObject({ reason: 'ok', ttl });
      }
    });

    it('unicast: a stranger is still refused whatever its TTL', () => {
      expect(reasonOf(packet({ ...VALID_V3, src: STRANGER, dst: OURS, ttl: 255 }), UNICAST_V3)).toBe('unknown-peer');
      expect(reasonOf(packet({ ...VALID_V3, src: STRANGER, dst: OURS, ttl: 64 }), UNICAST_V3)).toBe('unknown-peer');
    });

    it('multicast: the link refuses TTL != 255 before any vhost sees the packet', () => {
      for (const ttl of [0, 1, 64, 254]) {
        expect(checkLinkPacket(packet({ ttl }), LINK), `TTL ${ttl}`).toMatchObject({ ok: false, reason: 'bad-ttl', detail: expect.stringContaining(`TTL ${ttl}`) });
        expect(checkLinkPacket(packet({ ...VALID_V3, ttl }), LINK)).toMatchObject({ ok: false, reason: 'bad-ttl' });
      }
    });
  });
});

describe('the golden keepalived packets, received by a carpd peer', () => {
  const fixtures = allVrrpGolden();

  it.each(fixtures.filter((f) => f.family === 'ipv4' && f.ipProtocol === 112 && f.checksumMode !== 'v3-ipv4-pseudo-header-mcast-dst').map((f) => [f.file, f] as const))(
    'accepts %s',
    (_file, f) => {
      const unicast = f.unicastPeers.length > 0;
      const peer: VrrpInputContext = {
        version: f.version,
        vrid: f.vrid,
        group: ipv4ToInt(GROUP),
        // A unicast advert comes to the peer's address; a multicast one is heard by any node.
        srcip: ipv4ToInt(unicast ? f.dst : '198.18.0.99'),
        peers: new Set(unicast ? [ipv4ToInt(f.src)] : []),
        ...vrrpAuth(Buffer.from(f.authType === 'PASS' ? f.authPass : '')),
        intervalCs: f.version === 2 ? Math.max(1, Math.round(f.advertInt)) * 100 : Math.round(f.advertInt * 100),
        addresses: f.vips.map(ipv4ToInt).sort((a, b) => a - b),
      };
      const link: LinkInputContext = { ...LINK, isOwnAddress: (src) => src === peer.srcip };
      expect(run(f.ip, peer, link)).toMatchObject({ reason: 'ok', addressesMatch: true });
      if (f.version === 2 && f.authType === 'PASS') {
        expect(run(f.ip, { ...peer, authData: passAuthData(Buffer.from(`${f.authPass}!`)) }, link).reason).toBe(f.authPass.length < 8 ? 'bad-auth' : 'ok');
      }
    },
  );

  it('accepts the pre-2.0 unicast v3 checksum (old_unicast_checksum: pseudo dst 224.0.0.18), as keepalived 2.2.7 does on receive', () => {
    const old = fixtures.filter((f) => f.checksumMode === 'v3-ipv4-pseudo-header-mcast-dst');
    expect(old.length).toBeGreaterThan(0);
    for (const f of old) {
      const peer: VrrpInputContext = { ...UNICAST_V3, vrid: f.vrid, srcip: ipv4ToInt(f.dst), peers: new Set([ipv4ToInt(f.src)]), addresses: [ipv4ToInt(f.vips[0]!)] };
      expect(run(f.ip, peer, { ...LINK, isOwnAddress: () => false }).reason).toBe('ok');
      // Corrupted, it is still refused.
      const broken = Buffer.from(f.ip);
      broken[broken.length - 1]! ^= 0x01;
      expect(run(broken, peer, { ...LINK, isOwnAddress: () => false }).reason).toBe('bad-checksum');
    }
  });

  it('the AH frames are IP protocol 51 and the IPv6 frames are not IPv4: the link drops them as not ours', () => {
    const ah = fixtures.filter((f) => f.ipProtocol === 51);
    const v6 = fixtures.filter((f) => f.family === 'ipv6');
    expect(ah.length).toBeGreaterThan(0);
    expect(v6.length).toBeGreaterThan(0);
    for (const f of ah) expect(checkLinkPacket(f.ip, LINK)).toMatchObject({ ok: false, reason: 'not-carp', detail: expect.stringContaining('IP protocol 51') });
    for (const f of v6) expect(checkLinkPacket(f.ip, LINK)).toMatchObject({ ok: false, reason: 'not-carp' });
  });
});

describe("the link's shared checks with VRRP vhosts on it (versions {2, 3}, carpOnly false)", () => {
  it('passes VRRP payload lengths (20, 24, 12, 16 bytes) on to the vhost', () => {
    const cases: Partial<PacketOptions>[] = [{ addresses: ['198.18.0.50'] }, {}, { ...VALID_V3, addresses: ['198.18.0.50'] }, VALID_V3];
    for (const over of cases) {
      const buf = packet(over);
      const l = checkLinkPacket(buf, LINK);
      expect(l).toMatchObject({ ok: true, version: over.version ?? 2, vhid: 51, payloadStart: 20, payloadLength: buf.length - 20 });
    }
  });

  it('a CARP-only link (the default) applies CARP\'s 36-byte rule and hints at VRRP', () => {
    expect(checkLinkPacket(packet(), { isOwnAddress: () => false })).toMatchObject({ ok: false, reason: 'too-short', detail: expect.stringContaining('VRRP') });
  });

  it('refuses a payload shorter than VRRP\'s 8-byte header', () => {
    const ip = encodeIpv4Header({ tos: 0xc0, id: 1, dontFragment: false, ttl: 255, protocol: 112, src: PEER, dst: GROUP, payloadLength: 7 });
    expect(checkLinkPacket(Buffer.concat([ip, Buffer.from('21330101000000', 'hex')]), LINK)).toMatchObject({ ok: false, reason: 'too-short' });
  });

  it('refuses a version no vhost speaks, and a type other than advertisement', () => {
    const v4 = packet();
    v4[20] = 0x41;
    expect(checkLinkPacket(v4, LINK)).toMatchObject({ ok: false, reason: 'bad-version', detail: expect.stringContaining('3 (VRRPv3)') });
    expect(checkLinkPacket(packet(VALID_V3), { ...LINK, versions: new Set([2]) })).toMatchObject({ ok: false, reason: 'bad-version' });
    const type2 = packet();
    type2[20] = 0x22;
    expect(checkLinkPacket(type2, LINK)).toMatchObject({ ok: false, reason: 'bad-type' });
  });

  it('drops our own adverts looped back, and a bad IPv4 header checksum', () => {
    expect(checkLinkPacket(packet({ src: OURS }), LINK)).toMatchObject({ ok: false, reason: 'own-packet' });
    const bad = packet();
    bad[10]! ^= 0x01;
    expect(checkLinkPacket(bad, LINK)).toMatchObject({ ok: false, reason: 'bad-ip-checksum' });
  });
});

describe('never throws', () => {
  /** Repairs the IPv4 header checksum and, when it can, the VRRP one, so mutations reach the later checks. */
  function repair(buf: Buffer, fixVrrp: boolean): void {
    if (buf.length < 20) return;
    buf.writeUInt16BE(0, 10);
    buf.writeUInt16BE(internetChecksum(buf, 0, 20), 10);
    if (fixVrrp && buf.length >= 28) {
      buf.writeUInt16BE(0, 26);
      buf.writeUInt16BE(internetChecksum(buf, 20, buf.length), 26);
    }
  }

  it('on 30000 random and mutated packets, and reaches every drop reason', () => {
    const rand = prng(0x7a11ed);
    const seen = new Set<string>();
    const contexts = [V2, V3, UNICAST_V3];
    const valid = [packet(), packet(VALID_V3), packet({ ...VALID_V3, dst: OURS })];
    for (let i = 0; i < 30000; i++) {
      const which = i % 3;
      let buf: Buffer;
      const mode = Math.floor(i / 3) % 4;
      if (mode === 0) {
        buf = randomBytes(rand, randomInt(rand, 80));
        if (buf.length > 9 && rand() < 0.7) {
          buf[0] = 0x45;
          buf[9] = 112;
          buf.writeUInt16BE(randomInt(rand, 80), 2);
          buf[8] = 255;
          repair(buf, false);
        }
      } else {
        buf = Buffer.from(valid[which]!);
        const flips = 1 + randomInt(rand, 2);
        for (let k = 0; k < flips; k++) buf[randomInt(rand, buf.length - 1)]! ^= 1 << randomInt(rand, 7);
        // Mode 2 repairs the IPv4 header, mode 3 also the message alone checksum (which v3 accepts too).
        if (mode >= 2) repair(buf, mode === 3);
        if (rand() < 0.1) buf = buf.subarray(0, randomInt(rand, buf.length));
      }
      let r: Outcome | undefined;
      expect(() => {
        r = run(buf, contexts[which]);
      }, buf.toString('hex')).not.toThrow();
      seen.add(r!.reason);
      if (r!.detail !== undefined) expect(r!.detail).not.toContain(PASSWORD);
    }
    for (const reason of [
      'not-carp', 'too-short', 'too-long', 'own-packet', 'bad-ttl', 'bad-ip-checksum', 'bad-version', 'bad-type',
      'other-group', 'unknown-peer', 'bad-checksum', 'bad-auth', 'bad-interval', 'ok',
    ]) {
      expect(seen, `the fuzz never produced ${reason}`).toContain(reason);
    }
  });

  it('on a Uint8Array view that is not a Buffer', () => {
    const backing = new Uint8Array(200);
    const buf = packet();
    backing.set(buf, 50);
    expect(reasonOf(new Uint8Array(backing.buffer, 50, buf.length))).toBe('ok');
  });
});

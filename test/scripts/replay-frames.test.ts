// The replayer's guard (scripts/lab/replay.ts): it sends only lab CARP adverts to the group.
import { describe, expect, it } from 'vitest';
import { checkLabDatagram } from '../../scripts/lab/replay.js';
import { buildAdvertisement, CARP_TTL, IPPROTO_CARP } from '../../lib/protocol/carp.js';
import { ipv4ToBytes, encodeIpv4Header } from '../../lib/protocol/ipv4.js';

function advert(src: string, dst = '224.0.0.18', protocol = IPPROTO_CARP): Buffer {
  const payload = buildAdvertisement({ vhid: 42, advbase: 1, advskew: 0, counter: 7n, password: Buffer.from('love'), vip: ipv4ToBytes('198.18.0.50') });
  const header = encodeIpv4Header({ tos: 0x10, id: 1, dontFragment: true, ttl: CARP_TTL, protocol, src, dst, payloadLength: payload.length });
  return Buffer.concat([header, payload]);
}

describe('checkLabDatagram', () => {
  it('accepts a CARP advert from the lab range to the group', () => {
    expect(checkLabDatagram(advert('198.18.0.1'))).toEqual({ src: '198.18.0.1', dst: '224.0.0.18' });
    expect(checkLabDatagram(advert('198.19.3.4')).src).toBe('198.19.3.4');
  });

  it.each([
    ['a source outside 198.18.0.0/15', advert('192.0.2.1')],
    ['another destination', advert('198.18.0.1', '198.18.0.2')],
    ['another protocol', advert('198.18.0.1', '224.0.0.18', 17)],
  ])('refuses %s', (_what, datagram) => {
    expect(() => checkLabDatagram(datagram)).toThrow(/not a lab CARP advert/);
  });
});

import { describe, expect, it } from 'vitest';
import { checkPacket } from '../../lib/protocol/checks.js';
import { decodeIpv4Header, ipv4ToBytes, ipv4ToInt } from '../../lib/protocol/ipv4.js';
import { ALL_FLOOD_KINDS, craftFloodFrame, FLOOD_KINDS } from '../../scripts/lab/flood.js';

// The flood's frames must each fail carpd's checks for the reason the flood test counts on.
const ctx = {
  srcip: ipv4ToInt('198.18.0.1'),
  group: ipv4ToInt('224.0.0.18'),
  vhid: 42,
  password: Buffer.from('love'),
  vip: ipv4ToBytes('198.18.0.50'),
};

describe('flood frames', () => {
  for (const kind of ALL_FLOOD_KINDS) {
    it(`${kind}: dropped as ${FLOOD_KINDS[kind]}, from the lab's /24, to the CARP group`, () => {
      for (let n = 0; n < 200; n++) {
        const frame = craftFloodFrame(kind, { vhids: [42], subnet: '198.18.0' });
        const ip = decodeIpv4Header(frame);
        expect(ip.src).toMatch(/^198\.18\.0\.(\d+)$/);
        expect(ip.dst).toBe('224.0.0.18');
        const result = checkPacket(frame, ctx);
        // A well-sized frame whose source happens to be our own address is dropped as own-packet.
        const sized = kind !== 'short' && kind !== 'long';
        if (sized && ip.srcInt === ctx.srcip) expect(result).toMatchObject({ ok: false, reason: 'own-packet' });
        else expect(result).toMatchObject({ ok: false, reason: FLOOD_KINDS[kind] });
      }
    });
  }

  it('refuses sources outside 198.18.0.0/15', () => {
    expect(() => craftFloodFrame('ttl-1', { vhids: [42], subnet: '192.0.2' })).toThrow(/198\.18\.0\.0\/15/);
  });
});

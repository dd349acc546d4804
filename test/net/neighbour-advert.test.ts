import { describe, expect, it } from 'vitest';
import {
  ALL_NODES,
  ICMPV6_NEIGHBOUR_ADVERT,
  NEIGHBOUR_ADVERT_LENGTH,
  encodeUnsolicitedNeighbourAdvert,
  sendUnsolicitedNeighbourAdvert,
} from '../../lib/net/neighbour-advert.js';
import { ipv6Bytes } from '../../lib/net/address.js';
import type { Ipv6Socket } from '../../lib/net/ipv6-socket.js';

describe('encodeUnsolicitedNeighbourAdvert', () => {
  it('encodes type 136, Override only, the target and our MAC as option 2 (RFC 4861 §4.4)', () => {
    const message = encodeUnsolicitedNeighbourAdvert({ target: '2001:db8::50', mac: '02:00:00:00:00:01' });
    // Written out by hand from the RFC's layout, not from the encoder.
    const expected = Buffer.from(
      [
        '88 00 0000', // type 136, code 0, checksum left to the kernel
        '20 000000', // R=0 S=0 O=1, reserved
        '20010db8 00000000 00000000 00000050', // target 2001:db8::50
        '02 01 020000000001', // target link-layer address, 1 x 8 bytes, 02:00:00:00:00:01
      ]
        .join('')
        .replace(/ /g, ''),
      'hex',
    );
    expect(message.toString('hex')).toBe(expected.toString('hex'));
    expect(message).toHaveLength(NEIGHBOUR_ADVERT_LENGTH);
    expect(message[0]).toBe(ICMPV6_NEIGHBOUR_ADVERT);
  });

  it('sets the Router flag only when asked (a gateway VIP), never Solicited', () => {
    const router = encodeUnsolicitedNeighbourAdvert({ target: '2001:db8::50', mac: '02:00:00:00:00:01', router: true });
    expect(router[4]).toBe(0x80 | 0x20);
    const host = encodeUnsolicitedNeighbourAdvert({ target: '2001:db8::50', mac: '02:00:00:00:00:01', router: false });
    expect(host[4]).toBe(0x20);
  });

  it('accepts upper-case MACs and any IPv6 text form of the target', () => {
    const a = encodeUnsolicitedNeighbourAdvert({ target: '2001:DB8:0:0:0:0:0:50', mac: '02:AB:CD:EF:00:01' });
    const b = encodeUnsolicitedNeighbourAdvert({ target: '2001:db8::50', mac: '02:ab:cd:ef:00:01' });
    expect(a.equals(b)).toBe(true);
  });

  it.each([
    ['2001:db8::50::1', 'two "::"'],
    ['2001:db8:::50', 'three colons'],
    ['ff02::1', 'multicast'],
    ['198.18.0.50', 'IPv4'],
    ['fe80::1%eth0', 'a scope id'],
    ['', 'empty'],
  ])('refuses the target %j (%s) with one line naming the field', (target) => {
    expect(() => encodeUnsolicitedNeighbourAdvert({ target, mac: '02:00:00:00:00:01' })).toThrow(
      `neighbour advertisement target must be a unicast IPv6 address, received ${JSON.stringify(target)}`,
    );
  });

  it.each(['02:00:00:00:00', '02:00:00:00:00:01:02', '02-00-00-00-00-01', '2:0:0:0:0:1', 'zz:00:00:00:00:01'])(
    'refuses the MAC %j',
    (mac) => {
      expect(() => encodeUnsolicitedNeighbourAdvert({ target: '2001:db8::50', mac })).toThrow(
        `neighbour advertisement MAC must be six hex bytes like 02:00:00:00:00:01, received ${JSON.stringify(mac)}`,
      );
    },
  );
});

describe('ipv6Bytes', () => {
  it.each([
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['2001:db8::', '20010db8000000000000000000000000'],
    ['2001:db8::50', '20010db8000000000000000000000050'],
    ['fe80::ff:fe00:1', 'fe80000000000000000000fffe000001'],
    ['2001:db8:1:2:3:4:5:6', '20010db8000100020003000400050006'],
    ['2001:db8::1:2:3:4:5', '20010db8000000010002000300040005'],
    ['::ffff:198.18.0.1', '00000000000000000000ffffc6120001'],
    ['2001:db8:1:2:3:4:198.18.0.1', '20010db80001000200030004c6120001'],
  ])('parses %s', (text, hex) => {
    expect(ipv6Bytes(text)?.toString('hex')).toBe(hex);
  });

  it.each([
    '1:2:3:4:5:6:7', // seven groups, no '::'
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4::5:6:7:8', // '::' standing for no group
    '12345::1',
    ':1::2',
    '1::2:',
    '::198.18.0.256',
    '1:2:3:4:5:6:7:198.18.0.1',
    'g::1',
    ' ::1',
  ])('refuses %j', (text) => {
    expect(ipv6Bytes(text)).toBeUndefined();
  });
});

describe('sendUnsolicitedNeighbourAdvert', () => {
  /** Records what the helper hands the socket; the real socket is tested in test/netns/ipv6-socket.test.ts. */
  function fakeSocket(options: { protocol: number; hopLimit?: number }) {
    const sent: { payload: Buffer; dst: string; src: string | undefined }[] = [];
    const socket = {
      options: { interface: 'eth0', ...options },
      send: (payload: Buffer, dst: string, src?: string) => {
        sent.push({ payload, dst, src });
        return Promise.resolve();
      },
    } as unknown as Ipv6Socket;
    return { socket, sent };
  }

  it('sends the encoded message to all-nodes from the given source', async () => {
    const { socket, sent } = fakeSocket({ protocol: 58, hopLimit: 255 });
    await sendUnsolicitedNeighbourAdvert(socket, { target: '2001:db8::50', mac: '02:00:00:00:00:01', source: '2001:db8::50' });
    expect(sent).toEqual([
      {
        payload: encodeUnsolicitedNeighbourAdvert({ target: '2001:db8::50', mac: '02:00:00:00:00:01' }),
        dst: ALL_NODES,
        src: '2001:db8::50',
      },
    ]);
  });

  it('refuses a socket that is not ICMPv6 with hop limit 255 (receivers would drop the advert)', async () => {
    for (const options of [{ protocol: 112 }, { protocol: 58, hopLimit: 1 }]) {
      const { socket, sent } = fakeSocket(options);
      await expect(sendUnsolicitedNeighbourAdvert(socket, { target: '2001:db8::50', mac: '02:00:00:00:00:01' })).rejects.toThrow(
        /need an ICMPv6 socket with hop limit 255/,
      );
      expect(sent).toEqual([]);
    }
  });

  it('rejects (does not throw) on a bad target', async () => {
    const { socket, sent } = fakeSocket({ protocol: 58 });
    await expect(sendUnsolicitedNeighbourAdvert(socket, { target: 'nope', mac: '02:00:00:00:00:01' })).rejects.toThrow(TypeError);
    expect(sent).toEqual([]);
  });
});

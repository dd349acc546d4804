import { describe, expect, it } from 'vitest';
import {
  addressBytes,
  addressFromKey,
  addressKey,
  compareAddresses,
  ipv4,
  ipv6,
  ipv6FromBig,
  isLinkLocal,
  isMulticast,
  isUnicastHost,
  parseIpAddress,
  parseIpv6,
  sameAddress,
} from '../../lib/net/address.js';

describe('IPv6 addresses', () => {
  // What glibc's inet_ntop prints, which is what `ip -j` and the kernel's addon hand us.
  it.each([
    ['2001:DB8:0:0:0:0:0:50', '2001:db8::50'],
    ['2001:db8::0:50', '2001:db8::50'],
    ['2001:0db8:cafe:0000:0000:0000:0000:0050', '2001:db8:cafe::50'],
    ['fe80:0:0:0:0:ff:fe00:1', 'fe80::ff:fe00:1'],
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:1:2:3:4:0:6', '2001:db8:1:2:3:4:0:6'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['ff02:0:0:0:0:0:0:12', 'ff02::12'],
    ['::ffff:198.18.0.1', '::ffff:c612:1'],
  ])('%s is written %s', (input, canonical) => {
    expect(parseIpv6(input)?.text).toBe(canonical);
  });

  it.each(['2001:db8::50::1', '2001:db8:::1', '1:2:3:4:5:6:7:8:9', '2001:db8::g', 'fe80::1%eth0', '198.18.0.1', '', '2001:db8::12345'])(
    'refuses %j',
    (text) => {
      expect(parseIpv6(text)).toBeUndefined();
    },
  );

  it('keeps the 128-bit value for order and round-trips it through bytes and keys', () => {
    const a = ipv6('2001:db8::50');
    expect(a.big).toBe(0x20010db8000000000000000000000050n);
    expect(addressBytes(a).toString('hex')).toBe('20010db8000000000000000000000050');
    expect(ipv6FromBig(a.big)).toEqual(a);
    expect(addressFromKey(addressKey(a))).toEqual(a);
    expect(addressFromKey(addressKey(ipv4('198.18.0.1')))).toEqual(ipv4('198.18.0.1'));
  });

  it('orders IPv4 before IPv6, each numerically (memcmp for IPv6)', () => {
    const list = [ipv6('2001:db8::51'), ipv4('198.18.0.9'), ipv6('2001:db8::5'), ipv4('198.18.0.10'), ipv6('fe80::1')];
    expect([...list].sort(compareAddresses).map((a) => a.text)).toEqual(['198.18.0.9', '198.18.0.10', '2001:db8::5', '2001:db8::51', 'fe80::1']);
    expect(sameAddress(ipv6('2001:db8::50'), parseIpAddress('2001:DB8:0::50')!)).toBe(true);
    expect(sameAddress(ipv6('::c612:1'), ipv4('198.18.0.1'))).toBe(false);
  });

  it('classifies multicast, link-local and host addresses', () => {
    expect(isMulticast(ipv6('ff02::12'))).toBe(true);
    expect(isMulticast(ipv6('fe80::1'))).toBe(false);
    expect(isLinkLocal(ipv6('fe80::ff:fe00:1'))).toBe(true);
    expect(isLinkLocal(ipv6('febf::1'))).toBe(true);
    expect(isLinkLocal(ipv6('fec0::1'))).toBe(false);
    expect(isUnicastHost(ipv6('2001:db8::50'))).toBe(true);
    expect(isUnicastHost(ipv6('::'))).toBe(false);
    expect(isUnicastHost(ipv6('::1'))).toBe(false);
    expect(isUnicastHost(ipv6('ff02::1'))).toBe(false);
  });

  it('parseIpAddress reads either family', () => {
    expect(parseIpAddress('198.18.0.1')?.family).toBe(4);
    expect(parseIpAddress('2001:db8::1')?.family).toBe(6);
    expect(parseIpAddress('nonsense')).toBeUndefined();
  });
});

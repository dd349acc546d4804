// The dual-stack lab (`ipv6: true`): the addresses it promises, inside 2001:db8::/32 only, usable
// as soon as Lab.create() returns; and a lab without the option still has no IPv6 at all.
import { describe, expect, it } from 'vitest';
import { validateLabAddress, validateSubnet6 } from '../../scripts/lab/safety.js';
import type { LabHost } from '../../scripts/lab/lab.js';
import { useLab, withLab } from '../helpers/lab.js';

describe('validateSubnet6 (no namespaces)', () => {
  it.each(['2001:db8', '2001:DB8:cafe', '2001:0db8:cafe:1'])('accepts %j', (prefix) => {
    expect(validateSubnet6(prefix)).toBe(prefix.toLowerCase());
  });

  it.each(['2001:db9', '2001:db8::', '2001:db8:1:2:3', 'fe80', '2001:db8:12345', ''])('refuses %j', (prefix) => {
    expect(() => validateSubnet6(prefix)).toThrow(/lab option "subnet6" must be the leading groups of a \/64 inside 2001:db8::\/32/);
  });
});

describe('validateLabAddress for IPv6 (no namespaces)', () => {
  it.each(['2001:db8::1/64', '2001:db8:cafe::50/64', '2001:0db8::1/128', '2001:db8::/32'])('accepts %j', (cidr) => {
    expect(validateLabAddress(cidr)).toBe(cidr);
  });

  it.each(['2001:db9::1/64', '2001::db8/64', 'fe80::1/64', '2001:db8::1', '2001:db8::1/31', '2001:db8::1/129', '2001:db8::g/64'])(
    'refuses %j',
    (cidr) => {
      expect(() => validateLabAddress(cidr)).toThrow(/lab address must be an IPv6 address\/len inside 2001:db8::\/32/);
    },
  );
});

describe('a dual-stack lab', () => {
  const getLab = useLab({ hosts: 2, ipv6: true });

  it('gives host i 2001:db8::<i>/64 and the client 2001:db8::100/64, link-local addresses out of DAD', async () => {
    const lab = getLab();
    const [h1, h2] = lab.hosts as [LabHost, LabHost];
    expect(await h1.addresses6()).toEqual(['2001:db8::1/64']);
    expect(await h2.addresses6()).toEqual(['2001:db8::2/64']);
    expect(lab.client.address6).toBe('2001:db8::100');
    expect(lab.vip6()).toBe('2001:db8::50');
    expect(await h1.hasAddress('2001:db8::1/64')).toBe(true);
    expect(await h1.hasAddress('2001:db8::2')).toBe(false);
    expect(await h1.linkLocal()).toMatch(/^fe80::/);
    // Usable at once: the client reaches both hosts over IPv6 (link-local and global).
    const ping = await lab.client.exec('ping', ['-6', '-c', '1', '-W', '2', h1.address6!]);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    const linkLocal = await lab.client.exec('ping', ['-6', '-c', '1', '-W', '2', `${(await h2.linkLocal())!}%eth0`]);
    expect(linkLocal.code, linkLocal.stdout + linkLocal.stderr).toBe(0);
    // IPv4 as before.
    expect(await h1.addresses()).toEqual(['198.18.0.1/24']);
  });

  it('keeps IPv6 off in a lab made without the option', async () => {
    await withLab({ hosts: 1 }, async (lab) => {
      expect(lab.hosts[0]!.address6).toBeUndefined();
      expect(await lab.hosts[0]!.linkLocal()).toBeUndefined();
      expect(() => lab.vip6()).toThrow(/without the ipv6 option/);
    });
  });
});

import { describe, expect, it } from 'vitest';
import type { VhostConfig } from '../../lib/config.js';
import { linkKey, lockKey, sourceFromLink, vhostFamily } from '../../lib/config.js';
import { configOf, usageErrorOf } from '../helpers/parse.js';

// The fake host (test/helpers/fake-system.ts): eth0 has 10.1.1.1 and 10.1.1.2.
const CARP6 = ['-i', 'eth0', '-v', '42', '-p', 'love', '--addr=2001:db8:cafe::50/64'];
const VRRP6 = ['-i', 'eth0', '-v', '42', '--protocol=vrrp3', '--addr=2001:db8:cafe::50'];

const vhostsOf = (argv: readonly string[]): readonly VhostConfig[] => configOf(argv).vhosts;
const errorOf = (argv: readonly string[]): string => usageErrorOf(argv).message;
const FILE = '/etc/carpd/carpd.conf';
/** A sectioned config of one [vhost web] (a command line takes one --addr, as ucarp -a). */
const sectioned = (lines: readonly string[], defaults: readonly string[] = ['interface = eth0', 'pass = love']): readonly VhostConfig[] =>
  configOf([`--config=${FILE}`], { files: { [FILE]: [...defaults, '[vhost web]', 'vhid = 42', ...lines].join('\n') + '\n' } }).vhosts;

describe('IPv6 --addr', () => {
  it('needs no --srcip: the adverts leave from the link-local address, to ff02::12', () => {
    const [vhost, ...more] = vhostsOf(CARP6);
    expect(more).toEqual([]);
    expect(vhostFamily(vhost!)).toBe(6);
    expect(sourceFromLink(vhost!)).toBe(true);
    expect(vhost!.mcast.text).toBe('ff02::12');
    expect(vhost!.vips.map((v) => `${v.address.text}/${v.prefix}`)).toEqual(['2001:db8:cafe::50/64']);
    expect(linkKey(vhost!)).toBe('eth0 ipv6');
  });

  it('writes the address as the kernel does and defaults to /64', () => {
    const [vhost] = vhostsOf(['-i', 'eth0', '-v', '42', '-p', 'love', '--addr=2001:DB8:CAFE:0:0::50']);
    expect(vhost!.vips[0]).toMatchObject({ address: { text: '2001:db8:cafe::50' }, prefix: 64 });
  });

  it('refuses an IPv6 --srcip the interface does not have, naming the ones it has', () => {
    const system = { interfaces6: { eth0: ['fe80::1', '2001:db8:cafe::1'] } };
    expect(usageErrorOf([...CARP6, '--srcip=2001:db8:cafe::9'], system).message).toBe(
      "--srcip must be one of eth0's IPv6 addresses (it has fe80::1, 2001:db8:cafe::1), got \"2001:db8:cafe::9\"",
    );
    expect(configOf([...CARP6, '--srcip=2001:db8:cafe:0::1'], system).vhosts[0]!.srcip.text).toBe('2001:db8:cafe::1');
  });

  it('takes an IPv6 --srcip and --mcast', () => {
    const [vhost] = vhostsOf([...CARP6, '--srcip=2001:db8:cafe::1', '--mcast=ff02::1:12']);
    expect(sourceFromLink(vhost!)).toBe(false);
    expect(vhost!.srcip.text).toBe('2001:db8:cafe::1');
    expect(vhost!.mcast.text).toBe('ff02::1:12');
  });

  it('speaks VRRPv3 over IPv6, with a link-local address first if asked, as keepalived lists it', () => {
    expect(vhostsOf(VRRP6)[0]!.protocol).toBe('vrrp3');
    const [vhost] = sectioned(['protocol = vrrp3', 'addr = fe80::50/64', 'addr = 2001:db8:cafe::50/64'], ['interface = eth0']);
    expect(vhost!.vips.map((v) => v.address.text)).toEqual(['fe80::50', '2001:db8:cafe::50']);
  });

  it.each([
    [[...CARP6, '--nomcast'], /--nomcast is for IPv4/],
    [[...CARP6, '--replay-protect'], /--replay-protect is for IPv4 vhosts/],
    [['-i', 'eth0', '-v', '42', '--protocol=vrrp2', '--addr=2001:db8:cafe::50'], /vrrp2 is IPv4 only/],
    [['-i', 'eth0', '-v', '42', '-p', 'love', '--addr=fe80::50'], /link-local fe80::\/10 addresses are for VRRPv3/],
    [[...CARP6, '--peer=2001:db8:cafe::2'], /IPv6 --srcip/],
    [[...CARP6, '--mcast=2001:db8::1'], /IPv6 multicast group/],
    [['-i', 'eth0', '-v', '42', '-p', 'love', '--addr=2001:db8::50/129'], /optional \/prefix of 1 to 128/],
    [['-i', 'eth0', '-v', '42', '-p', 'love', '--addr=ff02::50'], /unicast IPv6 address/],
    [['-i', 'eth0', '-v', '42', '-p', 'love', '--addr=2001:db8::50 label eth0:x'], /no "label" on an IPv6 address/],
    [['-i', 'eth0', '-s', '10.1.1.1', '-v', '42', '-p', 'love', '--addr=10.1.1.252', '--srcip=2001:db8::1'], /every --addr is IPv4/],
  ] as const)('refuses %j with one line', (argv, message) => {
    const error = errorOf(argv);
    expect(error).toMatch(message);
    expect(error).not.toContain('\n');
  });
});

describe('a vhost with IPv4 and IPv6 addresses', () => {
  const DUAL = ['srcip = 10.1.1.1', 'upscript = /etc/vip-up.sh', 'addr = 10.1.1.252', 'addr = 2001:db8:cafe::50/64'];

  it('runs as two vhosts, one per family, with one vhid, in one group, the scripts on the IPv4 one', () => {
    const [four, six, ...more] = sectioned(DUAL);
    expect(more).toEqual([]);
    expect(four!.vips.map((v) => v.address.text)).toEqual(['10.1.1.252']);
    expect(six!.vips.map((v) => v.address.text)).toEqual(['2001:db8:cafe::50']);
    expect([four!.vhid, six!.vhid]).toEqual([42, 42]);
    expect([four!.name, six!.name]).toEqual(['web', 'web-ipv6']);
    expect(four!.group).toBeDefined();
    expect(six!.group).toBe(four!.group);
    expect(four!.srcip.text).toBe('10.1.1.1');
    expect(sourceFromLink(six!)).toBe(true);
    expect([four!.mcast.text, six!.mcast.text]).toEqual(['224.0.0.18', 'ff02::12']);
    expect(four!.upscript).toBe('/etc/vip-up.sh');
    expect(six!.upscript).toBeUndefined();
    // CARP's digest covers both families in both halves (OpenBSD's carp_hmac_prepare_ctx).
    for (const half of [four!, six!]) expect(half.digestVips?.map((v) => v.address.text)).toEqual(['10.1.1.252', '2001:db8:cafe::50']);
    // Apart on the links and the locks.
    expect(linkKey(four!)).not.toBe(linkKey(six!));
    expect(lockKey(four!)).not.toBe(lockKey(six!));
  });

  it('keeps a group it was given', () => {
    const [four, six] = sectioned([...DUAL, 'group = web']);
    expect([four!.group, six!.group]).toEqual(['web', 'web']);
  });

  it('still needs an IPv4 --srcip for CARP', () => {
    const file = ['interface = eth0', 'pass = love', '[vhost web]', 'vhid = 42', 'addr = 10.1.1.252', 'addr = 2001:db8:cafe::50'].join('\n');
    expect(usageErrorOf([`--config=${FILE}`], { files: { [FILE]: file } }).message).toMatch(/srcip/);
  });
});

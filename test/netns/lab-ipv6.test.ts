// The dual-stack lab (`ipv6: true`): the addresses it promises, inside 2001:db8::/32 only, usable
// as soon as Lab.create() returns; and a lab without the option still has no IPv6 at all.
import { describe, expect, it } from 'vitest';
import { analysePing, parsePingOutput, parseTcpdump } from '../../scripts/lab/lab.js';
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

describe('lab parsers on IPv6 output (no namespaces)', () => {
  it('parses ping -6 -D -O replies (the address has colons)', () => {
    const raw = [
      'PING 2001:db8:cafe::50(2001:db8:cafe::50) 56 data bytes',
      '[1000.000000] 64 bytes from 2001:db8:cafe::50: icmp_seq=1 ttl=64 time=0.079 ms',
      '[1000.010000] no answer yet for icmp_seq=2',
      '[1000.200000] 64 bytes from 2001:db8:cafe::50: icmp_seq=3 ttl=64 time=0.081 ms',
      '3 packets transmitted, 2 received, 33.3333% packet loss, time 200ms',
    ].join('\n');
    const report = analysePing(parsePingOutput(raw), { startedMs: 999_990, stoppedMs: 1_000_300, gapThresholdMs: 50 });
    expect(report).toMatchObject({ sent: 3, received: 2, missed: 1 });
    expect(report.largestGapMs).toBeCloseTo(200, 3);
  });

  it('parses CARP over IPv6 and an unsolicited neighbour advertisement as tcpdump -e -n -tt -v -T carp prints them (carpd, lab)', () => {
    const raw = [
      '1796221269.491121 02:00:00:00:00:01 > 33:33:00:00:00:12, ethertype IPv6 (0x86dd), length 90: (flowlabel 0x4685d, hlim 255, next-header VRRP (112) payload length: 36) fe80::ff:fe00:1 > ff02::12: CARPv2-advertise 36: vhid=42 advbase=1 advskew=200 authlen=7 counter=9336018123538108433',
      '1796221269.501898 02:00:00:00:00:01 > 33:33:00:00:00:01, ethertype IPv6 (0x86dd), length 86: (flowlabel 0x2196d, hlim 255, next-header ICMPv6 (58) payload length: 32) 2001:db8:cafe::50 > ff02::1: [icmp6 sum ok] ICMP6, neighbor advertisement, length 32, tgt is 2001:db8:cafe::50, Flags [override]',
      '\t  destination link-address option (2), length 8 (1): 02:00:00:00:00:01',
      '1796221269.226402 02:00:00:00:00:02 > 02:00:00:00:00:64, ethertype IPv6 (0x86dd), length 86: (hlim 255, next-header ICMPv6 (58) payload length: 32) 2001:db8:cafe::50 > 2001:db8:cafe::100: [icmp6 sum ok] ICMP6, neighbor advertisement, length 32, tgt is 2001:db8:cafe::50, Flags [solicited, override]',
      '\t  destination link-address option (2), length 8 (1): 02:00:00:00:00:02',
      '1796221263.248874 02:00:00:00:00:02 > 33:33:00:00:00:16, ethertype IPv6 (0x86dd), length 90: (hlim 1, next-header Options (0) payload length: 36) fe80::ff:fe00:2 > ff02::16: HBH (rtalert: 0x0000) (padn) [icmp6 sum ok] ICMP6, multicast listener report v2, 1 group record(s) [gaddr ff02::1:ff00:2 to_ex, 0 source(s)]',
    ].join('\n');
    const [advert, unsolicited, solicited, report] = parseTcpdump(raw);
    expect(advert).toMatchObject({ kind: 'carp', srcIp: 'fe80::ff:fe00:1', dstIp: 'ff02::12', hopLimit: 255, nextHeader: 112, dstMac: '33:33:00:00:00:12' });
    expect(advert?.carp).toEqual({ version: 2, type: 'advertise', vhid: 42, advbase: 1, advskew: 200, authlen: 7, counter: 9336018123538108433n });
    expect(unsolicited).toMatchObject({ kind: 'ipv6', srcIp: '2001:db8:cafe::50', dstIp: 'ff02::1', hopLimit: 255, nextHeader: 58 });
    expect(unsolicited?.neighbourAdvert).toEqual({ target: '2001:db8:cafe::50', router: false, solicited: false, override: true, targetMac: '02:00:00:00:00:01' });
    expect(solicited?.neighbourAdvert).toMatchObject({ solicited: true, override: true, router: false, targetMac: '02:00:00:00:00:02' });
    expect(report).toMatchObject({ kind: 'ipv6', srcIp: 'fe80::ff:fe00:2', dstIp: 'ff02::16', hopLimit: 1, nextHeader: 0 });
    expect(report?.neighbourAdvert).toBeUndefined();
  });
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

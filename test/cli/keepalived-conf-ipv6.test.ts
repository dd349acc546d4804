// keepalived's IPv6 VRRP through the translation, as keepalived 2.2.7 takes it (see the header of
// lib/cli/keepalived-conf.ts): the family of an instance, VRRPv3 for IPv6, the addresses of the
// other family, sources, peers and groups; and the result through carpd's whole parser.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { VhostConfig } from '../../lib/config.js';
import { sourceFromLink, vhostFamily } from '../../lib/config.js';
import { parseConfigFile } from '../../lib/cli/config-file.js';
import { UsageError } from '../../lib/cli/errors.js';
import { translateKeepalivedConf, type KeepalivedTranslation } from '../../lib/cli/keepalived-conf.js';
import { configOf } from '../helpers/parse.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'keepalived');
const MAIN = '/etc/keepalived/keepalived.conf';

function translate(text: string): KeepalivedTranslation {
  return translateKeepalivedConf(MAIN, (path) => {
    if (path !== MAIN) throw new Error('ENOENT: no such file');
    return text;
  });
}

function refusal(text: string): string {
  try {
    translate(text);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toMatch(/^\/etc\/keepalived\/keepalived\.conf line \d+: /);
    return message;
  }
  throw new Error('expected the translation to be refused');
}

/** The `key = value` lines of [vhost NAME], comments dropped. */
function vhostLines(t: KeepalivedTranslation, name: string): Array<[string, string | undefined]> {
  const lines: Array<[string, string | undefined]> = [];
  let inside = false;
  for (const line of t.text.split('\n')) {
    if (line.startsWith('[')) {
      inside = line === `[vhost ${name}]`;
      continue;
    }
    if (!inside || line === '' || line.startsWith('#')) continue;
    const match = /^([a-z0-9-]+)(?: = (.*))?$/.exec(line);
    expect(match, line).not.toBeNull();
    lines.push([match![1]!, match![2]]);
  }
  return lines;
}

const values = (t: KeepalivedTranslation, name: string, key: string): Array<string | undefined> =>
  vhostLines(t, name)
    .filter(([k]) => k === key)
    .map(([, v]) => v);
const value = (t: KeepalivedTranslation, name: string, key: string): string | undefined => values(t, name, key)[0];

/** The warnings but the one about enable_script_security. */
const relevant = (t: KeepalivedTranslation): string[] => t.warnings.filter((w) => !w.includes('enable_script_security is not set'));

/** An instance whose virtual_ipaddress block holds `vips` (one per line), `extra` lines after it. */
function instance(vips: readonly string[], extra = '', name = 'VI_6'): string {
  return `vrrp_instance ${name} {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {\n${vips.map((v) => `    ${v}\n`).join('')}  }\n${extra}\n}\n`;
}
const LL_FIRST = ['fe80::51/64', '2001:db8::51/64'];

/** keepalived.conf `text` run as carpd runs it (--keepalived-conf=FILE), on a host whose eth0 has 198.18.0.1. */
function carpdVhosts(text: string): readonly VhostConfig[] {
  return configOf([`--keepalived-conf=${MAIN}`], {
    files: { [MAIN]: text, '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n' },
    interfaces: { eth0: ['198.18.0.1'], eth1: [] },
  }).vhosts;
}

describe('IPv6 instances', () => {
  it('IPv6 VIPs make a VRRPv3 vhost, link-local first kept, even with vrrp_version 2 in global_defs', () => {
    const text = `global_defs {\n  vrrp_version 2\n}\n${instance(LL_FIRST)}`;
    const t = translate(text);
    expect(relevant(t)).toEqual([]);
    expect(vhostLines(t, 'VI_6')).toEqual([
      ['interface', 'eth0'],
      ['protocol', 'vrrp3'],
      ['vhid', '51'],
      ['advert-int', '1'],
      ['priority', '100'],
      ['initial-state', 'backup'],
      ['addr', 'fe80::51/64'],
      ['addr', '2001:db8::51/64'],
    ]);
    expect(t.text).toMatch(/line 9: virtual_ipaddress is IPv6: keepalived uses VRRPv3 for IPv6 \(vrrp_version 2 at .* line 2 is for IPv4 instances\)/);
    expect(t.text).toContain('srcip: not set, keepalived sends from the link-local address of eth0, as carpd does');
    const [vhost, ...more] = carpdVhosts(text);
    expect(more).toEqual([]);
    expect(vhost!.protocol).toBe('vrrp3');
    expect(vhostFamily(vhost!)).toBe(6);
    expect(sourceFromLink(vhost!)).toBe(true);
    expect(vhost!.mcast.text).toBe('ff02::12');
    expect(vhost!.vips.map((v) => `${v.address.text}/${v.prefix}`)).toEqual(['fe80::51/64', '2001:db8::51/64']);
  });

  it('keepalived says the first IPv6 VIP should be link-local; a bare IPv6 VIP is /128', () => {
    const text = instance(['2001:db8::51']);
    const t = translate(text);
    expect(value(t, 'VI_6', 'addr')).toBe('2001:db8::51/128');
    expect(relevant(t)).toEqual([
      expect.stringMatching(/line 6: 2001:db8::51 has no prefix: \/128, as keepalived uses \(keepalived adds it deprecated/),
      expect.stringMatching(/line 6: the first IPv6 virtual_ipaddress is not link-local: keepalived says it should be/),
    ]);
    expect(carpdVhosts(text)[0]!.vips[0]!.prefix).toBe(128);
  });

  it('a label on an IPv6 VIP is ignored, as keepalived does, and never reaches carpd', () => {
    const text = instance(['fe80::51/64 label eth0:ll', '2001:db8::51/64 dev eth0 label eth0:v6']);
    const t = translate(text);
    expect(values(t, 'VI_6', 'addr')).toEqual(['fe80::51/64', '2001:db8::51/64 dev eth0']);
    expect(t.text).not.toMatch(/^addr = .*label/m);
    expect(relevant(t)).toEqual([
      expect.stringMatching(/line 6: label on the IPv6 address fe80::51\/64: ignored, as keepalived does/),
      expect.stringMatching(/line 7: label on the IPv6 address 2001:db8::51\/64: ignored, as keepalived does/),
    ]);
    expect(carpdVhosts(text)[0]!.vips.every((v) => v.label === undefined)).toBe(true);
  });

  it('version 2 after the IPv6 VIPs is ignored by keepalived: VRRPv3', () => {
    const t = translate(instance(LL_FIRST, '  version 2'));
    expect(value(t, 'VI_6', 'protocol')).toBe('vrrp3');
    expect(relevant(t)).toEqual([expect.stringMatching(/line 9: version 2 conflicts with the IPv6 instance \(.* line 6: virtual_ipaddress\): keepalived ignores it/)]);
  });

  it('version 2 before the IPv6 VIPs: refused (keepalived would send VRRPv2 over IPv6); strict mode makes it 3', () => {
    const text = instance(LL_FIRST).replace('  priority 100\n', '  priority 100\n  version 2\n');
    expect(refusal(text)).toMatch(/line 5: version 2 with the IPv6 addresses of vrrp_instance VI_6 .*: keepalived would send VRRPv2 over IPv6, which no RFC defines and carpd does not speak/);
    const strict = translate(text.replace('  version 2\n', '  version 2\n  strict_mode\n'));
    expect(value(strict, 'VI_6', 'protocol')).toBe('vrrp3');
    expect(relevant(strict)).toEqual([expect.stringMatching(/line 5: strict mode .*: IPv6 cannot use VRRP version 2: version 3, as keepalived sets it/)]);
  });

  it('native_ipv6 makes the instance IPv6 and VRRPv3, even over an earlier version 2', () => {
    const t = translate(instance(LL_FIRST).replace('  priority 100\n', '  priority 100\n  version 2\n  native_ipv6\n'));
    expect(relevant(t)).toEqual([]);
    expect(value(t, 'VI_6', 'protocol')).toBe('vrrp3');
    expect(t.text).toMatch(/line 6: native_ipv6 \(IPv6, so VRRPv3\)/);
    // After IPv4 VIPs keepalived ignores it.
    const four = translate(instance(['198.18.0.51/24'], '  native_ipv6', 'VI_4'));
    expect(value(four, 'VI_4', 'protocol')).toBe('vrrp2');
    expect(relevant(four)).toEqual([expect.stringMatching(/line 8: native_ipv6 in an IPv4 instance .*: keepalived ignores it/)]);
  });

  it('v3_checksum_as_v2 concerns IPv4 only: not written for an IPv6 instance', () => {
    const t = translate(instance(LL_FIRST, '  v3_checksum_as_v2'));
    expect(values(t, 'VI_6', 'v3-checksum-as-v2')).toEqual([]);
    expect(relevant(t)).toEqual([expect.stringMatching(/line 9: v3_checksum_as_v2 concerns IPv4 only/)]);
    expect(values(translate(`global_defs {\n  v3_checksum_as_v2\n}\n${instance(LL_FIRST)}`), 'VI_6', 'v3-checksum-as-v2')).toEqual([]);
  });

  it('more IPv6 VIPs than an advert holds at MTU 1500 (89) are excluded, as keepalived moves them', () => {
    const vips = ['fe80::51/64', ...Array.from({ length: 89 }, (_, i) => `2001:db8::${(i + 1).toString(16)}/64`)];
    const t = translate(instance(vips));
    expect(values(t, 'VI_6', 'addr')).toHaveLength(89);
    expect(values(t, 'VI_6', 'addr-excluded')).toEqual(['2001:db8::59/64']);
    expect(relevant(t)).toEqual([expect.stringMatching(/line 95: more than 89 IPv6 virtual addresses/)]);
  });
});

describe('groups, sources and peers of IPv6 instances', () => {
  it('vrrp_mcast_group6 reaches the IPv6 instances, vrrp_mcast_group4 the IPv4 ones', () => {
    const text = `global_defs {\n  vrrp_mcast_group4 224.0.0.19\n  vrrp_mcast_group6 ff02::1:12\n}\n${instance(LL_FIRST)}${instance(['198.18.0.51/24'], '', 'VI_4')}`;
    const t = translate(text);
    expect(relevant(t)).toEqual([]);
    expect(value(t, 'VI_6', 'mcast')).toBe('ff02::1:12');
    expect(value(t, 'VI_4', 'mcast')).toBe('224.0.0.19');
    expect(t.text).toMatch(/line 3: vrrp_mcast_group6\nmcast = ff02::1:12/);
    const vhosts = carpdVhosts(text);
    expect(vhosts.map((v) => [v.name, v.mcast.text])).toEqual([
      ['VI_6', 'ff02::1:12'],
      ['VI_4', '224.0.0.19'],
    ]);
  });

  it('vrrp_mcast_group6: not multicast is ignored; not link-local multicast is warned about, and used', () => {
    const t = translate(`global_defs {\n  vrrp_mcast_group6 2001:db8::12\n}\n${instance(LL_FIRST)}`);
    expect(value(t, 'VI_6', 'mcast')).toBeUndefined();
    expect(relevant(t)).toEqual([expect.stringMatching(/line 2: vrrp_mcast_group6 "2001:db8::12" is not an IPv6 multicast address: keepalived ignores it/)]);
    const site = translate(`global_defs {\n  vrrp_mcast_group6 ff05::12\n}\n${instance(LL_FIRST)}`);
    expect(value(site, 'VI_6', 'mcast')).toBe('ff05::12');
    expect(relevant(site)).toEqual([expect.stringMatching(/line 2: vrrp_mcast_group6 ff05::12 should be link-local multicast/)]);
  });

  it('mcast_dst_ip: an IPv6 link-local group is taken (the default ff02::12 is not written); others ignored', () => {
    expect(value(translate(instance(LL_FIRST, '  mcast_dst_ip ff02::1:12')), 'VI_6', 'mcast')).toBe('ff02::1:12');
    expect(value(translate(instance(LL_FIRST, '  mcast_dst_ip FF02:0::12')), 'VI_6', 'mcast')).toBeUndefined();
    const site = translate(instance(LL_FIRST, '  mcast_dst_ip ff05::12'));
    expect(value(site, 'VI_6', 'mcast')).toBeUndefined();
    expect(relevant(site)).toEqual([expect.stringMatching(/line 9: mcast_dst_ip "ff05::12" is not an IPv6 link-local multicast address \(ff02::\/16\): keepalived ignores it/)]);
    const four = translate(instance(LL_FIRST, '  mcast_dst_ip 224.0.0.19'));
    expect(value(four, 'VI_6', 'mcast')).toBeUndefined();
    expect(relevant(four)).toEqual([expect.stringMatching(/line 9: mcast_dst_ip 224.0.0.19 is IPv4 but the instance is IPv6 .*: keepalived ignores it/)]);
  });

  it('an IPv6 mcast_src_ip is the adverts\' source instead of the link-local address', () => {
    const text = instance(LL_FIRST, '  mcast_src_ip 2001:db8::11');
    expect(value(translate(text), 'VI_6', 'srcip')).toBe('2001:db8::11');
    const [vhost] = carpdVhosts(text);
    expect(sourceFromLink(vhost!)).toBe(false);
    expect(vhost!.srcip.text).toBe('2001:db8::11');
  });

  it('the IPv6 unicast fixture: srcip and peers, through carpd\'s parser', () => {
    const file = join(FIXTURES, 'ipv6-unicast.conf');
    const text = readFileSync(file, 'utf8');
    const t = translateKeepalivedConf(file, (path) => readFileSync(path, 'utf8'));
    // Unicast: keepalived does not ask for a link-local first VIP.
    expect(t.warnings).toEqual([]);
    expect(value(t, 'VI_6CLOUD', 'protocol')).toBe('vrrp3');
    expect(value(t, 'VI_6CLOUD', 'srcip')).toBe('2001:db8:62::11');
    expect(values(t, 'VI_6CLOUD', 'peer')).toEqual(['2001:db8:62::12', '2001:db8:62::13']);
    const [vhost] = carpdVhosts(text);
    expect(vhost!.peers.map((p) => p.text)).toEqual(['2001:db8:62::12', '2001:db8:62::13']);
    expect(vhost!.srcip.text).toBe('2001:db8:62::11');
  });

  it('the dual-stack fixture: an IPv4 and an IPv6 instance of one VRID in one sync group', () => {
    const file = join(FIXTURES, 'ipv6.conf');
    const t = translateKeepalivedConf(file, (path) => readFileSync(path, 'utf8'));
    expect(t.warnings).toEqual([]);
    expect(value(t, 'VI_4', 'protocol')).toBe('vrrp3');
    expect(value(t, 'VI_4', 'mcast')).toBeUndefined();
    expect(vhostLines(t, 'VI_6')).toEqual([
      ['interface', 'eth0'],
      ['protocol', 'vrrp3'],
      ['vhid', '60'],
      ['advert-int', '1'],
      ['priority', '100'],
      ['initial-state', 'backup'],
      ['mcast', 'ff02::1:12'],
      ['addr', 'fe80::60/64'],
      ['addr', '2001:db8:60::60/64 dev eth0'],
      ['addr-excluded', '2001:db8:61::60/64'],
      ['group', 'VG_DUAL'],
    ]);
    const content = parseConfigFile('/tmp/translated.conf', t.text);
    expect(content.sections.map((s) => `${s.kind} ${s.name}`)).toEqual(['vhost VI_4', 'vhost VI_6']);
    const vhosts = carpdVhosts(readFileSync(file, 'utf8'));
    expect(vhosts.map((v) => [v.name, v.protocol, vhostFamily(v), v.vhid, v.group])).toEqual([
      ['VI_4', 'vrrp3', 4, 60, 'VG_DUAL'],
      ['VI_6', 'vrrp3', 6, 60, 'VG_DUAL'],
    ]);
    expect(vhosts[1]!.excludedVips.map((v) => v.address.text)).toEqual(['2001:db8:61::60']);
  });
});

describe('what keepalived drops, or carpd cannot run, refused with one line', () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      'a dual-stack sync group at keepalived\'s default version (IPv4 VRRPv2 beside IPv6 VRRPv3)',
      `vrrp_sync_group G {\n  group {\n    VI_4\n    VI_6\n  }\n}\n${instance(['198.18.0.51/24'], '', 'VI_4')}${instance(LL_FIRST)}`,
      /line 1: vrrp_sync_group G cannot be translated: a carpd group needs one protocol, priority and advert interval for all its vhosts, but VI_4 \(.* line 7\) has vrrp2 priority 100 advert-int 1 and VI_6 \(.* line 16\) vrrp3 priority 100 advert-int 1: an IPv6 instance is always VRRPv3, so give the IPv4 ones version 3 too/,
    ],
    ['an IPv4 VIP after IPv6 ones', instance([...LL_FIRST, '198.18.0.51/24']), /line 8: virtual_ipaddress 198.18.0.51\/24 is IPv4 but vrrp_instance VI_6 is IPv6 \(.* line 6: virtual_ipaddress\): keepalived ignores it \("address family must match VRRP instance"\); write a second vrrp_instance for IPv4/],
    ['an IPv6 VIP after an IPv4 one', instance(['198.18.0.51/24', '2001:db8::51/64']), /line 7: virtual_ipaddress 2001:db8::51\/64 is IPv6 but vrrp_instance VI_6 is IPv4/],
    ['IPv6 VIPs after an IPv4 unicast_src_ip', instance(LL_FIRST).replace('  priority 100\n', '  priority 100\n  unicast_src_ip 198.18.0.11\n'), /line 7: virtual_ipaddress fe80::51\/64 is IPv6 but vrrp_instance VI_6 is IPv4 \(.* line 5: unicast_src_ip\)/],
    ['IPv4 VIPs after native_ipv6', instance(['198.18.0.51/24']).replace('  priority 100\n', '  priority 100\n  native_ipv6\n'), /line 7: virtual_ipaddress 198.18.0.51\/24 is IPv4 but vrrp_instance VI_6 is IPv6 \(.* line 5: native_ipv6\)/],
    ['an IPv4 source for IPv6 VIPs', instance(LL_FIRST, '  unicast_src_ip 198.18.0.11'), /line 9: unicast_src_ip 198.18.0.11 is IPv4 but vrrp_instance VI_6 is IPv6 .*: keepalived skips it/],
    ['an IPv4 peer of an IPv6 instance', instance(LL_FIRST, '  unicast_src_ip 2001:db8::11\n  unicast_peer {\n    198.18.0.12\n  }'), /line 11: unicast_peer 198.18.0.12 is IPv4 but vrrp_instance VI_6 is IPv6 .*: keepalived skips the peer/],
    ['IPv6 peers without unicast_src_ip', instance(LL_FIRST, '  unicast_peer {\n    2001:db8::12\n  }'), /line 10: IPv6 unicast_peer without unicast_src_ip: keepalived sends from eth0's link-local address, carpd needs the IPv6 address of eth0 the peers send to/],
    ['an IPv4 excluded address in an IPv6 instance', instance(LL_FIRST, '  virtual_ipaddress_excluded {\n    198.18.0.99/24\n  }'), /line 10: virtual_ipaddress_excluded 198.18.0.99 is IPv4 in the IPv6 vrrp_instance VI_6: .* it needs an IPv4 virtual_ipaddress beside it/],
    ['an IPv6 excluded address in an IPv4 instance', instance(['198.18.0.51/24'], '  virtual_ipaddress_excluded {\n    2001:db8::99/64\n  }'), /line 9: virtual_ipaddress_excluded 2001:db8::99 is IPv6 in the IPv4 vrrp_instance VI_6/],
    ['broadcast on an IPv6 VIP', instance(['fe80::51/64', '2001:db8::51/64 brd ::']), /line 7: brd on the IPv6 address 2001:db8::51\/64: keepalived skips the address/],
    ['an IPv6 /0', instance(['fe80::51/64', '2001:db8::51/0']), /line 7: virtual_ipaddress 2001:db8::51\/0: carpd takes IPv6 prefixes of 1 to 128/],
    ['a multicast IPv6 VIP', instance(['ff02::51']), /line 6: virtual_ipaddress ff02::51 is not a unicast IPv6 address/],
    ['an IPv6 VIP keepalived cannot read', instance(['2001:db8::51::1/64']), /line 6: virtual_ipaddress entry "2001:db8::51::1\/64" is not an IP address/],
    ['a malformed IPv6 peer', instance(LL_FIRST, '  unicast_src_ip 2001:db8::11\n  unicast_peer {\n    2001:db8::x\n  }'), /line 11: unicast_peer of VI_6 must be a unicast IPv4 or IPv6 address, got "2001:db8::x"/],
  ];
  for (const [what, text, expected] of cases) {
    it(what, () => {
      expect(refusal(text)).toMatch(expected);
    });
  }
});

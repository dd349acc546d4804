// The keepalived.conf translation against the real keepalived (Debian's 2.2.7): every fixture the
// unit tests translate is a configuration keepalived itself accepts (`keepalived -t`, its config
// test), and where the translation repeats a keepalived warning, keepalived really gives it.
// keepalived -t only reads the file, but it still runs inside a namespace this test creates, with
// veth interfaces eth0..eth2 there for the configurations to name. Needs root (`sudo npm test`):
// without it the namespace cannot be made and the tests fail loudly.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { translateKeepalivedConf } from '../../lib/cli/keepalived-conf.js';
import { NAMESPACE_PREFIX } from '../../scripts/lab/lab.js';
import { requireRoot } from '../helpers/lab.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'keepalived');
const NAMESPACE = `${NAMESPACE_PREFIX}kaconf-${process.pid}`;
let scratch = '';

beforeAll(() => {
  requireRoot();
  execFileSync('ip', ['netns', 'add', NAMESPACE]);
  for (const name of ['eth0', 'eth1', 'eth2']) {
    execFileSync('ip', ['-n', NAMESPACE, 'link', 'add', name, 'type', 'veth', 'peer', 'name', `p${name}`]);
    execFileSync('ip', ['-n', NAMESPACE, 'link', 'set', name, 'up']);
  }
  scratch = mkdtempSync(join(tmpdir(), 'carpd-kaconf-'));
});

afterAll(() => {
  spawnSync('ip', ['netns', 'del', NAMESPACE]);
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

/** keepalived's config test on FILE, from FILE's directory (as its includes expect). */
function keepalivedTest(file: string): { status: number | null; output: string } {
  const result = spawnSync(
    'ip',
    ['netns', 'exec', NAMESPACE, 'keepalived', '-t', '-l', '-n', '-D', '-f', basename(file), '-p', join(scratch, 'k.pid'), '-r', join(scratch, 'v.pid')],
    { cwd: dirname(file), encoding: 'utf8', timeout: 20_000 },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function fixtureGlob(pattern: string, relativeTo: string): string[] {
  const full = join(relativeTo, pattern);
  const re = new RegExp(`^${basename(full).replace(/\./g, '\\.').replace(/\*/g, '.*')}$`);
  return readdirSync(dirname(full))
    .filter((name) => re.test(name))
    .map((name) => join(dirname(full), name));
}

const FIXTURE_FILES = [
  'pair-v2/node-a.conf',
  'pair-v2/node-b.conf',
  'pair-v3/node-a.conf',
  'pair-v3/node-b.conf',
  'unicast.conf',
  'checks.conf',
  'sync-group.conf',
  'notify.conf',
  'lvs.conf',
  'include/keepalived.conf',
  'ipv6.conf',
  'ipv6-unicast.conf',
];

describe('the fixtures are configurations keepalived 2.2.7 accepts', () => {
  for (const name of FIXTURE_FILES) {
    it(name, () => {
      const file = join(FIXTURES, name);
      const { status, output } = keepalivedTest(file);
      expect(status, output).toBe(0);
      // And the translation reads the same file.
      expect(translateKeepalivedConf(file, (path) => readFileSync(path, 'utf8'), fixtureGlob).text).toContain('[vhost ');
    });
  }
});

describe('a warning the translation gives is one keepalived gives', () => {
  const base = (extra: string, state = 'BACKUP') =>
    `global_defs {\n  script_user root\n  enable_script_security\n}\nvrrp_instance VI_1 {\n  state ${state}\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {\n    198.18.0.100/24\n  }\n${extra}\n}\n`;
  const cases: Array<[string, string, RegExp, RegExp]> = [
    ['auth_pass over 8 bytes', base('  authentication {\n    auth_type PASS\n    auth_pass 123456789\n  }'), /Truncating auth_pass to 8 characters/, /auth_pass is longer than 8 bytes/],
    ['a fractional VRRPv2 advert_int', base('  advert_int 1.5'), /VRRPv2 advertisement interval 1\.5\d*s must be an integer\. rounding/, /must be whole seconds: 1.5 rounded to 2/],
    ['a VRRPv3 advert_int over 40.95 s', base('  version 3\n  advert_int 50'), /VRRPv3 advertisement interval 50\.00s is out of range/, /must be under 40.96 s/],
    ['VRRPv3 with authentication', base('  version 3\n  authentication {\n    auth_type PASS\n    auth_pass x\n  }'), /VRRP version 3 does not support authentication/, /VRRP version 3 has no authentication/],
    ['nopreempt with state MASTER', base('  nopreempt', 'MASTER'), /nopreempt will not work with initial state MASTER/, /nopreempt does not work with initial state MASTER/],
    ['an invalid priority', base('').replace('priority 100', 'priority 300'), /Priority not valid! must be between 1 & 255/, /priority must be from 1 to 255/],
    ['an unknown keyword', base('  priorty 90'), /Unknown keyword 'priorty'/, /unknown keyword "priorty"/],
    ['a track weight of 254', base('  track_interface {\n    eth1 weight -254\n  }'), /cannot be \+\/-254/, /cannot be -254: -253/],
    // (keepalived's "the first IPv6 VIP address should be link local" comes at run time, not with -t.)
    [
      'version 2 before IPv6 VIPs in strict mode',
      base('').replace('  priority 100\n', '  priority 100\n  version 2\n  strict_mode\n').replace('198.18.0.100/24', 'fe80::100/64'),
      /cannot use IPv6 with VRRP version 2; setting version 3/,
      /IPv6 cannot use VRRP version 2: version 3, as keepalived sets it/,
    ],
    ['version 2 after IPv6 VIPs', base('  version 2').replace('198.18.0.100/24', 'fe80::100/64'), /vrrp_version 2 conflicts with configured or deduced version/, /version 2 conflicts with the IPv6 instance/],
    ['a label on an IPv6 VIP', base('').replace('198.18.0.100/24', 'fe80::100/64 label eth0:x'), /Cannot specify label for IPv6 addresses/, /label on the IPv6 address fe80::100\/64: ignored/],
    ['native_ipv6 after IPv4 VIPs', base('  native_ipv6'), /Cannot specify native_ipv6 with IPv4 addresses/, /native_ipv6 in an IPv4 instance/],
    ['an IPv6 mcast_dst_ip not link-local', base('  mcast_dst_ip ff05::12').replace('198.18.0.100/24', 'fe80::100/64'), /mcast_dst_ip ff05::12 not link-local multicast/, /is not an IPv6 link-local multicast address/],
  ];
  for (const [what, text, keepalivedSays, weSay] of cases) {
    it(what, () => {
      const file = join(scratch, 'keepalived.conf');
      writeFileSync(file, text);
      expect(keepalivedTest(file).output).toMatch(keepalivedSays);
      const { warnings } = translateKeepalivedConf(file, (path) => readFileSync(path, 'utf8'));
      expect(warnings.join('\n')).toMatch(weSay);
    });
  }
});

describe('what the translation refuses is what keepalived drops', () => {
  const base = (vips: string, extra = '') =>
    `global_defs {\n  script_user root\n  enable_script_security\n}\nvrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {\n${vips}\n  }\n${extra}\n}\n`;
  const cases: Array<[string, string, RegExp, RegExp]> = [
    ['a VIP of the other family', base('    fe80::100/64\n    198.18.0.100/24'), /address family must match VRRP instance \[198.18.0.100\/24\] - ignoring/, /is IPv4 but vrrp_instance VI_1 is IPv6/],
    ['an IPv4 peer of an IPv6 instance', base('    fe80::100/64', '  unicast_src_ip 2001:db8::11\n  unicast_peer {\n    198.18.0.12\n  }'), /unicast peer address\s*\[198.18.0.12\] MUST be of the same family/, /unicast_peer 198.18.0.12 is IPv4/],
    ['broadcast on an IPv6 VIP', base('    fe80::100/64\n    2001:db8::100/64 brd ::'), /trying to assign a broadcast .* to the IPv6 address/, /keepalived skips the address/],
  ];
  for (const [what, text, keepalivedSays, weSay] of cases) {
    it(what, () => {
      const file = join(scratch, 'keepalived.conf');
      writeFileSync(file, text);
      expect(keepalivedTest(file).output).toMatch(keepalivedSays);
      expect(() => translateKeepalivedConf(file, (path) => readFileSync(path, 'utf8'))).toThrow(weSay);
    });
  }
});

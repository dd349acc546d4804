import { describe, expect, it } from 'vitest';
import type { Config, VhostConfig } from '../../lib/config.js';
import type { FakeSystemOptions } from '../helpers/fake-system.js';
import { configOf, usageErrorOf } from '../helpers/parse.js';

// The fake host (test/helpers/fake-system.ts): eth0 has 10.1.1.1 and 10.1.1.2, eth1 none.

/** A complete VRRPv2 command line without --srcip (VRRP takes the interface's first address). */
const VRRP2 = ['-i', 'eth0', '-v', '51', '-a', '10.1.1.252', '--protocol=vrrp2'];
const VRRP3 = ['-i', 'eth0', '-v', '51', '-a', '10.1.1.252', '--protocol=vrrp3'];
const CARP = ['-i', 'eth0', '-s', '10.1.1.1', '-v', '1', '-p', 'love', '-a', '10.1.1.252'];

const vhostOf = (argv: readonly string[], system: FakeSystemOptions = {}): VhostConfig => configOf(argv, system).vhosts[0]!;
const errorOf = (argv: readonly string[], system: FakeSystemOptions = {}): string => usageErrorOf(argv, system).message;

describe('--protocol', () => {
  it('defaults to carp, with ucarp\'s options', () => {
    expect(vhostOf(CARP)).toMatchObject({ protocol: 'carp', preempt: false, peers: [] });
  });

  it.each(['carp', 'vrrp2', 'vrrp3'])('takes %s', (protocol) => {
    const argv = protocol === 'carp' ? [...CARP, `--protocol=${protocol}`] : [...VRRP2, `--protocol=${protocol}`];
    expect(vhostOf(argv).protocol).toBe(protocol);
  });

  it.each(['vrrp', 'VRRP2', 'vrrp4', 'ucarp', ''])('refuses %j, naming the accepted values', (value) => {
    expect(errorOf([...VRRP2, `--protocol=${value}`])).toBe(`--protocol must be carp, vrrp2 or vrrp3, got ${JSON.stringify(value)}`);
  });
});

describe('--priority', () => {
  it('defaults to 100', () => {
    expect(vhostOf(VRRP2).priority).toBe(100);
  });

  it.each([1, 254, 255])('takes %i', (priority) => {
    expect(vhostOf([...VRRP2, `--priority=${priority}`]).priority).toBe(priority);
  });

  it.each(['0', '256', '-1', '1.5', '100x', '0x10', ''])('refuses %j', (value) => {
    expect(errorOf([...VRRP2, `--priority=${value}`])).toMatch(/^--priority must be an integer from 1 to 255/);
  });
});

describe('--advert-int', () => {
  it('defaults to 1 s', () => {
    expect(vhostOf(VRRP2).advertIntCs).toBe(100);
    expect(vhostOf(VRRP3).advertIntCs).toBe(100);
  });

  it.each([
    ['1', 100],
    ['2', 200],
    ['255', 25500],
  ])('VRRPv2 takes whole seconds: %s', (text, cs) => {
    expect(vhostOf([...VRRP2, `--advert-int=${text}`]).advertIntCs).toBe(cs);
  });

  it.each(['0', '256', '0.5', '1.5', '1.0', '-1', 'one'])('VRRPv2 refuses %j (keepalived rounds 0.5; carpd says so instead)', (text) => {
    expect(errorOf([...VRRP2, `--advert-int=${text}`])).toBe(
      `--advert-int must be whole seconds from 1 to 255 for VRRPv2 (VRRPv3 takes hundredths), got ${JSON.stringify(text)}`,
    );
  });

  it.each([
    ['0.01', 1],
    ['0.1', 10],
    ['0.5', 50],
    ['1', 100],
    ['1.5', 150],
    ['1.25', 125],
    ['40.95', 4095],
  ])('VRRPv3 takes hundredths from 0.01 to 40.95: %s', (text, cs) => {
    expect(vhostOf([...VRRP3, `--advert-int=${text}`]).advertIntCs).toBe(cs);
  });

  it.each(['0', '0.00', '0.001', '0.015', '40.96', '41', '100', '-0.5', '1e1', 'abc'])('VRRPv3 refuses %j', (text) => {
    expect(errorOf([...VRRP3, `--advert-int=${text}`])).toBe(
      `--advert-int must be a number of seconds from 0.01 to 40.95 for VRRPv3, got ${JSON.stringify(text)}`,
    );
  });
});

describe('--pass', () => {
  it('VRRPv2 without --pass: no authentication; with it: PASS', () => {
    expect(vhostOf(VRRP2).password.length).toBe(0);
    expect(vhostOf([...VRRP2, '--pass=secret12']).password).toEqual(Buffer.from('secret12'));
  });

  it('VRRPv2 refuses a password longer than 8 bytes (keepalived truncates; carpd refuses)', () => {
    const message = errorOf([...VRRP2, '--pass=secret123']);
    expect(message).toMatch(/^--pass must be a VRRPv2 PASS password of 1 to 8 bytes/);
    expect(message).toContain('got 9 bytes');
    expect(message).not.toContain('secret123');
    // Bytes, not characters: four 2-byte characters are 8 bytes, five are 10.
    expect(vhostOf([...VRRP2, '--pass=éééé']).password.length).toBe(8);
    expect(errorOf([...VRRP2, '--pass=ééééé'])).toContain('got 10 bytes');
  });

  it('VRRPv3 refuses --pass: it has no authentication', () => {
    expect(errorOf([...VRRP3, '--pass=x'])).toBe('--pass cannot be used with --protocol=vrrp3: VRRPv3 has no authentication (RFC 5798)');
  });

  it('CARP still requires a password', () => {
    expect(errorOf(['-i', 'eth0', '-s', '10.1.1.1', '-v', '1', '-a', '10.1.1.252'])).toMatch(/--pass or --passfile is required/);
  });
});

describe("options of the other protocol are refused", () => {
  it.each([
    ['--advbase=2'],
    ['--advskew=10'],
    ['--deadratio=4'],
    ['--passfile=/etc/carp.pass'],
  ])('VRRP refuses CARP\'s %s', (option) => {
    const name = option.slice(2, option.indexOf('='));
    for (const base of [VRRP2, VRRP3]) {
      expect(errorOf([...base, option])).toMatch(new RegExp(`^--${name} is CARP's: a vrrp[23] vhost takes --priority, --advert-int`));
    }
  });

  it.each([['--priority=150'], ['--advert-int=2'], ['--initial-state=master'], ['--v3-checksum-as-v2']])('CARP refuses VRRP\'s %s', (option) => {
    const name = option.slice(2).split('=')[0];
    expect(errorOf([...CARP, option])).toBe(`--${name} is VRRP's: add --protocol=vrrp2 or vrrp3, or use --advbase/--advskew for CARP`);
  });

  it('CARP accepts the defaults of the VRRP options (only a given option is refused)', () => {
    expect(vhostOf(CARP)).toMatchObject({ priority: 100, advertIntCs: 100, initialMaster: false, v3ChecksumAsV2: false });
  });

  it('--v3-checksum-as-v2 is VRRPv3\'s only', () => {
    expect(vhostOf([...VRRP3, '--v3-checksum-as-v2']).v3ChecksumAsV2).toBe(true);
    expect(errorOf([...VRRP2, '--v3-checksum-as-v2'])).toMatch(/^--v3-checksum-as-v2 is for --protocol=vrrp3/);
  });

  it('--initial-state takes backup or master', () => {
    expect(vhostOf([...VRRP2, '--initial-state=master']).initialMaster).toBe(true);
    expect(vhostOf([...VRRP2, '--initial-state=backup']).initialMaster).toBe(false);
    expect(errorOf([...VRRP2, '--initial-state=MASTER'])).toBe('--initial-state must be backup or master, got "MASTER"');
  });
});

describe('--srcip', () => {
  it("VRRP defaults to the interface's first address, as keepalived", () => {
    expect(vhostOf(VRRP2).srcip.text).toBe('10.1.1.1');
    expect(vhostOf(VRRP2, { interfaces: { eth0: ['10.9.9.9', '10.1.1.1'] } }).srcip.text).toBe('10.9.9.9');
  });

  it('VRRP takes another address of the interface when given', () => {
    expect(vhostOf([...VRRP2, '-s', '10.1.1.2']).srcip.text).toBe('10.1.1.2');
  });

  it('VRRP still refuses an address the interface does not have', () => {
    expect(errorOf([...VRRP2, '-s', '10.1.1.9'])).toMatch(/^--srcip must be one of eth0's IPv4 addresses \(it has 10\.1\.1\.1, 10\.1\.1\.2\)/);
  });

  it('VRRP on an interface without an address needs --srcip', () => {
    expect(errorOf(['-i', 'eth1', '-v', '51', '-a', '10.1.1.252', '--protocol=vrrp2'])).toMatch(/^--srcip is required/);
  });

  it('CARP keeps ucarp\'s rule: --srcip is required', () => {
    expect(errorOf(['-i', 'eth0', '-v', '1', '-p', 'love', '-a', '10.1.1.252'])).toMatch(/^--srcip is required/);
  });
});

describe('--peer', () => {
  it('none: multicast', () => {
    expect(vhostOf(VRRP2).peers).toEqual([]);
  });

  it('is repeatable, in order', () => {
    expect(vhostOf([...VRRP2, '--peer=10.1.1.3', '--peer', '10.1.1.4']).peers.map((p) => p.text)).toEqual(['10.1.1.3', '10.1.1.4']);
  });

  it('works for CARP vhosts too (FreeBSD\'s unicast CARP)', () => {
    expect(vhostOf([...CARP, '--peer=10.1.1.3']).peers.map((p) => p.text)).toEqual(['10.1.1.3']);
  });

  it('refuses our own address, also when --srcip is the default one', () => {
    expect(errorOf([...VRRP2, '--peer=10.1.1.1'])).toBe('--peer must be another node\'s address, not our own --srcip, got "10.1.1.1"');
    expect(errorOf([...CARP, '--peer=10.1.1.1'])).toMatch(/not our own --srcip/);
  });

  it('refuses the same peer twice', () => {
    expect(errorOf([...VRRP2, '--peer=10.1.1.3', '--peer=10.1.1.4', '--peer=10.1.1.3'])).toBe('--peer 10.1.1.3 is given twice');
  });

  it.each(['224.0.0.18', '0.0.0.1', '255.255.255.255', '10.1.1', 'node-b'])('refuses %j', (value) => {
    expect(errorOf([...VRRP2, `--peer=${value}`])).toBe(`--peer must be a unicast IPv4 or IPv6 address of another node, not our own, got ${JSON.stringify(value)}`);
  });
});

describe('preempt', () => {
  it('is on by default for VRRP (RFC 5798, keepalived) and off for CARP (ucarp)', () => {
    expect(vhostOf(VRRP2).preempt).toBe(true);
    expect(vhostOf(VRRP3).preempt).toBe(true);
    expect(vhostOf(CARP).preempt).toBe(false);
  });

  it('--no-preempt turns it off (keepalived\'s nopreempt); -P turns it on for CARP', () => {
    expect(vhostOf([...VRRP2, '--no-preempt']).preempt).toBe(false);
    expect(vhostOf([...VRRP3, '--no-preempt']).preempt).toBe(false);
    expect(vhostOf([...CARP, '-P']).preempt).toBe(true);
    expect(vhostOf([...CARP, '-P', '--no-preempt']).preempt).toBe(false);
  });
});

describe('across the vhosts of a sectioned config', () => {
  const FILE = '/etc/carpd/vrrp.conf';

  const sectionedConfig = (lines: string[]): Config => configOf([`--config=${FILE}`], { files: { [FILE]: lines.join('\n') } });
  const sectionedError = (lines: string[]): string => errorOf([`--config=${FILE}`], { files: { [FILE]: lines.join('\n') } });

  const DEFAULTS = ['interface = eth0', 'srcip = 10.1.1.1'];
  const carp = (name: string, vhid: number, addr: string, extra: string[] = []) => [`[vhost ${name}]`, `vhid = ${vhid}`, 'pass = love', `addr = ${addr}`, ...extra];
  const vrrp = (name: string, protocol: string, vhid: number, addr: string, extra: string[] = []) => [`[vhost ${name}]`, `protocol = ${protocol}`, `vhid = ${vhid}`, `addr = ${addr}`, ...extra];

  it('CARP and VRRPv2 share the vhid space of an interface: their packets look alike', () => {
    const message = sectionedError([...DEFAULTS, ...carp('c', 7, '10.1.1.50'), ...vrrp('v', 'vrrp2', 7, '10.1.1.51')]);
    expect(message).toContain('vhid 7 is already used on eth0 by [vhost c]');
    expect(message).toContain('(CARP and VRRPv2 share the id space: their packets look alike)');
  });

  it('two VRRPv2 vhosts cannot share a vhid either', () => {
    expect(sectionedError([...DEFAULTS, ...vrrp('a', 'vrrp2', 7, '10.1.1.50'), ...vrrp('b', 'vrrp2', 7, '10.1.1.51')])).toContain('vhid 7 is already used on eth0 by [vhost a]');
  });

  it('VRRPv3 has its own id space (its version byte tells its packets apart)', () => {
    const config = sectionedConfig([...DEFAULTS, ...carp('c', 7, '10.1.1.50'), ...vrrp('v3', 'vrrp3', 7, '10.1.1.51')]);
    expect(config.vhosts.map((v) => [v.name, v.protocol, v.vhid])).toEqual([
      ['c', 'carp', 7],
      ['v3', 'vrrp3', 7],
    ]);
    expect(sectionedConfig([...DEFAULTS, ...vrrp('v2', 'vrrp2', 7, '10.1.1.50'), ...vrrp('v3', 'vrrp3', 7, '10.1.1.51')]).vhosts).toHaveLength(2);
  });

  it('two VRRPv3 vhosts cannot share a vhid', () => {
    expect(sectionedError([...DEFAULTS, ...vrrp('a', 'vrrp3', 7, '10.1.1.50'), ...vrrp('b', 'vrrp3', 7, '10.1.1.51')])).toContain('vhid 7 is already used');
  });

  it('the members of a group must share protocol, priority and advert interval', () => {
    const ok = sectionedConfig([
      ...DEFAULTS,
      ...vrrp('a', 'vrrp2', 1, '10.1.1.50', ['group = g', 'priority = 150']),
      ...vrrp('b', 'vrrp2', 2, '10.1.1.51', ['group = g', 'priority = 150']),
    ]);
    expect(ok.vhosts.map((v) => v.group)).toEqual(['g', 'g']);
    expect(
      sectionedError([
        ...DEFAULTS,
        ...vrrp('a', 'vrrp2', 1, '10.1.1.50', ['group = g', 'priority = 150']),
        ...vrrp('b', 'vrrp2', 2, '10.1.1.51', ['group = g', 'priority = 100']),
      ]),
    ).toContain('group g needs one protocol, priority and advert interval for all its vhosts: [vhost a] has vrrp2 priority 150 advert-int 1, this one vrrp2 priority 100 advert-int 1');
    expect(
      sectionedError([
        ...DEFAULTS,
        ...vrrp('a', 'vrrp3', 1, '10.1.1.50', ['group = g', 'advert-int = 0.5']),
        ...vrrp('b', 'vrrp3', 2, '10.1.1.51', ['group = g', 'advert-int = 1']),
      ]),
    ).toContain('vrrp3 priority 100 advert-int 0.5, this one vrrp3 priority 100 advert-int 1');
    expect(
      sectionedError([...DEFAULTS, ...vrrp('a', 'vrrp2', 1, '10.1.1.50', ['group = g']), ...vrrp('b', 'vrrp3', 2, '10.1.1.51', ['group = g'])]),
    ).toContain('vrrp2 priority 100 advert-int 1, this one vrrp3 priority 100 advert-int 1');
  });

  it('a group cannot mix CARP and VRRP members', () => {
    const message = sectionedError([...DEFAULTS, ...carp('c', 1, '10.1.1.50', ['group = g']), ...vrrp('v', 'vrrp2', 2, '10.1.1.51', ['group = g'])]);
    expect(message).toContain('group g needs one protocol, priority and advert interval');
    expect(message).toContain('[vhost c] has advbase 1 advskew 0, this one vrrp2 priority 100 advert-int 1');
  });

  it('per-section VRRP options reach each vhost, defaults included', () => {
    const config = sectionedConfig([
      'interface = eth0',
      'protocol = vrrp3',
      'advert-int = 0.25',
      ...vrrp('a', 'vrrp3', 1, '10.1.1.50', ['priority = 200', 'peer = 10.1.1.3']),
      ...vrrp('b', 'vrrp2', 2, '10.1.1.51', ['advert-int = 2', 'no-preempt']),
    ]);
    const [a, b] = config.vhosts;
    expect([a!.protocol, a!.priority, a!.advertIntCs, a!.peers.map((p) => p.text), a!.preempt, a!.srcip.text]).toEqual(['vrrp3', 200, 25, ['10.1.1.3'], true, '10.1.1.1']);
    expect([b!.protocol, b!.priority, b!.advertIntCs, b!.peers, b!.preempt]).toEqual(['vrrp2', 100, 200, [], false]);
  });
});

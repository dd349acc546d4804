import { describe, expect, it } from 'vitest';
import { flatConfig, isDeeplyFrozen, type FlatConfig } from '../helpers/flat-config.js';
import { OPTIONS } from '../../lib/cli/options.js';
import { parseCommandLine } from '../../lib/cli/parse.js';
import { fakeSystem, type FakeSystemOptions } from '../helpers/fake-system.js';
import { configOf as rawConfigOf, usageErrorOf } from '../helpers/parse.js';

/** A complete, valid command line; tests append to it, relying on last-value-wins. */
const BASE = ['-i', 'eth0', '-s', '10.1.1.1', '-v', '1', '-p', 'love', '-a', '10.1.1.252'];

function configOf(argv: readonly string[], system: FakeSystemOptions = {}): FlatConfig {
  return flatConfig(rawConfigOf(argv, system));
}

describe('defaults', () => {
  it('fills every optional field as ucarp does, plus carpd defaults', () => {
    const config = configOf(BASE);
    expect(config).toEqual({
      interface: 'eth0',
      srcip: '10.1.1.1',
      mcast: '224.0.0.18',
      vhid: 1,
      password: Buffer.from('love'),
      preempt: false,
      neutral: false,
      vip: '10.1.1.252',
      vipPrefix: 32,
      vipLabel: undefined,
      manageVip: true,
      advbase: 1,
      advskew: 0,
      deadratio: 3,
      upscript: undefined,
      downscript: undefined,
      xparam: undefined,
      shutdown: false,
      debug: false,
      facility: 'daemon',
      daemonize: false,
      ignoreIfState: false,
      noMcast: false,
      pidfile: undefined,
      scriptTimeoutMs: 5000,
    } satisfies FlatConfig);
  });

  it('returns a frozen config whose password is a Buffer', () => {
    const config = rawConfigOf(BASE);
    expect(isDeeplyFrozen(config)).toBe(true);
    expect(Buffer.isBuffer(config.vhosts[0]!.password)).toBe(true);
  });
});

/** The four ways getopt takes a value: `-v 42`, `-v42`, `--vhid=42`, `--vhid 42`. */
function fourSpellings(letter: string, name: string, value: string): string[][] {
  return [[`-${letter}`, value], [`-${letter}${value}`], [`--${name}=${value}`], [`--${name}`, value]];
}

describe('each option reaches its Config field', () => {
  // [spellings of the same setting, field, expected value]
  const cases: Array<[string[][], keyof FlatConfig, unknown]> = [
    [fourSpellings('i', 'interface', 'lo').map((spelling) => [...spelling, '-s', '127.0.0.1']), 'interface', 'lo'],
    [fourSpellings('s', 'srcip', '10.1.1.2'), 'srcip', '10.1.1.2'],
    [[...fourSpellings('m', 'mcast', '239.1.2.3'), ['--mcastip=239.1.2.3'], ['--mcastip', '239.1.2.3']], 'mcast', '239.1.2.3'],
    [fourSpellings('v', 'vhid', '42'), 'vhid', 42],
    [fourSpellings('p', 'pass', 'hunter2'), 'password', Buffer.from('hunter2')],
    [[['-P'], ['--preempt']], 'preempt', true],
    [[['-n'], ['--neutral']], 'neutral', true],
    [fourSpellings('a', 'addr', '10.1.1.99'), 'vip', '10.1.1.99'],
    [fourSpellings('b', 'advbase', '7'), 'advbase', 7],
    [fourSpellings('k', 'advskew', '100'), 'advskew', 100],
    [fourSpellings('u', 'upscript', '/etc/vip-up.sh'), 'upscript', '/etc/vip-up.sh'],
    [fourSpellings('d', 'downscript', '/etc/vip-down.sh'), 'downscript', '/etc/vip-down.sh'],
    [fourSpellings('r', 'deadratio', '10'), 'deadratio', 10],
    [[['-D'], ['--debug']], 'debug', true],
    [[['-z'], ['--shutdown']], 'shutdown', true],
    [[['-f', 'local3'], ['-flocal3'], ['--facility=local3'], ['--facility', 'local3'], ['-f', 'LOCAL3']], 'facility', 'local3'],
    [[['-f', 'none'], ['--facility=NONE']], 'facility', 'none'],
    [[['-f', 'security']], 'facility', 'auth'],
    [[['-B'], ['--daemonize']], 'daemonize', true],
    [[['-S'], ['--ignoreifstate']], 'ignoreIfState', true],
    [[['-M'], ['--nomcast']], 'noMcast', true],
    [fourSpellings('x', 'xparam', 'extra'), 'xparam', 'extra'],
    [[['--xparam='], ['-x', '']], 'xparam', ''],
    [[['--pidfile=/run/carpd.pid'], ['--pidfile', '/run/carpd.pid']], 'pidfile', '/run/carpd.pid'],
    [[['--pidfile=carpd.pid']], 'pidfile', '/home/op/carpd.pid'],
    [[['--script-timeout=2.5'], ['--script-timeout', '2.5']], 'scriptTimeoutMs', 2500],
    [[['--script-timeout=3600']], 'scriptTimeoutMs', 3_600_000],
    [[['--script-timeout=0.001']], 'scriptTimeoutMs', 1],
    [[['--no-manage-vip']], 'manageVip', false],
    [[['--no-manage-vip', '--manage-vip'], ['--manage-vip']], 'manageVip', true],
    [[['--vip-label=eth0:carp'], ['--vip-label', 'eth0:carp']], 'vipLabel', 'eth0:carp'],
    [[['-a', '10.1.1.99/24'], ['--addr=10.1.1.99/24']], 'vipPrefix', 24],
    [[['--addr=10.1.1.99/0']], 'vipPrefix', 0],
    [[['--addr=10.1.1.99/32']], 'vipPrefix', 32],
  ];
  for (const [spellings, field, expected] of cases) {
    for (const extra of spellings) {
      it(`${extra.join(' ')} → ${field}`, () => {
        expect(configOf([...BASE, ...extra])[field]).toEqual(expected);
      });
    }
  }

  it('strips the prefix from the VIP', () => {
    expect(configOf([...BASE, '--addr=10.1.1.99/24']).vip).toBe('10.1.1.99');
  });

  it('resolves relative scripts against the working directory, as ucarp execs them', () => {
    const config = configOf([...BASE, '-u', 'up.sh', '-d', '../../etc/vip-down.sh']);
    expect(config.upscript).toBe('/home/op/up.sh');
    expect(config.downscript).toBe('/etc/vip-down.sh');
  });

  it('accepts advbase 0 with a non-zero advskew (a sub-second interval)', () => {
    const config = configOf([...BASE, '-b', '0', '-k', '128']);
    expect([config.advbase, config.advskew]).toEqual([0, 128]);
  });

  it('accepts another multicast group with --nomcast, which only changes the Ethernet destination', () => {
    const config = configOf([...BASE, '-M', '-m', '239.1.2.3']);
    expect([config.noMcast, config.mcast]).toEqual([true, '239.1.2.3']);
  });

  it('accepts a label equal to the interface name', () => {
    expect(configOf([...BASE, '--vip-label=eth0']).vipLabel).toBe('eth0');
  });
});

describe('getopt compatibility', () => {
  it('bundles flags and ends a bundle with a value letter, as getopt does', () => {
    const config = configOf([...BASE, '-PzBnDSM', '-Pv42']);
    expect(config).toMatchObject({
      preempt: true,
      shutdown: true,
      daemonize: true,
      neutral: true,
      debug: true,
      ignoreIfState: true,
      noMcast: true,
      vhid: 42,
    });
  });

  it('takes the next argument as a value even when it starts with a dash', () => {
    expect(configOf([...BASE, '-p', '-secret']).password).toEqual(Buffer.from('-secret'));
    expect(configOf([...BASE, '--pass', '--help']).password).toEqual(Buffer.from('--help'));
    expect(configOf([...BASE, '--xparam', '-x']).xparam).toBe('-x');
  });

  it('keeps values byte for byte, quotes included (yargs alone would strip them)', () => {
    expect(configOf([...BASE, '-p', '"secret"']).password).toEqual(Buffer.from('"secret"'));
    expect(configOf([...BASE, "--pass='secret'"]).password).toEqual(Buffer.from("'secret'"));
    expect(configOf([...BASE, '-x', '"a b"']).xparam).toBe('"a b"');
    expect(configOf([...BASE, '--xparam', '  spaced  ']).xparam).toBe('  spaced  ');
  });

  it('keeps "=" after the first one inside the value', () => {
    expect(configOf([...BASE, '--pass=a=b']).password).toEqual(Buffer.from('a=b'));
  });

  it('accepts unique abbreviations of long options, as getopt_long does', () => {
    const config = configOf([
      ...['--inter=eth0', '--src', '10.1.1.1', '--vh=7', '--pass=love', '--addr=10.1.1.9'],
      ...['--pre', '--mc=239.0.0.1', '--no-m'],
    ]);
    expect(config).toMatchObject({
      interface: 'eth0',
      srcip: '10.1.1.1',
      vhid: 7,
      vip: '10.1.1.9',
      preempt: true,
      mcast: '239.0.0.1',
      manageVip: false,
    });
  });

  it('mixes options and values in any order', () => {
    expect(configOf(['-a', '10.1.1.252', '-p', 'love', '-v', '1', '-s', '10.1.1.1', '-i', 'eth0']).vip).toBe('10.1.1.252');
  });

  it('lets a repeated option keep its last value, as ucarp does', () => {
    const config = configOf([...BASE, '-v', '5', '--vhid=6', '-a', '10.1.1.7', '-a', '10.1.1.8']);
    expect([config.vhid, config.vip]).toEqual([6, '10.1.1.8']);
  });
});

describe('password sources', () => {
  const files = {
    '/etc/carp.pass': 'love\nsecond line ignored\n',
    '/etc/crlf.pass': 'love\r\nsecond\r\n',
    '/etc/no-newline.pass': 'love',
    '/etc/empty.pass': '',
    '/etc/blank-first-line.pass': '\nlove\n',
    '/etc/long.pass': `${'x'.repeat(20)}\n`,
    '/etc/max.pass': `${'x'.repeat(19)}\n`,
    '/etc/utf16.pass': 'l\0o\0v\0e\0\n\0',
    '/etc/latin1.pass': 'caf\uFFFD\n',
    '/home/op/relative.pass': 'relative\n',
  };
  const withPassfile = (file: string): string[] => [...BASE.slice(0, 6), '-a', '10.1.1.252', '-o', file];

  it('reads the first line of --passfile / -o', () => {
    expect(configOf(withPassfile('/etc/carp.pass'), { files }).password).toEqual(Buffer.from('love'));
    const longForm = [...BASE.slice(0, 6), '-a', '10.1.1.252', '--passfile=/etc/carp.pass'];
    expect(configOf(longForm, { files }).password).toEqual(Buffer.from('love'));
  });

  it('reads a file without a final newline', () => {
    expect(configOf(withPassfile('/etc/no-newline.pass'), { files }).password).toEqual(Buffer.from('love'));
  });

  it('keeps the \\r of a CRLF line, as ucarp does, so both read the same key from one file', () => {
    expect(configOf(withPassfile('/etc/crlf.pass'), { files }).password).toEqual(Buffer.from('love\r'));
  });

  it('resolves a relative passfile against the working directory', () => {
    expect(configOf(withPassfile('relative.pass'), { files }).password).toEqual(Buffer.from('relative'));
  });

  it('accepts 19 bytes, counting UTF-8 bytes rather than characters', () => {
    expect(configOf(withPassfile('/etc/max.pass'), { files }).password.length).toBe(19);
    expect(configOf([...BASE, '-p', 'é'.repeat(9)]).password.length).toBe(18);
    expect(usageErrorOf([...BASE, '-p', 'é'.repeat(10)]).message).toContain('got 20 bytes');
  });

  const invalid: Array<[string, string[], string[]]> = [
    ['empty file', withPassfile('/etc/empty.pass'), ['--passfile', '/etc/empty.pass', 'empty']],
    ['empty first line', withPassfile('/etc/blank-first-line.pass'), ['--passfile', 'empty']],
    ['too long in a file', withPassfile('/etc/long.pass'), ['--passfile', '1 to 19 bytes', 'got 20 bytes']],
    ['missing file', withPassfile('/etc/nope.pass'), ['--passfile', 'readable', '/etc/nope.pass', 'ENOENT']],
    ['UTF-16 file', withPassfile('/etc/utf16.pass'), ['--passfile', 'NUL', 'UTF-16']],
    ['not UTF-8', withPassfile('/etc/latin1.pass'), ['--passfile', 'UTF-8']],
    ['both sources', [...BASE, '-o', '/etc/carp.pass'], ['--pass', '--passfile', 'both']],
    ['no source', BASE.slice(0, 6).concat(['-a', '10.1.1.252']), ['--pass or --passfile', 'required']],
    ['empty --pass', [...BASE, '--pass='], ['--pass', '1 to 19 bytes', 'empty']],
  ];
  for (const [name, argv, fragments] of invalid) {
    it(`rejects: ${name}`, () => {
      const error = usageErrorOf(argv, { files });
      for (const fragment of fragments) {
        expect(error.message).toContain(fragment);
      }
    });
  }

  it('never shows the password in a message', () => {
    const secret = 'correct-horse-battery-staple';
    const attempts = [
      [...BASE, '-p', secret],
      [...BASE, `--pass=${secret}`],
      [...BASE, '-p', `${secret} with spaces`],
      [...BASE, '-p', 'correct', 'horse', 'battery'],
      [...BASE, '-p', secret, '-o', '/etc/carp.pass'],
      [...BASE, `--passs=${secret}`],
      [...BASE, `--preempt=${secret}`],
      [...BASE, `-q${secret}`],
      [...BASE, '-p', secret, '--vhid=0'],
    ];
    for (const argv of attempts) {
      const message = usageErrorOf(argv).message;
      expect(message).not.toContain(secret);
      expect(message).not.toContain('horse');
    }
    expect(usageErrorOf(withPassfile('/etc/long.pass'), { files }).message).not.toContain('xxxxx');
  });
});

describe('invalid command lines', () => {
  // [argv, fragments the one-line message must contain]
  const cases: Array<[string[], string[]]> = [
    // vhid
    [[...BASE, '-v', '300'], ['--vhid', '1 to 255', '"300"']],
    [[...BASE, '-v', '0'], ['--vhid', '1 to 255', '"0"']],
    [[...BASE, '--vhid=1.5'], ['--vhid', '"1.5"']],
    [[...BASE, '--vhid=0x10'], ['--vhid', '"0x10"']],
    [[...BASE, '--vhid=010'], ['--vhid', '"010"']],
    [[...BASE, '--vhid=abc'], ['--vhid', '"abc"']],
    [[...BASE, '--vhid='], ['--vhid', '""']],
    [[...BASE, '--vhid=-1'], ['--vhid', '"-1"']],
    [[...BASE, '--vhid=+1'], ['--vhid', '"+1"']],
    [[...BASE, '--vhid= 1'], ['--vhid', '" 1"']],
    [[...BASE, '--vhid=1e2'], ['--vhid', '"1e2"']],
    [['-i', 'eth0', '-s', '10.1.1.1', '-p', 'love', '-a', '10.1.1.252'], ['--vhid', 'required', '1 to 255']],
    // advbase / advskew / deadratio
    [[...BASE, '-b', '256'], ['--advbase', '0 to 255', '"256"']],
    [[...BASE, '-b', '-1'], ['--advbase', '"-1"']],
    [[...BASE, '-k', '255'], ['--advskew', '0 to 254', 'bow-out', '"255"']],
    [[...BASE, '-k', '1000'], ['--advskew', '"1000"']],
    [[...BASE, '-b', '0', '-k', '0'], ['--advbase', '--advskew', 'both be 0']],
    [[...BASE, '-r', '0'], ['--deadratio', '1 to 1000', '"0"']],
    [[...BASE, '-r', '1001'], ['--deadratio', '"1001"']],
    [[...BASE, '-r', '2.5'], ['--deadratio', '"2.5"']],
    // addresses
    [[...BASE, '-s', '10.1.1'], ['--srcip', 'dotted-quad', '"10.1.1"']],
    [[...BASE, '-s', '10.1.1.01'], ['--srcip', '"10.1.1.01"']],
    [[...BASE, '-s', '10.1.1.256'], ['--srcip', '"10.1.1.256"']],
    [[...BASE, '-s', '10.1.1.1.1'], ['--srcip', '"10.1.1.1.1"']],
    [[...BASE, '-s', '10.1.1.9'], ['--srcip', "eth0's IPv4 addresses", '10.1.1.1, 10.1.1.2', '"10.1.1.9"']],
    [[...BASE, '-i', 'eth1'], ['--srcip', 'it has none', '"10.1.1.1"']],
    [['-i', 'eth0', '-v', '1', '-p', 'love', '-a', '10.1.1.252'], ['--srcip', 'required']],
    [[...BASE, '-a', '10.1.1'], ['--addr', '/prefix', '"10.1.1"']],
    [[...BASE, '-a', '10.1.1.252/33'], ['--addr', '0 to 32', '"10.1.1.252/33"']],
    [[...BASE, '-a', '10.1.1.252/'], ['--addr', '"10.1.1.252/"']],
    [[...BASE, '-a', '10.1.1.252/024'], ['--addr', '"10.1.1.252/024"']],
    [[...BASE, '-a', '10.1.1.252/24/1'], ['--addr', '"10.1.1.252/24/1"']],
    [[...BASE, '-a', '0.0.0.0'], ['--addr', 'unicast', '"0.0.0.0"']],
    [[...BASE, '-a', '224.0.0.1'], ['--addr', 'unicast', '"224.0.0.1"']],
    [[...BASE, '-a', '255.255.255.255'], ['--addr', 'unicast']],
    [[...BASE, '-a', '10.1.1.1'], ['--addr', '--srcip', '"10.1.1.1"']],
    [['-i', 'eth0', '-s', '10.1.1.1', '-v', '1', '-p', 'love'], ['--addr', 'required']],
    [[...BASE, '-m', '10.1.1.255'], ['--mcast', '224.0.0.0/4', 'add --nomcast', '"10.1.1.255"']],
    // --nomcast still joins the group, and its neighbour entry would turn a unicast host's
    // datagrams into broadcast frames: the group must be multicast with it too.
    [[...BASE, '-M', '-m', '10.1.1.255'], ['--mcast', '224.0.0.0/4', 'already sends the adverts in broadcast frames', '"10.1.1.255"']],
    [[...BASE, '-M', '-m', '255.255.255.255'], ['--mcast', '224.0.0.0/4', '"255.255.255.255"']],
    [[...BASE, '--nomcast', '-m', '240.0.0.1'], ['--mcast', '224.0.0.0/4', '"240.0.0.1"']],
    [[...BASE, '-m', '240.0.0.1'], ['--mcast', '224.0.0.0/4', '"240.0.0.1"']],
    [[...BASE, '--mcastip=224.0.0'], ['--mcast', '"224.0.0"']],
    [[...BASE, '-M', '-m', 'broadcast'], ['--mcast', 'dotted-quad', '"broadcast"']],
    // interface
    [['-s', '10.1.1.1', '-v', '1', '-p', 'love', '-a', '10.1.1.252'], ['--interface', 'required']],
    [[...BASE, '-i', 'eth9'], ['--interface', 'existing', '"eth9"']],
    [[...BASE, '-i', 'eth0:1'], ['--interface', '"eth0:1"', '--vip-label=eth0:1']],
    [[...BASE, '-i', '../../etc'], ['--interface', '"../../etc"']],
    [[...BASE, '-i', 'averyveryverylongname'], ['--interface', '15 characters']],
    [[...BASE, '-i', ''], ['--interface', '""']],
    // scripts
    [[...BASE, '-u', '/etc/missing.sh'], ['--upscript', 'executable', '"/etc/missing.sh"']],
    [[...BASE, '-d', 'down.sh'], ['--downscript', 'executable', '"down.sh"', '/home/op/down.sh']],
    [[...BASE, '--upscript='], ['--upscript', '""']],
    // facility
    [[...BASE, '-f', 'local8'], ['--facility', 'local0 to local7', 'none', '"local8"']],
    [[...BASE, '-f', 'mark'], ['--facility', '"mark"']],
    // carpd's own options
    [[...BASE, '--script-timeout=0'], ['--script-timeout', 'greater than 0', '3600', '"0"']],
    [[...BASE, '--script-timeout=3600.5'], ['--script-timeout', '"3600.5"']],
    [[...BASE, '--script-timeout=-1'], ['--script-timeout', '"-1"']],
    [[...BASE, '--script-timeout=5s'], ['--script-timeout', '"5s"']],
    [[...BASE, '--script-timeout=0.0001'], ['--script-timeout', '"0.0001"']],
    [[...BASE, '--pidfile='], ['--pidfile', '""']],
    [[...BASE, '--vip-label=carp0'], ['--vip-label', 'starting with "eth0"', '"carp0"']],
    [[...BASE, '--vip-label=eth0:0123456789a'], ['--vip-label', '15 characters', '"eth0:0123456789a"']],
    [[...BASE, '--vip-label=eth0 x'], ['--vip-label', '"eth0 x"']],
    [[...BASE, '--no-manage-vip', '--vip-label=eth0:carp'], ['--vip-label', '--no-manage-vip']],
    [[...BASE, '--manage-vip=false'], ['--manage-vip', 'takes no value', '--no-manage-vip']],
    // syntax
    [[...BASE, '--bogus'], ['unknown option --bogus']],
    [[...BASE, '--bogus=1'], ['unknown option --bogus']],
    [[...BASE, '-q'], ['unknown option -q']],
    [[...BASE, '-Pq'], ['unknown option -q']],
    [[...BASE, '--no-neutral'], ['unknown option --no-neutral']],
    [[...BASE, '--p=1'], ['--p is ambiguous', '--pass', '--passfile', '--preempt', '--pidfile']],
    [[...BASE, '--preempt=yes'], ['--preempt takes no value']],
    [[...BASE, '--pre=yes'], ['--preempt takes no value']],
    [[...BASE, 'stray'], ['unexpected argument "stray"']],
    [[...BASE, '--', '-v', '2'], ['unexpected argument "-v"']],
    [[...BASE, '-'], ['unexpected argument "-"']],
    [[...BASE, '-v'], ['--vhid needs a value', '1 to 255']],
    [[...BASE, '--vhid'], ['--vhid needs a value']],
    [[...BASE, '--pass'], ['--pass needs a value']],
  ];
  for (const [argv, fragments] of cases) {
    it(`${argv.slice(BASE.length).join(' ') || argv.join(' ')} → ${fragments[0]}`, () => {
      const error = usageErrorOf(argv);
      expect(error.exitCode).toBe(64);
      expect(error.message).not.toContain('\n');
      expect(error.message).not.toMatch(/^carpd:/);
      for (const fragment of fragments) {
        expect(error.message).toContain(fragment);
      }
    });
  }

  it('reports the first problem in argv order for syntax errors', () => {
    expect(usageErrorOf([...BASE, '--bogus', '-q']).message).toContain('--bogus');
  });
});

describe('help and version', () => {
  const system = fakeSystem({ version: '1.2.3' });

  for (const argv of [['-h'], ['--help'], ['--he'], [], [...BASE, '-h'], ['--vhid=999', '--help'], ['--bogus', '-Ph']]) {
    it(`${JSON.stringify(argv)} → help`, () => {
      expect(parseCommandLine(argv, system).kind).toBe('help');
    });
  }

  it('lists every long option, its letter and its alias', () => {
    const outcome = parseCommandLine(['--help'], system);
    if (outcome.kind !== 'help') throw new Error('no help');
    for (const option of OPTIONS) {
      expect(outcome.text).toContain(`--${option.name}`);
      if (option.short !== undefined) expect(outcome.text).toContain(`(-${option.short}`);
    }
    expect(outcome.text).toContain('--mcastip');
    expect(outcome.text).toContain('--no-manage-vip');
    expect(outcome.text).toContain('--interface=<if> (-i <if>): network interface that carries the VIP and the adverts (required)');
    expect(outcome.text).toContain('Example: two hosts');
    expect(outcome.text).toMatch(/^carpd --interface=eth0 --srcip=10\.1\.1\.1/m);
    expect(outcome.text).toContain('carpd 1.2.3');
  });

  it('--version prints the package version', () => {
    expect(parseCommandLine(['--version'], system)).toEqual({ kind: 'version', text: 'carpd 1.2.3\n' });
    expect(parseCommandLine([...BASE, '--vers'], system).kind).toBe('version');
  });
});

import { describe, expect, it } from 'vitest';
import { flatConfig, type FlatConfig } from '../helpers/flat-config.js';
import { UsageError } from '../../lib/cli/errors.js';
import { main } from '../../lib/cli/main.js';
import { parseConfigFile } from '../../lib/cli/config-file.js';
import { parseCommandLine, type ParseOutcome } from '../../lib/cli/parse.js';
import { fakeSystem, type FakeSystemOptions } from '../helpers/fake-system.js';

const FILE = '/etc/carpd/a.conf';

/** A complete instance file, as /etc/carpd/<instance>.conf would hold it. */
const COMPLETE = [
  '# carpd@a: the VIP for the web front end',
  'interface=eth0',
  'srcip 10.1.1.1',
  '  vhid = 42  ',
  '',
  'pass=love',
  'addr=10.1.1.252/24',
  'preempt',
].join('\n');

function outcomeOf(argv: readonly string[], text: string, options: FakeSystemOptions = {}): ParseOutcome {
  return parseCommandLine(argv, fakeSystem({ files: { [FILE]: text }, ...options }));
}

function configOf(argv: readonly string[], text: string, options: FakeSystemOptions = {}): FlatConfig {
  const outcome = outcomeOf(argv, text, options);
  if (outcome.kind !== 'run') throw new Error(`expected a config, got ${outcome.kind}`);
  return flatConfig(outcome.config);
}

function errorOf(argv: readonly string[], text: string): string {
  try {
    outcomeOf(argv, text);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).message;
  }
  throw new Error('expected a UsageError');
}

describe('--config file syntax', () => {
  it('reads name=value, name value, bare switches, comments and blank lines', () => {
    const config = configOf([`--config=${FILE}`], COMPLETE);
    expect(config).toMatchObject({
      interface: 'eth0',
      srcip: '10.1.1.1',
      vhid: 42,
      vip: '10.1.1.252',
      vipPrefix: 24,
      preempt: true,
    });
    expect(config.password.toString()).toBe('love');
  });

  it('keeps "#", "=", quotes and inner spaces inside a value (only whole-line comments)', () => {
    const config = configOf(['--config', FILE], `${COMPLETE}\npass = "a #b=c d"  \n`);
    expect(config.password.toString()).toBe('"a #b=c d"');
  });

  it('accepts CRLF line ends and a leading "--" before a name', () => {
    const config = configOf([`--config=${FILE}`], `${COMPLETE.replaceAll('\n', '\r\n')}\r\n--advskew=10\r\n`);
    expect(config.advskew).toBe(10);
    expect(config.password.toString()).toBe('love');
  });

  it('takes switches with yes/no, true/false, on/off, 1/0', () => {
    expect(configOf([`--config=${FILE}`], `${COMPLETE}\npreempt no\nshutdown=YES\n`)).toMatchObject({
      preempt: false,
      shutdown: true,
    });
    expect(configOf([`--config=${FILE}`], `${COMPLETE}\nmanage-vip off`).manageVip).toBe(false);
    expect(configOf([`--config=${FILE}`], `${COMPLETE}\nno-manage-vip`).manageVip).toBe(false);
    expect(configOf([`--config=${FILE}`], `${COMPLETE}\nno-manage-vip\nno-manage-vip false`).manageVip).toBe(true);
  });

  it('accepts aliases (mcastip) but not abbreviations', () => {
    expect(configOf([`--config=${FILE}`], `${COMPLETE}\nmcastip=239.1.1.1`).mcast).toBe('239.1.1.1');
    expect(errorOf([`--config=${FILE}`], `${COMPLETE}\ninter=eth0`)).toBe(
      `${FILE} line 9: unknown option "inter"; the file takes carpd's long option names in full, like interface=eth0`,
    );
  });

  it('turns every option of the table into one occurrence with its origin', () => {
    const { occurrences, holdsPassword } = parseConfigFile('/x.conf', 'vhid 3\n\n#c\nnomcast\n');
    expect(holdsPassword).toBe(false);
    expect(occurrences.map((o) => [o.option.name, o.value, o.origin])).toEqual([
      ['vhid', '3', '/x.conf line 1'],
      ['nomcast', undefined, '/x.conf line 4'],
    ]);
  });
});

describe('--config and the command line', () => {
  it('lets the command line override the file, wherever --config stands', () => {
    expect(configOf(['-k', '20', `--config=${FILE}`, '-v', '7'], `${COMPLETE}\nadvskew=10`)).toMatchObject({
      vhid: 7,
      advskew: 20,
    });
  });

  it('reads only the last --config, as for any repeated option', () => {
    const other = '/etc/carpd/b.conf';
    const config = configOf([`--config=${other}`, `--config=${FILE}`], COMPLETE, {
      files: { [FILE]: COMPLETE, [other]: 'vhid=99' },
    });
    expect(config.vhid).toBe(42);
  });

  it('resolves a relative file against the working directory', () => {
    const config = configOf(['--config=a.conf'], '', { files: { '/home/op/a.conf': COMPLETE } });
    expect(config.vhid).toBe(42);
  });

  it('names the file and line of a bad value that came from it', () => {
    expect(errorOf([`--config=${FILE}`], `${COMPLETE}\nvhid=300`)).toBe(
      `--vhid must be an integer from 1 to 255, got "300" (set in ${FILE} line 9)`,
    );
    // ...but not when the command line gave the value.
    expect(errorOf([`--config=${FILE}`, '--vhid=300'], COMPLETE)).toBe(
      '--vhid must be an integer from 1 to 255, got "300"',
    );
  });

  it('names the file for a missing required option', () => {
    expect(errorOf([`--config=${FILE}`], 'interface=eth0\nsrcip=10.1.1.1\nvhid=1\naddr=10.1.1.252')).toBe(
      '--pass or --passfile is required: a password of 1 to 19 bytes',
    );
  });

  it('never shows a password from the file, even a bad one', () => {
    const secret = 'twentybytes-too-long-secret';
    const message = errorOf([`--config=${FILE}`], `${COMPLETE}\npass=${secret}`);
    expect(message).toBe(
      `--pass must be a password of 1 to 19 bytes (ucarp's limit), got 27 bytes (set in ${FILE} line 9)`,
    );
    expect(errorOf([`--config=${FILE}`], `${COMPLETE}\n${secret}`)).not.toContain(secret);
  });
});

describe('--config errors: one line each', () => {
  const cases: [string, string][] = [
    ['frobnicate=1', `${FILE} line 1: unknown option "frobnicate"; the file takes carpd's long option names in full, like interface=eth0`],
    ['vhid', `${FILE} line 1: vhid needs a value: an integer from 1 to 255`],
    ['vhid =', `${FILE} line 1: vhid needs a value: an integer from 1 to 255`],
    ['preempt=maybe', `${FILE} line 1: preempt is a switch: write it alone or with yes or no, got "maybe"`],
    ['config=/etc/other.conf', `${FILE} line 1: "config" cannot be used in a config file`],
    ['help', `${FILE} line 1: "help" cannot be used in a config file`],
    ['=value', `${FILE} line 1: expected "name=value", "name value" or a switch name (line not shown)`],
    ['-i eth0', `${FILE} line 1: expected "name=value", "name value" or a switch name (line not shown)`],
  ];
  for (const [line, message] of cases) {
    it(`${JSON.stringify(line)} → ${message.slice(FILE.length + 1)}`, () => {
      expect(errorOf([`--config=${FILE}`], line)).toBe(message);
    });
  }

  it('reports an unreadable file', () => {
    expect(errorOf(['--config=/nonexistent.conf'], '')).toBe(
      '--config must be a readable file, got "/nonexistent.conf" (cannot read /nonexistent.conf: ENOENT: no such file or directory)',
    );
  });

  it('lets --help win over a broken config file, as over any mistake', () => {
    expect(outcomeOf(['--config=/nonexistent.conf', '--help'], '').kind).toBe('help');
  });
});

describe('password in a config file every user can read', () => {
  it('warns (on stderr, with the chmod to run) and still runs', async () => {
    let stderr = '';
    const code = await main([`--config=${FILE}`], {
      stdout: { write: () => true },
      stderr: { write: (text: string) => (stderr += text) },
      system: fakeSystem({ files: { [FILE]: COMPLETE }, modes: { [FILE]: 0o644 } }),
      runDaemon: async () => 0,
    });
    expect(code).toBe(0);
    expect(stderr).toBe(`carpd: warning: ${FILE} holds the password and every user can read it: chmod 600 ${FILE}\n`);
  });

  it('stays quiet for a 0600 file, and for a readable file without a password', () => {
    const quiet = outcomeOf([`--config=${FILE}`], COMPLETE, { modes: { [FILE]: 0o600 } });
    expect(quiet.kind === 'run' && quiet.warnings).toEqual([]);
    const noPass = outcomeOf([`--config=${FILE}`, '-p', 'love'], 'interface=eth0\nsrcip=10.1.1.1\nvhid=1\naddr=10.1.1.9', {
      modes: { [FILE]: 0o644 },
    });
    expect(noPass.kind === 'run' && noPass.warnings).toEqual([]);
  });
});

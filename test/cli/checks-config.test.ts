import { describe, expect, it } from 'vitest';
import type { Config } from '../../lib/config.js';
import { UsageError } from '../../lib/cli/errors.js';
import { parseCommandLine } from '../../lib/cli/parse.js';
import { splitWords } from '../../lib/cli/values.js';
import { fakeSystem } from '../helpers/fake-system.js';

const BASE = ['-i', 'eth0', '-s', '10.1.1.1', '-v', '1', '-p', 'love', '-a', '10.1.1.252'];
const FILE = '/etc/carpd/web.conf';

function configOf(argv: string[], files: Record<string, string> = {}): Config {
  const outcome = parseCommandLine(argv, fakeSystem({ files, executables: ['/etc/carpd/notify.sh'] }));
  if (outcome.kind !== 'run') throw new Error(outcome.kind);
  return outcome.config;
}

function errorOf(argv: string[], files: Record<string, string> = {}): string {
  try {
    configOf(argv, files);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).message;
  }
  throw new Error('expected a UsageError');
}

describe('splitWords', () => {
  it.each([
    ['test -e /run/ok', ['test', '-e', '/run/ok']],
    [`sh -c 'curl -sf http://127.0.0.1/ | grep -q ok'`, ['sh', '-c', 'curl -sf http://127.0.0.1/ | grep -q ok']],
    [`a "b c" d\\ e "q\\"x" ''`, ['a', 'b c', 'd e', 'q"x', '']],
    ['  spaced   out  ', ['spaced', 'out']],
  ])('%s', (text, words) => {
    expect(splitWords(text)).toEqual(words);
  });
  it('refuses an open quote or a trailing backslash', () => {
    expect(splitWords(`"open`)).toBeUndefined();
    expect(splitWords(`x\\`)).toBeUndefined();
  });
});

describe('checks on the command line', () => {
  it('--check with its parameters, named after its program; the timeout defaults to the interval', () => {
    const config = configOf([...BASE, '--check=/usr/bin/curl -sf http://127.0.0.1/', '--check=test -e /run/ok', '--check-interval=0.5', '--check-fall=3', '--check-rise=1', '--check-weight=20']);
    const checks = config.vhosts[0]!.checks;
    expect(checks.map((c) => [c.name, c.command, c.intervalMs, c.timeoutMs, c.fall, c.rise, c.weight])).toEqual([
      ['curl', ['/usr/bin/curl', '-sf', 'http://127.0.0.1/'], 500, 500, 3, 1, 20],
      ['test', ['test', '-e', '/run/ok'], 500, 500, 3, 1, 20],
    ]);
    expect(config.checks).toEqual(checks);
  });

  it('defaults: interval 2 s, fall 2, rise 2, weight 0; nothing tracked without --check', () => {
    expect(configOf([...BASE, '--check=true']).vhosts[0]!.checks[0]).toMatchObject({ intervalMs: 2000, timeoutMs: 2000, fall: 2, rise: 2, weight: 0 });
    expect(configOf(BASE).vhosts[0]).toMatchObject({ checks: [], trackInterfaces: [], trackFiles: [], notify: undefined, preemptDelayMs: 0 });
  });

  it('refuses bad values with one line', () => {
    expect(errorOf([...BASE, `--check=sh -c 'oops`])).toBe(
      `--check must be a command line, split into words and run without a shell (sh -c '...' for shell syntax), got "sh -c 'oops" (a quote is not closed)`,
    );
    expect(errorOf([...BASE, '--check=true', '--check-interval=0'])).toMatch(/^--check-interval must be a number of seconds from 0.01 to 3600, got "0"/);
    expect(errorOf([...BASE, '--check=true', '--check-fall=0'])).toBe('--check-fall must be an integer from 1 to 255, got "0"');
    expect(errorOf([...BASE, '--check=true', '--check-weight=255'])).toBe('--check-weight must be an integer from 0 to 254, got "255"');
  });

  it('tracked interfaces and files, notify, preempt-delay', () => {
    const config = configOf([...BASE, '--track-interface=eth1', '--track-interface=bond0 weight 30', '--track-file=maint', '--notify=/etc/carpd/notify.sh', '--preempt-delay=2.5']);
    expect(config.vhosts[0]).toMatchObject({
      trackInterfaces: [
        { name: 'eth1', weight: 0 },
        { name: 'bond0', weight: 30 },
      ],
      trackFiles: ['/home/op/maint'],
      notify: '/etc/carpd/notify.sh',
      preemptDelayMs: 2500,
    });
    expect(errorOf([...BASE, '--track-interface=eth1 weight 0'])).toMatch(/^--track-interface must be an interface name, optionally followed by "weight N"/);
    expect(errorOf([...BASE, '--track-interface=eth0'])).toBe("--track-interface eth0 is the vhost's own interface, which it follows anyway");
    expect(errorOf([...BASE, '--notify=/nope'])).toMatch(/^--notify must be an existing executable file/);
  });

  it('ucarp abbreviations still work next to carpd additions (--pre is --preempt)', () => {
    expect(configOf([...BASE, '--pre']).vhosts[0]!.preempt).toBe(true);
  });
});

describe('[check NAME] sections', () => {
  const text = [
    'interface = eth0',
    'srcip = 10.1.1.1',
    'pass = x',
    '[check nginx]',
    'command = curl -sf http://127.0.0.1/',
    'interval = 0.5',
    'fall = 3',
    '[vhost web]',
    'vhid = 1',
    'addr = 10.1.1.50',
    'track-check = nginx',
    '[vhost web6]',
    'vhid = 2',
    'addr = 10.1.1.51',
    'track-check = nginx',
  ].join('\n');

  it('a check tracked by two vhosts is one check (it runs once)', () => {
    const config = configOf([`--config=${FILE}`], { [FILE]: text });
    expect(config.checks).toHaveLength(1);
    expect(config.checks[0]).toMatchObject({ name: 'nginx', command: ['curl', '-sf', 'http://127.0.0.1/'], intervalMs: 500, fall: 3, rise: 2, weight: 0 });
    expect(config.vhosts[0]!.checks[0]).toBe(config.vhosts[1]!.checks[0]);
  });

  it('names the file and line: an unknown check, a key a [check] does not take, a check without command', () => {
    expect(errorOf([`--config=${FILE}`], { [FILE]: text.replace('track-check = nginx', 'track-check = apache') })).toBe(
      `--track-check must name a [check NAME] section, got "apache" (the file has nginx) (set in ${FILE} line 11)`,
    );
    expect(errorOf([`--config=${FILE}`], { [FILE]: text.replace('fall = 3', 'vhid = 3') })).toBe(
      `${FILE} line 7: unknown option "vhid"; a [check] section takes command, interval, timeout, fall, rise, weight`,
    );
    expect(errorOf([`--config=${FILE}`], { [FILE]: text.replace('command = curl -sf http://127.0.0.1/\n', '') })).toBe(
      `${FILE} line 4: [check nginx] has no command: give it a command = <program> [<argument>...] line`,
    );
    expect(errorOf([`--config=${FILE}`], { [FILE]: text.replace('interval = 0.5', 'interval = soon') })).toBe(
      `--check-interval must be a number of seconds from 0.01 to 3600, got "soon" (set in ${FILE} line 6)`,
    );
  });
});

describe('reload sameness with checks', () => {
  it('a [check] that only moved in the file leaves its vhosts unchanged; a changed interval does not', async () => {
    const { sameVhostConfig } = await import('../../lib/config.js');
    const text = ['interface = eth0', 'srcip = 10.1.1.1', 'pass = x', '[check nginx]', 'command = true', '[vhost web]', 'vhid = 1', 'addr = 10.1.1.50', 'track-check = nginx'].join('\n');
    const moved = `# a comment that moves every line down\n\n${text}`;
    const before = configOf([`--config=${FILE}`], { [FILE]: text }).vhosts[0]!;
    const after = configOf([`--config=${FILE}`], { [FILE]: moved }).vhosts[0]!;
    expect(before.checks[0]!.origin).not.toBe(after.checks[0]!.origin);
    expect(sameVhostConfig(before, after)).toBe(true);
    const slower = configOf([`--config=${FILE}`], { [FILE]: text.replace('command = true', 'command = true\ninterval = 5') }).vhosts[0]!;
    expect(sameVhostConfig(before, slower)).toBe(false);
  });
});

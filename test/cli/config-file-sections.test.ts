import { describe, expect, it } from 'vitest';
import { UsageError } from '../../lib/cli/errors.js';
import type { Occurrence } from '../../lib/cli/getopt.js';
import {
  PROCESS_OPTIONS,
  isSectionName,
  lineOrigin,
  parseConfigFile,
  type ConfigFileContent,
} from '../../lib/cli/config-file.js';

const FILE = '/etc/carpd/a.conf';

/** Two vhosts on one interface: the web one with two VIPs, the db one with the defaults' VIP. */
const TWO_VHOSTS = [
  '# carpd@a: two vhosts on eth0', // 1
  'interface=eth0', // 2
  'pass=love', // 3
  'addr=10.1.1.250/24', // 4
  'pidfile=/run/carpd/a.pid', // 5
  '', // 6
  '[vhost web]', // 7
  'vhid=42', // 8
  '# the web front end has two addresses', // 9
  'addr=10.1.1.252/24', // 10
  '', // 11
  'addr 10.1.1.253/24', // 12
  'preempt', // 13
  '[ vhost db ]', // 14
  'vhid 43', // 15
  'advskew=100', // 16
].join('\n');

/** [name, value, origin] of each occurrence: what a test can compare whole. */
function summary(occurrences: readonly Occurrence[]): [string, string | undefined, string | undefined][] {
  return occurrences.map((occurrence) => [occurrence.option.name, occurrence.value, occurrence.origin]);
}

function parse(text: string): ConfigFileContent {
  return parseConfigFile(FILE, text);
}

function errorOf(text: string): string {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).message;
  }
  throw new Error('expected a UsageError');
}

describe('config file sections', () => {
  it('keeps the lines before the first section as defaults, and each section its own lines', () => {
    const content = parse(TWO_VHOSTS);
    expect(content.sectioned).toBe(true);
    expect(summary(content.defaults)).toEqual([
      ['interface', 'eth0', `${FILE} line 2`],
      ['pass', 'love', `${FILE} line 3`],
      ['addr', '10.1.1.250/24', `${FILE} line 4`],
      ['pidfile', '/run/carpd/a.pid', `${FILE} line 5`],
    ]);
    expect(content.sections.map(({ kind, name, origin }) => [kind, name, origin])).toEqual([
      ['vhost', 'web', `${FILE} line 7`],
      ['vhost', 'db', `${FILE} line 14`],
    ]);
    const [web, db] = content.sections;
    expect(summary(web?.occurrences ?? [])).toEqual([
      ['vhid', '42', `${FILE} line 8`],
      ['addr', '10.1.1.252/24', `${FILE} line 10`],
      ['addr', '10.1.1.253/24', `${FILE} line 12`],
      ['preempt', undefined, `${FILE} line 13`],
    ]);
    expect(summary(db?.occurrences ?? [])).toEqual([
      ['vhid', '43', `${FILE} line 15`],
      ['advskew', '100', `${FILE} line 16`],
    ]);
  });

  it('gives old callers the defaults as `occurrences`', () => {
    const content = parse(TWO_VHOSTS);
    expect(content.occurrences).toEqual(content.defaults);
    expect(content.occurrences.map((occurrence) => occurrence.option.name)).not.toContain('vhid');
  });

  it('keeps every repeated addr, in order, in the defaults and in a section', () => {
    const content = parse('addr=10.0.0.1\naddr=10.0.0.2\n[vhost a]\naddr=10.0.0.3\naddr=10.0.0.4\naddr=10.0.0.5');
    expect(content.defaults.map((occurrence) => occurrence.value)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(content.sections[0]?.occurrences.map((occurrence) => occurrence.value)).toEqual([
      '10.0.0.3',
      '10.0.0.4',
      '10.0.0.5',
    ]);
  });

  it('reads switches with yes/no and negated forms inside a section, as before it', () => {
    const content = parse('[vhost a]\npreempt no\nno-manage-vip\nshutdown=YES');
    expect(content.sections[0]?.occurrences.map(({ option, negated }) => [option.name, negated])).toEqual([
      ['preempt', true],
      ['manage-vip', true],
      ['shutdown', false],
    ]);
  });

  it('allows an empty section and a file of sections only (the validation judges them)', () => {
    const content = parse('[vhost a]\n\n# nothing yet\n[vhost b]\nvhid=2\n');
    expect(content.sectioned).toBe(true);
    expect(content.defaults).toEqual([]);
    expect(content.occurrences).toEqual([]);
    expect(content.sections.map(({ name, occurrences }) => [name, occurrences.length])).toEqual([
      ['a', 0],
      ['b', 1],
    ]);
  });

  it('accepts blanks, tabs and CRLF around and inside a header', () => {
    const headers = ['[vhost web]', '[ vhost web ]', '  [\tvhost   web\t]  ', '[vhost web]\r'];
    for (const header of headers) {
      const content = parse(`vhid=1\r\n${header}\nvhid=2\r\n`);
      expect(content.sections.map(({ kind, name, origin }) => [kind, name, origin])).toEqual([
        ['vhost', 'web', `${FILE} line 2`],
      ]);
      expect(content.sections[0]?.occurrences.map((occurrence) => occurrence.value)).toEqual(['2']);
    }
  });

  it('takes names of 1 to 32 letters, digits, "-", "_" and "."', () => {
    const longest = 'a'.repeat(32);
    const content = parse(`[vhost x]\n[vhost Web-1_a.b]\n[vhost ${longest}]\n[vhost 7]`);
    expect(content.sections.map((section) => section.name)).toEqual(['x', 'Web-1_a.b', longest, '7']);
    expect(isSectionName(longest)).toBe(true);
    expect(isSectionName(`${longest}a`)).toBe(false);
    expect(isSectionName('')).toBe(false);
    expect(isSectionName('a b')).toBe(false);
    expect(isSectionName('a/b')).toBe(false);
  });

  it('freezes what it returns', () => {
    const content = parse(TWO_VHOSTS);
    expect(Object.isFrozen(content.defaults)).toBe(true);
    expect(Object.isFrozen(content.sections)).toBe(true);
    expect(Object.isFrozen(content.sections[0])).toBe(true);
    expect(Object.isFrozen(content.sections[0]?.occurrences)).toBe(true);
  });
});

describe('holdsPassword with sections', () => {
  it('is true when only a section sets pass', () => {
    const content = parse('interface=eth0\n[vhost a]\nvhid=1\n[vhost b]\npass=secret');
    expect(content.holdsPassword).toBe(true);
    expect(content.defaults.some((occurrence) => occurrence.option.name === 'pass')).toBe(false);
  });

  it('is true when the defaults set it, false when no line does', () => {
    expect(parse('pass=secret\n[vhost a]\nvhid=1').holdsPassword).toBe(true);
    expect(parse('passfile=/etc/carpd/a.pass\n[vhost a]\nvhid=1').holdsPassword).toBe(false);
  });
});

describe('a flat file reads as before', () => {
  const FLAT = 'interface=eth0\nvhid 3\n\n#c\npass=love\nnomcast\naddr=10.1.1.1\naddr=10.1.1.2\n';

  it('has no sections, and its defaults are its occurrences', () => {
    const content = parse(FLAT);
    expect(content.sectioned).toBe(false);
    expect(content.sections).toEqual([]);
    expect(content.holdsPassword).toBe(true);
    expect(content.defaults).toEqual(content.occurrences);
    expect(summary(content.occurrences)).toEqual([
      ['interface', 'eth0', `${FILE} line 1`],
      ['vhid', '3', `${FILE} line 2`],
      ['pass', 'love', `${FILE} line 5`],
      ['nomcast', undefined, `${FILE} line 6`],
      ['addr', '10.1.1.1', `${FILE} line 7`],
      ['addr', '10.1.1.2', `${FILE} line 8`],
    ]);
  });

  it('takes the process settings anywhere in a flat file', () => {
    const content = parse('debug\ndaemonize\nfacility=local0\npidfile=/run/a.pid');
    expect(content.occurrences.map((occurrence) => occurrence.option.name)).toEqual([
      'debug',
      'daemonize',
      'facility',
      'pidfile',
    ]);
  });
});

describe('process settings', () => {
  it('names them in PROCESS_OPTIONS', () => {
    expect([...PROCESS_OPTIONS].sort()).toEqual(['daemonize', 'debug', 'facility', 'metrics', 'pidfile', 'script-user']);
  });

  it('takes them before the first section', () => {
    const defaults = 'debug\ndaemonize\nfacility=local0\npidfile=/run/a.pid\nmetrics=127.0.0.1:9650';
    const content = parse(`${defaults}\n[vhost a]\nvhid=1`);
    expect(content.defaults.map((occurrence) => occurrence.option.name)).toEqual([
      'debug',
      'daemonize',
      'facility',
      'pidfile',
      'metrics',
    ]);
  });

  const inSection: [string, string][] = [
    ['debug', 'debug'],
    ['metrics=127.0.0.1:9650', 'metrics'],
    ['daemonize yes', 'daemonize'],
    ['facility=local0', 'facility'],
    ['pidfile=/run/carpd/a.pid', 'pidfile'],
  ];
  for (const [line, name] of inSection) {
    it(`refuses ${JSON.stringify(line)} inside a section, naming file, line and key`, () => {
      expect(errorOf(`interface=eth0\n\n[vhost web]\nvhid=1\n${line}`)).toBe(
        `${FILE} line 5: "${name}" is a process setting: put it before the first [vhost] section`,
      );
    });
  }

  it('refuses them in a later section too', () => {
    expect(errorOf('[vhost a]\nvhid=1\n[vhost b]\nvhid=2\n\n\npidfile=/run/a.pid')).toBe(
      `${FILE} line 7: "pidfile" is a process setting: put it before the first [vhost] section`,
    );
  });
});

describe('section errors: one line each, naming file, line and key', () => {
  const cases: [string, string][] = [
    // A malformed header is not echoed: it may be a password.
    ['[vhost web', `${FILE} line 3: expected a section header like [vhost web] (line not shown)`],
    ['[vhost web] # web', `${FILE} line 3: expected a section header like [vhost web] (line not shown)`],
    ['[]', `${FILE} line 3: empty section header "[]"; sections are [vhost NAME] or [check NAME]`],
    ['[   ]', `${FILE} line 3: empty section header "[]"; sections are [vhost NAME] or [check NAME]`],
    ['[host web]', `${FILE} line 3: unknown section kind "host"; sections are [vhost NAME] or [check NAME]`],
    ['[probe ping]', `${FILE} line 3: unknown section kind "probe"; sections are [vhost NAME] or [check NAME]`],
    ['[VHOST web]', `${FILE} line 3: unknown section kind "VHOST"; sections are [vhost NAME] or [check NAME]`],
    ['[vhost]', `${FILE} line 3: [vhost] needs a name, like [vhost web]: letters, digits, "-", "_" or ".", at most 32`],
    ['[ vhost ]', `${FILE} line 3: [vhost] needs a name, like [vhost web]: letters, digits, "-", "_" or ".", at most 32`],
    [
      '[vhost web front]',
      `${FILE} line 3: the vhost name must be letters, digits, "-", "_" or ".", at most 32, got "web front"`,
    ],
    [
      '[vhost web/1]',
      `${FILE} line 3: the vhost name must be letters, digits, "-", "_" or ".", at most 32, got "web/1"`,
    ],
    [
      '[vhost [web]]',
      `${FILE} line 3: the vhost name must be letters, digits, "-", "_" or ".", at most 32, got "[web]"`,
    ],
    [
      `[vhost ${'a'.repeat(33)}]`,
      `${FILE} line 3: the vhost name must be letters, digits, "-", "_" or ".", at most 32, got "${'a'.repeat(33)}"`,
    ],
  ];
  for (const [header, message] of cases) {
    it(`${JSON.stringify(header)} → ${message.slice(FILE.length + 1)}`, () => {
      expect(errorOf(`interface=eth0\n\n${header}\nvhid=1`)).toBe(message);
    });
  }

  it('does not echo a lone bracketed word: it may be a password', () => {
    const message = errorOf('interface=eth0\n[hunter2]');
    expect(message).toBe(
      `${FILE} line 2: unknown section kind a word (not shown: it may be a password); sections are [vhost NAME] or [check NAME]`,
    );
    expect(message).not.toContain('hunter2');
    expect(errorOf('[hunter2')).not.toContain('hunter2');
  });

  it('names where the first of two sections of one name is', () => {
    expect(errorOf('interface=eth0\n[vhost web]\nvhid=1\n[vhost db]\nvhid=2\n[ vhost web ]\nvhid=3')).toBe(
      `${FILE} line 6: a second [vhost web] section; the first is at line 2`,
    );
  });

  it('tells names apart by case', () => {
    expect(parse('[vhost web]\n[vhost Web]').sections.map((section) => section.name)).toEqual(['web', 'Web']);
  });
});

describe('option errors inside a section read as before it', () => {
  const cases: [string, string][] = [
    ['frobnicate=1', `${FILE} line 3: unknown option "frobnicate"; the file takes carpd's long option names in full, like interface=eth0`],
    ['inter=eth0', `${FILE} line 3: unknown option "inter"; the file takes carpd's long option names in full, like interface=eth0`],
    ['vhid', `${FILE} line 3: vhid needs a value: an integer from 1 to 255`],
    ['preempt=maybe', `${FILE} line 3: preempt is a switch: write it alone or with yes or no, got "maybe"`],
    ['config=/etc/other.conf', `${FILE} line 3: "config" cannot be used in a config file`],
    ['help', `${FILE} line 3: "help" cannot be used in a config file`],
    ['version', `${FILE} line 3: "version" cannot be used in a config file`],
    ['=value', `${FILE} line 3: expected "name=value", "name value" or a switch name (line not shown)`],
  ];
  for (const [line, message] of cases) {
    it(`${JSON.stringify(line)} → ${message.slice(FILE.length + 1)}`, () => {
      expect(errorOf(`interface=eth0\n[vhost web]\n${line}`)).toBe(message);
    });
  }

  it('never echoes a lone unknown word in a section: it may be a password', () => {
    const secret = 'twentybytes-too-long-secret';
    const message = errorOf(`[vhost web]\nvhid=1\n${secret}`);
    expect(message).toBe(
      `${FILE} line 3: unknown option a word (not shown: it may be a password); ` +
        "the file takes carpd's long option names in full, like interface=eth0",
    );
    expect(message).not.toContain(secret);
    expect(errorOf(`[vhost web]\n--${secret}`)).not.toContain(secret);
    expect(errorOf(`[vhost web]\n"${secret} x"`)).not.toContain(secret);
  });
});

describe('lineOrigin', () => {
  it('is the origin every occurrence and message uses', () => {
    expect(lineOrigin(FILE, 7)).toBe(`${FILE} line 7`);
    expect(parse('\n\n[vhost a]').sections[0]?.origin).toBe(lineOrigin(FILE, 3));
  });
});

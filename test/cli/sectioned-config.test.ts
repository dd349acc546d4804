import { describe, expect, it } from 'vitest';
import type { Config } from '../../lib/config.js';
import { configOf as parsedConfig, usageErrorOf } from '../helpers/parse.js';

const FILE = '/etc/carpd/pair.conf';

const PAIR = [
  '# defaults',
  'interface = eth0',
  'srcip = 10.1.1.1',
  'pass = secret',
  'advskew = 10',
  '[vhost web]',
  'vhid = 10',
  'addr = 10.1.1.50/24',
  'addr = 10.1.1.51',
  '[vhost db]',
  'vhid = 11',
  'advskew = 100',
  'addr = 10.1.1.60',
  'preempt',
].join('\n');

const configOf = (text: string, argv: string[] = []): Config => parsedConfig([`--config=${FILE}`, ...argv], { files: { [FILE]: text } });
const errorOf = (text: string, argv: string[] = []): string => usageErrorOf([`--config=${FILE}`, ...argv], { files: { [FILE]: text } }).message;

describe('a sectioned config', () => {
  it('gives each [vhost] the defaults, its own lines over them, and several VIPs', () => {
    const config = configOf(PAIR);
    expect(config.process).toMatchObject({ sectioned: true, configFile: FILE, debug: false });
    expect(config.vhosts.map((v) => [v.name, v.vhid, v.advskew, v.preempt, v.srcip.text, v.interface])).toEqual([
      ['web', 10, 10, false, '10.1.1.1', 'eth0'],
      ['db', 11, 100, true, '10.1.1.1', 'eth0'],
    ]);
    expect(config.vhosts[0]!.vips.map((v) => `${v.address.text}/${v.prefix}`)).toEqual(['10.1.1.50/24', '10.1.1.51/32']);
    expect(config.vhosts[0]!.password.toString()).toBe('secret');
  });

  it("a section's addr lines replace the defaults' addr", () => {
    const config = configOf(['interface=eth0', 'srcip=10.1.1.1', 'pass=x', 'addr=10.1.1.99', '[vhost a]', 'vhid=1', '[vhost b]', 'vhid=2', 'addr=10.1.1.98'].join('\n').replace('[vhost a]\nvhid=1', '[vhost a]\nvhid=1\naddr=10.1.1.97'));
    expect(config.vhosts.map((v) => v.vips.map((vip) => vip.address.text))).toEqual([['10.1.1.97'], ['10.1.1.98']]);
  });

  it('the command line overrides every vhost, but cannot set vhid or addr for all', () => {
    const config = configOf(PAIR, ['--advskew=200', '--debug']);
    expect(config.vhosts.map((v) => v.advskew)).toEqual([200, 200]);
    expect(config.process.debug).toBe(true);
    expect(errorOf(PAIR, ['--vhid=3'])).toBe(
      `--vhid cannot be given on the command line with a sectioned config (${FILE}): set it in each [vhost] section`,
    );
  });

  it('refuses, naming the file and line: a vhost without addr', () => {
    expect(errorOf(['interface=eth0', 'srcip=10.1.1.1', 'pass=x', '[vhost lonely]', 'vhid=1'].join('\n'))).toBe(
      `${FILE} line 4: [vhost lonely] has no addr: give it at least one addr = <ip>[/<prefix>] line`,
    );
  });

  it('refuses a duplicate vhid on one interface, naming both sections', () => {
    const text = PAIR.replace('vhid = 11', 'vhid = 10');
    expect(errorOf(text)).toBe(
      `${FILE} line 10 [vhost db]: vhid 10 is already used on eth0 by [vhost web] (${FILE} line 6): a vhid is unique per interface`,
    );
  });

  it('refuses one VIP in two vhosts', () => {
    expect(errorOf(PAIR.replace('addr = 10.1.1.60', 'addr = 10.1.1.51'))).toMatch(
      /line 10 \[vhost db\]: addr 10\.1\.1\.51 is already a VIP of \[vhost web\]/,
    );
  });

  it('refuses a bad value in a section with the line it came from', () => {
    expect(errorOf(PAIR.replace('vhid = 11', 'vhid = 300'))).toBe(
      `--vhid must be an integer from 1 to 255, got "300" (set in ${FILE} line 11)`,
    );
  });

  it('refuses a VIP given twice in one vhost', () => {
    expect(errorOf(PAIR.replace('addr = 10.1.1.51', 'addr = 10.1.1.50'))).toBe(`${FILE} line 6: addr 10.1.1.50 is given twice (again in ${FILE} line 9)`);
  });

  it('groups: members must advertise alike, or the group could be preferred on both nodes', () => {
    const grouped = PAIR.replace('vhid = 10', 'vhid = 10\ngroup = router').replace('vhid = 11', 'vhid = 11\ngroup = router');
    expect(errorOf(grouped)).toMatch(/group router needs one advbase and advskew for all its vhosts: \[vhost web\] has advbase 1 advskew 10, this one advbase 1 advskew 100/);
    const config = configOf(grouped.replace('advskew = 100\n', ''));
    expect(config.vhosts.map((v) => v.group)).toEqual(['router', 'router']);
    expect(errorOf(grouped.replace('group = router', 'group = a b'))).toMatch(/--group must be a group name/);
  });

  it('a flat file and a command line give one vhost named after interface and vhid', () => {
    const flat = configOf('interface=eth0\nsrcip=10.1.1.1\nvhid=42\npass=x\naddr=10.1.1.252');
    expect(flat.process.sectioned).toBe(false);
    expect(flat.vhosts.map((v) => v.name)).toEqual(['eth0-vhid42']);
  });

  it('--metrics takes an address and a port', () => {
    expect(configOf(PAIR, ['--metrics=127.0.0.1:9650']).process.metrics).toEqual({ host: '127.0.0.1', port: 9650 });
    expect(configOf(PAIR, ['--metrics=[::1]:9650']).process.metrics).toEqual({ host: '::1', port: 9650 });
    expect(errorOf(PAIR, ['--metrics=127.0.0.1:70000'])).toMatch(/^--metrics must be an address and a port/);
    expect(errorOf(PAIR, ['--metrics=300.1.1.1:80'])).toMatch(/^--metrics must be/);
  });
});

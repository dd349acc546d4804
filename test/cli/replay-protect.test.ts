// --replay-protect (config key replay-protect): CARP only, off by default.
import { describe, expect, it } from 'vitest';
import type { VhostConfig } from '../../lib/config.js';
import type { FakeSystemOptions } from '../helpers/fake-system.js';
import { configOf, usageErrorOf } from '../helpers/parse.js';

const CARP = ['-i', 'eth0', '-s', '10.1.1.1', '-v', '1', '-p', 'love', '-a', '10.1.1.252'];
const FILE = '/etc/carpd/a.conf';

const vhostsOf = (argv: readonly string[], system: FakeSystemOptions = {}): readonly VhostConfig[] => configOf(argv, system).vhosts;
const errorOf = (argv: readonly string[], system: FakeSystemOptions = {}): string => usageErrorOf(argv, system).message;

describe('--replay-protect', () => {
  it('is off by default, as ucarp has no such check', () => {
    expect(vhostsOf(CARP)[0]!.replayProtect).toBe(false);
  });

  it('turns it on for a CARP vhost, on the command line and as a config-file key', () => {
    expect(vhostsOf([...CARP, '--replay-protect'])[0]!.replayProtect).toBe(true);
    const text = ['interface=eth0', 'srcip=10.1.1.1', 'pass=love', 'replay-protect', '[vhost web]', 'vhid=42', 'addr=10.1.1.252', '[vhost db]', 'vhid=43', 'addr=10.1.1.253'].join('\n');
    expect(vhostsOf([`--config=${FILE}`], { files: { [FILE]: text } }).map((v) => v.replayProtect)).toEqual([true, true]);
  });

  it.each([
    ['vrrp2', /^--replay-protect is for CARP: VRRPv2 adverts carry no counter \(PASS is a plain-text password, not a digest\), so a replayed one cannot be told from a fresh one$/],
    ['vrrp3', /^--replay-protect is for CARP: VRRPv3 adverts carry no counter and no digest, so a replayed one cannot be told from a fresh one$/],
  ])('is refused for a %s vhost, in one line that says why', (protocol, message) => {
    expect(errorOf(['-i', 'eth0', '-v', '51', '-a', '10.1.1.252', `--protocol=${protocol}`, '--replay-protect'])).toMatch(message);
  });
});

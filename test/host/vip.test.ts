import { beforeAll, describe, expect, it } from 'vitest';
import { VipManager } from '../../lib/host/vip.js';
import { useNamespaceSet } from '../helpers/lab.js';
import { RecordingLogger } from './helpers.js';

// Real `ip addr` in namespaces this file creates (scripts/lab's NamespaceSet, 198.18.0.0/15 only).
const getLab = useNamespaceSet();
let ns: string;
const IF = 'vip0';
const VIP = '198.18.0.50';

beforeAll(async () => {
  const lab = getLab();
  ns = await lab.add('a');
  const peer = await lab.add('b');
  await lab.veth(ns, IF, peer, 'vip1');
  await lab.addr(ns, IF, '198.18.0.1/24');
});

function manager(log: RecordingLogger, options: Partial<ConstructorParameters<typeof VipManager>[0]> = {}): VipManager {
  return new VipManager({ interface: IF, vip: VIP, prefix: 32, log, commandPrefix: ['ip', 'netns', 'exec', ns], ...options });
}

describe('VipManager in a network namespace', () => {
  it('adding twice leaves one address, and both calls succeed', async () => {
    const log = new RecordingLogger();
    const vip = manager(log);
    expect(await vip.isPresent()).toBe(false);
    expect(await vip.add()).toBe(true);
    expect(await vip.add()).toBe(true);
    expect((await getLab().addresses(ns, IF)).filter((a) => a.startsWith(`${VIP}/`))).toEqual([`${VIP}/32`]);
    expect(await vip.isPresent()).toBe(true);
    expect(log.at('error')).toEqual([]);
    expect(log.at('warn')).toEqual([]);
    expect(log.at('debug')).toContain(`${VIP}/32 already on ${IF}`);
  });

  it('removing twice is fine, and leaves the interface\'s own address alone', async () => {
    const log = new RecordingLogger();
    const vip = manager(log);
    expect(await vip.remove()).toBe(true);
    expect(await vip.remove()).toBe(true);
    expect((await getLab().addresses(ns, IF))).toEqual(['198.18.0.1/24']);
    expect(await vip.isPresent()).toBe(false);
    expect(log.at('error')).toEqual([]);
    expect(log.at('debug')).toContain(`${VIP}/32 not on ${IF}, nothing to remove`);
  });

  it('removeStale() removes the VIP whatever its prefix length, and nothing else', async () => {
    await getLab().addr(ns, IF, `${VIP}/24`);
    await getLab().addr(ns, IF, `${VIP}/32`);
    await getLab().addr(ns, IF, '198.18.0.51/32');
    const log = new RecordingLogger();
    const vip = manager(log, { prefix: 28 });
    expect(await vip.removeStale()).toBe(2);
    expect((await getLab().addresses(ns, IF)).sort()).toEqual(['198.18.0.1/24', '198.18.0.51/32']);
    expect(await vip.removeStale()).toBe(0);
    await getLab().ip(ns, ['addr', 'del', '198.18.0.51/32', 'dev', IF]);
    expect(log.at('error')).toEqual([]);
  });

  it('adds with a label and another prefix length', async () => {
    const log = new RecordingLogger();
    const vip = manager(log, { prefix: 24, label: `${IF}:ucarp` });
    expect(await vip.add()).toBe(true);
    const info = JSON.parse(await getLab().ip(ns, ['-j', '-4', 'addr', 'show', 'dev', IF])) as Array<{ addr_info: Array<{ local: string; prefixlen: number; label: string }> }>;
    expect(info[0]!.addr_info.find((a) => a.local === VIP)).toMatchObject({ prefixlen: 24, label: `${IF}:ucarp` });
    expect(await vip.remove()).toBe(true);
    expect(await vip.isPresent()).toBe(false);
  });

  it('logs any other failure in one line with ip\'s message, and returns false', async () => {
    const log = new RecordingLogger();
    const vip = manager(log, { interface: 'nosuch0' });
    expect(await vip.add()).toBe(false);
    expect(await vip.remove()).toBe(false);
    const errors = log.at('error');
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBe(`cannot add ${VIP}/32 on nosuch0: ip -4 addr add ${VIP}/32 dev nosuch0: exit status 1: Cannot find device "nosuch0"`);
    expect(errors[1]).toMatch(/^cannot remove 198\.18\.0\.50\/32 on nosuch0: .*Cannot find device "nosuch0"$/);
    expect(await vip.isPresent()).toBe(false);
    expect(await vip.removeStale()).toBe(0);
  });

  it('rejects bad options with one message naming the option', () => {
    const log = new RecordingLogger();
    expect(() => manager(log, { vip: '198.18.0.256' })).toThrow('vip must be an IPv4 or IPv6 address, got "198.18.0.256"');
    expect(() => manager(log, { prefix: 33 })).toThrow('prefix must be an integer from 0 to 32, got 33');
    expect(() => manager(log, { interface: 'eth0; rm -rf /' })).toThrow(/^interface must be a network interface name/);
  });
});

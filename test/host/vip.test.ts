import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { VipManager } from '../../lib/host/vip.js';
import { useNamespaceSet } from '../helpers/lab.js';
import { inNamespaceWithHostIo, RecordingLogger } from './helpers.js';

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

// The daemon's path: the same changes over carpd's own rtnetlink socket (lib/host/host-io.ts),
// made by a Node process inside the namespace.
describe('VipManager over rtnetlink (HostIo), in a network namespace', () => {
  const ipJson = (family: '-4' | '-6') => {
    const r = spawnSync('ip', ['netns', 'exec', ns, 'ip', '-j', family, 'addr', 'show', 'dev', IF], { encoding: 'utf8' });
    return (JSON.parse(r.stdout) as Array<{ addr_info: Array<Record<string, unknown>> }>).flatMap((l) => l.addr_info);
  };

  it('adds with a label, twice without harm; removes, twice without harm; each change in place when the call returns', () => {
    const { result, lines } = inNamespaceWithHostIo(
      ns,
      `const m = new VipManager({ interface: ${JSON.stringify(IF)}, vip: ${JSON.stringify(VIP)}, prefix: 24, label: 'vip0:carp', log });
       const { execFileSync } = await import('node:child_process');
       const listed = () => execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', ${JSON.stringify(IF)}], { encoding: 'utf8' });
       const added = await m.add();
       const afterAdd = listed();
       const again = await m.add();
       const removed = await m.remove();
       const afterRemove = listed();
       const removedAgain = await m.remove();
       return { added, again, removed, removedAgain, afterAdd, afterRemove };`,
    );
    const r = result as Record<string, string | boolean>;
    expect([r.added, r.again, r.removed, r.removedAgain]).toEqual([true, true, true, true]);
    expect(r.afterAdd).toMatch(new RegExp(`inet ${VIP}/24 .*vip0:carp`));
    expect(r.afterRemove).not.toContain(VIP);
    // The change went over netlink: no fallback to ip, no error.
    expect(lines.filter((l) => !l.startsWith('debug'))).toEqual([]);
    expect(ipJson('-4').some((a) => a.local === VIP)).toBe(false);
  });

  it('IPv6 off on the interface (as the lab leaves it): one error line that says so', () => {
    const { result, lines } = inNamespaceWithHostIo(ns, `return await new VipManager({ interface: ${JSON.stringify(IF)}, vip: '2001:db8:5::50', prefix: 64, log }).add();`);
    expect(result).toBe(false);
    expect(lines.filter((l) => !l.startsWith('debug'))).toEqual([
      `error cannot add 2001:db8:5::50/64 on ${IF}: rtnetlink RTM_NEWADDR: permission denied (EACCES) (is IPv6 disabled? net.ipv6.conf.${IF}.disable_ipv6)`,
    ]);
  });

  it('IPv6: added nodad (usable at once, never tentative), then removed', () => {
    spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `net.ipv6.conf.${IF}.disable_ipv6=0`]);
    const { result, lines } = inNamespaceWithHostIo(
      ns,
      `const m = new VipManager({ interface: ${JSON.stringify(IF)}, vip: '2001:db8:5::50', prefix: 64, log });
       const { execFileSync } = await import('node:child_process');
       const added = await m.add();
       const shown = execFileSync('ip', ['-6', '-o', 'addr', 'show', 'dev', ${JSON.stringify(IF)}], { encoding: 'utf8' });
       const removed = await m.remove();
       return { added, shown, removed };`,
    );
    const r = result as { added: boolean; shown: string; removed: boolean };
    expect(r.added, lines.join('\n')).toBe(true);
    expect(r.shown).toMatch(/inet6 2001:db8:5::50\/64 .*nodad/);
    expect(r.shown).not.toMatch(/2001:db8:5::50.*tentative/);
    expect(r.removed).toBe(true);
    expect(lines.filter((l) => !l.startsWith('debug'))).toEqual([]);
    expect(ipJson('-6').some((a) => a.local === '2001:db8:5::50')).toBe(false);
  });

  it('a missing interface and a refused change are one error line each and false, with no fallback to ip', () => {
    const { result, lines } = inNamespaceWithHostIo(
      ns,
      `const missing = await new VipManager({ interface: 'nope0', vip: ${JSON.stringify(VIP)}, prefix: 32, log }).add();
       // The kernel refuses a /33: RTM_NEWADDR's prefix length is checked before anything changes.
       const refused = io.address('add', ipv4(${JSON.stringify(VIP)}), 33, ${JSON.stringify(IF)});
       return { missing, refused };`,
    );
    const r = result as { missing: boolean; refused: { kind: string; reason: string } };
    expect(r.missing).toBe(false);
    expect(lines.filter((l) => l.startsWith('error'))).toEqual([`error cannot add ${VIP}/32 on nope0: there is no interface nope0`]);
    expect(r.refused.kind).toBe('failed');
    expect(r.refused.reason).toMatch(/^rtnetlink RTM_NEWADDR: .* \(EINVAL\)$/);
  });
});

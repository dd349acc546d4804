// Every example config is read by the real CLI: an example that no longer parses is a bug.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../lib/cli/parse.js';
import { fakeSystem } from './helpers/fake-system.js';

const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));

/** Each node's own addresses, as its interfaces would hold them. */
const NODES: Record<string, Record<string, string[]>> = {
  'active-active/node1.conf': { eth0: ['198.18.0.1'] },
  'active-active/node2.conf': { eth0: ['198.18.0.2'] },
  'router-pair/node1.conf': { eth0: ['198.51.100.2'], eth1: ['203.0.113.2'] },
  'router-pair/node2.conf': { eth0: ['198.51.100.3'], eth1: ['203.0.113.3'] },
  'carpd.conf': { eth0: ['10.1.1.1'] },
};

function configOf(relative: string) {
  const path = `/etc/carpd/${relative.replace('/', '-')}`;
  const outcome = parseCommandLine(
    [`--config=${path}`],
    fakeSystem({ interfaces: NODES[relative]!, files: { [path]: readFileSync(`${EXAMPLES}${relative}`, 'utf8') } }),
  );
  if (outcome.kind !== 'run') throw new Error(outcome.kind);
  return outcome.config;
}

describe('examples/', () => {
  it('lists every example config here', () => {
    const found = ['carpd.conf', ...['active-active', 'router-pair'].flatMap((d) => readdirSync(`${EXAMPLES}${d}`).map((f) => `${d}/${f}`))];
    expect(found.sort()).toEqual(Object.keys(NODES).sort());
  });

  it('active/active: each node is the faster one for one of the two VIPs', () => {
    const [n1, n2] = ['active-active/node1.conf', 'active-active/node2.conf'].map(configOf);
    const skews = (c: ReturnType<typeof configOf>) => c.vhosts.map((v) => [v.name, v.vhid, v.vips[0]!.address.text, v.advskew, v.preempt]);
    expect(skews(n1!)).toEqual([
      ['web', 10, '198.18.0.50', 0, true],
      ['db', 11, '198.18.0.51', 100, true],
    ]);
    expect(skews(n2!)).toEqual([
      ['web', 10, '198.18.0.50', 100, true],
      ['db', 11, '198.18.0.51', 0, true],
    ]);
  });

  it('router pair: one group over two interfaces, the same vhid on each, three VIPs', () => {
    const [n1, n2] = ['router-pair/node1.conf', 'router-pair/node2.conf'].map(configOf);
    for (const config of [n1!, n2!]) {
      expect(config.vhosts.map((v) => [v.name, v.interface, v.vhid, v.group, v.vips.length])).toEqual([
        ['inside', 'eth0', 1, 'router', 1],
        ['outside', 'eth1', 1, 'router', 2],
      ]);
    }
    expect(n1!.vhosts.map((v) => v.advskew)).toEqual([0, 0]);
    expect(n2!.vhosts.map((v) => v.advskew)).toEqual([100, 100]);
  });

  it('the flat carpd.conf is one vhost, as before', () => {
    expect(configOf('carpd.conf').vhosts).toHaveLength(1);
  });
});

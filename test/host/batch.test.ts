import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { HostBatcher } from '../../lib/host/batch.js';
import { useNamespaceSet } from '../helpers/lab.js';
import { RecordingLogger, waitFor } from './helpers.js';

/**
 * The batcher against a real `ip` and `arping` in namespaces this file creates (198.18.0.0/15
 * only): a router and a client on a veth pair.
 */
const getLab = useNamespaceSet();
const IF = 'lan0';
let router: string;
let client: string;

beforeAll(async () => {
  const lab = getLab();
  router = await lab.add('r');
  client = await lab.add('c');
  await lab.veth(router, IF, client, IF);
  await lab.addr(router, IF, '198.18.0.1/24');
  await lab.addr(client, IF, '198.18.0.10/24');
});

const addresses = (ns: string): Promise<string[]> => getLab().addresses(ns, IF);

describe('HostBatcher', () => {
  it('runs the address changes of one turn as one ip -batch, and reports each failed line', async () => {
    const log = new RecordingLogger();
    const batcher = new HostBatcher({ log, commandPrefix: ['ip', 'netns', 'exec', router] });
    await getLab().addr(router, IF, '198.18.0.52/32');
    const results = await Promise.all([
      batcher.address('add', '198.18.0.50/32', IF),
      batcher.address('add', '198.18.0.51/24', IF, `${IF}:v`),
      batcher.address('add', '198.18.0.52/32', IF), // there already: this line fails, for the caller to judge
      batcher.address('del', '198.18.0.99/32', IF), // not there: fails too
    ]);
    expect(results).toEqual(['done', 'done', 'failed', 'failed']);
    expect(await addresses(router)).toEqual(expect.arrayContaining(['198.18.0.50/32', '198.18.0.51/24', '198.18.0.52/32']));
    const removed = await Promise.all(['198.18.0.50/32', '198.18.0.51/24', '198.18.0.52/32'].map((cidr) => batcher.address('del', cidr, IF)));
    expect(removed).toEqual(['done', 'done', 'done']);
    expect(await addresses(router)).toEqual(['198.18.0.1/24']);
  });

  it('a lone request is handed back to run on its own (one-vhost carpd spawns what it always did)', async () => {
    const batcher = new HostBatcher({ log: new RecordingLogger(), commandPrefix: ['ip', 'netns', 'exec', router] });
    expect(await batcher.address('add', '198.18.0.60/32', IF)).toBe('alone');
    expect(await addresses(router)).toEqual(['198.18.0.1/24']);
  });

  it('lists an interface once for every request of the same turn', async () => {
    const log = new RecordingLogger();
    const batcher = new HostBatcher({ log, commandPrefix: ['ip', 'netns', 'exec', router] });
    const [a, b] = await Promise.all([batcher.listAddresses(IF), batcher.listAddresses(IF)]);
    expect(a).toBe(b);
    expect(a?.map((x) => x.local)).toEqual(['198.18.0.1']);
    expect(await batcher.listAddresses('nosuch0')).toBeUndefined();
    expect(log.lines.some((l) => /cannot list the addresses of nosuch0/.test(l.msg))).toBe(true);
  });

  it('sends one gratuitous ARP per VIP from a single xargs, all of them on the wire', async () => {
    const vips = ['198.18.0.70', '198.18.0.71', '198.18.0.72'];
    for (const vip of vips) await getLab().addr(router, IF, `${vip}/32`);
    const tcpdump = spawn('ip', ['netns', 'exec', client, 'tcpdump', '-i', IF, '-n', '-l', '-c', '3', 'arp'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    tcpdump.stdout.on('data', (c: Buffer) => (out += c.toString()));
    tcpdump.stderr.on('data', (c: Buffer) => (err += c.toString()));
    try {
      expect(await waitFor(() => err.includes('listening on'), 5000)).toBe(true);
      const batcher = new HostBatcher({ log: new RecordingLogger(), commandPrefix: ['ip', 'netns', 'exec', router] });
      const sent = await Promise.all(vips.map((vip) => batcher.garp(IF, vip)));
      expect(sent).toEqual([true, true, true]);
      expect(await waitFor(() => out.split('\n').filter((l) => /Request who-has/.test(l)).length === 3, 3000)).toBe(true);
      // Gratuitous: the VIP asks for itself.
      for (const vip of vips) expect(out).toMatch(new RegExp(`who-has ${vip.replace(/\./g, '\\.')} .*tell ${vip.replace(/\./g, '\\.')}`));
    } finally {
      tcpdump.kill();
    }
  });
});

import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BroadcastGroupNeighbour } from '../../lib/host/neigh.js';
import { ip, NetnsLab, RecordingLogger, waitFor } from './helpers.js';

/**
 * --nomcast needs the group's datagrams in broadcast frames. Two namespaces on a veth pair
 * (198.18.0.0/15 only): one sends to 224.0.0.18, the other captures the frame's destination.
 */
const lab = new NetnsLab('neigh');
const IF = 'lan0';
let sender: string;
let receiver: string;

beforeAll(() => {
  NetnsLab.requireNetns();
  sender = lab.add('tx');
  receiver = lab.add('rx');
  lab.veth(sender, IF, receiver, IF);
  lab.addr(sender, IF, '198.18.0.1/24');
  lab.addr(receiver, IF, '198.18.0.2/24');
});

afterAll(() => lab.destroy());

/** The Ethernet destination of the next datagram the sender sends to 224.0.0.18. */
async function destinationMac(): Promise<string> {
  const tcpdump = spawn('ip', ['netns', 'exec', receiver, 'tcpdump', '-i', IF, '-e', '-n', '-l', '-c', '1', 'dst host 224.0.0.18'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  tcpdump.stdout.on('data', (c: Buffer) => (out += c.toString()));
  tcpdump.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const closed = new Promise<void>((r) => tcpdump.once('close', () => r()));
  const killer = setTimeout(() => tcpdump.kill(), 5000);
  if (!(await waitFor(() => err.includes('listening on'), 5000))) throw new Error(`tcpdump did not start: ${err}`);
  // Any datagram to the group shows the frame the kernel builds for it; ping is the simplest.
  spawn('ip', ['netns', 'exec', sender, 'ping', '-c', '1', '-W', '1', '-I', IF, '224.0.0.18'], { stdio: 'ignore' });
  await closed;
  clearTimeout(killer);
  return /> ([0-9a-f:]{17}),/.exec(out)?.[1] ?? `(nothing captured: ${out} ${err})`;
}

describe('BroadcastGroupNeighbour', () => {
  it('puts datagrams for the group into broadcast frames while installed, and only then', async () => {
    const log = new RecordingLogger();
    const n = new BroadcastGroupNeighbour({ interface: IF, group: '224.0.0.18', log, commandPrefix: ['ip', 'netns', 'exec', sender] });
    expect(await destinationMac()).toBe('01:00:5e:00:00:12');
    expect(await n.install()).toBe(true);
    expect(await n.install()).toBe(true); // replace: a second start after a crash is fine
    expect(await destinationMac()).toBe('ff:ff:ff:ff:ff:ff');
    expect(await n.remove()).toBe(true);
    expect(await n.remove()).toBe(true); // idempotent
    expect(ip(['-n', sender, 'neigh', 'show', '224.0.0.18', 'dev', IF]).trim()).toBe('');
    expect(await destinationMac()).toBe('01:00:5e:00:00:12');
    expect(log.at('error')).toEqual([]);
  });
});

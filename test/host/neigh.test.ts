import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BroadcastGroupNeighbour } from '../../lib/host/neigh.js';
import { useNamespaceSet } from '../helpers/lab.js';
import { RecordingLogger, waitFor, StandInProcesses } from './helpers.js';

/**
 * --nomcast needs the group's datagrams in broadcast frames. Two namespaces on a veth pair
 * (198.18.0.0/15 only): one sends to 224.0.0.18, the other captures the frame's destination.
 */
const getLab = useNamespaceSet();
const IF = 'lan0';
let sender: string;
let receiver: string;
/** Stands in for /run/carpd: the users' files live here, removed after the file. */
let runDir: string;
/** The entry is in the sender namespace's table, so that namespace is the key. */
let senderNetnsId: string;
const standIns = new StandInProcesses();

beforeAll(async () => {
  const lab = getLab();
  sender = await lab.add('tx');
  receiver = await lab.add('rx');
  await lab.veth(sender, IF, receiver, IF);
  await lab.addr(sender, IF, '198.18.0.1/24');
  await lab.addr(receiver, IF, '198.18.0.2/24');
  runDir = mkdtempSync(join(tmpdir(), 'carpd-neigh-'));
  // `ip netns add` bind-mounts the namespace there: its inode is the /proc/<pid>/ns/net one.
  senderNetnsId = String(statSync(`/run/netns/${sender}`).ino);
});

afterEach(async () => {
  standIns.killAll();
  await getLab().ip(sender, ['neigh', 'flush', 'dev', IF, 'nud', 'permanent']);
});

afterAll(() => {
  if (runDir !== undefined) rmSync(runDir, { recursive: true, force: true });
});

function neighbour(log: RecordingLogger, pid?: number): BroadcastGroupNeighbour {
  return new BroadcastGroupNeighbour({
    interface: IF,
    group: '224.0.0.18',
    log,
    commandPrefix: ['ip', 'netns', 'exec', sender],
    runDir,
    netnsId: senderNetnsId,
    ...(pid !== undefined ? { pid } : {}),
  });
}

async function entry(): Promise<string> {
  return (await getLab().ip(sender, ['neigh', 'show', '224.0.0.18', 'dev', IF])).trim();
}

const usersDir = (): string => join(runDir, 'nomcast', `${senderNetnsId}-${IF}-224.0.0.18`);

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
    const n = neighbour(log);
    expect(await destinationMac()).toBe('01:00:5e:00:00:12');
    expect(await n.install()).toBe(true);
    expect(await n.install()).toBe(true); // replace: a second start after a crash is fine
    expect(await destinationMac()).toBe('ff:ff:ff:ff:ff:ff');
    expect(await n.remove()).toBe(true);
    expect(await n.remove()).toBe(true); // idempotent
    expect(await entry()).toBe('');
    expect(existsSync(usersDir())).toBe(false);
    expect(await destinationMac()).toBe('01:00:5e:00:00:12');
    expect(log.at('error')).toEqual([]);
  });

  it('is shared by the instances on one interface: it stays until the last one removes it', async () => {
    // Several vhids on one interface, all on 224.0.0.18: the usual ucarp layout.
    const log = new RecordingLogger();
    const first = neighbour(log);
    const secondPid = standIns.livePid();
    const second = neighbour(log, secondPid);
    expect(await first.install()).toBe(true);
    expect(await second.install()).toBe(true);
    expect(readdirSync(usersDir()).sort()).toEqual([String(process.pid), String(secondPid)].sort());

    expect(await first.remove()).toBe(true);
    expect(await entry()).toContain('ff:ff:ff:ff:ff:ff');
    expect(readdirSync(usersDir())).toEqual([String(secondPid)]);
    expect(await destinationMac()).toBe('ff:ff:ff:ff:ff:ff');

    expect(await second.remove()).toBe(true);
    expect(await entry()).toBe('');
    expect(existsSync(usersDir())).toBe(false);
    expect(log.at('error')).toEqual([]);
  });

  it('is not kept by the file of an instance that died without removing it', async () => {
    const log = new RecordingLogger();
    const crashed = standIns.deadPid();
    mkdirSync(usersDir(), { recursive: true });
    writeFileSync(join(usersDir(), String(crashed)), `${crashed}\n`);
    const n = neighbour(log);
    expect(await n.install()).toBe(true);
    expect(await n.remove()).toBe(true);
    expect(await entry()).toBe('');
    expect(existsSync(usersDir())).toBe(false); // the stale file was deleted with it
    expect(log.at('debug')).toContain(`--nomcast: removing the stale user file of pid ${crashed} (no such process)`);
  });

  it('keys users by namespace: an instance in another namespace does not keep ours', async () => {
    // Namespaces share /run but not neighbour tables.
    const log = new RecordingLogger();
    const elsewhere = new BroadcastGroupNeighbour({
      interface: IF, group: '224.0.0.18', log, commandPrefix: ['ip', 'netns', 'exec', receiver], runDir,
      netnsId: String(statSync(`/run/netns/${receiver}`).ino), pid: standIns.livePid(),
    });
    expect(await elsewhere.install()).toBe(true);
    const n = neighbour(log);
    expect(await n.install()).toBe(true);
    expect(await n.remove()).toBe(true);
    expect(await entry()).toBe('');
    expect(await elsewhere.remove()).toBe(true);
    expect((await getLab().ip(receiver, ['neigh', 'show', '224.0.0.18', 'dev', IF])).trim()).toBe('');
  });
});

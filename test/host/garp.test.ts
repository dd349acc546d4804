import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendGratuitousArp } from '../../lib/host/garp.js';
import { VipManager } from '../../lib/host/vip.js';
import { ip, NetnsLab, RecordingLogger, waitFor } from './helpers.js';

/**
 * Two "routers" and a client on one bridge, each in a namespace this file creates
 * (198.18.0.0/15 only). The VIP moves from r1 to r2 the way a failover moves it.
 */
const lab = new NetnsLab('garp');
const IF = 'lan0';
const VIP = '198.18.0.50';
const VIP_HEX = 'c6120032';
let r1: string;
let r2: string;
let client: string;

beforeAll(() => {
  NetnsLab.requireNetns();
  const lan = lab.add('lan');
  // forward_delay 0: new ports forward at once, whatever the kernel's STP defaults.
  ip(['-n', lan, 'link', 'add', 'br0', 'type', 'bridge', 'forward_delay', '0']);
  ip(['-n', lan, 'link', 'set', 'br0', 'up']);
  [r1, r2, client] = ['r1', 'r2', 'cl'].map((role) => {
    const ns = lab.add(role);
    lab.veth(ns, IF, lan, `p-${role}`);
    ip(['-n', lan, 'link', 'set', `p-${role}`, 'master', 'br0']);
    return ns;
  }) as [string, string, string];
  lab.addr(r1, IF, '198.18.0.1/24');
  lab.addr(r2, IF, '198.18.0.2/24');
  lab.addr(client, IF, '198.18.0.10/24');
});

afterAll(() => lab.destroy());

const prefixFor = (ns: string): string[] => ['ip', 'netns', 'exec', ns];

/**
 * Starts tcpdump in the client namespace; resolves once it listens, with a promise of its
 * output (wrapped in an object: an async function returning a bare promise would wait for it).
 */
async function capture(filter: string): Promise<{ output: Promise<string> }> {
  const tcpdump = spawn('ip', ['netns', 'exec', client, 'tcpdump', '-i', IF, '-e', '-n', '-l', '-xx', '-c', '1', '-tt', '--time-stamp-precision=nano', filter], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  tcpdump.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  tcpdump.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close', not 'exit': the output may still be in the pipe when the process exits.
  const done = new Promise<string>((resolve) => tcpdump.once('close', () => resolve(stdout === '' ? `(nothing captured; tcpdump: ${stderr})` : stdout)));
  const killer = setTimeout(() => tcpdump.kill(), 5000);
  void done.then(() => clearTimeout(killer));
  if (!(await waitFor(() => stderr.includes('listening on'), 5000))) throw new Error(`tcpdump did not start: ${stderr}`);
  return { output: done };
}

function frameBytes(tcpdumpOutput: string): Buffer {
  const hex = [...tcpdumpOutput.matchAll(/^\s+0x[0-9a-f]+:\s+((?:[0-9a-f]{2,4}\s?)+)/gm)].map((m) => m[1]!.replace(/\s/g, '')).join('');
  return Buffer.from(hex, 'hex');
}

describe('gratuitous ARP with arping', () => {
  it('needs the VIP on the interface: without it, one error line and false', async () => {
    const log = new RecordingLogger();
    const ok = await sendGratuitousArp({ interface: IF, vip: VIP, log, commandPrefix: prefixFor(r1) });
    expect(ok).toBe(false);
    expect(log.at('error')).toEqual([
      `cannot send gratuitous ARP for ${VIP} on ${IF}: arping -q -U -c 1 -I ${IF} -s ${VIP} ${VIP}: exit status 2: ` +
        `arping: bind: Cannot assign requested address (arping needs ${VIP} on ${IF} as its source address: add the VIP first)`,
    ]);
  });

  it('sends one ARP request, sender = target = VIP, from the interface MAC to broadcast', async () => {
    const log = new RecordingLogger();
    const vip = new VipManager({ interface: IF, vip: VIP, prefix: 32, log, commandPrefix: prefixFor(r1) });
    expect(await vip.add()).toBe(true);
    const { output } = await capture(`arp and arp[14:4] = 0x${VIP_HEX}`);
    const wallStart = Date.now();
    const t0 = performance.now();
    expect(await sendGratuitousArp({ interface: IF, vip: VIP, log, commandPrefix: prefixFor(r1) })).toBe(true);
    const duration = performance.now() - t0;
    const text = await output;
    const mac = lab.mac(r1, IF);
    expect(text).toContain(`${mac} > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has ${VIP} (ff:ff:ff:ff:ff:ff) tell ${VIP}, length 28`);
    const frame = frameBytes(text);
    const macBytes = Buffer.from(mac.replace(/:/g, ''), 'hex');
    expect(frame.subarray(0, 6).toString('hex')).toBe('ffffffffffff'); // Ethernet destination: broadcast
    expect(frame.subarray(6, 12)).toEqual(macBytes); // Ethernet source: r1's interface MAC
    expect(frame.subarray(12, 22).toString('hex')).toBe('08060001080006040001'); // ARP, Ethernet/IPv4, 6/4, op 1 = request
    expect(frame.subarray(22, 28)).toEqual(macBytes); // sender MAC
    expect(frame.subarray(28, 32).toString('hex')).toBe(VIP_HEX); // sender IP
    // Target MAC: arping puts broadcast here, ucarp its own MAC; receivers ignore it in a request.
    expect(frame.subarray(32, 38).toString('hex')).toBe('ffffffffffff');
    expect(frame.subarray(38, 42).toString('hex')).toBe(VIP_HEX); // target IP
    const sentAt = Number(text.split(' ')[0]) * 1000;
    // Measured facts, for the report: the frame leaves at once, arping exits ~1 s later.
    console.log(`garp: frame on the wire ${(sentAt - wallStart).toFixed(1)} ms after the call; arping returned after ${duration.toFixed(0)} ms`);
    expect(sentAt - wallStart).toBeLessThan(200);
    expect(duration).toBeLessThan(2000);
    expect(log.at('error')).toEqual([]);
    expect(await vip.remove()).toBe(true);
  });

  it('cancelled after its frame left, arping stops at once and it is not an error', async () => {
    const log = new RecordingLogger();
    const vip = new VipManager({ interface: IF, vip: VIP, prefix: 32, log, commandPrefix: prefixFor(r1) });
    expect(await vip.add()).toBe(true);
    const { output } = await capture(`arp and arp[14:4] = 0x${VIP_HEX}`);
    const cancel = new AbortController();
    const t0 = performance.now();
    const sent = sendGratuitousArp({ interface: IF, vip: VIP, log, commandPrefix: prefixFor(r1), cancelSignal: cancel.signal });
    // The frame is out within a few ms; without the cancel arping would linger for ~1 s.
    expect(await output).toContain(`Request who-has ${VIP} (ff:ff:ff:ff:ff:ff) tell ${VIP}`);
    cancel.abort();
    expect(await sent).toBe(true);
    expect(performance.now() - t0).toBeLessThan(800);
    expect(log.at('error')).toEqual([]);
    expect(await vip.remove()).toBe(true);
  });

  it('moves a client\'s existing ARP entry for the VIP to the new master\'s MAC', async () => {
    const log = new RecordingLogger();
    const onR1 = new VipManager({ interface: IF, vip: VIP, prefix: 24, log, commandPrefix: prefixFor(r1) });
    const onR2 = new VipManager({ interface: IF, vip: VIP, prefix: 24, log, commandPrefix: prefixFor(r2) });
    const mac1 = lab.mac(r1, IF);
    const mac2 = lab.mac(r2, IF);
    const clientEntry = (): string => ip(['-n', client, 'neigh', 'show', VIP, 'dev', IF]);

    expect(await onR1.add()).toBe(true);
    lab.exec(client, 'ping', ['-c', '1', '-W', '1', VIP]);
    expect(clientEntry()).toContain(`lladdr ${mac1}`);

    // Failover: r1 lets go, r2 takes the address. Without a GARP the client keeps r1's MAC.
    expect(await onR1.remove()).toBe(true);
    expect(await onR2.add()).toBe(true);
    expect(clientEntry()).toContain(`lladdr ${mac1}`);

    // Default sysctls (arp_accept 0, locktime 1 s): the kernel overrides an existing entry on
    // a gratuitous ARP at once, even within the locktime after the ping refreshed it.
    const t0 = performance.now();
    const sent = sendGratuitousArp({ interface: IF, vip: VIP, log, commandPrefix: prefixFor(r2) });
    expect(await waitFor(() => clientEntry().includes(`lladdr ${mac2}`), 900, 5)).toBe(true);
    console.log(`garp: client ARP entry moved to the new MAC ${(performance.now() - t0).toFixed(0)} ms after the call (state: ${clientEntry().trim()})`);
    expect(await sent).toBe(true);
    lab.exec(client, 'ping', ['-c', '1', '-W', '1', VIP]);
    expect(await onR2.remove()).toBe(true);
    expect(log.at('error')).toEqual([]);
  });

  it('does not create an entry on a client that had none (arp_accept=0)', async () => {
    const log = new RecordingLogger();
    const vip = new VipManager({ interface: IF, vip: VIP, prefix: 32, log, commandPrefix: prefixFor(r1) });
    ip(['-n', client, 'neigh', 'flush', 'dev', IF]);
    expect(await vip.add()).toBe(true);
    expect(await sendGratuitousArp({ interface: IF, vip: VIP, log, commandPrefix: prefixFor(r1) })).toBe(true);
    expect(ip(['-n', client, 'neigh', 'show', VIP, 'dev', IF]).trim()).toBe('');
    expect(await vip.remove()).toBe(true);
  });
});

import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { beforeAll, describe, expect, it } from 'vitest';
import { sendGratuitousArp } from '../../lib/host/garp.js';
import { VipManager } from '../../lib/host/vip.js';
import { useNamespaceSet } from '../helpers/lab.js';
import { inNamespaceWithHostIo, RecordingLogger, waitFor } from './helpers.js';

/**
 * Two "routers" and a client on one bridge, each in a namespace this file creates (scripts/lab's
 * NamespaceSet, 198.18.0.0/15 only). The VIP moves from r1 to r2 the way a failover moves it.
 */
const getLab = useNamespaceSet();
const IF = 'lan0';
const VIP = '198.18.0.50';
const VIP_HEX = 'c6120032';
let r1: string;
let r2: string;
let client: string;

beforeAll(async () => {
  const lab = getLab();
  const lan = await lab.add('lan');
  await lab.bridge(lan);
  [r1, r2, client] = await Promise.all(
    ['r1', 'r2', 'cl'].map(async (role) => {
      const ns = await lab.add(role);
      await lab.veth(ns, IF, lan, `p-${role}`);
      await lab.attach(lan, `p-${role}`);
      return ns;
    }),
  ) as [string, string, string];
  await lab.addr(r1, IF, '198.18.0.1/24');
  await lab.addr(r2, IF, '198.18.0.2/24');
  await lab.addr(client, IF, '198.18.0.10/24');
});

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
    const t0 = performance.now();
    expect(await sendGratuitousArp({ interface: IF, vip: VIP, log, commandPrefix: prefixFor(r1) })).toBe(true);
    const returnedAt = Date.now();
    const duration = performance.now() - t0;
    const text = await output;
    const mac = await getLab().mac(r1, IF);
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
    // The frame leaves at once and arping then waits about 1 s for answers before it exits. A
    // busy machine can make the spawn slow, but never that wait shorter: the frame must be on
    // the wire well before arping returns (a frame sent on the way out would fail this).
    console.log(
      `garp: arping returned after ${duration.toFixed(0)} ms, ${(returnedAt - sentAt).toFixed(0)} ms after its frame was on the wire`,
    );
    expect(returnedAt - sentAt).toBeGreaterThan(700);
    expect(duration).toBeLessThan(5000);
    expect(log.at('error')).toEqual([]);
    expect(await vip.remove()).toBe(true);
  });

  it('cancelled after its frame left, arping stops at once and it is not an error', async () => {
    const log = new RecordingLogger();
    const vip = new VipManager({ interface: IF, vip: VIP, prefix: 32, log, commandPrefix: prefixFor(r1) });
    expect(await vip.add()).toBe(true);
    const { output } = await capture(`arp and arp[14:4] = 0x${VIP_HEX}`);
    const cancel = new AbortController();
    const sent = sendGratuitousArp({ interface: IF, vip: VIP, log, commandPrefix: prefixFor(r1), cancelSignal: cancel.signal });
    const text = await output;
    expect(text).toContain(`Request who-has ${VIP} (ff:ff:ff:ff:ff:ff) tell ${VIP}`);
    cancel.abort();
    expect(await sent).toBe(true);
    // Without the cancel arping would wait about 1 s after its frame before exiting; cancelled,
    // it is gone once the capture has told us (a few ms, some hundreds on a busy machine).
    const sentAt = Number(text.split(' ')[0]) * 1000;
    console.log(`garp: cancelled arping gone ${(Date.now() - sentAt).toFixed(0)} ms after its frame was on the wire`);
    expect(Date.now() - sentAt).toBeLessThan(950);
    expect(log.at('error')).toEqual([]);
    expect(await vip.remove()).toBe(true);
  });

  it('moves a client\'s existing ARP entry for the VIP to the new master\'s MAC', async () => {
    const log = new RecordingLogger();
    const onR1 = new VipManager({ interface: IF, vip: VIP, prefix: 24, log, commandPrefix: prefixFor(r1) });
    const onR2 = new VipManager({ interface: IF, vip: VIP, prefix: 24, log, commandPrefix: prefixFor(r2) });
    const lab = getLab();
    const mac1 = await lab.mac(r1, IF);
    const mac2 = await lab.mac(r2, IF);
    const clientEntry = (): Promise<string> => lab.ip(client, ['neigh', 'show', VIP, 'dev', IF]);

    expect(await onR1.add()).toBe(true);
    expect((await lab.exec(client, 'ping', ['-c', '1', '-W', '1', VIP])).code).toBe(0);
    expect(await clientEntry()).toContain(`lladdr ${mac1}`);

    // Failover: r1 lets go, r2 takes the address. Without a GARP the client keeps r1's MAC.
    expect(await onR1.remove()).toBe(true);
    expect(await onR2.add()).toBe(true);
    expect(await clientEntry()).toContain(`lladdr ${mac1}`);

    // Default sysctls (arp_accept 0): the kernel overrides an existing entry on a gratuitous
    // ARP. Without one the entry would keep r1's MAC for the whole reachable time (30 s).
    const t0 = performance.now();
    const sent = sendGratuitousArp({ interface: IF, vip: VIP, log, commandPrefix: prefixFor(r2) });
    expect(await waitFor(async () => (await clientEntry()).includes(`lladdr ${mac2}`), 3000, 5)).toBe(true);
    console.log(`garp: client ARP entry moved to the new MAC ${(performance.now() - t0).toFixed(0)} ms after the call (state: ${(await clientEntry()).trim()})`);
    expect(await sent).toBe(true);
    expect((await lab.exec(client, 'ping', ['-c', '1', '-W', '1', VIP])).code).toBe(0);
    expect(await onR2.remove()).toBe(true);
    expect(log.at('error')).toEqual([]);
  });

  it('does not create an entry on a client that had none (arp_accept=0)', async () => {
    const log = new RecordingLogger();
    const vip = new VipManager({ interface: IF, vip: VIP, prefix: 32, log, commandPrefix: prefixFor(r1) });
    await getLab().ip(client, ['neigh', 'flush', 'dev', IF]);
    expect(await vip.add()).toBe(true);
    expect(await sendGratuitousArp({ interface: IF, vip: VIP, log, commandPrefix: prefixFor(r1) })).toBe(true);
    expect((await getLab().ip(client, ['neigh', 'show', VIP, 'dev', IF])).trim()).toBe('');
    expect(await vip.remove()).toBe(true);
  });
});

// The daemon's own frame (lib/net/arp.ts through HostIo, run by a Node process inside r1):
// byte for byte the one arping sends, and it moves a client's entry the same way.
describe("gratuitous ARP from carpd's packet socket (HostIo)", () => {
  it('is the frame arping sends, byte for byte, and needs no VIP on the interface', async () => {
    const log = new RecordingLogger();
    const vip = new VipManager({ interface: IF, vip: VIP, prefix: 32, log, commandPrefix: prefixFor(r1) });
    expect(await vip.add()).toBe(true);
    const fromArping = await capture(`arp and arp[14:4] = 0x${VIP_HEX}`);
    expect(await sendGratuitousArp({ interface: IF, vip: VIP, log, commandPrefix: prefixFor(r1) })).toBe(true);
    const arpingFrame = frameBytes(await fromArping.output);
    expect(await vip.remove()).toBe(true);

    // Without the VIP on the interface: a packet socket binds to no address.
    const ours = await capture(`arp and arp[14:4] = 0x${VIP_HEX}`);
    const { result, lines } = inNamespaceWithHostIo(r1, `return io.garp(${JSON.stringify(IF)}, ipv4(${JSON.stringify(VIP)})) ?? 'sent';`);
    expect(result).toBe('sent');
    expect(lines).toEqual([]);
    const ourFrame = frameBytes(await ours.output);
    expect(ourFrame.length).toBe(42);
    expect(ourFrame.toString('hex')).toBe(arpingFrame.toString('hex'));
  });

  it("moves a client's existing entry for the VIP to the sender's MAC", async () => {
    const lab = getLab();
    const [mac1, mac2] = [await lab.mac(r1, IF), await lab.mac(r2, IF)];
    await lab.exec(client, 'ip', ['neigh', 'replace', VIP, 'lladdr', mac1, 'dev', IF, 'nud', 'stale']);
    const { result } = inNamespaceWithHostIo(r2, `return io.garp(${JSON.stringify(IF)}, ipv4(${JSON.stringify(VIP)})) ?? 'sent';`);
    expect(result).toBe('sent');
    const moved = await waitFor(async () => (await lab.exec(client, 'ip', ['neigh', 'show', VIP, 'dev', IF])).stdout.includes(mac2), 2000);
    expect(moved).toBe(true);
    await lab.exec(client, 'ip', ['neigh', 'del', VIP, 'dev', IF]);
  });

  it('a missing interface is said so, nothing sent', () => {
    const { result } = inNamespaceWithHostIo(r1, `return io.garp('nope0', ipv4(${JSON.stringify(VIP)})) ?? 'sent';`);
    expect(result).toBe('there is no interface nope0');
  });
});

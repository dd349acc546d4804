// IPv6 VIPs (issue 10) on the dual-stack lab: two carpd nodes with --addr=2001:db8:cafe::50/64
// and no --srcip, a client in that /64 pinging the VIP; then keepalived's VRRPv3 as the peer.
// They watch the VIP, the client's neighbour entry (moved by carpd's unsolicited neighbour
// advertisements, not by the client re-probing) and the packets. Needs root: without it the lab
// refuses to start and these tests fail loudly.
//
// Time bounds are the (a clean stop under 200 ms, a link cut under 4 s) with the margin
// of what a loaded two-core machine keeps; the tests log what they measured.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { PacketCapture, type Lab, type LabHost, type LabProcess } from '../../scripts/lab/lab.js';
import { CARPD, sleep, startCarpdWithConfig } from '../helpers/carpd.js';
import { keepalivedConf, startKeepalived, type KeepalivedRun } from '../helpers/keepalived.js';
import { useFreshLab, waitFor } from '../helpers/lab.js';

const VIP = '2001:db8:cafe::50';
const CLIENT = '2001:db8:cafe::100';

/** The client's neighbour entry for the VIP: its MAC ('' while unresolved) and state. */
async function neighbour(lab: Lab): Promise<{ mac: string; state: string } | undefined> {
  const r = await lab.client.exec('ip', ['-6', '-j', 'neigh', 'show', VIP, 'dev', 'eth0']);
  const [entry] = JSON.parse(r.stdout === '' ? '[]' : r.stdout) as Array<{ lladdr?: string; state?: string[] }>;
  return entry === undefined ? undefined : { mac: entry.lladdr ?? '', state: (entry.state ?? []).join(',') };
}

const holds = (host: LabHost): Promise<boolean> => host.hasAddress(VIP);

async function holders(lab: Lab): Promise<number[]> {
  const held = await Promise.all(lab.hosts.map(holds));
  return lab.hosts.filter((_, k) => held[k]).map((h) => h.index);
}

/** Polls until `host` holds the VIP; ms from `since`. */
async function takenBy(host: LabHost, since: number, timeoutMs: number): Promise<number> {
  await waitFor(() => holds(host), timeoutMs, 5, `${VIP} on h${host.index}`);
  return Date.now() - since;
}

function carpd(host: LabHost, extra: string[]): LabProcess {
  return host.spawn(process.execPath, [CARPD, '--interface=eth0', '--vhid=42', '--pass=secret', `--addr=${VIP}/64`, '--advbase=1', ...extra]);
}

describe('IPv6 VIPs', () => {
  const getLab = useFreshLab({ hosts: 2, ipv6: true });
  let procs: LabProcess[] = [];
  let kas: KeepalivedRun[] = [];

  beforeEach(async ({ onTestFailed }) => {
    procs = [];
    kas = [];
    const mine = procs;
    const theirs = kas;
    onTestFailed(() => {
      for (const p of mine) console.log(`carpd (pid ${p.pid}):\n${p.output()}`);
      for (const k of theirs) console.log(`keepalived:\n${k.proc.output()}`);
    });
    // The client lives in the VIP's /64, as in the check.
    const r = await getLab().client.exec('ip', ['-6', 'addr', 'add', `${CLIENT}/64`, 'dev', 'eth0', 'nodad']);
    expect(r.code, r.stderr).toBe(0);
    return async () => {
      for (const k of theirs) {
        await k.proc.stop();
        k.cleanup();
      }
    };
  });

  /** h2 (advskew 0) MASTER, h1 (advskew 100) BACKUP; returns [h1's, h2's] carpd. */
  async function carpPair(lab: Lab): Promise<[LabProcess, LabProcess]> {
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const d1 = carpd(h1, ['--advskew=100']);
    const d2 = carpd(h2, ['--advskew=0']);
    procs.push(d1, d2);
    await d2.waitForOutput(/BACKUP -> MASTER/, 15_000);
    await d1.waitForOutput(/INIT -> BACKUP/, 5_000);
    await waitFor(async () => (await holders(lab)).join() === '2', 5_000, 20, 'h2 alone holding the VIP');
    return [d1, d2];
  }

  it('the client reaches the VIP at the master; a clean stop hands over at once and the neighbour entry follows', async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const capture = await PacketCapture.start(lab.client.ns, 'eth0', 'ip6 and (ip6 proto 112 or icmp6)');
    const [d1, d2] = await carpPair(lab);
    expect(d2.output()).toMatch(/from its link-local address/);
    const first = await lab.client.exec('ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', VIP]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect((await neighbour(lab))?.mac).toBe(h2.mac);
    // nodad: the address is usable at once, never "tentative".
    const shown = await h2.exec('ip', ['-6', 'addr', 'show', 'dev', 'eth0']);
    expect(shown.stdout).toMatch(new RegExp(`inet6 ${VIP}/64 scope global nodad`));
    expect(shown.stdout).not.toMatch(/tentative/);

    const ping = lab.client.startPing(VIP);
    await ping.waitForReply(5_000);
    const stopAt = Date.now();
    d2.signal('SIGTERM');
    const movedMs = await takenBy(h1, stopAt, 3_000);
    expect((await d2.exited).code).toBe(0);
    expect(await holds(h2)).toBe(false);
    // The unsolicited advertisement (Override) moves the client's entry, no probe needed.
    await waitFor(async () => (await neighbour(lab))?.mac === h1.mac, 3_000, 10, "the client's neighbour entry on h1");
    await sleep(300);
    const report = await ping.stop();
    console.log(`IPv6 clean stop: VIP on h1 ${movedMs} ms after SIGTERM; largest ping gap ${Math.round(report.largestGapMs)} ms`);
    expect(movedMs).toBeLessThan(1_000);
    expect(report.firstReplyAfter(stopAt)).toBeDefined();
    expect(d1.output()).toMatch(/BACKUP -> MASTER \(master fe80::[0-9a-f:]+ bowed out/);

    const packets = (await capture.stop()).map((p) => p.line);
    const h1LinkLocal = (await h1.linkLocal())!;
    // CARP over IPv6: next header 112 to ff02::12, hop limit 255, from the link-local address.
    const adverts = packets.filter((l) => l.includes(`${h1LinkLocal} > ff02::12`));
    expect(adverts.length).toBeGreaterThan(0);
    expect(adverts.every((l) => /hlim 255/.test(l) && /CARPv2-advertise 36: vhid=42/.test(l)), adverts.join('\n')).toBe(true);
    // The neighbour advertisement: from the VIP to all-nodes, target the VIP, Override set.
    const adverts136 = packets.filter((l) => l.includes(`${VIP} > ff02::1:`) && /neighbor advertisement/.test(l));
    expect(adverts136.length, packets.slice(-20).join('\n')).toBeGreaterThan(0);
    expect(adverts136.some((l) => new RegExp(`tgt is ${VIP}`).test(l) && /Flags \[override\]/.test(l) && /hlim 255/.test(l)), adverts136.join('\n')).toBe(true);
  }, 60_000);

  it('a link cut moves the VIP within seconds; the old master drops it and the client follows', async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const [, d2] = await carpPair(lab);
    const ping = lab.client.startPing(VIP);
    await ping.waitForReply(5_000);
    const cutAt = Date.now();
    await h2.cutLink();
    const movedMs = await takenBy(h1, cutAt, 10_000);
    await waitFor(async () => !(await holds(h2)), 8_000, 20, 'the VIP gone from the cut master');
    await waitFor(async () => (await neighbour(lab))?.mac === h1.mac, 5_000, 20, "the client's neighbour entry on h1");
    await sleep(300);
    const report = await ping.stop();
    console.log(`IPv6 link cut: VIP on h1 ${movedMs} ms after the cut; largest ping gap ${Math.round(report.largestGapMs)} ms`);
    // h1's master-down interval is 3 + 100/256 s from h2's last advert: the 4 s, with a
    // loaded machine's margin.
    expect(movedMs).toBeLessThan(5_500);
    expect(report.firstReplyAfter(cutAt)).toBeDefined();
    expect(d2.output()).toMatch(/MASTER -> BACKUP \(link down/);
  }, 60_000);

  it('VRRPv3 over IPv6 with keepalived, both ways: each takes over when the other stops', async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    // keepalived MASTER (priority 150), carpd BACKUP (100).
    const ka = startKeepalived(h1, keepalivedConf({ version: 3, vrid: 42, priority: 150, vips: [`${VIP}/64`] }));
    kas.push(ka);
    await waitFor(() => holds(h1), 15_000, 50, 'keepalived holding the VIP');
    const c = h2.spawn(process.execPath, [CARPD, '--interface=eth0', '--vhid=42', '--protocol=vrrp3', '--priority=100', '--advert-int=1', `--addr=${VIP}/64`, '--debug']);
    procs.push(c);
    await c.waitForOutput(/advert from fe80::[0-9a-f:]+: vrid 42 priority 150/, 10_000);
    expect(await holds(h2)).toBe(false);
    // The client talks to the VIP first: an unsolicited advertisement updates an entry, it
    // does not create one (RFC 4861 7.2.5).
    const before = await lab.client.exec('ping', ['-6', '-c', '1', '-W', '2', VIP]);
    expect(before.code, before.stdout + before.stderr).toBe(0);
    expect((await neighbour(lab))?.mac).toBe(h1.mac);

    const stopAt = Date.now();
    await ka.proc.stop();
    const toCarpd = await takenBy(h2, stopAt, 5_000);
    await waitFor(async () => (await neighbour(lab))?.mac === h2.mac, 5_000, 20, "the client's neighbour entry on carpd's node");
    const ping = await lab.client.exec('ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', VIP]);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    expect(c.output()).toMatch(/BACKUP -> MASTER \(master fe80::[0-9a-f:]+ bowed out/);

    // keepalived BACKUP (priority 50) behind carpd MASTER; carpd's clean stop (priority 0).
    const ka2 = startKeepalived(h1, keepalivedConf({ version: 3, vrid: 42, priority: 50, vips: [`${VIP}/64`] }));
    kas.push(ka2);
    await waitFor(() => /Entering BACKUP STATE/.test(ka2.proc.output()), 10_000, 50, 'keepalived in BACKUP');
    await sleep(2_500);
    expect(await holders(lab)).toEqual([2]);
    const stop2 = Date.now();
    c.signal('SIGTERM');
    const toKeepalived = await takenBy(h1, stop2, 5_000);
    await waitFor(async () => (await neighbour(lab))?.mac === h1.mac, 5_000, 20, "the client's neighbour entry on keepalived's node");
    console.log(`VRRPv3/IPv6: keepalived stop -> carpd MASTER ${toCarpd} ms; carpd stop -> keepalived MASTER ${toKeepalived} ms`);
    expect(await holds(h2)).toBe(false);
    // keepalived (priority 50) waits its skew time, (256 - 50) / 256 s, after the priority 0:
    // well under the 3 s master-down interval.
    expect(toKeepalived).toBeLessThan(2_500);
    expect(ka2.proc.output()).toMatch(/Backup received priority 0 advertisement/);
  }, 90_000);

  it('a dual-stack vhost moves both addresses together, and a stale IPv6 VIP is removed at start', async ({ onTestFinished }) => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    // A copy of the VIP left on h1 by a crash: carpd removes it before the election.
    expect((await h1.exec('ip', ['-6', 'addr', 'add', `${VIP}/64`, 'dev', 'eth0', 'nodad'])).code).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'carpd-ipv6-test-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const conf = (host: LabHost, advskew: number): string => {
      const path = join(dir, `dual-h${host.index}.conf`);
      writeFileSync(path, ['interface = eth0', `srcip = ${host.address}`, 'pass = secret', 'advbase = 1', `advskew = ${advskew}`, '[vhost web]', 'vhid = 42', `addr = ${lab.vip()}/24`, `addr = ${VIP}/64`, ''].join('\n'));
      return path;
    };
    const d1 = startCarpdWithConfig(h1, conf(h1, 100));
    await d1.waitForOutput(/removed 2001:db8:cafe::50 left on eth0 by an earlier run/, 10_000);
    const d2 = startCarpdWithConfig(h2, conf(h2, 0));
    procs.push(d1, d2);
    await waitFor(async () => (await holds(h2)) && (await h2.hasAddress(lab.vip())), 15_000, 50, 'h2 holding both addresses');
    expect(await holds(h1)).toBe(false);
    expect(await h1.hasAddress(lab.vip())).toBe(false);
    expect(d2.output()).toMatch(/\[web-ipv6\] .*BACKUP -> MASTER/);

    const stopAt = Date.now();
    d2.signal('SIGTERM');
    await waitFor(async () => (await holds(h1)) && (await h1.hasAddress(lab.vip())), 5_000, 10, 'h1 holding both addresses');
    console.log(`dual-stack clean stop: both addresses on h1 ${Date.now() - stopAt} ms after SIGTERM`);
    expect((await d2.exited).code).toBe(0);
    expect(await holds(h2)).toBe(false);
    expect(await h2.hasAddress(lab.vip())).toBe(false);
    const v4 = await lab.client.exec('ping', ['-c', '1', '-W', '2', lab.vip()]);
    const v6 = await lab.client.exec('ping', ['-6', '-c', '1', '-W', '2', VIP]);
    expect(v4.code, v4.stdout).toBe(0);
    expect(v6.code, v6.stdout).toBe(0);
    // Nothing left behind when the last one stops.
    d1.signal('SIGTERM');
    expect((await d1.exited).code).toBe(0);
    expect(await holders(lab)).toEqual([]);
    expect(await h1.hasAddress(lab.vip())).toBe(false);
  }, 60_000);
});

// Validates the network lab against the real thing: Debian's ucarp 1.5.2 on two lab hosts.
// carpd's own integration tests rely on every behaviour checked here (one master, failover on
// carrier loss, gratuitous ARP reaching the client, split brain under partition, recovery).
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  Lab,
  PacketCapture,
  analysePing,
  listNamespaces,
  parsePingOutput,
  parseTcpdump,
  type CapturedPacket,
  type LabHost,
  type LabProcess,
} from '../../scripts/lab/lab.js';
import { useLab, waitFor, withLab } from '../helpers/lab.js';

const UP_SCRIPT = fileURLToPath(new URL('../fixtures/lab/vip-up.sh', import.meta.url));
const DOWN_SCRIPT = fileURLToPath(new URL('../fixtures/lab/vip-down.sh', import.meta.url));
const VHID = 42;
// ucarp sends its adverts from the CARP virtual MAC 00:00:5e:00:00:<vhid>.
const CARP_MAC = `00:00:5e:00:00:${VHID.toString(16).padStart(2, '0')}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('lab parsers and guards (no namespaces)', () => {
  it('parses ping -D -O output into replies, misses and gaps', () => {
    const raw = [
      'PING 198.18.0.50 (198.18.0.50) 56(84) bytes of data.',
      '[1000.000000] 64 bytes from 198.18.0.50: icmp_seq=1 ttl=64 time=0.079 ms',
      '[1000.005000] 64 bytes from 198.18.0.50: icmp_seq=2 ttl=64 time=0.066 ms',
      '[1000.010000] no answer yet for icmp_seq=3',
      '[1003.105000] 64 bytes from 198.18.0.50: icmp_seq=600 ttl=64 time=0.070 ms',
      '[1003.105100] 64 bytes from 198.18.0.50: icmp_seq=600 ttl=64 time=0.071 ms (DUP!)',
      '',
      '--- 198.18.0.50 ping statistics ---',
      '605 packets transmitted, 3 received, +1 duplicates, 99.5% packet loss, time 3110ms',
    ].join('\n');
    const report = analysePing(parsePingOutput(raw), { startedMs: 999_990, stoppedMs: 1_003_200, gapThresholdMs: 50 });
    expect(report).toMatchObject({ sent: 605, received: 3, duplicates: 1, missed: 1 });
    expect(report.largestGapMs).toBeCloseTo(3100, 3);
    expect(report.gaps).toHaveLength(1);
    expect(report.gaps[0]?.startMs).toBeCloseTo(1_000_005, 3);
    expect(report.firstReplyAfter(1_000_006)).toBeCloseTo(1_003_105, 3);
    expect(report.firstReplyAfter(1_003_106)).toBeUndefined();
  });

  it('reports the whole run as the gap when ping never got two replies', () => {
    const report = analysePing(parsePingOutput(''), { startedMs: 0, stoppedMs: 4000, gapThresholdMs: 50 });
    expect(report.largestGapMs).toBe(4000);
  });

  it('parses tcpdump -e -n -tt -v -T carp lines captured from ucarp', () => {
    const raw = [
      '1795317875.653756 00:00:5e:00:00:2a > 01:00:5e:00:00:12, ethertype IPv4 (0x0800), length 70: (tos 0x10, ttl 255, id 16480, offset 0, flags [DF], proto VRRP (112), length 56)',
      '    198.18.0.1 > 224.0.0.18: CARPv2-advertise 36: vhid=42 advbase=1 advskew=0 authlen=7 counter=14322167435666268402',
      '1795317914.105942 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Ethernet (len 6), IPv4 (len 4), Request who-has 198.18.0.50 (ff:ff:ff:ff:ff:ff) tell 198.18.0.50, length 28',
      '1795317915.127610 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype ARP (0x0806), length 42: Ethernet (len 6), IPv4 (len 4), Reply 198.18.0.50 is-at 02:00:00:00:00:01, length 28',
    ].join('\n');
    const [carp, garp, reply] = parseTcpdump(raw);
    expect(carp).toMatchObject({ kind: 'carp', srcMac: CARP_MAC, dstMac: '01:00:5e:00:00:12', srcIp: '198.18.0.1', dstIp: '224.0.0.18', ttl: 255, tos: 0x10 });
    expect(carp?.carp).toEqual({ version: 2, type: 'advertise', vhid: 42, advbase: 1, advskew: 0, authlen: 7, counter: 14322167435666268402n });
    expect(carp?.timeMs).toBeCloseTo(1_795_317_875_653.756, 2);
    expect(garp?.arp).toEqual({ op: 'request', senderIp: '198.18.0.50', targetIp: '198.18.0.50', senderMac: '02:00:00:00:00:01', gratuitous: true });
    expect(reply?.arp).toEqual({ op: 'reply', senderIp: '198.18.0.50', senderMac: '02:00:00:00:00:01', gratuitous: false });
  });

  it('refuses addresses outside 198.18.0.0/15 before touching anything', async () => {
    await expect(Lab.create({ hosts: 2, subnet: '192.0.2' })).rejects.toThrow(/inside 198\.18\.0\.0\/15.*"192\.0\.2"/);
    await expect(Lab.create({ hosts: 2, subnet: '198.20.0' })).rejects.toThrow(/subnet/);
    await expect(Lab.create({ hosts: 0 })).rejects.toThrow(/"hosts" must be an integer from 1 to 49, received 0/);
    await expect(Lab.create({ hosts: 1, name: 'x; rm -rf /' })).rejects.toThrow(/"name"/);
  });
});

describe('lab lifecycle', () => {
  it('a lab whose name is taken fails to build and leaves the existing lab intact', async () => {
    await withLab({ hosts: 1, name: `dup-${process.pid}` }, async (first) => {
      await expect(Lab.create({ hosts: 1, name: first.id })).rejects.toThrow(/File exists/);
      const mine = (await listNamespaces()).filter((ns) => ns.startsWith(`carpd-lab-${first.id}-`));
      expect(mine.sort()).toEqual([...first.namespaces].sort());
      const r = await first.client.exec('ping', ['-c', '1', '-W', '1', first.host(1).address]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    });
  });
});

describe('lab with the real ucarp, two hosts', () => {
  const getLab = useLab({ hosts: 2 });
  const ucarps: LabProcess[] = [];
  let clientCapture: PacketCapture | undefined;
  let clientPackets: CapturedPacket[] = [];
  let failoverStartedMs = 0;

  // When something fails, ucarp's own account of its state changes is the first thing to read.
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      for (const [k, u] of ucarps.entries()) console.log(`ucarp on h${k + 1} (pid ${u.pid}):\n${u.output()}`);
    });
  });

  const startUcarp = (lab: Lab, host: LabHost): LabProcess =>
    host.spawn('ucarp', [
      '-i', 'eth0', '-s', host.address, '-v', String(VHID), '-p', 'love', '-a', lab.vip(),
      '-u', UP_SCRIPT, '-d', DOWN_SCRIPT, '-z', '-f', 'none',
    ]);

  const holders = (lab: Lab): Promise<LabHost[]> => lab.vipHolders();
  const singleMaster = (lab: Lab, timeoutMs: number): Promise<LabHost> => lab.waitForSingleHolder(timeoutMs);

  it('builds hosts with fixed MACs and addresses, all reachable over the bridge', async () => {
    const lab = getLab();
    expect(lab.hosts.map((h) => [h.ns, h.address, h.mac])).toEqual([
      [`carpd-lab-${lab.id}-h1`, '198.18.0.1', '02:00:00:00:00:01'],
      [`carpd-lab-${lab.id}-h2`, '198.18.0.2', '02:00:00:00:00:02'],
    ]);
    expect(lab.client.address).toBe('198.18.0.100');
    expect(lab.vip()).toBe('198.18.0.50');
    expect(await lab.host(1).addresses()).toEqual(['198.18.0.1/24']);
    for (const h of lab.hosts) {
      const r = await lab.client.exec('ping', ['-c', '1', '-W', '1', h.address]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect((await lab.client.arpEntry(h.address))?.mac).toBe(h.mac);
    }
  });

  it('ucarp on both hosts elects exactly one master', async () => {
    const lab = getLab();
    clientCapture = await PacketCapture.start(lab.client.ns, 'eth0', 'ip proto 112 or arp');
    for (const h of lab.hosts) ucarps.push(startUcarp(lab, h));
    // Both start as BACKUP and wait advbase × 3 before claiming; ucarp polls once a second.
    const master = await singleMaster(lab, 12_000);
    const masterUcarp = ucarps[master.index - 1]!;
    expect(masterUcarp.output()).toMatch(/Switching to state: MASTER/);
  }, 20_000);

  it('the client reaches the VIP at the master\'s MAC', async () => {
    const lab = getLab();
    const [master] = await holders(lab);
    const r = await lab.client.exec('ping', ['-c', '3', '-i', '0.2', '-W', '1', lab.vip()]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((await lab.client.arpEntry(lab.vip()))?.mac).toBe(master!.mac);
  });

  it('partition keeps carrier up, drops traffic both ways, and both hosts become MASTER', async () => {
    const lab = getLab();
    const [master] = await holders(lab);
    const backup = lab.hosts.find((h) => h !== master)!;
    const masterCapture = await PacketCapture.start(master!.ns, 'eth0', 'ip proto 112');

    await master!.partition();
    expect(await master!.linkState()).toEqual({ up: true, carrier: true });
    // Unicast both ways (ARP first: flush so the old entries cannot help).
    await master!.exec('ip', ['neigh', 'flush', 'dev', 'eth0']);
    expect((await master!.exec('ping', ['-c', '2', '-i', '0.2', '-W', '0.5', lab.client.address])).code).not.toBe(0);
    expect((await lab.client.exec('ping', ['-c', '2', '-i', '0.2', '-W', '0.5', master!.address])).code).not.toBe(0);
    // Multicast master → backup: the backup stops hearing adverts and claims the VIP.
    await waitFor(() => backup.hasAddress(lab.vip()), 6_000, 50, `VIP on ${backup.ns} while ${master!.ns} is partitioned`);
    await sleep(1_500);
    expect((await holders(lab)).length).toBe(2);
    // Multicast backup → master: the (now also master) backup advertises every second, and
    // none of it reaches the partitioned host, which still sees its own adverts leave.
    const seen = await masterCapture.stop();
    const adverts = seen.filter((p) => p.kind === 'carp');
    expect(adverts.filter((p) => p.srcIp === master!.address).length).toBeGreaterThan(2);
    expect(adverts.filter((p) => p.srcIp === backup.address)).toEqual([]);
  }, 20_000);

  it('heal returns to a single master', async () => {
    const lab = getLab();
    for (const h of lab.hosts) await h.heal();
    const master = await singleMaster(lab, 5_000);
    // ucarp: between two masters with equal intervals, the one with the higher address yields.
    expect(master.index).toBe(1);
  }, 10_000);

  it('cutting the master\'s link moves the VIP, the ARP entry and leaves a gap in the pings', async () => {
    const lab = getLab();
    const [oldMaster] = await holders(lab);
    const newMaster = lab.hosts.find((h) => h !== oldMaster)!;
    const ping = lab.client.startPing(lab.vip(), 5);
    await ping.waitForReply(2_000);
    await sleep(300);

    failoverStartedMs = Date.now();
    await oldMaster!.cutLink();
    expect(await oldMaster!.linkState()).toEqual({ up: true, carrier: false });
    await waitFor(() => newMaster.hasAddress(lab.vip()), 6_000, 20, `VIP on ${newMaster.ns}`);
    const takeoverMs = Date.now() - failoverStartedMs;
    await waitFor(async () => (await lab.client.arpEntry(lab.vip()))?.mac === newMaster.mac, 3_000, 20, 'client ARP entry for the VIP at the new master');
    await sleep(300);
    const report = await ping.stop();

    // Replies already in flight at the cut arrive just after it, so "resumed" is the end of
    // the longest gap, not the first reply after the cut.
    const outage = report.gaps.reduce((a, b) => (b.ms > a.ms ? b : a), { startMs: 0, endMs: 0, ms: 0 });
    console.log(
      `ucarp failover: VIP on the new master ${takeoverMs} ms after the cut; client pings: sent ${report.sent}, ` +
        `received ${report.received}, largest gap ${report.largestGapMs.toFixed(1)} ms ` +
        `(last reply ${(outage.startMs - failoverStartedMs).toFixed(1)} ms, first reply again ` +
        `${(outage.endMs - failoverStartedMs).toFixed(1)} ms after the cut)`,
    );
    // ucarp declares the master dead after advbase × 3 = 3 s, checked when its 1 s poll wakes.
    expect(takeoverMs).toBeGreaterThan(2_000);
    expect(takeoverMs).toBeLessThan(5_000);
    expect(report.largestGapMs).toBeGreaterThan(2_000);
    expect(report.largestGapMs).toBeLessThan(takeoverMs + 1_000);
    expect(report.gaps.length).toBeGreaterThanOrEqual(1);
    expect(report.received).toBeGreaterThan(50);

    // Without carrier the old master gives the VIP up (ucarp goes BACKUP and runs the down-script).
    await waitFor(async () => !(await oldMaster!.hasAddress(lab.vip())), 3_000, 50, `VIP gone from ${oldMaster!.ns}`);
  }, 20_000);

  it('the capture sees ucarp\'s CARP adverts (vhid 42) and the new master\'s gratuitous ARP', async () => {
    const lab = getLab();
    clientPackets = await clientCapture!.stop();
    const adverts = clientPackets.filter((p) => p.kind === 'carp');
    expect(adverts.length).toBeGreaterThan(2);
    for (const a of adverts) {
      expect(a).toMatchObject({ srcMac: CARP_MAC, dstIp: '224.0.0.18', ttl: 255 });
      expect(a.carp).toMatchObject({ version: 2, vhid: VHID, advbase: 1, advskew: 0, authlen: 7 });
    }
    // Both hosts advertised at some point: the first master before the cut, the second after.
    expect(new Set(adverts.map((a) => a.srcIp))).toEqual(new Set(lab.hosts.map((h) => h.address)));
    const [newMaster] = await holders(lab);
    const garps = clientPackets.filter((p) => p.arp?.gratuitous && p.arp.senderIp === lab.vip() && p.timeMs >= failoverStartedMs);
    expect(garps.length).toBeGreaterThanOrEqual(1);
    expect(garps[0]?.arp?.senderMac).toBe(newMaster!.mac);
  });

  it('restoring the link keeps a single master (no preemption)', async () => {
    const lab = getLab();
    const [master] = await holders(lab);
    const other = lab.hosts.find((h) => h !== master)!;
    await other.restoreLink();
    expect(await other.linkState()).toEqual({ up: true, carrier: true });
    expect((await singleMaster(lab, 3_000)).index).toBe(master!.index);
  }, 10_000);

  it('a partition survives link flaps on either side', async () => {
    const lab = getLab();
    const [master] = await holders(lab);
    const backup = lab.hosts.find((h) => h !== master)!;
    const reach = async () => (await lab.client.exec('ping', ['-c', '1', '-W', '0.5', backup.address])).code === 0;
    await backup.partition();
    await backup.cutLink();
    await backup.restoreLink();
    await backup.exec('ip', ['link', 'set', 'dev', 'eth0', 'down']);
    await backup.exec('ip', ['link', 'set', 'dev', 'eth0', 'up']);
    expect(await backup.linkState()).toEqual({ up: true, carrier: true });
    await lab.client.flushArp();
    expect(await reach()).toBe(false);
    await backup.heal();
    // The client's neighbour entry failed during the partition; its next ARP attempt can take
    // a retransmit interval, so allow a moment.
    await waitFor(reach, 3_000, 0, `client reaching ${backup.address} after heal`);
  });

  it('destroy removes every namespace and every process', async () => {
    const lab = getLab();
    const pids = [...ucarps.map((u) => u.pid)];
    await lab.destroy();
    await lab.destroy(); // idempotent
    expect((await listNamespaces()).filter((ns) => ns.startsWith(`carpd-lab-${lab.id}-`))).toEqual([]);
    for (const u of ucarps) expect(u.hasExited).toBe(true);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });
});

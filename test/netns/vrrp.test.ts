// carpd and Debian's real keepalived in one VRRP group (issue: speak VRRP with keepalived). Every
// scenario runs both programs in the lab's namespaces and checks who holds the VIP, what went
// over the wire and what each daemon logged. Needs root, like every netns test.
//
// keepalived facts these tests lean on (measured in the lab, see scripts/capture-vrrp-golden.sh):
// it starts BACKUP whatever `state` says unless its priority is 255; a clean stop sends one
// priority-0 advert; a backup takes over after the skew time (256 - priority)/256 s (v2) or
// 3 × interval + skew after the last advert; a backup that hears a lower priority waits for its
// master-down timer rather than preempting at once.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PacketCapture, type Lab, type LabHost, type LabProcess } from '../../scripts/lab/lab.js';
import { CARPD, sleep } from '../helpers/carpd.js';
import { keepalivedConf, keepalivedEntered, startKeepalived, type InstanceOptions, type KeepalivedRun } from '../helpers/keepalived.js';
import { useLab, waitFor } from '../helpers/lab.js';

const VRID = 51;

interface VrrpNode {
  protocol?: 'vrrp2' | 'vrrp3';
  priority: number;
  advertInt?: number;
  pass?: string;
  peers?: readonly string[];
  extra?: readonly string[];
}

function carpdVrrpArgs(lab: Lab, o: VrrpNode): string[] {
  return [
    '--interface=eth0',
    `--protocol=${o.protocol ?? 'vrrp2'}`,
    `--vhid=${VRID}`,
    `--priority=${o.priority}`,
    `--advert-int=${o.advertInt ?? 1}`,
    ...(o.pass !== undefined ? [`--pass=${o.pass}`] : []),
    ...(o.peers ?? []).map((p) => `--peer=${p}`),
    `--addr=${lab.vip()}/24`,
    ...(o.extra ?? []),
  ];
}

/** carpd's state changes, from its `[WARNING] FROM -> TO (reason)` lines. */
function carpdBecameMaster(p: LabProcess): number {
  return [...p.output().matchAll(/^\[WARNING\] (?:INIT|BACKUP) -> MASTER \(/gm)].length;
}

function useDaemons(getLab: () => Lab) {
  let daemons: { name: string; proc: LabProcess; cleanup?: () => void }[] = [];
  beforeEach(({ onTestFailed }) => {
    const mine: typeof daemons = [];
    daemons = mine;
    onTestFailed(() => {
      for (const d of mine) console.log(`${d.name} (pid ${d.proc.pid}):\n${d.proc.output()}`);
    });
  });
  afterEach(async () => {
    await Promise.all(daemons.map((d) => d.proc.stop(3_000)));
    for (const d of daemons) d.cleanup?.();
    const lab = getLab();
    for (const h of lab.hosts) {
      await h.restoreLink();
      await h.heal();
      for (const prefix of ['24', '32']) {
        if (await h.hasAddress(`${lab.vip()}/${prefix}`)) await h.exec('ip', ['addr', 'del', `${lab.vip()}/${prefix}`, 'dev', 'eth0']);
      }
    }
    await lab.client.flushArp();
  });
  return {
    carpd(host: LabHost, o: VrrpNode): LabProcess {
      const proc = host.spawn(process.execPath, [CARPD, ...carpdVrrpArgs(getLab(), o)]);
      daemons.push({ name: `carpd on h${host.index} ${JSON.stringify(o)}`, proc });
      return proc;
    },
    keepalived(host: LabHost, o: Omit<InstanceOptions, 'vips'>): KeepalivedRun {
      return this.keepalivedText(host, keepalivedConf({ ...o, vrid: VRID, vips: [`${getLab().vip()}/24`] }), JSON.stringify(o));
    },
    keepalivedText(host: LabHost, conf: string, what = 'own conf'): KeepalivedRun {
      const run = startKeepalived(host, conf);
      daemons.push({ name: `keepalived on h${host.index} ${what}`, proc: run.proc, cleanup: run.cleanup });
      return run;
    },
    /** carpd reading a keepalived.conf (--keepalived-conf), as keepalived itself would. */
    carpdKeepalivedConf(host: LabHost, conf: string): LabProcess {
      const dir = mkdtempSync(join(tmpdir(), 'carpd-kaconf-'));
      const path = join(dir, 'keepalived.conf');
      writeFileSync(path, conf);
      const proc = host.spawn(process.execPath, [CARPD, `--keepalived-conf=${path}`]);
      daemons.push({ name: `carpd --keepalived-conf on h${host.index}:\n${conf}`, proc, cleanup: () => rmSync(dir, { recursive: true, force: true }) });
      return proc;
    },
  };
}

/** The VIP on `host` and on no other lab host, within the time. */
async function heldBy(lab: Lab, host: LabHost, timeoutMs: number, what: string): Promise<number> {
  const start = Date.now();
  await waitFor(async () => {
    const holders = await lab.vipHolders();
    return holders.length === 1 && holders[0] === host;
  }, timeoutMs, 20, what);
  return Date.now() - start;
}

describe('carpd and keepalived, VRRPv2 with PASS authentication', () => {
  const getLab = useLab({ hosts: 3 });
  const d = useDaemons(getLab);

  it('keepalived MASTER (100), carpd BACKUP (80): carpd follows, takes over on a clean stop, yields on the return', async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const ka = d.keepalived(h1, { priority: 100, state: 'MASTER', pass: 'secret12' });
    await heldBy(lab, h1, 8_000, 'the VIP on keepalived (h1), started alone');
    const carpd = d.carpd(h2, { priority: 80, pass: 'secret12' });
    // Longer than carpd's master-down interval (3 + 176/256 s): it must be following keepalived.
    await sleep(4_500);
    expect(await lab.vipHolders()).toEqual([h1]);
    expect(carpdBecameMaster(carpd)).toBe(0);

    const stopAt = Date.now();
    ka.proc.signal('SIGTERM');
    await heldBy(lab, h2, 4_000, 'the VIP on carpd (h2) after keepalived stopped');
    const handOverMs = Date.now() - stopAt;
    console.log(`keepalived clean stop -> carpd MASTER in ${handOverMs} ms`);
    // The skew time at priority 80 is 0.69 s; the bound is 1.5 s.
    expect(handOverMs).toBeLessThan(1_500);
    expect(carpd.output()).toMatch(/BACKUP -> MASTER \(master 198\.18\.0\.1 bowed out/);
  });

  it('carpd MASTER (100), keepalived BACKUP (80): keepalived takes over on carpd\'s clean stop', async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const carpd = d.carpd(h1, { priority: 100, pass: 'secret12' });
    await heldBy(lab, h1, 8_000, 'the VIP on carpd (h1), started alone');
    const ka = d.keepalived(h2, { priority: 80, pass: 'secret12' });
    await sleep(4_500);
    expect(await lab.vipHolders()).toEqual([h1]);
    expect(keepalivedEntered(ka.proc, 'MASTER')).toBe(0);
    const stopAt = Date.now();
    carpd.signal('SIGTERM');
    await heldBy(lab, h2, 4_000, 'the VIP on keepalived (h2) after carpd stopped');
    const handOverMs = Date.now() - stopAt;
    console.log(`carpd clean stop -> keepalived MASTER in ${handOverMs} ms`);
    expect(handOverMs).toBeLessThan(1_500);
  });
});

describe('carpd and keepalived, failures and elections', () => {
  const getLab = useLab({ hosts: 3 });
  const d = useDaemons(getLab);

  it('a link cut of the keepalived master: carpd takes over within 4.5 s; of the carpd master: keepalived does', { timeout: 60_000 }, async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    d.keepalived(h1, { priority: 100, state: 'MASTER', pass: 'secret12' });
    await heldBy(lab, h1, 8_000, 'the VIP on keepalived (h1)');
    const carpd = d.carpd(h2, { priority: 80, pass: 'secret12' });
    await sleep(1_500);
    let cutAt = Date.now();
    await h1.cutLink();
    await waitFor(() => h2.hasAddress(lab.vip()), 6_000, 20, 'the VIP on carpd (h2) after the cut');
    const carpdTook = Date.now() - cutAt;
    // keepalived on h1 keeps its VIP while its link is down (it goes FAULT only with
    // track_interface): what matters is the node the segment can reach.
    expect(carpdTook).toBeLessThan(4_500);
    await h1.restoreLink();
    // keepalived (100) comes back and takes the VIP again from carpd (80).
    await heldBy(lab, h1, 8_000, 'the VIP back on keepalived (h1) after the link returned');
    expect(carpd.output()).toMatch(/MASTER -> BACKUP \(preferred master 198\.18\.0\.1 advertised \(priority 100/);

    // The other way round: carpd the master, keepalived the backup.
    const ka3 = d.keepalived(lab.host(3), { priority: 50, pass: 'secret12' });
    await sleep(1_000);
    cutAt = Date.now();
    await h1.cutLink();
    await waitFor(() => h2.hasAddress(lab.vip()), 6_000, 20, 'the VIP on carpd (h2) after the second cut');
    expect(Date.now() - cutAt).toBeLessThan(4_500);
    await sleep(1_000);
    cutAt = Date.now();
    await h2.cutLink();
    await waitFor(() => lab.host(3).hasAddress(lab.vip()), 6_000, 20, 'the VIP on keepalived (h3) after carpd lost its link');
    const keepalivedTook = Date.now() - cutAt;
    console.log(`link cuts: keepalived master -> carpd in ${carpdTook} ms; carpd master -> keepalived in ${keepalivedTook} ms`);
    expect(keepalivedTook).toBeLessThan(4_500);
    expect(keepalivedEntered(ka3.proc, 'MASTER')).toBe(1);
    // carpd gave the VIP up on carrier loss, as it does for CARP.
    await waitFor(async () => !(await h2.hasAddress(lab.vip())), 2_000, 20, 'the VIP gone from carpd without carrier');
  });

  it('preemption: carpd (100) joining a keepalived master (80) takes over at once; with --preempt-delay only after it', async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const ka = d.keepalived(h1, { priority: 80, state: 'MASTER' });
    await heldBy(lab, h1, 8_000, 'the VIP on keepalived (h1)');
    const startedAt = Date.now();
    const carpd = d.carpd(h2, { priority: 100 });
    await heldBy(lab, h2, 6_000, 'the VIP on carpd (h2), preempting');
    const preemptMs = Date.now() - startedAt;
    expect(carpd.output()).toMatch(/BACKUP -> MASTER \(preempting lower-priority master 198\.18\.0\.1 \(priority 80/);
    // keepalived yielded to the higher priority (no transient double master left behind).
    await waitFor(() => ka.proc.output().includes('Entering BACKUP STATE'), 3_000, 20, 'keepalived back to BACKUP');
    await carpd.stop(3_000);
    await heldBy(lab, h1, 4_000, 'the VIP back on keepalived after carpd stopped');

    const delayedAt = Date.now();
    const delayed = d.carpd(h2, { priority: 100, extra: ['--preempt-delay=3'] });
    await heldBy(lab, h2, 8_000, 'the VIP on carpd (h2) after its preempt delay');
    const delayedMs = Date.now() - delayedAt;
    console.log(`preemption: at once ${preemptMs} ms after start (first advert heard); with --preempt-delay=3: ${delayedMs} ms`);
    expect(delayedMs).toBeGreaterThanOrEqual(3_000);
    expect(delayed.output()).toMatch(/BACKUP -> MASTER \(preempting lower-priority master/);
  });

  it('a failing check puts the carpd master in FAULT: it sends priority 0 and keepalived takes over; healthy again, carpd preempts back', async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const dir = mkdtempSync(join(tmpdir(), 'carpd-vrrp-check-'));
    const down = join(dir, 'down');
    try {
      const carpd = d.carpd(h1, {
        priority: 100,
        extra: [`--check=/bin/sh -c "test ! -e ${down}"`, '--check-interval=0.2', '--check-fall=1', '--check-rise=1'],
      });
      await heldBy(lab, h1, 8_000, 'the VIP on carpd (h1)');
      const ka = d.keepalived(h2, { priority: 80 });
      await sleep(4_500);
      expect(await lab.vipHolders()).toEqual([h1]);
      const failAt = Date.now();
      writeFileSync(down, '');
      await heldBy(lab, h2, 4_000, 'the VIP on keepalived (h2) after the check failed');
      const faultMs = Date.now() - failAt;
      expect(carpd.output()).toMatch(/MASTER -> FAULT \(/);
      rmSync(down);
      // Healthy again: carpd (100) preempts keepalived (80).
      await heldBy(lab, h1, 8_000, 'the VIP back on carpd (h1)');
      expect(keepalivedEntered(ka.proc, 'BACKUP')).toBeGreaterThanOrEqual(2);
      console.log(`VRRP check failed on the carpd master: keepalived MASTER ${faultMs} ms later`);
      // The skew time at priority 80 (0.69 s) plus the check interval.
      expect(faultMs).toBeLessThan(2_500);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('three nodes, keepalived 150, carpd 100, keepalived 50: on the master\'s stop the 100 node takes over, alone', async () => {
    const lab = getLab();
    const [h1, h2, h3] = [lab.host(1), lab.host(2), lab.host(3)];
    const top = d.keepalived(h1, { priority: 150, state: 'MASTER' });
    await heldBy(lab, h1, 8_000, 'the VIP on keepalived 150 (h1)');
    const carpd = d.carpd(h2, { priority: 100 });
    const low = d.keepalived(h3, { priority: 50 });
    await sleep(4_500);
    expect(await lab.vipHolders()).toEqual([h1]);
    const stopAt = Date.now();
    top.proc.signal('SIGTERM');
    await heldBy(lab, h2, 4_000, 'the VIP on carpd 100 (h2)');
    const handOverMs = Date.now() - stopAt;
    await sleep(2_000);
    expect(await lab.vipHolders()).toEqual([h2]);
    // The priority-50 keepalived waited longer (skew (256-50)/256 s) and heard carpd first.
    expect(keepalivedEntered(low.proc, 'MASTER')).toBe(0);
    expect(carpdBecameMaster(carpd)).toBe(1);
    console.log(`three nodes: keepalived 150 stopped, carpd 100 MASTER in ${handOverMs} ms, keepalived 50 stayed BACKUP`);
  });
});

describe('carpd and keepalived, VRRPv3 at 0.1 s and unicast', () => {
  const getLab = useLab({ hosts: 3 });
  const d = useDaemons(getLab);

  it('VRRPv3 at advert_int 0.1: clean stop both ways', async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const ka = d.keepalived(h1, { version: 3, priority: 100, state: 'MASTER', advertInt: 0.1 });
    await heldBy(lab, h1, 8_000, 'the VIP on keepalived (h1)');
    const carpd = d.carpd(h2, { protocol: 'vrrp3', priority: 80, advertInt: 0.1 });
    await sleep(1_500);
    expect(await lab.vipHolders()).toEqual([h1]);
    expect(carpdBecameMaster(carpd)).toBe(0);
    let stopAt = Date.now();
    ka.proc.signal('SIGTERM');
    await heldBy(lab, h2, 3_000, 'the VIP on carpd (h2)');
    const toCarpd = Date.now() - stopAt;
    await ka.proc.stop(3_000);

    const ka2 = d.keepalived(h1, { version: 3, priority: 50, advertInt: 0.1 });
    await sleep(1_500);
    expect(await lab.vipHolders()).toEqual([h2]);
    stopAt = Date.now();
    carpd.signal('SIGTERM');
    await heldBy(lab, h1, 3_000, 'the VIP on keepalived (h1)');
    const toKeepalived = Date.now() - stopAt;
    console.log(`VRRPv3 0.1 s clean stop: keepalived -> carpd ${toCarpd} ms, carpd -> keepalived ${toKeepalived} ms`);
    // Skew time at 0.1 s: (256 - 80) * 0.1 / 256 = 69 ms, (256 - 50) * 0.1 / 256 = 80 ms.
    expect(toCarpd).toBeLessThan(1_500);
    expect(toKeepalived).toBeLessThan(1_500);
    expect(keepalivedEntered(ka2.proc, 'MASTER')).toBe(1);
  });

  it('unicast peers: adverts go to the peer, not the group, and a node outside the list is not heard', async () => {
    const lab = getLab();
    const [h1, h2, h3] = [lab.host(1), lab.host(2), lab.host(3)];
    const toGroup = await PacketCapture.start(h2.ns, 'eth0', 'ip proto 112 and dst host 224.0.0.18');
    const toPeer = await PacketCapture.start(h2.ns, 'eth0', `ip proto 112 and dst host ${h2.address}`);
    try {
      const unicastMaster = d.keepalived(h1, { priority: 100, state: 'MASTER', pass: 'secret12', unicastSrc: h1.address, peers: [h2.address] });
      await heldBy(lab, h1, 8_000, 'the VIP on keepalived (h1)');
      const carpd = d.carpd(h2, { priority: 80, pass: 'secret12', peers: [h1.address] });
      await sleep(4_500);
      expect(await lab.vipHolders()).toEqual([h1]);
      expect(carpdBecameMaster(carpd)).toBe(0);
      // A multicast master on h3 with a higher priority: not a peer, so carpd does not hear it.
      const outsider = d.keepalived(h3, { priority: 200, state: 'MASTER', pass: 'secret12' });
      await sleep(4_500);
      // Both h1 (unicast) and h3 (multicast, heard by nobody) hold the VIP now; carpd follows h1.
      expect(carpdBecameMaster(carpd)).toBe(0);
      expect(await h1.hasAddress(lab.vip())).toBe(true);
      await outsider.proc.stop(3_000);
      await waitFor(async () => !(await h3.hasAddress(lab.vip())), 3_000, 20, 'the outsider gone');
      const stopAt = Date.now();
      // keepalived h1 stopping sends priority 0 to its peer only: carpd takes over.
      await unicastMaster.proc.stop(3_000);
      await waitFor(() => h2.hasAddress(lab.vip()), 4_000, 20, 'the VIP on carpd (h2) after its unicast peer stopped');
      console.log(`unicast: keepalived peer stopped, carpd MASTER in ${Date.now() - stopAt} ms`);
      await sleep(1_000);
      const fromCarpdToGroup = (await toGroup.stop()).filter((p) => p.srcIp === h2.address);
      const toH2 = await toPeer.stop();
      expect(fromCarpdToGroup).toEqual([]);
      expect(toH2.filter((p) => p.srcIp === h1.address).length).toBeGreaterThanOrEqual(4);
    } finally {
      await toGroup.stop().catch(() => undefined);
      await toPeer.stop().catch(() => undefined);
    }
  });

  it('carpd and keepalived each read the same kind of keepalived.conf, VRRPv2 PASS and VRRPv3', { timeout: 60_000 }, async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    for (const version of [2, 3] as const) {
      const conf = (priority: number, state: 'MASTER' | 'BACKUP') =>
        keepalivedConf({
          version,
          vrid: VRID,
          priority,
          state,
          preemptDelay: state === 'BACKUP' ? 2 : undefined,
          pass: version === 2 ? 'secret12' : undefined,
          vips: [`${lab.vip()}/24`],
        });
      const ka = d.keepalivedText(h1, conf(100, 'MASTER'), `v${version} MASTER 100`);
      await heldBy(lab, h1, 8_000, `the VIP on keepalived (h1), VRRPv${version}`);
      const carpd = d.carpdKeepalivedConf(h2, conf(80, 'BACKUP'));
      await sleep(4_500);
      expect(await lab.vipHolders()).toEqual([h1]);
      expect(carpdBecameMaster(carpd)).toBe(0);
      const stopAt = Date.now();
      ka.proc.signal('SIGTERM');
      await heldBy(lab, h2, 4_000, `the VIP on carpd (h2), VRRPv${version}`);
      const handOverMs = Date.now() - stopAt;
      console.log(`same keepalived.conf, VRRPv${version}: keepalived stopped, carpd MASTER in ${handOverMs} ms`);
      expect(handOverMs).toBeLessThan(1_500);
      await ka.proc.stop(3_000);
      await carpd.stop(3_000);
      await waitFor(async () => (await lab.vipHolders()).length === 0, 3_000, 20, 'no VIP left after both stopped');
    }
  });
});

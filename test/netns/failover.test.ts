// Two real carpd processes in network namespaces joined by a bridge, with a client pinging the
// VIP: election, link cut, clean hand-over. Needs root: without it the lab refuses to start and
// these tests fail loudly.
//
// Every test builds its own lab and its own daemons (useFreshLab), so none depends on what the
// one before left (a master, a cut link, a stopped daemon) and one failure cannot cascade.
// Time bounds are what must hold on a busy two-core machine, with the reason next to each; the
// tight figures are the benchmark's (scripts/bench).
import { beforeEach, describe, expect, it } from 'vitest';
import { PacketCapture, type Lab, type LabProcess } from '../../scripts/lab/lab.js';
import { singleMaster, sleep, startCarpd, vipHolders } from '../helpers/carpd.js';
import { useFreshLab, waitFor } from '../helpers/lab.js';

// h1 is the slower node: its master-down interval is 3 + 200/256 = 3.78 s, h2's is 3 s. The
// 0.78 s between them is far more than two daemons started together drift apart on a loaded
// machine, so the faster one wins the first election whatever the start-up jitter.
const H1_ADVSKEW = 200;
const H1_MASTER_DOWN_MS = 3_000 + (H1_ADVSKEW * 1_000) / 256;

describe('two carpd nodes and a client', () => {
  const getLab = useFreshLab({ hosts: 2 });
  let daemons: LabProcess[] = [];

  beforeEach(({ onTestFailed }) => {
    daemons = [];
    const mine = daemons;
    onTestFailed(() => {
      for (const [k, d] of mine.entries()) console.log(`carpd on h${k + 1} (pid ${d.pid}):\n${d.output()}`);
    });
  });

  /** h1 (advskew 200, --preempt) and h2 (advskew 0), started together; daemons[0] is h1's. */
  function startBoth(lab: Lab, env?: Record<string, string>): [LabProcess, LabProcess] {
    const [h1, h2] = [lab.host(1), lab.host(2)];
    daemons.push(startCarpd(lab, h1, { advskew: H1_ADVSKEW, extra: ['--preempt'], ...(env !== undefined ? { env } : {}) }));
    daemons.push(startCarpd(lab, h2, { advskew: 0, ...(env !== undefined ? { env } : {}) }));
    return [daemons[0]!, daemons[1]!];
  }

  /** The steady state most tests start from: h2 MASTER, h1 BACKUP having heard it. */
  async function h2MasterH1Backup(lab: Lab, env?: Record<string, string>): Promise<[LabProcess, LabProcess]> {
    const [b1, m2] = startBoth(lab, env);
    expect(await singleMaster(lab, 15_000, 1_000)).toBe(lab.host(2));
    await waitFor(
      async () => {
        b1.signal('SIGUSR1');
        return b1.waitForOutput(/BACKUP on eth0 id 42 .* received [1-9]\d*.*last master 198\.18\.0\.2/, 500).catch(() => undefined);
      },
      5_000,
      0,
      'h1 to hear an advert from h2',
    );
    return [b1, m2];
  }

  it('elect the node with the shorter interval, and the client reaches the VIP at its MAC', async () => {
    const lab = getLab();
    const [h1, h2] = lab.hosts;
    // h2 advertises faster (advskew 0 < 200), so it must win even though h1 has the lower
    // address and is started first.
    const [, m2] = startBoth(lab);
    const master = await singleMaster(lab, 15_000);
    expect(master).toBe(h2);
    await waitFor(() => /BACKUP -> MASTER/.test(m2.output()), 5_000, 50, 'the transition log line');
    expect(m2.output()).toMatch(/\[WARNING\] BACKUP -> MASTER \(no master heard for 3\.\d\d s\)/);
    expect(await h2!.addresses()).toContain(`${lab.vip()}/32`);
    expect(await h1!.hasAddress(lab.vip())).toBe(false);

    const r = await lab.client.exec('ping', ['-c', '3', '-i', '0.2', '-W', '1', lab.vip()]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((await lab.client.arpEntry(lab.vip()))?.mac).toBe(h2!.mac);
  }, 30_000);

  it('SIGUSR1 logs a status line with state, interface, vhid and counters', async () => {
    const lab = getLab();
    const [, m2] = await h2MasterH1Backup(lab);
    m2.signal('SIGUSR1');
    // The line's content is the point; the wait only has to outlast a busy machine.
    const line = await m2.waitForOutput(/MASTER on eth0 id 42 .*adverts sent [1-9]\d*, received \d+/, 5_000);
    expect(line).toContain(lab.vip());
  }, 30_000);

  it('the master loses carrier: it drops the VIP without waiting for anyone, the backup takes over, the client follows', async () => {
    const lab = getLab();
    const [h1, h2] = lab.hosts;
    const [, m2] = await h2MasterH1Backup(lab);
    const capture = await PacketCapture.start(lab.client.ns, 'eth0', 'arp');
    const ping = lab.client.startPing(lab.vip());
    await ping.waitForReply(5_000);

    const cutAt = Date.now();
    await h2!.cutLink();
    // carpd watches the link: the VIP leaves the cut master as soon as the kernel reports the
    // carrier loss (up to 1 s late on veth), where ucarp keeps it until its next 10 s check.
    // Before h1's master-down interval ends is what must hold: the VIP never sits on both.
    await waitFor(async () => !(await h2!.hasAddress(lab.vip())), 8_000, 20, 'the VIP gone from the cut master');
    const droppedMs = Date.now() - cutAt;
    await waitFor(() => h1!.hasAddress(lab.vip()), 10_000, 20, 'the VIP on the backup');
    const takeoverMs = Date.now() - cutAt;
    await waitFor(async () => (await lab.client.arpEntry(lab.vip()))?.mac === h1!.mac, 5_000, 20, "the client's ARP entry on the new master");
    await sleep(300);
    const report = await ping.stop();
    console.log(`carrier loss: VIP off h2 after ${droppedMs} ms, on h1 after ${takeoverMs} ms; largest ping gap ${Math.round(report.largestGapMs)} ms`);
    expect(droppedMs).toBeLessThan(H1_MASTER_DOWN_MS);
    // The outage is h1's master-down interval counted from h2's last advert (0-1 s before the
    // cut): more than 2 s, and not seconds worse than 3.78 s.
    expect(report.largestGapMs).toBeGreaterThan(2_000);
    expect(report.largestGapMs).toBeLessThan(H1_MASTER_DOWN_MS + 2_500);
    expect(report.firstReplyAfter(cutAt)).toBeDefined();

    const arps = (await capture.stop()).filter((p) => p.kind === 'arp' && p.srcMac === h1!.mac);
    // Gratuitous ARP: a request announcing the VIP as both sender and target.
    expect(arps.some((p) => p.arp?.op === 'request' && p.arp.senderIp === lab.vip() && p.arp.targetIp === lab.vip())).toBe(true);
    expect(m2.output()).toMatch(/MASTER -> BACKUP \(link down: lost carrier\)/);
  }, 40_000);

  it('carrier back: the old master rejoins as BACKUP and, without --preempt, nothing moves', async () => {
    const lab = getLab();
    const [h1, h2] = lab.hosts;
    const [, m2] = await h2MasterH1Backup(lab);
    await h2!.cutLink();
    await waitFor(async () => (await vipHolders(lab)).length === 1 && (await h1!.hasAddress(lab.vip())), 12_000, 50, 'h1 alone holding the VIP');
    await h2!.restoreLink();
    await m2.waitForOutput(/link up/, 5_000);
    // h2 is faster and would win an election, but without --preempt it follows the master it
    // hears. Longer than h2's master-down interval (3 s): time enough to claim if it would.
    const samples: string[] = [];
    const until = Date.now() + 4_000;
    while (Date.now() < until) {
      samples.push((await vipHolders(lab)).map((h) => `h${h.index}`).join());
      await sleep(200);
    }
    expect(samples.filter((s) => s !== 'h1')).toEqual([]);
    expect(m2.output()).not.toMatch(/link up[^]*BACKUP -> MASTER/);
  }, 40_000);

  it('a clean stop (SIGTERM) hands over at once: bow-out advert, VIP removed, exit 0', async () => {
    const lab = getLab();
    const [h1, h2] = lab.hosts;
    const [b1, m2] = await h2MasterH1Backup(lab);
    const ping = lab.client.startPing(lab.vip());
    await ping.waitForReply(5_000);
    const stopAt = Date.now();
    m2.signal('SIGTERM');
    const exit = await m2.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    await waitFor(() => h1!.hasAddress(lab.vip()), 5_000, 10, 'the VIP on the backup');
    const takeoverMs = Date.now() - stopAt;
    await sleep(300);
    const report = await ping.stop();
    console.log(`clean stop: VIP on h1 after ${takeoverMs} ms; largest ping gap ${Math.round(report.largestGapMs)} ms`);
    expect(await h2!.hasAddress(lab.vip())).toBe(false);
    // Well below h1's 3.78 s master-down interval: the backup did not wait, it heard the
    // bow-out (tens of ms when idle; the margin is for a busy machine).
    expect(takeoverMs).toBeLessThan(H1_MASTER_DOWN_MS - 1_000);
    expect(report.largestGapMs).toBeLessThan(H1_MASTER_DOWN_MS - 1_000);
    expect(m2.output()).toMatch(/MASTER -> INIT \(shutdown: bow-out advert sent, releasing the VIP\)/);
    expect(b1.output()).toMatch(/BACKUP -> MASTER \(master 198\.18\.0\.2 bowed out/);
  }, 30_000);

  it("with CARPD_HOST_IO=commands (ip and arping, no netlink or packet socket) the hand-over and the client's ARP entry work the same", async () => {
    const lab = getLab();
    const [h1, h2] = lab.hosts;
    const [b1, m2] = await h2MasterH1Backup(lab, { CARPD_HOST_IO: 'commands' });
    const ping = lab.client.startPing(lab.vip());
    await ping.waitForReply(5_000);
    m2.signal('SIGTERM');
    expect(await m2.exited).toEqual({ code: 0, signal: null });
    await waitFor(() => h1!.hasAddress(lab.vip()), 5_000, 10, 'the VIP on the backup');
    expect(await h2!.hasAddress(lab.vip())).toBe(false);
    // The gratuitous ARP (arping's) moved the client's entry to h1's MAC.
    const mac1 = h1!.mac;
    await waitFor(async () => (await lab.client.arpEntry(lab.vip()))?.mac === mac1, 3_000, 20, "the client's entry on h1's MAC");
    await ping.stop();
    expect(b1.output()).toMatch(/BACKUP -> MASTER \(master 198\.18\.0\.2 bowed out/);
    // Nothing went over carpd's own sockets, and nothing failed.
    expect(b1.output()).not.toMatch(/netlink|cannot/);
  }, 30_000);
});

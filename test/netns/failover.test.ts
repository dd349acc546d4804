// Two real carpd processes in network namespaces joined by a bridge, with a client pinging the
// VIP: election, link cut, clean hand-over. Needs root (`sudo npm test`): without it the lab
// refuses to start and these tests fail loudly.
import { beforeEach, describe, expect, it } from 'vitest';
import { PacketCapture, type LabProcess } from '../../scripts/lab/lab.js';
import { singleMaster, sleep, startCarpd, vipHolders } from '../helpers/carpd.js';
import { useLab, waitFor } from '../helpers/lab.js';

describe('two carpd nodes and a client', () => {
  const getLab = useLab({ hosts: 2 });
  const daemons: LabProcess[] = [];

  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      for (const [k, d] of daemons.entries()) console.log(`carpd #${k + 1} (pid ${d.pid}):\n${d.output()}`);
    });
  });

  it('elect the node with the shorter interval, and the client reaches the VIP at its MAC', async () => {
    const lab = getLab();
    const [h1, h2] = lab.hosts;
    // h2 advertises faster (advskew 0 < 100), so it must win even though h1 has the lower address.
    daemons.push(startCarpd(lab, h1!, { advskew: 100, extra: ['--preempt'] }));
    daemons.push(startCarpd(lab, h2!, { advskew: 0 }));
    const master = await singleMaster(lab, 10_000);
    expect(master).toBe(h2);
    await waitFor(() => /BACKUP -> MASTER/.test(daemons[1]!.output()), 2_000, 50, 'the transition log line');
    expect(daemons[1]!.output()).toMatch(/\[WARNING\] BACKUP -> MASTER \(no master heard for 3\.\d\d s\)/);
    expect(await h2!.addresses()).toContain(`${lab.vip()}/32`);

    const r = await lab.client.exec('ping', ['-c', '3', '-i', '0.2', '-W', '1', lab.vip()]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((await lab.client.arpEntry(lab.vip()))?.mac).toBe(h2!.mac);
  }, 20_000);

  it('SIGUSR1 logs a status line with state, interface, vhid and counters', async () => {
    const lab = getLab();
    const d = daemons[1]!;
    d.signal('SIGUSR1');
    const line = await d.waitForOutput(/MASTER on eth0 id 42 .*adverts sent \d+, received \d+/, 2_000);
    expect(line).toContain(lab.vip());
  });

  it('the master loses carrier: it drops the VIP at once, the backup takes over, the client follows', async () => {
    const lab = getLab();
    const [h1, h2] = lab.hosts;
    const capture = await PacketCapture.start(lab.client.ns, 'eth0', 'arp');
    const ping = lab.client.startPing(lab.vip());
    await ping.waitForReply(2_000);

    const cutAt = Date.now();
    await h2!.cutLink();
    // carpd watches the link: the VIP leaves the old master in a fraction of a second, where
    // ucarp would keep it until its next 10 s check.
    await waitFor(async () => !(await h2!.hasAddress(lab.vip())), 1_000, 20, 'the VIP gone from the cut master');
    expect(Date.now() - cutAt).toBeLessThan(1_000);
    await waitFor(() => h1!.hasAddress(lab.vip()), 6_000, 20, 'the VIP on the backup');
    await waitFor(async () => (await lab.client.arpEntry(lab.vip()))?.mac === h1!.mac, 3_000, 20, "the client's ARP entry on the new master");
    await sleep(300);
    const report = await ping.stop();
    // The outage is the master-down interval (3 s + 100/256 s for h1), not more than a second worse.
    expect(report.largestGapMs).toBeGreaterThan(2_000);
    expect(report.largestGapMs).toBeLessThan(5_000);
    expect(report.firstReplyAfter(cutAt)).toBeDefined();

    const arps = (await capture.stop()).filter((p) => p.kind === 'arp' && p.srcMac === h1!.mac);
    // Gratuitous ARP: a request announcing the VIP as both sender and target.
    expect(arps.some((p) => p.arp?.op === 'request' && p.arp.senderIp === lab.vip() && p.arp.targetIp === lab.vip())).toBe(true);
    expect(daemons[1]!.output()).toMatch(/MASTER -> BACKUP \(link down: lost carrier\)/);
  }, 20_000);

  it('carrier back: the old master rejoins as BACKUP and, without --preempt, nothing moves', async () => {
    const lab = getLab();
    const [h1, h2] = lab.hosts;
    await h2!.restoreLink();
    await daemons[1]!.waitForOutput(/link up/, 2_000);
    // h2 is faster and would win an election, but without --preempt it follows the master it hears.
    await sleep(4_000);
    expect(await vipHolders(lab)).toEqual([h1]);
  }, 10_000);

  it('a clean stop (SIGTERM) hands over at once: bow-out advert, VIP removed, exit 0', async () => {
    const lab = getLab();
    const [h1, h2] = lab.hosts;
    const ping = lab.client.startPing(lab.vip());
    await ping.waitForReply(2_000);
    const master = daemons[0]!;
    const stopAt = Date.now();
    master.signal('SIGTERM');
    const exit = await master.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    await waitFor(() => h2!.hasAddress(lab.vip()), 2_000, 10, 'the VIP on the backup');
    const takeoverMs = Date.now() - stopAt;
    await sleep(300);
    const report = await ping.stop();
    expect(await h1!.hasAddress(lab.vip())).toBe(false);
    // Far below the 3 s master-down interval: the backup did not wait, it heard the bow-out.
    expect(takeoverMs).toBeLessThan(1_500);
    expect(report.largestGapMs).toBeLessThan(1_000);
    expect(master.output()).toMatch(/MASTER -> INIT \(shutdown: bow-out advert sent, releasing the VIP\)/);
    expect(daemons[1]!.output()).toMatch(/BACKUP -> MASTER \(master 198\.18\.0\.1 bowed out\)/);
  }, 15_000);
});

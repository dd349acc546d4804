// Process lifecycle: a stop signal during start-up, a second instance, an interface re-created
// under a running carpd.
// Needs root (`sudo npm test`); without it the lab refuses to start and this fails loudly.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PacketCapture } from '../../scripts/lab/lab.js';
import { CARPD, sleep, startCarpd } from '../helpers/carpd.js';
import { useLab, waitFor } from '../helpers/lab.js';

const SLOW_IP_DIR = fileURLToPath(new URL('../fixtures/slow-ip', import.meta.url));

describe('SIGTERM during start-up', () => {
  const getLab = useLab({ hosts: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'carpd-startup-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0 without ever claiming the VIP, and leaves no process, neighbour entry or pidfile', async () => {
    const lab = getLab();
    const host = lab.host(1);
    const pidfile = join(dir, 'carpd.pid');
    // With the slow ip first on PATH, `ip addr show` takes 2 s, so the signal lands while the
    // stale-VIP check runs.
    const slow = host.spawn(process.execPath, [
      CARPD,
      '--interface=eth0', `--srcip=${host.address}`, '--vhid=42', '--pass=love', `--addr=${lab.vip()}`,
      '--nomcast', `--pidfile=${pidfile}`,
    ], {
      env: {
        PATH: `${SLOW_IP_DIR}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
        SLOW_IP_MARKER: join(dir, 'slow-ip-called'),
      },
    });
    await sleep(700);
    expect(existsSync(pidfile)).toBe(true);
    const stopAt = Date.now();
    slow.signal('SIGTERM');
    // Bounded: a daemon that went on starting after the signal would never exit by itself.
    const exit = await Promise.race([slow.exited, sleep(8_000).then(() => 'still running after 8 s')]);
    expect(exit, slow.output()).toEqual({ code: 0, signal: null });
    // It had to finish the slow call first (≤ 2 s), then stopped instead of starting the election.
    expect(Date.now() - stopAt).toBeLessThan(5_000);
    expect(slow.output()).toMatch(/SIGTERM: stopping/);
    expect(slow.output()).not.toMatch(/-> MASTER|INIT -> BACKUP/);
    await sleep(200);
    // Asked from outside: `ip netns pids` run inside the namespace would list itself.
    expect(execFileSync('ip', ['netns', 'pids', host.ns], { encoding: 'utf8' }).trim(), 'processes left in the namespace').toBe('');
    const neigh = await host.exec('ip', ['neigh', 'show', '224.0.0.18', 'dev', 'eth0']);
    expect(neigh.stdout.trim()).toBe('');
    expect(existsSync(pidfile)).toBe(false);
    expect(await host.hasAddress(lab.vip())).toBe(false);
  }, 20_000);
});

describe('one carpd per interface and vhid; an interface re-created under it', () => {
  const getLab = useLab({ hosts: 1 });

  it('a second carpd for the same vhid refuses to start and leaves the running master alone', async () => {
    const lab = getLab();
    const host = lab.host(1);
    const first = startCarpd(lab, host);
    await waitFor(() => host.hasAddress(lab.vip()), 6_000, 50, 'the first carpd holding the VIP');
    // Without the lock, the newcomer's stale-VIP check would remove the master's address.
    const second = startCarpd(lab, host);
    expect(await second.exited).toEqual({ code: 1, signal: null });
    expect(second.output().trim()).toMatch(new RegExp(`another carpd \\(pid ${first.pid}\\) already runs vhid 42 on eth0`));
    expect(second.output().trim().split('\n')).toHaveLength(1);
    expect(await host.hasAddress(lab.vip())).toBe(true);
    await first.stop();
    expect(await first.exited).toEqual({ code: 0, signal: null });
    // The lock went with it: a new one starts.
    const third = startCarpd(lab, host);
    await third.waitForOutput(/INIT -> BACKUP/, 5_000);
    await third.stop();
  }, 20_000);

  it('reopens its socket when the interface is deleted and created again, and advertises on the new one', async () => {
    const lab = getLab();
    const host = lab.host(1);
    const d = startCarpd(lab, host);
    await waitFor(() => host.hasAddress(lab.vip()), 6_000, 50, 'carpd holding the VIP');
    // Recreate the host's veth pair exactly as the lab built it: same name, MAC and address.
    await host.exec('ip', ['link', 'del', 'eth0']);
    await d.waitForOutput(/MASTER -> BACKUP \(link down/, 3_000);
    const run = async (args: string[]) => {
      const r = await host.exec('ip', args);
      expect(r.code, r.stderr).toBe(0);
    };
    const br = async (args: string[]) => execFileSync('ip', ['-n', lab.bridgeNs, ...args]);
    await br(['link', 'add', 'h1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.ns]);
    await run(['link', 'set', 'dev', 'eth0', 'address', host.mac]);
    await run(['addr', 'add', `${host.address}/24`, 'dev', 'eth0']);
    await run(['link', 'set', 'dev', 'eth0', 'up']);
    await br(['link', 'set', 'dev', 'h1', 'master', 'br0']);
    const capture = await PacketCapture.start(lab.client.ns, 'eth0', 'ip proto 112');
    await br(['link', 'set', 'dev', 'h1', 'up']);
    await d.waitForOutput(/eth0 was re-created \(index \d+\)/, 3_000);
    await d.waitForOutput(/CARP socket reopened on eth0/, 3_000);
    // Alone on the link, it claims the VIP again after the master-down interval and advertises.
    await waitFor(() => host.hasAddress(lab.vip()), 6_000, 50, 'the VIP back on the re-created interface');
    await sleep(1_500);
    const adverts = (await capture.stop()).filter((p) => p.kind === 'carp' && p.srcIp === host.address);
    expect(adverts.length, d.output()).toBeGreaterThanOrEqual(1);
    expect(d.output()).not.toMatch(/cannot send advert/);
    await d.stop();
  }, 30_000);
});

describe('start on an interface without carrier', () => {
  const getLab = useLab({ hosts: 2 });

  it('starts as BACKUP waiting for the link (Node alone does not even list such an interface), then wins when it returns', async () => {
    const lab = getLab();
    const host = lab.host(1);
    await host.cutLink();
    const carpd = startCarpd(lab, host);
    try {
      await carpd.waitForOutput(/INIT -> BACKUP \(start, link down: waiting for carrier\)/, 5_000);
      await sleep(4_000);
      expect(await host.hasAddress(lab.vip())).toBe(false);
      await host.restoreLink();
      await waitFor(() => host.hasAddress(lab.vip()), 8_000, 50, 'the VIP once the link is back');
    } finally {
      await carpd.stop();
    }
    expect((await carpd.exited).code).toBe(0);
  }, 30_000);
});

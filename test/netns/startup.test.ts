// A stop signal that arrives while carpd is still starting up must still leave nothing behind.
// Needs root (`sudo npm test`); without it the lab refuses to start and this fails loudly.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CARPD, sleep } from '../helpers/carpd.js';
import { useLab } from '../helpers/lab.js';

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

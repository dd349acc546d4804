// The README's first command ends in `npm run demo`: it must keep working. Runs the built demo
// (dist/, built by the global setup) as a newcomer would. Needs root, like the demo itself.
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { requireRoot } from '../helpers/lab.js';

const DEMO = fileURLToPath(new URL('../../dist/scripts/demo.js', import.meta.url));

describe('npm run demo', () => {
  it('walks through election, link cut, recovery and clean stop, and leaves nothing behind', () => {
    requireRoot();
    const run = spawnSync(process.execPath, [DEMO], { encoding: 'utf8', timeout: 90_000 });
    const out = run.stdout + run.stderr;
    expect(run.status, out).toBe(0);
    expect(out).toMatch(/-> host1 \(198\.18\.0\.1\) is MASTER and holds 198\.18\.0\.50/);
    expect(out).toMatch(/\d+ ms after the cut: the old master noticed the lost carrier and released the VIP/);
    expect(out).toMatch(/\d+ ms after the cut: host2 \(198\.18\.0\.2\) took over\. It waited its master-down interval,\n {3}3\.39 s,/);
    expect(out).toMatch(/The client's ARP entry now points at 02:00:00:00:00:02/);
    expect(out).toMatch(/sent a "bow-out" advert, so host1 \(198\.18\.0\.1\) took over at once/);
    expect(out).toMatch(/saw the VIP there \d+ ms after the SIGTERM/);
    // Every quoted log line says whose carpd wrote it.
    const quoted = out.split('\n').filter((l) => l.includes(' | '));
    expect(quoted.length).toBeGreaterThan(0);
    expect(quoted.filter((l) => !/^ {7}host[12] log \| \[/.test(l))).toEqual([]);
    // 3.39 s is the master-down interval; a loaded host's timer may fire some ms late (3.40 s seen).
    const waited = /host2 log \| \[WARNING\] BACKUP -> MASTER \(master down: no advert for (\d+\.\d\d) s\)/.exec(out);
    expect(waited, out).not.toBeNull();
    expect(Number(waited![1])).toBeGreaterThanOrEqual(3.39);
    expect(Number(waited![1])).toBeLessThan(3.9);
    expect(out).toMatch(/exited with status 0/);
    expect(out).toMatch(/Removed the namespaces/);
    // The demo's lab is carpd-lab-demo-<its pid>-*; other labs may come and go meanwhile.
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.startsWith(`carpd-lab-demo-${run.pid}-`));
    expect(left).toEqual([]);
  }, 100_000);
});

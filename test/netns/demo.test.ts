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
    const before = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    const run = spawnSync(process.execPath, [DEMO], { encoding: 'utf8', timeout: 90_000 });
    const out = run.stdout + run.stderr;
    expect(run.status, out).toBe(0);
    expect(out).toMatch(/-> host1 \(198\.18\.0\.1\) is MASTER and holds 198\.18\.0\.50/);
    expect(out).toMatch(/the old master noticed the lost carrier and released the VIP/);
    expect(out).toMatch(/The client's ARP entry now points at 02:00:00:00:00:02/);
    expect(out).toMatch(/sent a "bow-out" advert, so host1 \(198\.18\.0\.1\) took over after \d+ ms/);
    expect(out).toMatch(/exited with status 0/);
    expect(out).toMatch(/Removed the namespaces/);
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toBe(before);
  }, 100_000);
});

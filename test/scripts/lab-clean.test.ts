// scripts/lab-clean.sh against a lab of this file's own and stand-in run and temp directories:
// run with this lab's id, it may only touch this lab and provably stale files, so it is safe
// while other labs run on the machine. (Without an id it removes every lab: never run here.)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { listNamespaces, NamespaceSet } from '../../scripts/lab/lab.js';
import { exec } from '../../scripts/lab/command.js';
import { requireRoot } from '../helpers/lab.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/lab-clean.sh', import.meta.url));
const MACHINE_NETNS = '4026531840'; // a namespace id that is not one of the lab's

const sets: NamespaceSet[] = [];
const dirs: string[] = [];

afterAll(async () => {
  for (const set of sets) await set.destroy();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(label: string): string {
  const d = mkdtempSync(join(tmpdir(), `carpd-test-lab-clean-${label}-`));
  dirs.push(d);
  return d;
}

function file(path: string, content = ''): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}

describe('scripts/lab-clean.sh', () => {
  it('with a lab id: kills and deletes that lab, removes its run files and stale ones, leaves everything live alone', async () => {
    requireRoot();
    const doomed = new NamespaceSet({ name: `clean-${process.pid}` });
    const other = new NamespaceSet({ name: `keep-${process.pid}` });
    sets.push(doomed, other);
    const nsA = await doomed.add('a');
    await doomed.add('b');
    const kept = await other.add('a');
    const inodeA = String(statSync(`/run/netns/${nsA}`).ino);
    // A process left in the lab, as a SIGKILLed test leaves carpd or ping.
    const straggler = spawn('ip', ['netns', 'exec', nsA, 'sleep', '60'], { stdio: 'ignore' });
    const stragglerExit = new Promise<void>((r) => straggler.once('exit', () => r()));

    const live = String(process.pid);
    const dead = String(spawnSync('true').pid);
    const run = tempDir('run');
    const tmp = tempDir('tmp');
    const ofLab = [
      file(join(run, `${inodeA}-eth0-vhid42.pid`), `${live}\n`),
      file(join(run, 'control', `${inodeA}-${live}.sock`)),
      file(join(run, 'nomcast', `${inodeA}-eth0-224.0.0.18`, live)),
    ];
    const stale = [
      file(join(run, `${MACHINE_NETNS}-eth0-vhid7.pid`), `${dead}\n`),
      file(join(run, 'control', `${MACHINE_NETNS}-${dead}.sock`)),
      file(join(run, 'nomcast', `${MACHINE_NETNS}-eth0-224.0.0.18`, dead)),
      file(join(run, 'nomcast', `${MACHINE_NETNS}-eth1-224.0.0.18`, dead)),
      file(join(tmp, `carpd-ucarp-${dead}-AbC123`, 'ucarp')),
    ];
    const alive = [
      file(join(run, `${MACHINE_NETNS}-eth0-vhid8.pid`), `${live}\n`),
      file(join(run, 'control', `${MACHINE_NETNS}-${live}.sock`)),
      file(join(run, 'nomcast', `${MACHINE_NETNS}-eth0-224.0.0.18`, live)),
      file(join(tmp, `carpd-ucarp-${live}-XyZ789`, 'ucarp')),
      // An older checkout's copy carries no pid: only a run without an id removes it.
      file(join(tmp, 'carpd-ucarp-Q1w2E3', 'ucarp')),
      file(join(run, 'ifupdown', 'eth0.pass')),
    ];
    mkdirSync(join(run, 'nomcast', `${MACHINE_NETNS}-eth2-224.0.0.18`)); // empty: may be a live carpd's, just made

    const r = await exec('sh', [SCRIPT, '--run-dir', run, '--tmp-dir', tmp, doomed.id]);
    expect(r.code, r.stdout + r.stderr).toBe(0);

    const namespaces = await listNamespaces();
    expect(namespaces.filter((ns) => ns.startsWith(`carpd-lab-${doomed.id}-`))).toEqual([]);
    expect(namespaces).toContain(kept);
    await stragglerExit;
    expect(straggler.signalCode).toBe('SIGKILL');
    expect([...ofLab, ...stale].filter((f) => existsSync(f))).toEqual([]);
    expect(alive.filter((f) => !existsSync(f))).toEqual([]);
    expect(readdirSync(join(run, 'nomcast')).sort()).toEqual([`${MACHINE_NETNS}-eth0-224.0.0.18`, `${MACHINE_NETNS}-eth2-224.0.0.18`]);
    expect(r.stdout).toContain(`deleted carpd-lab-${doomed.id}-a`);
  }, 30_000);

  it('refuses a malformed id or an unknown option with exit 64, touching nothing', async () => {
    const bad = await exec('sh', [SCRIPT, 'x;rm']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('a lab id is letters, digits and dashes, got "x;rm"');
    const unknown = await exec('sh', [SCRIPT, '--all']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain('unknown option --all');
  });
});

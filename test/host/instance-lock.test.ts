import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireInstanceLock } from '../../lib/host/instance-lock.js';
import { currentNetnsId } from '../../lib/host/run-dir.js';
import { StandInProcesses } from './helpers.js';

// Plain files in a temporary directory standing in for /run/carpd; no network changes.
let runDir: string;
const standIns = new StandInProcesses();
const NETNS = '4026531840';
const lockPath = (ifname = 'eth0', vhid = 42): string => join(runDir, `${NETNS}-${ifname}-vhid${vhid}.pid`);

beforeEach(() => {
  runDir = mkdtempSync(join(tmpdir(), 'carpd-lock-'));
});

afterEach(() => {
  standIns.killAll();
  rmSync(runDir, { recursive: true, force: true });
});

describe('acquireInstanceLock', () => {
  it('writes our pid to <runDir>/<netns>-<if>-vhid<vhid>.pid, and release() removes it', () => {
    const lock = acquireInstanceLock({ interface: 'eth0', vhid: 42, runDir, netnsId: NETNS });
    expect(lock.ok).toBe(true);
    expect(readFileSync(lockPath(), 'utf8')).toBe(`${process.pid}\n`);
    expect(readdirSync(runDir)).toEqual([`${NETNS}-eth0-vhid42.pid`]); // no temporary left
    if (lock.ok) {
      lock.release();
      lock.release(); // idempotent
    }
    expect(existsSync(lockPath())).toBe(false);
  });

  it('refuses while the lock names a live process, with one line for the operator', () => {
    const running = standIns.livePid();
    writeFileSync(lockPath(), `${running}\n`);
    const lock = acquireInstanceLock({ interface: 'eth0', vhid: 42, runDir, netnsId: NETNS });
    expect(lock).toEqual({
      ok: false,
      message: `another carpd (pid ${running}) already runs vhid 42 on eth0 (lock file ${lockPath()})`,
    });
    expect(readFileSync(lockPath(), 'utf8')).toBe(`${running}\n`); // untouched
  });

  it.each([
    ['a dead process', () => `${standIns.deadPid()}\n`],
    ['nothing (a crash while writing)', () => ''],
    ['something that is not a pid', () => 'carpd\n'],
  ])('takes over a lock that names %s', (_what, content) => {
    writeFileSync(lockPath(), content());
    const lock = acquireInstanceLock({ interface: 'eth0', vhid: 42, runDir, netnsId: NETNS });
    expect(lock.ok).toBe(true);
    expect(readFileSync(lockPath(), 'utf8')).toBe(`${process.pid}\n`);
  });

  it('release() leaves a lock that another carpd has taken over since', () => {
    const lock = acquireInstanceLock({ interface: 'eth0', vhid: 42, runDir, netnsId: NETNS });
    const other = standIns.livePid();
    writeFileSync(lockPath(), `${other}\n`);
    if (lock.ok) lock.release();
    expect(readFileSync(lockPath(), 'utf8')).toBe(`${other}\n`);
  });

  it('keys by namespace, interface and vhid: other combinations run side by side', () => {
    const running = standIns.livePid();
    writeFileSync(lockPath(), `${running}\n`);
    expect(acquireInstanceLock({ interface: 'eth0', vhid: 43, runDir, netnsId: NETNS }).ok).toBe(true);
    expect(acquireInstanceLock({ interface: 'eth1', vhid: 42, runDir, netnsId: NETNS }).ok).toBe(true);
    expect(acquireInstanceLock({ interface: 'eth0', vhid: 42, runDir, netnsId: '4026532000' }).ok).toBe(true);
    expect(acquireInstanceLock({ interface: 'eth0', vhid: 42, runDir, netnsId: NETNS }).ok).toBe(false);
  });

  it('creates the run directory, and reports one that cannot be created', () => {
    const nested = join(runDir, 'run', 'carpd');
    expect(acquireInstanceLock({ interface: 'eth0', vhid: 1, runDir: nested, netnsId: NETNS }).ok).toBe(true);
    expect(existsSync(join(nested, `${NETNS}-eth0-vhid1.pid`))).toBe(true);

    writeFileSync(join(runDir, 'file'), '');
    const lock = acquireInstanceLock({ interface: 'eth0', vhid: 1, runDir: join(runDir, 'file', 'carpd'), netnsId: NETNS });
    expect(lock.ok).toBe(false);
    if (!lock.ok) expect(lock.message).toMatch(/^cannot create the instance lock in .*file\/carpd: ENOTDIR/);
  });

  it('defaults the key to our own network namespace', () => {
    expect(currentNetnsId()).toBe(String(statSync('/proc/self/ns/net').ino));
    const lock = acquireInstanceLock({ interface: 'eth0', vhid: 42, runDir });
    expect(readdirSync(runDir)).toEqual([`${currentNetnsId()}-eth0-vhid42.pid`]);
    if (lock.ok) lock.release();
  });

  it('rejects values that cannot be an interface or a vhid (a wiring mistake)', () => {
    expect(() => acquireInstanceLock({ interface: '../x', vhid: 42, runDir })).toThrow(/interface must be a network interface name/);
    expect(() => acquireInstanceLock({ interface: 'eth0', vhid: 0, runDir })).toThrow(/vhid must be an integer from 1 to 255, got 0/);
  });
});

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimPidFile, createPidfile, isAlive, readPid, removePidfile } from '../../lib/host/pidfile.js';

let dir: string;
let path: string;
const sleepers: ChildProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'carpd-pidfile-'));
  path = join(dir, 'carpd.pid');
});

afterEach(() => {
  for (const sleeper of sleepers.splice(0)) sleeper.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function livePid(): number {
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  sleepers.push(sleeper);
  return sleeper.pid!;
}

describe('--pidfile', () => {
  it('writes our pid, refuses a live holder with one line, replaces a stale file, removes only its own', () => {
    expect(createPidfile(path)).toBeUndefined();
    expect(readFileSync(path, 'utf8')).toBe(`${process.pid}\n`);
    expect(createPidfile(path)).toBeUndefined(); // ours already

    const running = livePid();
    writeFileSync(path, `${running}\n`);
    expect(createPidfile(path)).toBe(`pidfile ${path} names running process ${running}: is another carpd running?`);
    removePidfile(path);
    expect(readFileSync(path, 'utf8')).toBe(`${running}\n`); // not ours: kept

    writeFileSync(path, `${spawnSync('true').pid}\n`);
    expect(createPidfile(path)).toBeUndefined();
    removePidfile(path);
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('does not create missing directories, and says why it cannot write', () => {
    expect(createPidfile(join(dir, 'missing', 'carpd.pid'))).toMatch(/^cannot write pidfile .*missing\/carpd\.pid: ENOENT/);
  });
});

describe('pid file primitives', () => {
  it('claimPidFile names the live holder', () => {
    const running = livePid();
    expect(claimPidFile(path, running)).toEqual({ claimed: true });
    expect(claimPidFile(path)).toEqual({ claimed: false, holder: running });
  });

  it('readPid accepts only a plain positive pid', () => {
    for (const [text, pid] of [['42\n', 42], [' 7 ', 7], ['0', undefined], ['-1', undefined], ['1e3', undefined], ['', undefined], ['99999999999', undefined]] as const) {
      writeFileSync(path, text);
      expect(readPid(path)).toBe(pid);
    }
    expect(readPid(join(dir, 'absent'))).toBeUndefined();
  });

  it('isAlive', () => {
    expect(isAlive(process.pid)).toBe(true);
    expect(isAlive(spawnSync('true').pid)).toBe(false);
  });
});

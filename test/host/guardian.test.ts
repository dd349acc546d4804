// The guardian's script and its carpd-side class, run for real (sh) against a stand-in `ip`
// that records what it is asked: no address changes, no namespaces needed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLEAN_EXIT_WORD, GUARDIAN_SCRIPT, guardianLine, VipGuardian, type GuardianChild } from '../../lib/host/guardian.js';
import { waitFor } from '../../scripts/lab/wait.js';
import { RecordingLogger, StandInProcesses } from './helpers.js';

let dir: string;
let ipLog: string;
let fakeIp: string;
const standIns = new StandInProcesses();
/** A pid no process has (above the kernel's pid_max limit of 2^22): the carpd that was killed. */
const DEAD_PID = 2 ** 22 + 7;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'carpd-guardian-'));
  ipLog = join(dir, 'ip.log');
  fakeIp = join(dir, 'ip');
  // Records its arguments and its input, one call after the other.
  writeFileSync(fakeIp, `#!/bin/sh\n{ echo "ip $*"; cat; } >> '${ipLog}'\n`);
  chmodSync(fakeIp, 0o755);
});

afterEach(() => {
  standIns.killAll();
  rmSync(dir, { recursive: true, force: true });
});

const lock = (name: string, pid?: number): string => {
  const path = join(dir, `${name}.pid`);
  if (pid !== undefined) writeFileSync(path, `${pid}\n`);
  return path;
};

const ipCalls = (): string => (existsSync(ipLog) ? readFileSync(ipLog, 'utf8') : '');

/** The script run to completion on `input` for a carpd of pid `carpd`. */
function runScript(input: string, carpd = DEAD_PID): { status: number | null; stderr: string } {
  const r = spawnSync('sh', ['-c', GUARDIAN_SCRIPT, 'carpd-guardian', String(carpd), fakeIp, ''], { input, encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, stderr: r.stderr };
}

describe('guardianLine', () => {
  it('is the word and three fields, one space apart, one line', () => {
    expect(guardianLine('hold', 'eth0', '198.18.0.100/32', '/run/carpd/1-eth0-vhid42.pid')).toBe('hold eth0 198.18.0.100/32 /run/carpd/1-eth0-vhid42.pid\n');
    expect(guardianLine('drop', 'eth1', '198.18.1.5/24', '/l')).toBe('drop eth1 198.18.1.5/24 /l\n');
  });

  it('refuses a field that would split or end the line', () => {
    expect(guardianLine('hold', 'eth 0', '198.18.0.1/32', '/l')).toBeUndefined();
    expect(guardianLine('hold', 'eth0', '198.18.0.1/32\nbye', '/l')).toBeUndefined();
    expect(guardianLine('hold', 'eth0', '198.18.0.1/32', '/run/my dir/l')).toBeUndefined();
    expect(guardianLine('hold', 'eth0', '', '/l')).toBeUndefined();
  });
});

describe('the guardian script', () => {
  it('on end of input without the clean word, removes what is held, exact prefix and interface, in one batch', () => {
    const a = lock('a', DEAD_PID);
    const input = [
      guardianLine('hold', 'eth0', '198.18.0.100/32', a),
      guardianLine('hold', 'eth1', '198.18.1.100/24', a),
      guardianLine('hold', 'eth0', '198.18.0.100/32', a), // twice: still one entry
    ].join('');
    const r = runScript(input);
    expect(r.status).toBe(0);
    expect(ipCalls()).toBe('ip -force -batch -\naddress del 198.18.0.100/32 dev eth0\naddress del 198.18.1.100/24 dev eth1\n');
    expect(r.stderr).toBe(`carpd guardian of pid ${DEAD_PID}: carpd exited without stopping cleanly: removed 198.18.0.100/32 from eth0, 198.18.1.100/24 from eth1\n`);
  });

  it('forgets what was dropped, whatever its place in the list', () => {
    const a = lock('a');
    const lines = (word: 'hold' | 'drop', n: number) => guardianLine(word, 'eth0', `198.18.0.${n}/32`, a)!;
    runScript(lines('hold', 1) + lines('hold', 2) + lines('hold', 3) + lines('drop', 1) + lines('drop', 3) + lines('hold', 4) + lines('drop', 9));
    expect(ipCalls()).toBe('ip -force -batch -\naddress del 198.18.0.2/32 dev eth0\naddress del 198.18.0.4/32 dev eth0\n');
  });

  it('drops the entry of one vhost only when two hold the same address (two lock files)', () => {
    const a = lock('a');
    const b = lock('b');
    runScript(guardianLine('hold', 'eth0', '198.18.0.7/32', a)! + guardianLine('hold', 'eth0', '198.18.0.7/32', b)! + guardianLine('drop', 'eth0', '198.18.0.7/32', a)!);
    expect(ipCalls()).toBe('ip -force -batch -\naddress del 198.18.0.7/32 dev eth0\n');
  });

  it('after the clean word, removes nothing and runs nothing', () => {
    const r = runScript(`${guardianLine('hold', 'eth0', '198.18.0.100/32', lock('a'))}${CLEAN_EXIT_WORD}\n`);
    expect(r.status).toBe(0);
    expect(ipCalls()).toBe('');
    expect(r.stderr).toBe('');
  });

  it('with nothing held, runs nothing', () => {
    const r = runScript(guardianLine('hold', 'eth0', '198.18.0.1/32', lock('a'))! + guardianLine('drop', 'eth0', '198.18.0.1/32', lock('a'))!);
    expect(r.status).toBe(0);
    expect(ipCalls()).toBe('');
  });

  it('leaves alone a VIP whose instance lock names another live process (a carpd started since)', () => {
    const newcomer = standIns.livePid();
    const taken = lock('taken', newcomer);
    const stale = lock('stale', DEAD_PID); // the dead carpd's own lock, left behind by the kill
    const missing = join(dir, 'missing.pid'); // released, or never written
    const r = runScript(
      guardianLine('hold', 'eth0', '198.18.0.1/32', taken)! + guardianLine('hold', 'eth0', '198.18.0.2/32', stale)! + guardianLine('hold', 'eth0', '198.18.0.3/32', missing)!,
    );
    expect(ipCalls()).toBe('ip -force -batch -\naddress del 198.18.0.2/32 dev eth0\naddress del 198.18.0.3/32 dev eth0\n');
    expect(r.stderr).toContain(`left alone, a running carpd owns them: 198.18.0.1/32 on eth0 (pid ${newcomer} holds its lock)`);
  });

  it('removes a VIP whose lock names a dead process that is not the guarded carpd', () => {
    runScript(guardianLine('hold', 'eth0', '198.18.0.1/32', lock('other', DEAD_PID + 1))!);
    expect(ipCalls()).toBe('ip -force -batch -\naddress del 198.18.0.1/32 dev eth0\n');
  });

  it('survives the stop signals sent to a process group (only its input ends it)', async () => {
    const child = spawn('sh', ['-c', GUARDIAN_SCRIPT, 'carpd-guardian', String(DEAD_PID), fakeIp, ''], { stdio: ['pipe', 'ignore', 'ignore'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.stdin.write(guardianLine('hold', 'eth0', '198.18.0.1/32', lock('a'))!);
    await new Promise((r) => setTimeout(r, 100)); // the trap is set once sh has read its script
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'] as const) child.kill(sig);
    await new Promise((r) => setTimeout(r, 200));
    expect(child.exitCode).toBeNull();
    child.stdin.end();
    expect(await exited).toBe(0);
    expect(ipCalls()).toBe('ip -force -batch -\naddress del 198.18.0.1/32 dev eth0\n');
  });
});

describe('VipGuardian', () => {
  /** Real guardians, recorded so a test can end their input as a dying carpd would. */
  const started: ChildProcess[] = [];
  const realSpawn = (args: readonly string[]): GuardianChild => {
    const child = spawn('sh', ['-c', GUARDIAN_SCRIPT, 'carpd-guardian', ...args], { stdio: ['pipe', 'ignore', 'ignore'] });
    started.push(child);
    return child;
  };
  const exitOf = (child: ChildProcess) =>
    child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const guardians: VipGuardian[] = [];

  afterEach(async () => {
    // Closed first: a guardian whose child is killed while it is open starts another one.
    await Promise.all(guardians.splice(0).map((g) => g.close()));
    for (const child of started) child.kill('SIGKILL');
    started.length = 0;
  });

  const guardian = (log = new RecordingLogger()) => {
    const g = new VipGuardian({ log, carpdPid: DEAD_PID, ipProgram: fakeIp, spawn: realSpawn, respawnDelayMs: 50, closeTimeoutMs: 2_000 });
    guardians.push(g);
    return g;
  };

  it('starts no process until the first VIP is held', () => {
    const g = guardian();
    expect(g.pid).toBeUndefined();
    g.release('eth0', '198.18.0.1/32', lock('a'));
    expect(started).toHaveLength(0);
    g.hold('eth0', '198.18.0.1/32', lock('a'));
    expect(started).toHaveLength(1);
    expect(g.pid).toBe(started[0]!.pid);
  });

  it('prepare() starts it holding nothing; the first hold is then a line, not a fork', async () => {
    const g = guardian();
    g.prepare();
    g.prepare();
    expect(started).toHaveLength(1);
    const a = lock('a');
    g.hold('eth0', '198.18.0.7/32', a);
    expect(started).toHaveLength(1);
    started[0]!.stdin!.end();
    await exitOf(started[0]!);
    expect(ipCalls()).toBe('ip -force -batch -\naddress del 198.18.0.7/32 dev eth0\n');
  });

  it('a prepared guardian that holds nothing removes nothing when carpd dies, and is replaced if killed', async () => {
    const g = guardian();
    g.prepare();
    started[0]!.kill('SIGKILL');
    await exitOf(started[0]!);
    await waitFor(() => started.length === 2, 2_000, 10, 'a second guardian');
    started[1]!.stdin!.end();
    await exitOf(started[1]!);
    expect(ipCalls()).toBe('');
    await g.close();
  });

  it('a carpd that dies holding VIPs: the guardian removes the ones still held', async () => {
    const g = guardian();
    const a = lock('a');
    g.hold('eth0', '198.18.0.1/32', a);
    g.hold('eth0', '198.18.0.2/32', a);
    g.hold('eth0', '198.18.0.2/32', a);
    g.release('eth0', '198.18.0.1/32', a);
    expect(g.heldVips).toEqual(['eth0 198.18.0.2/32']);
    // The kernel closing carpd's end of the pipe, as a SIGKILL would.
    started[0]!.stdin!.end();
    await exitOf(started[0]!);
    expect(ipCalls()).toBe('ip -force -batch -\naddress del 198.18.0.2/32 dev eth0\n');
  });

  it('close(): the clean word, and the guardian has exited when it resolves; nothing removed', async () => {
    const g = guardian();
    g.hold('eth0', '198.18.0.1/32', lock('a'));
    const child = started[0]!;
    await g.close();
    expect(child.exitCode).toBe(0);
    expect(ipCalls()).toBe('');
    // Nothing starts after close().
    g.hold('eth0', '198.18.0.9/32', lock('a'));
    expect(started).toHaveLength(1);
  });

  it('close() without a guardian resolves at once', async () => {
    await guardian().close();
    expect(started).toHaveLength(0);
  });

  it('a guardian killed while carpd runs is replaced, and the new one is told what is held', async () => {
    const log = new RecordingLogger();
    const g = guardian(log);
    const a = lock('a');
    g.hold('eth0', '198.18.0.1/32', a);
    g.hold('eth1', '198.18.1.1/32', a);
    started[0]!.kill('SIGKILL');
    // Lines written while no guardian runs are not lost: the replacement gets the whole set.
    await exitOf(started[0]!);
    g.release('eth1', '198.18.1.1/32', a);
    g.hold('eth0', '198.18.0.3/32', a);
    await waitFor(() => started.length === 2 && g.pid === started[1]!.pid, 2_000, 10, 'a second guardian');
    expect(log.at('warn').join('\n')).toMatch(/the VIP guardian \(pid \d+\) was killed by SIGKILL; starting another in 50 ms/);
    started[1]!.stdin!.end();
    await exitOf(started[1]!);
    expect(ipCalls()).toBe('ip -force -batch -\naddress del 198.18.0.1/32 dev eth0\naddress del 198.18.0.3/32 dev eth0\n');
    await g.close();
  });

  it('a guardian that cannot start is one error line, and carpd goes on', () => {
    const log = new RecordingLogger();
    const g = new VipGuardian({
      log,
      spawn: () => {
        throw new Error('spawn sh ENOENT');
      },
    });
    g.hold('eth0', '198.18.0.1/32', lock('a'));
    expect(log.at('error')).toEqual(['cannot start the VIP guardian (a kill -9 of carpd would leave its VIPs up): spawn sh ENOENT']);
  });
});

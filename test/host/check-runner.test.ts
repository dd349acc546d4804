import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CheckRunner, type CheckRun, type CheckSpec } from '../../lib/host/check-runner.js';
import { RecordingLogger, waitFor } from './helpers.js';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/checks');
const RECORD = join(FIXTURES, 'record.sh');
const GROUP = join(FIXTURES, 'group.sh');
const STUBBORN = join(FIXTURES, 'stubborn.sh');
const LEFTOVER = join(FIXTURES, 'leftover.sh');

let dir: string;
const runners: CheckRunner[] = [];
/** Every pid a fixture reported, SIGKILLed in afterAll if a failed test left it running. */
const reported: number[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'carpd-host-checks-'));
});

afterEach(async () => {
  await Promise.all(runners.splice(0).map((runner) => runner.stop()));
});

afterAll(() => {
  for (const pid of reported) {
    if (isAlive(pid) && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep') process.kill(pid, 'SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
});

function tempFile(name: string): string {
  return join(dir, `${name}-${Math.random().toString(36).slice(2)}`);
}

function runner(spec: Partial<CheckSpec> & Pick<CheckSpec, 'command'>, o: { killGraceMs?: number; env?: Record<string, string> } = {}) {
  const log = new RecordingLogger();
  const check = new CheckRunner({ name: 'test', intervalMs: 60_000, timeoutMs: 5000, ...spec }, { log, ...o });
  runners.push(check);
  return { check, log };
}

/** Starts the runner and returns its first result. */
async function firstResult(check: CheckRunner): Promise<CheckRun> {
  const result = once(check, 'result') as Promise<[CheckRun]>;
  check.start();
  return (await result)[0];
}

/** Alive and not a zombie, read from ps (not from the code under test). */
function isAlive(pid: number): boolean {
  const out = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim();
  return out !== '' && !out.startsWith('Z');
}

/** Live (non-zombie) members of a process group. */
function groupMembers(pgid: number): number[] {
  const out = spawnSync('ps', ['-eo', 'pid=,pgid=,stat='], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, group, stat]) => Number(group) === pgid && stat !== undefined && !stat.startsWith('Z'))
    .map(([pid]) => Number(pid));
}

/** Waits for a fixture's pid file: [the check's own pid (= its pgid), its background child]. */
async function reportedPids(file: string): Promise<[number, number]> {
  expect(await waitFor(() => existsSync(file), 3000)).toBe(true);
  const [leader, child] = readFileSync(file, 'utf8').trim().split(' ').map(Number) as [number, number];
  reported.push(leader, child);
  return [leader, child];
}

function records(file: string): Array<{ what: 'start' | 'end'; ms: number }> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [what, ns] = line.split(' ');
      return { what: what as 'start' | 'end', ms: Number(BigInt(ns!) / 1000n) / 1000 };
    });
}

describe('CheckRunner: outcomes', () => {
  it('exit 0 is ok', async () => {
    const { check } = runner({ command: ['true'] });
    const run = await firstResult(check);
    expect(run).toMatchObject({ ok: true, outcome: 'ok' });
    expect(run.detail).toMatch(/^exit 0 after \d+\.\d\d s$/);
    expect(run.durationMs).toBeGreaterThan(0);
    expect(Math.abs(run.at - Date.now())).toBeLessThan(1000);
    expect(check.last).toBe(run);
    expect(check.runs).toEqual({ ok: 1, failed: 0, timeout: 0, error: 0 });
  });

  it('a non-zero exit fails, with its status and the first line of stderr', async () => {
    const { check } = runner({ command: ['sh', '-c', 'exit 7'] });
    const run = await firstResult(check);
    expect(run).toMatchObject({ ok: false, outcome: 'failed' });
    expect(run.detail).toMatch(/^exit 7 after \d+\.\d\d s$/);

    const { check: chatty } = runner({ command: ['sh', '-c', 'echo out; echo "curl: (7) refused" >&2; echo more >&2; exit 3'] });
    expect((await firstResult(chatty)).detail).toMatch(/^exit 3 after \d+\.\d\d s: curl: \(7\) refused$/);
    expect(chatty.runs).toEqual({ ok: 0, failed: 1, timeout: 0, error: 0 });
  });

  it('a check killed by a signal it did not get from us fails, naming the signal', async () => {
    const { check } = runner({ command: ['sh', '-c', 'kill -USR1 $$'] });
    const run = await firstResult(check);
    expect(run.outcome).toBe('failed');
    expect(run.detail).toMatch(/^killed by SIGUSR1 after \d+\.\d\d s$/);
  });

  it('a command not in PATH is an error, in one line', async () => {
    const { check } = runner({ command: ['carpd-no-such-check', '--quiet'] });
    const run = await firstResult(check);
    expect(run).toMatchObject({ ok: false, outcome: 'error', detail: 'cannot start: no such command "carpd-no-such-check"', durationMs: 0 });
    expect(check.runs).toEqual({ ok: 0, failed: 0, timeout: 0, error: 1 });
  });

  it('a file without the x bit is an error, in one line', async () => {
    const file = tempFile('not-executable');
    writeFileSync(file, '#!/bin/sh\nexit 0\n');
    chmodSync(file, 0o644);
    const { check } = runner({ command: [file] });
    expect(await firstResult(check)).toMatchObject({ outcome: 'error', detail: `cannot start: ${JSON.stringify(file)} is not executable (permission denied)` });
  });

  it('passes the argument vector with no shell, and the extra environment', async () => {
    const literal = join(dir, '$(echo pwned)');
    const { check } = runner({ command: ['touch', literal] });
    expect((await firstResult(check)).outcome).toBe('ok');
    expect(existsSync(literal)).toBe(true);
    expect(existsSync(join(dir, 'pwned'))).toBe(false);

    const { check: withEnv } = runner({ command: ['sh', '-c', 'test "$CARPD_CHECK" = "web 1"'] }, { env: { CARPD_CHECK: 'web 1' } });
    expect((await firstResult(withEnv)).outcome).toBe('ok');
  });
});

describe('CheckRunner: timeouts and process groups', () => {
  it('kills the whole group at the timeout: the check, its background child and its foreground child', async () => {
    const pidFile = tempFile('pids');
    const { check } = runner({ command: [GROUP, pidFile], timeoutMs: 400 }, { killGraceMs: 2000 });
    const t0 = performance.now();
    const result = once(check, 'result') as Promise<[CheckRun]>;
    check.start();
    const [leader, child] = await reportedPids(pidFile);
    expect(groupMembers(leader).length).toBe(3); // sh, sleep &, sleep
    expect(isAlive(child)).toBe(true);
    const [run] = await result;
    const elapsed = performance.now() - t0;
    expect(run).toMatchObject({ ok: false, outcome: 'timeout', detail: 'timed out after 0.4 s: killed' });
    expect(elapsed).toBeGreaterThanOrEqual(395);
    expect(elapsed).toBeLessThan(1500); // SIGTERM was enough: no wait for the grace period
    expect(groupMembers(leader)).toEqual([]);
    expect(isAlive(leader)).toBe(false);
    expect(isAlive(child)).toBe(false);
    expect(check.runs).toEqual({ ok: 0, failed: 0, timeout: 1, error: 0 });
  });

  it('follows with SIGKILL after the grace period when the group ignores SIGTERM', async () => {
    const pidFile = tempFile('pids');
    const { check } = runner({ command: [STUBBORN, pidFile], timeoutMs: 300 }, { killGraceMs: 300 });
    const t0 = performance.now();
    const result = once(check, 'result') as Promise<[CheckRun]>;
    check.start();
    const [leader, child] = await reportedPids(pidFile);
    const [run] = await result;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(590);
    expect(run).toMatchObject({ outcome: 'timeout', detail: 'timed out after 0.3 s: killed (SIGTERM ignored, needed SIGKILL)' });
    expect(groupMembers(leader)).toEqual([]);
    expect(isAlive(child)).toBe(false);
  });

  it('ends what a finished check left behind before the run counts as over, and warns once', async () => {
    const pidFile = tempFile('pids');
    const { check, log } = runner({ command: [LEFTOVER, pidFile], intervalMs: 150 });
    const results: Array<{ outcome: string; childAlive: boolean }> = [];
    check.on('result', (run) => {
      const [, child] = readFileSync(pidFile, 'utf8').trim().split(' ').map(Number) as [number, number];
      reported.push(child);
      // Looked at when the result is out: the background sleep of this very run must be gone.
      results.push({ outcome: run.outcome, childAlive: isAlive(child) });
    });
    check.start();
    expect(await waitFor(() => results.length >= 2, 3000)).toBe(true);
    expect(results.slice(0, 2)).toEqual([{ outcome: 'ok', childAlive: false }, { outcome: 'ok', childAlive: false }]);
    expect(log.at('warn')).toEqual(['check "test": exited but left processes behind in its process group; killing them after this and every run']);
  });

  it('stop() kills a running check with its group and resolves when it is gone; no result, no more runs', async () => {
    const pidFile = tempFile('pids');
    const { check } = runner({ command: [GROUP, pidFile], timeoutMs: 60_000, intervalMs: 100 });
    let results = 0;
    check.on('result', () => results++);
    check.start();
    const [leader, child] = await reportedPids(pidFile);
    const t0 = performance.now();
    await check.stop();
    expect(performance.now() - t0).toBeLessThan(900);
    expect(groupMembers(leader)).toEqual([]);
    expect(isAlive(child)).toBe(false);
    rmSync(pidFile);
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(pidFile)).toBe(false);
    expect(results).toBe(0);
    expect(check.last).toBeUndefined();
    expect(check.runs).toEqual({ ok: 0, failed: 0, timeout: 0, error: 0 });
    await check.stop(); // twice is fine
  });
});

describe('CheckRunner: the beat', () => {
  it('never overlaps runs when a run outlasts the interval, and starts the next as soon as one ends', async () => {
    const file = tempFile('record');
    const { check } = runner({ command: [RECORD, file, '0.25'], intervalMs: 100 });
    check.start();
    await waitFor(() => records(file).filter((r) => r.what === 'end').length >= 4, 5000);
    await check.stop();
    const rec = records(file);
    const pattern = rec.map((r) => r.what).join(' ');
    expect(pattern.startsWith('start end start end start end start end')).toBe(true);
    expect(pattern).not.toMatch(/start start|end end/);
    for (let i = 1; i < rec.length; i++) {
      expect(rec[i]!.ms).toBeGreaterThanOrEqual(rec[i - 1]!.ms);
      // An overdue beat starts at once: the gap is the time to notice the exit and spawn
      // (bounded loosely: a loaded machine is slow to spawn).
      // Less than the 400 ms interval: not waited for the next beat.
      if (rec[i]!.what === 'start') expect(rec[i]!.ms - rec[i - 1]!.ms).toBeLessThan(350);
    }
  });

  it('counts the interval from the start of each run, not from its end', async () => {
    const file = tempFile('record');
    const { check } = runner({ command: [RECORD, file, '0.25'], intervalMs: 400 });
    check.start();
    await waitFor(() => records(file).filter((r) => r.what === 'start').length >= 5, 5000);
    await check.stop();
    const starts = records(file).filter((r) => r.what === 'start').map((r) => r.ms);
    expect(starts.length).toBeGreaterThanOrEqual(5);
    // Counted from the end, every gap would be 400 + 250 ms and more. The bounds are wide
    // because a loaded machine spawns late now and then.
    // Four gaps counted from the ends would add up to 2600 ms and more; from the starts, 1600.
    for (let i = 1; i < 5; i++) {
      expect(starts[i]! - starts[i - 1]!).toBeGreaterThan(150);
      expect(starts[i]! - starts[i - 1]!).toBeLessThan(900);
    }
    expect(Math.abs(starts[4]! - starts[0]! - 4 * 400)).toBeLessThan(400);
  });

  it('does not drift: a beat that fired late does not move the ones after it', async () => {
    const file = tempFile('record');
    const { check } = runner({ command: [RECORD, file, '0'], intervalMs: 400 });
    const t0 = performance.now();
    await firstResult(check);
    // Hold the event loop so that the second beat (due at 400 ms) fires about 300 ms late.
    while (performance.now() - t0 < 700) {
      // busy: no timer can fire
    }
    await waitFor(() => records(file).filter((r) => r.what === 'start').length >= 3, 3000);
    await check.stop();
    const starts = records(file).filter((r) => r.what === 'start').map((r) => r.ms);
    expect(starts[1]! - starts[0]!).toBeGreaterThan(600); // the late one
    // The third start is on its beat, 800 ms after the first; counted from the late second
    // start it would come at 700 + 400 ms.
    expect(starts[2]! - starts[0]!).toBeGreaterThan(740);
    expect(starts[2]! - starts[0]!).toBeLessThan(1_050);
  });

  it('keeps the beat when a result listener throws, and logs the error', async () => {
    const { check, log } = runner({ command: ['true'], intervalMs: 50 });
    let results = 0;
    check.on('result', () => {
      results++;
      if (results === 1) throw new Error('listener broke');
    });
    check.start();
    expect(await waitFor(() => results >= 2, 2000)).toBe(true);
    expect(log.at('error')).toEqual(['check "test": listener broke']);
  });
});

describe('CheckRunner: options', () => {
  it('validates its spec with one message naming the option', () => {
    const log = new RecordingLogger();
    const spec: CheckSpec = { name: 'web', command: ['true'], intervalMs: 1000, timeoutMs: 1000 };
    expect(() => new CheckRunner({ ...spec, intervalMs: 0 }, { log })).toThrow(new TypeError('intervalMs must be an integer from 1 to 86400000, got 0'));
    expect(() => new CheckRunner({ ...spec, timeoutMs: 2.5 }, { log })).toThrow(new TypeError('timeoutMs must be an integer from 1 to 86400000, got 2.5'));
    expect(() => new CheckRunner(spec, { log, killGraceMs: -1 })).toThrow(/^killGraceMs must be an integer from 0 to 600000, got -1$/);
    expect(() => new CheckRunner({ ...spec, command: [] }, { log })).toThrow(/^command must be a non-empty array of strings/);
    expect(() => new CheckRunner({ ...spec, command: [''] }, { log })).toThrow(/^command must be/);
    expect(() => new CheckRunner({ ...spec, name: '' }, { log })).toThrow('name must be a non-empty string, got ""');
  });

  it('starts once only', async () => {
    const { check } = runner({ command: ['true'] });
    await firstResult(check);
    expect(() => check.start()).toThrow('check "test": start() called on a runner already started');
    await check.stop();
    expect(() => check.start()).toThrow('check "test": start() called on a runner already stopped');
  });
});

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ScriptRunner, type ScriptKind } from '../../lib/host/scripts.js';
import { RecordingLogger } from './helpers.js';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/scripts');
const RECORD = join(FIXTURES, 'record.sh');
const HANG = join(FIXTURES, 'hang.sh');
const STUBBORN = join(FIXTURES, 'stubborn.sh');

let dir: string;
let recordFile: string | undefined;
/** Unique numbers `sleep 300 <marker>` children carry, killed in afterAll whatever happens. */
const markers: string[] = [];

function newMarker(): string {
  // sleep adds its arguments: "300 0.000<digits>" stays a valid duration and is unique.
  const marker = `0.000${process.pid}${markers.length}${Math.floor(Math.random() * 1e6)}`;
  markers.push(marker);
  return marker;
}

/** Pids of processes whose command line contains the marker (our own sleeps only). */
function survivors(marker: string): number[] {
  const out = spawnSync('pgrep', ['-f', `sleep 300 ${marker}`], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter(Boolean).map(Number).filter((pid) => pid !== process.pid);
}

function records(): Array<{ what: 'start' | 'end'; at: bigint; label: string }> {
  let text = '';
  try {
    text = readFileSync(recordFile!, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [what, at, ...label] = line.split(' ');
      return { what: what as 'start' | 'end', at: BigInt(at!), label: label.join(' ') };
    });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'carpd-host-scripts-'));
});

afterEach(() => {
  if (recordFile !== undefined) rmSync(recordFile, { force: true });
  delete process.env.CARPD_TEST_SLEEP;
});

afterAll(() => {
  for (const marker of markers) for (const pid of survivors(marker)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function setup(sleepSeconds: number): void {
  recordFile = join(dir, `record-${Math.random().toString(36).slice(2)}.txt`);
  process.env.CARPD_TEST_RECORD = recordFile;
  process.env.CARPD_TEST_SLEEP = String(sleepSeconds);
}

describe('ScriptRunner: arguments', () => {
  it('passes the argument vector byte for byte, with no shell in between', async () => {
    const argsFile = join(dir, 'args.bin');
    process.env.CARPD_TEST_ARGS = argsFile;
    const log = new RecordingLogger();
    const runner = new ScriptRunner({ timeoutMs: 5000, log });
    const args = ['veth 0', '198.18.0.50', `$(touch ${join(dir, 'pwned')}); echo "x" 'y' * \\ \`id\` | ; &`, 'line1\nline2', ''];
    runner.request('up', join(FIXTURES, 'args.sh'), args);
    await runner.idle();
    const received = readFileSync(argsFile, 'utf8').split('\0').slice(0, -1);
    expect(received).toEqual(args);
    expect(() => readFileSync(join(dir, 'pwned'))).toThrow();
    expect(log.at('error')).toEqual([]);
    expect(log.at('info')[0]).toMatch(/^up-script .*args\.sh "veth 0" 198\.18\.0\.50 .*: exit status 0 after \d+ ms$/);
  });
});

describe('ScriptRunner: one at a time, the latest state wins', () => {
  // Each row: requests made back to back (the first starts, the rest arrive while it runs),
  // and the scripts that end up running, in order. "-" = a kind with no script configured.
  const table: Array<{ requests: string[]; ran: string[]; why: string }> = [
    { requests: ['up'], ran: ['up'], why: 'a request while idle runs at once' },
    { requests: ['up', 'down'], ran: ['up', 'down'], why: 'queued behind the running one' },
    { requests: ['up', 'down', 'up'], ran: ['up'], why: 'back to the running state: nothing more to do' },
    { requests: ['up', 'down', 'up', 'down'], ran: ['up', 'down'], why: 'only the latest queued request counts' },
    { requests: ['up', 'up'], ran: ['up'], why: 'a repeat of the running kind is dropped' },
    { requests: ['up', 'down', 'down'], ran: ['up', 'down'], why: 'a repeat of the queued kind is kept once' },
    { requests: ['down', 'up', 'down', 'up'], ran: ['down', 'up'], why: 'same rules starting from down' },
    { requests: ['up', '-down', 'up'], ran: ['up'], why: 'a transition without a script still counts' },
    { requests: ['up', 'down', '-up'], ran: ['up'], why: 'no up-script: the queued down is cancelled, nothing runs' },
  ];

  for (const row of table) {
    it(`${row.requests.join(', ')} -> ${row.ran.join(', ') || 'nothing more'} (${row.why})`, async () => {
      setup(0.15);
      const log = new RecordingLogger();
      const runner = new ScriptRunner({ timeoutMs: 5000, log });
      for (const request of row.requests) {
        const noScript = request.startsWith('-');
        const kind = (noScript ? request.slice(1) : request) as ScriptKind;
        runner.request(kind, noScript ? undefined : RECORD, [kind]);
      }
      await runner.idle();
      expect(records().filter((r) => r.what === 'start').map((r) => r.label)).toEqual(row.ran);
      expect(log.at('error')).toEqual([]);
    });
  }

  it('runs a request made while idle even if it repeats the last kind (its opposite had no script)', async () => {
    setup(0);
    const runner = new ScriptRunner({ timeoutMs: 5000, log: new RecordingLogger() });
    runner.request('up', RECORD, ['up']);
    await runner.idle();
    runner.request('up', RECORD, ['up']);
    await runner.idle();
    expect(records().filter((r) => r.what === 'start').map((r) => r.label)).toEqual(['up', 'up']);
  });

  it('never overlaps two scripts, and runs what was asked while the second one ran', async () => {
    setup(0.2);
    const runner = new ScriptRunner({ timeoutMs: 5000, log: new RecordingLogger() });
    runner.request('up', RECORD, ['up']);
    runner.request('down', RECORD, ['down']);
    // Wait until the down-script has started, then ask for up again: it must wait for down.
    for (let i = 0; i < 200 && !records().some((r) => r.what === 'start' && r.label === 'down'); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    runner.request('up', RECORD, ['up']);
    await runner.idle();
    const rec = records();
    expect(rec.map((r) => `${r.what} ${r.label}`)).toEqual(['start up', 'end up', 'start down', 'end down', 'start up', 'end up']);
    for (let i = 1; i < rec.length; i++) expect(rec[i]!.at).toBeGreaterThanOrEqual(rec[i - 1]!.at);
    expect(runner.running).toBe(false);
  });

  it('idle() resolves at once when nothing runs, and after the queue drains otherwise', async () => {
    setup(0.1);
    const runner = new ScriptRunner({ timeoutMs: 5000, log: new RecordingLogger() });
    await runner.idle();
    runner.request('up', RECORD, ['up']);
    expect(runner.running).toBe(true);
    runner.request('down', RECORD, ['down']);
    await runner.idle();
    expect(runner.running).toBe(false);
    expect(records().filter((r) => r.what === 'end').map((r) => r.label)).toEqual(['up', 'down']);
  });
});

describe('ScriptRunner: timeouts and process groups', () => {
  it('request() returns at once even while a script hangs', async () => {
    const runner = new ScriptRunner({ timeoutMs: 1500, killGraceMs: 200, log: new RecordingLogger() });
    const marker = newMarker();
    let worst = 0;
    for (const [kind, script] of [['up', HANG], ['down', HANG], ['up', HANG], ['down', RECORD]] as const) {
      const t0 = performance.now();
      runner.request(kind, script, [marker]);
      worst = Math.max(worst, performance.now() - t0);
      await new Promise((r) => setTimeout(r, 50));
    }
    // Returning means not waiting for the script (which hangs for 1.5 s): a few ms when idle,
    // tens when the machine is busy or a GC pause falls in the call.
    expect(worst).toBeLessThan(200);
    runner.close();
    await runner.idle();
  });

  it('kills the whole process group at the timeout, so a forked `sleep 300` does not survive', async () => {
    const log = new RecordingLogger();
    const runner = new ScriptRunner({ timeoutMs: 300, killGraceMs: 1000, log });
    const marker = newMarker();
    const t0 = performance.now();
    runner.request('up', HANG, [marker]);
    await new Promise((r) => setTimeout(r, 150));
    expect(survivors(marker)).toHaveLength(1); // the child really was running
    await runner.idle();
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1000); // SIGTERM was enough: no wait for the SIGKILL
    expect(survivors(marker)).toEqual([]);
    expect(log.at('error')).toEqual([expect.stringMatching(/^up-script .*hang\.sh 0\.000\d+: timed out after 300 ms: killed its process group with SIGTERM$/)]);
    expect(log.at('warn')).toContain(`up-script stdout: hanging with marker ${marker}`);
  });

  it('follows up with SIGKILL after the grace period when the group ignores SIGTERM', async () => {
    const log = new RecordingLogger();
    const runner = new ScriptRunner({ timeoutMs: 300, killGraceMs: 300, log });
    const marker = newMarker();
    const t0 = performance.now();
    runner.request('down', STUBBORN, [marker]);
    await runner.idle();
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(590);
    expect(elapsed).toBeLessThan(2000);
    expect(survivors(marker)).toEqual([]);
    expect(log.at('error')[0]).toMatch(/timed out after 300 ms: killed its process group with SIGTERM, then SIGKILL after 300 ms$/);
  });

  it('does not wait for, nor kill, a background process a successful script left behind', async () => {
    const log = new RecordingLogger();
    const runner = new ScriptRunner({ timeoutMs: 5000, log });
    const marker = newMarker();
    const t0 = performance.now();
    runner.request('up', join(FIXTURES, 'background.sh'), [marker]);
    await runner.idle();
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(survivors(marker)).toHaveLength(1);
    expect(log.at('info')).toContain('up-script stdout: started background job');
    for (const pid of survivors(marker)) process.kill(pid, 'SIGKILL');
  });

  it('close() kills the running script and drops the queue', async () => {
    setup(0);
    const runner = new ScriptRunner({ timeoutMs: 60_000, log: new RecordingLogger() });
    const marker = newMarker();
    runner.request('up', HANG, [marker]);
    runner.request('down', RECORD, ['down']);
    await new Promise((r) => setTimeout(r, 150));
    const t0 = performance.now();
    runner.close();
    await runner.idle();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(survivors(marker)).toEqual([]);
    expect(records()).toEqual([]);
    runner.request('up', RECORD, ['up']); // ignored after close
    await runner.idle();
    expect(records()).toEqual([]);
  });
});

describe('ScriptRunner: failures are logged, never thrown', () => {
  it('logs the exit status and the output of a failing script', async () => {
    const log = new RecordingLogger();
    const runner = new ScriptRunner({ timeoutMs: 5000, log });
    runner.request('up', join(FIXTURES, 'fail.sh'), ['veth0', '198.18.0.50']);
    await runner.idle();
    expect(log.at('error')).toEqual([expect.stringMatching(/^up-script .*fail\.sh veth0 198\.18\.0\.50: exit status 3 after \d+ ms$/)]);
    expect(log.at('warn')).toEqual(['up-script stdout: configuring veth0', 'up-script stderr: fail.sh: something went wrong']);
  });

  it('logs a missing script in one line and goes on with the next request', async () => {
    setup(0);
    const log = new RecordingLogger();
    const runner = new ScriptRunner({ timeoutMs: 5000, log });
    runner.request('up', join(dir, 'no-such-script'), ['veth0', '198.18.0.50']);
    runner.request('down', RECORD, ['down']);
    await runner.idle();
    expect(log.at('error')).toEqual([`up-script ${join(dir, 'no-such-script')}: cannot run: no such file`]);
    expect(records().map((r) => r.label)).toEqual(['down', 'down']);
  });

  it('logs a script that is not executable in one line', async () => {
    const file = join(dir, 'not-executable.sh');
    writeFileSync(file, '#!/bin/sh\nexit 0\n');
    chmodSync(file, 0o644);
    const log = new RecordingLogger();
    const runner = new ScriptRunner({ timeoutMs: 5000, log });
    runner.request('down', file, []);
    await runner.idle();
    expect(log.at('error')).toEqual([`down-script ${file}: cannot run: not executable (check its mode and the x bit)`]);
  });

  it('logs a script with a broken interpreter line in one line', async () => {
    const file = join(dir, 'bad-interpreter.sh');
    writeFileSync(file, '#!/nonexistent/interpreter\nexit 0\n');
    chmodSync(file, 0o755);
    const log = new RecordingLogger();
    const runner = new ScriptRunner({ timeoutMs: 5000, log });
    runner.request('up', file, []);
    await runner.idle();
    expect(log.at('error')).toHaveLength(1);
    expect(log.at('error')[0]).toMatch(/^up-script .*bad-interpreter\.sh: cannot run: /);
  });

  it('bounds the output it logs', async () => {
    const log = new RecordingLogger();
    const runner = new ScriptRunner({ timeoutMs: 5000, log });
    runner.request('up', join(FIXTURES, 'chatty.sh'), []);
    await runner.idle();
    const stdout = log.at('info').filter((l) => l.startsWith('up-script stdout: '));
    expect(stdout).toHaveLength(21);
    expect(stdout[19]).toBe('up-script stdout: line 20');
    expect(stdout[20]).toBe('up-script stdout: ... (30 more lines)');
    const stderr = log.at('info').filter((l) => l.startsWith('up-script stderr: '));
    expect(stderr).toHaveLength(1);
    expect(stderr[0]!.length).toBeLessThan(4200);
    expect(stderr[0]!.endsWith('x...')).toBe(true);
  });

  it('validates its options with one message naming the option', () => {
    expect(() => new ScriptRunner({ timeoutMs: 0, log: new RecordingLogger() })).toThrow('timeoutMs must be an integer from 1 to 86400000, got 0');
    expect(() => new ScriptRunner({ timeoutMs: 10, killGraceMs: -1, log: new RecordingLogger() })).toThrow(/^killGraceMs must be/);
  });
});

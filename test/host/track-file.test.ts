import { execFile, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseTrackFile, TrackFile, type FileVerdict } from '../../lib/host/track-file.js';
import { RecordingLogger, waitFor } from './helpers.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Past the close phase of the current event-loop iteration, where closed handles are released. */
const nextLoopTurn = () => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
/**
 * How fast a change must be seen. inotify reports it in milliseconds; the bound only has to
 * tell that from the safety-net poll (NO_POLL_MS in these tests), with room for a loaded
 * two-core machine, where the shell that makes the change (inside the window) can take hundreds
 * of ms to start. The figures are logged.
 */
const LATENCY_MS = 1_000;
/** Long enough that the safety-net poll cannot be what noticed a change. */
const NO_POLL_MS = 60_000;

let dir: string;
const watchers: TrackFile[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'carpd-track-file-'));
});

afterEach(() => {
  for (const watcher of watchers.splice(0)) watcher.stop();
  rmSync(dir, { recursive: true, force: true });
});

function track(path: string, pollMs = NO_POLL_MS): { tf: TrackFile; log: RecordingLogger; events: Array<{ verdict: FileVerdict; at: number }> } {
  const log = new RecordingLogger();
  const tf = new TrackFile({ path, log, pollMs });
  watchers.push(tf);
  const events: Array<{ verdict: FileVerdict; at: number }> = [];
  tf.on('change', (verdict) => events.push({ verdict, at: performance.now() }));
  return { tf, log, events };
}

/** Whether the watcher has read a better verdict and waits for the file to settle (white box). */
function pendingBetterVerdict(tf: TrackFile): boolean {
  return Reflect.get(tf, 'candidate') !== undefined;
}

/** kind, or kind:weight — enough to compare verdicts in one expect. */
function short(verdict: FileVerdict): string {
  return verdict.kind === 'demote' ? `demote:${verdict.weight}` : verdict.kind;
}

describe('parseTrackFile', () => {
  it.each<[string | undefined, string]>([
    [undefined, 'healthy'],
    ['', 'healthy'],
    ['\n', 'healthy'],
    [' \t\r\n', 'healthy'],
    ['0', 'healthy'],
    [' 0 \n', 'healthy'],
    ['000', 'healthy'],
    ['1', 'demote:1'],
    ['17\n', 'demote:17'],
    ['\t254  ', 'demote:254'],
    ['007', 'demote:7'],
    ['fault', 'fault'],
    ['FAULT\n', 'fault'],
    ['  Fault \r\n', 'fault'],
    ['255', 'fault'],
    ['1000', 'fault'],
    ['99999999999999999999999', 'fault'],
    ['-1', 'fault'],
    ['-0', 'fault'],
    ['+3', 'fault'],
    ['1.5', 'fault'],
    ['0x10', 'fault'],
    ['1e2', 'fault'],
    ['1\n2', 'fault'],
    ['faulty', 'fault'],
    ['fault now', 'fault'],
    ['maintenance', 'fault'],
    ['\u0000', 'fault'],
  ])('%j -> %s', (content, expected) => {
    expect(short(parseTrackFile(content))).toBe(expected);
  });

  it('says what the content was and what is accepted, and tells a requested fault from a garbled file', () => {
    expect(parseTrackFile('fault')).toEqual({ kind: 'fault', reason: 'fault requested' });
    expect(parseTrackFile('drain me\n')).toEqual({
      kind: 'fault',
      reason: 'unparsable content "drain me" (expected nothing, 0-254 or "fault")',
    });
    expect(parseTrackFile('300')).toEqual({ kind: 'fault', reason: 'weight "300" is out of range (1-254)' });
    expect(parseTrackFile('-20')).toEqual({ kind: 'fault', reason: 'negative weight "-20" (expected 0-254)' });
    const long = parseTrackFile('x'.repeat(1000));
    expect(long.kind === 'fault' && long.reason.length).toBeLessThan(150); // quoted, not dumped
  });
});

describe('TrackFile: the verdict at start', () => {
  it.each<[string, string | undefined, string]>([
    ['absent', undefined, 'healthy'],
    ['0', '0\n', 'healthy'],
    ['empty', '', 'healthy'],
    ['a number', ' 42\n', 'demote:42'],
    ['fault', 'FAULT\n', 'fault'],
    ['garbage', 'garbage\n', 'fault'],
  ])('%s', async (_name, content, expected) => {
    const path = join(dir, 'maint');
    if (content !== undefined) writeFileSync(path, content);
    const { tf, log } = track(path);
    const verdict = await tf.start();
    expect(short(verdict)).toBe(expected);
    expect(tf.verdict).toEqual(verdict);
    // Only garbage is worth a warning, and one that names the file and quotes the content.
    expect(log.at('warn')).toEqual(content === 'garbage\n' ? [expect.stringMatching(/maint: unparsable content "garbage".*counting it as a fault/)] : []);
  });

  it('a directory, a FIFO or an oversized file at the path is a fault, and a FIFO does not hang the read', async () => {
    mkdirSync(join(dir, 'is-a-dir'));
    const fifo = spawnSync('mkfifo', [join(dir, 'fifo')]);
    expect(fifo.status).toBe(0);
    writeFileSync(join(dir, 'big'), 'fault' + ' '.repeat(5000));
    for (const [name, reason] of [
      ['is-a-dir', 'not a regular file'],
      ['fifo', 'not a regular file'],
      ['big', 'larger than 4096 bytes: not a track file'],
    ] as const) {
      const { tf, log } = track(join(dir, name));
      expect(await tf.start()).toEqual({ kind: 'fault', reason });
      expect(log.at('warn')).toHaveLength(1);
    }
  });

  it('a file under a path component that is a file counts as absent', async () => {
    writeFileSync(join(dir, 'plain'), '');
    const { tf } = track(join(dir, 'plain', 'maint'));
    expect(await tf.start()).toEqual({ kind: 'healthy' });
  });

  it('refuses a relative path or a bad pollMs at construction, naming the option', () => {
    const log = new RecordingLogger();
    expect(() => new TrackFile({ path: 'run/maint', log })).toThrow(/path must be an absolute path .* got "run\/maint"/);
    expect(() => new TrackFile({ path: '/run/carpd/', log })).toThrow(/path must be/);
    expect(() => new TrackFile({ path: '/run/maint', log, pollMs: 0 })).toThrow(/pollMs must be an integer from 10 to 3600000, got 0/);
  });
});

describe('TrackFile: changes are events, within milliseconds (the poll is an hour away)', () => {
  it('`echo fault > f` drains, `rm f` brings it back', async () => {
    const path = join(dir, 'maint');
    const { tf, events } = track(path);
    expect(await tf.start()).toEqual({ kind: 'healthy' });

    const t0 = performance.now();
    await run('sh', ['-c', 'echo fault > "$1"', 'sh', path]);
    expect(await waitFor(() => events.length >= 1, 3000, 2)).toBe(true);
    const faultLatency = events[0]!.at - t0;

    const t1 = performance.now();
    unlinkSync(path);
    expect(await waitFor(() => events.length >= 2, 3000, 2)).toBe(true);
    const healthyLatency = events[1]!.at - t1;

    console.log(`track file: fault seen after ${faultLatency.toFixed(1)} ms (including the shell), removal after ${healthyLatency.toFixed(1)} ms`);
    expect(events.map((e) => e.verdict)).toEqual([{ kind: 'fault', reason: 'fault requested' }, { kind: 'healthy' }]);
    expect(tf.verdict).toEqual({ kind: 'healthy' });
    expect(faultLatency).toBeLessThan(LATENCY_MS);
    expect(healthyLatency).toBeLessThan(LATENCY_MS);
  });

  it('a number demotes, a higher one at once, a lower one after the file settles', async () => {
    const path = join(dir, 'maint');
    const { tf, events } = track(path);
    await tf.start();
    for (const [content, expected] of [
      ['30\n', 'demote:30'],
      ['100\n', 'demote:100'],
      ['10\n', 'demote:10'],
      ['0\n', 'healthy'],
    ] as const) {
      const before = events.length;
      const t0 = performance.now();
      writeFileSync(path, content);
      expect(await waitFor(() => events.length > before, 3000, 2)).toBe(true);
      expect(short(events.at(-1)!.verdict)).toBe(expected);
      expect(events.at(-1)!.at - t0).toBeLessThan(LATENCY_MS);
    }
    await sleep(60);
    expect(events.map((e) => short(e.verdict))).toEqual(['demote:30', 'demote:100', 'demote:10', 'healthy']);
  });

  it('a file replaced by rename (write a temporary file, then mv) is read', async () => {
    const path = join(dir, 'maint');
    writeFileSync(path, '5\n');
    const { tf, events } = track(path);
    expect(await tf.start()).toEqual({ kind: 'demote', weight: 5 });
    writeFileSync(join(dir, '.maint.tmp'), 'fault\n');
    const t0 = performance.now();
    renameSync(join(dir, '.maint.tmp'), path);
    expect(await waitFor(() => events.length >= 1, 3000, 2)).toBe(true);
    expect(events[0]!.verdict.kind).toBe('fault');
    expect(events[0]!.at - t0).toBeLessThan(LATENCY_MS);

    // And renamed away: gone, so healthy.
    renameSync(path, join(dir, 'maint.old'));
    expect(await waitFor(() => events.length >= 2, 3000, 2)).toBe(true);
    expect(events.map((e) => short(e.verdict))).toEqual(['fault', 'healthy']);
  });

  it('a directory missing at start is watched for once created, and again after being deleted and re-created', async () => {
    const runDir = join(dir, 'run', 'carpd'); // two levels missing
    const path = join(runDir, 'maint');
    const { tf, events, log } = track(path);
    expect(await tf.start()).toEqual({ kind: 'healthy' });
    expect(log.at('warn')).toEqual([]); // a missing directory is normal: the file is absent

    let t0 = performance.now();
    mkdirSync(runDir, { recursive: true });
    writeFileSync(path, 'fault\n');
    expect(await waitFor(() => events.length >= 1, 3000, 2)).toBe(true);
    expect(events[0]!.verdict.kind).toBe('fault');
    expect(events[0]!.at - t0).toBeLessThan(LATENCY_MS);

    rmSync(join(dir, 'run'), { recursive: true });
    expect(await waitFor(() => events.length >= 2, 3000, 2)).toBe(true);
    expect(events[1]!.verdict).toEqual({ kind: 'healthy' });

    // The old watch is on a deleted inode: only re-watching sees this.
    mkdirSync(runDir, { recursive: true });
    await sleep(20);
    t0 = performance.now();
    writeFileSync(path, '7\n');
    expect(await waitFor(() => events.length >= 3, 3000, 2)).toBe(true);
    expect(events[2]!.verdict).toEqual({ kind: 'demote', weight: 7 });
    expect(events[2]!.at - t0).toBeLessThan(LATENCY_MS);
  });

  it('a directory renamed away and replaced (the file moves with it) is noticed and watched anew', async () => {
    const runDir = join(dir, 'carpd');
    const path = join(runDir, 'maint');
    mkdirSync(runDir);
    writeFileSync(path, 'fault\n');
    const { tf, events } = track(path);
    expect((await tf.start()).kind).toBe('fault');
    // No event names the file: only the watched directory's own move (IN_MOVE_SELF) says it.
    renameSync(runDir, join(dir, 'carpd.old'));
    expect(await waitFor(() => events.length >= 1, 3000, 2)).toBe(true);
    expect(events[0]!.verdict).toEqual({ kind: 'healthy' });
    mkdirSync(runDir);
    await sleep(20);
    const t0 = performance.now();
    writeFileSync(path, '3\n');
    expect(await waitFor(() => events.length >= 2, 3000, 2)).toBe(true);
    expect(events[1]!.verdict).toEqual({ kind: 'demote', weight: 3 });
    expect(events[1]!.at - t0).toBeLessThan(LATENCY_MS);
  });

  it('a change during start() is not lost: it becomes an event after the initial verdict', async () => {
    const path = join(dir, 'maint');
    const { tf, events } = track(path);
    const starting = tf.start();
    writeFileSync(path, 'fault\n');
    const initial = await starting;
    if (initial.kind === 'healthy') {
      expect(await waitFor(() => events.length >= 1, 3000, 2)).toBe(true);
      expect(events[0]!.verdict.kind).toBe('fault');
    }
    await sleep(50);
    expect(tf.verdict.kind).toBe('fault');
  });
});

describe('TrackFile: no flapping, no duplicates', () => {
  it('rewriting the same verdict, touching the file or changing its case is no event', async () => {
    const path = join(dir, 'maint');
    writeFileSync(path, 'fault\n');
    const { tf, events } = track(path);
    await tf.start();
    await run('sh', ['-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do echo fault > "$1"; sleep 0.005; done', 'sh', path]);
    utimesSync(path, new Date(), new Date());
    writeFileSync(path, '  FAULT  ');
    writeFileSync(path, 'Fault\n');
    await sleep(80);
    expect(events).toEqual([]);
    expect(tf.verdict.kind).toBe('fault');
  });

  it('a drained node does not flap healthy while a slow writer truncates, then writes', async () => {
    const path = join(dir, 'maint');
    writeFileSync(path, 'fault\n');
    const { tf, events } = track(path);
    await tf.start();
    // The write comes once the empty, truncated file has been read (a better verdict is
    // waiting: that read would have been a 'healthy' event without the settling), well before
    // the 20 ms it must stay quiet for healthy to be believed.
    const fd = openSync(path, 'w');
    expect(await waitFor(() => events.length > 0 || pendingBetterVerdict(tf), 3000, 1)).toBe(true);
    writeSync(fd, '40\n');
    closeSync(fd);
    expect(await waitFor(() => events.length >= 1, 3000, 2)).toBe(true);
    await sleep(60);
    expect(events.map((e) => short(e.verdict))).toEqual(['demote:40']);
  });

  it('an editor that renames the old file away before writing the new one causes no "absent" flap', async () => {
    const path = join(dir, 'maint');
    writeFileSync(path, 'fault\n');
    const { tf, events } = track(path);
    await tf.start();
    renameSync(path, `${path}~`); // vim's backup, the way vim writes by default
    expect(await waitFor(() => events.length > 0 || pendingBetterVerdict(tf), 3000, 1)).toBe(true);
    writeFileSync(path, 'fault\n# back at 14:00\n'); // not the grammar: still a fault, with a warning
    unlinkSync(`${path}~`);
    await sleep(80);
    expect(events).toEqual([]);
  });

  it('a garbled file warns once per distinct content, however often it is polled', async () => {
    const path = join(dir, 'maint');
    writeFileSync(path, 'garbage\n');
    const { tf, log, events } = track(path, 20);
    expect((await tf.start()).kind).toBe('fault');
    await sleep(150); // ~7 polls
    expect(log.at('warn')).toHaveLength(1);
    expect(log.at('warn')[0]).toContain(path);

    writeFileSync(path, 'other garbage\n');
    await sleep(100);
    expect(log.at('warn')).toHaveLength(2);
    expect(log.at('warn')[1]).toContain('"other garbage"');

    writeFileSync(path, 'fault\n'); // fault -> fault: no event, no warning
    await sleep(100);
    expect(log.at('warn')).toHaveLength(2);
    expect(events).toEqual([]);
    expect(tf.verdict).toEqual({ kind: 'fault', reason: 'fault requested' });

    writeFileSync(path, '-5\n');
    await sleep(100);
    expect(log.at('warn')).toHaveLength(3);
    expect(log.at('warn')[2]).toMatch(/negative weight "-5"/);
    expect(events).toEqual([]);
  });
});

describe('TrackFile: the safety net and errors', () => {
  it('the poll sees what inotify cannot: a symlinked file changed in another directory', async () => {
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'state'), '0\n');
    symlinkSync(join(elsewhere, 'state'), join(dir, 'maint'));
    const { tf, events } = track(join(dir, 'maint'), 50);
    expect(await tf.start()).toEqual({ kind: 'healthy' });
    writeFileSync(join(elsewhere, 'state'), 'fault\n');
    expect(await waitFor(() => events.length >= 1, 3000, 5)).toBe(true);
    expect(events[0]!.verdict.kind).toBe('fault');
  });

  it("an fs.watch 'error' is one warning, not a throw; the poll re-installs the watch", async () => {
    const path = join(dir, 'maint');
    const { tf, log, events } = track(path, 50);
    await tf.start();
    const watched = Reflect.get(tf, 'watched') as { watcher: NodeJS.EventEmitter } | undefined;
    expect(watched).toBeDefined();
    watched!.watcher.emit('error', Object.assign(new Error('ENOSPC: no space left on device, watch'), { code: 'ENOSPC' }));
    expect(log.at('warn')).toEqual([expect.stringMatching(/watching .* failed \(ENOSPC: no space left on device\): .*polling every 50 ms/)]);
    await sleep(120); // a poll tick or two
    expect(log.at('info')).toEqual([expect.stringMatching(/watching .* again/)]);
    const t0 = performance.now();
    writeFileSync(path, 'fault\n');
    expect(await waitFor(() => events.length >= 1, 3000, 2)).toBe(true);
    expect(events[0]!.verdict.kind).toBe('fault');
    expect(events[0]!.at - t0).toBeLessThan(LATENCY_MS);
  });

  it('a change listener that throws is logged, not an unhandled rejection', async () => {
    const path = join(dir, 'maint');
    const { tf, log } = track(path);
    await tf.start();
    tf.on('change', () => {
      throw new Error('listener bug');
    });
    writeFileSync(path, 'fault\n');
    expect(await waitFor(() => log.at('error').length > 0, 3000, 2)).toBe(true);
    expect(log.at('error')[0]).toMatch(/'change' listener threw: listener bug/);
  });
});

describe('TrackFile: stop()', () => {
  it('no events after stop(), which is idempotent, and no watch or timer is left', async () => {
    const path = join(dir, 'maint');
    const resources = () => {
      const all = process.getActiveResourcesInfo();
      return { watches: all.filter((r) => r === 'FSEventWrap').length, timers: all.filter((r) => r === 'Timeout').length };
    };
    await nextLoopTurn(); // the previous test's watch is closed by then
    const baseline = resources();
    const { tf, events } = track(path, 20);
    await tf.start();
    writeFileSync(path, '9\n'); // a coalescing timer armed, then a read
    await sleep(5);
    expect(resources().watches).toBe(baseline.watches + 1); // the check can see a leak
    tf.stop();
    tf.stop();
    await nextLoopTurn(); // a closed handle goes in the loop's close phase
    expect(resources()).toEqual(baseline);
    writeFileSync(path, 'fault\n');
    unlinkSync(path);
    writeFileSync(path, 'fault\n');
    await sleep(100);
    expect(events).toEqual([]);
  });

  it('a process that stop()s exits on its own; one that does not stays alive (the check can fail)', async () => {
    // Runs the compiled module (the suite's global setup builds dist/) in a child process.
    const moduleUrl = pathToFileURL(fileURLToPath(new URL('../../dist/lib/host/track-file.js', import.meta.url))).href;
    const script = `
      import { writeFileSync } from 'node:fs';
      import { TrackFile } from ${JSON.stringify(moduleUrl)};
      const log = { debug() {}, info() {}, warn() {}, error() {} };
      const tf = new TrackFile({ path: process.env.TRACK_PATH, log, pollMs: 20 });
      await tf.start();
      tf.on('change', (verdict) => {
        console.log(JSON.stringify(verdict));
        if (process.env.STOP === '1') tf.stop();
      });
      writeFileSync(process.env.TRACK_PATH, 'fault\\n');
    `;
    const child = (name: string, stop: boolean) => {
      const proc = spawn(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, TRACK_PATH: join(dir, name), STOP: stop ? '1' : '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      proc.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      proc.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
      return { proc, exited, output: () => output };
    };
    const stopping = child('a', true);
    const leaking = child('b', false);
    const outcome = await Promise.race([stopping.exited.then((code) => ({ code })), sleep(5000).then(() => 'still running')]);
    expect(outcome).toEqual({ code: 0 });
    expect(stopping.output()).toContain('"kind":"fault"');
    // The control: the same program without stop() is kept alive by the watch and the poll.
    const control = await Promise.race([leaking.exited.then(() => 'exited'), sleep(1000).then(() => 'still running')]);
    expect(leaking.output()).toContain('"kind":"fault"');
    leaking.proc.kill('SIGKILL');
    await leaking.exited;
    expect(control).toBe('still running');
  });
});

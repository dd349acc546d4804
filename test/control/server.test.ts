import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startControlServer, type ControlServer } from '../../lib/control/server.js';
import type { ReloadResult } from '../../lib/control/types.js';
import { daemonSnapshot, FakeTarget, RecordingLogger } from './helpers.js';

// A temporary directory stands in for /run/carpd; only Unix sockets in it, no network.
const NETNS = '4026531840';
const PID = 4242;
let runDir: string;
let log: RecordingLogger;
const servers: ControlServer[] = [];

beforeEach(() => {
  runDir = mkdtempSync(join(tmpdir(), 'carpd-control-'));
  log = new RecordingLogger();
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  rmSync(runDir, { recursive: true, force: true });
});

async function start(target = new FakeTarget(), extra: { requestTimeLimitMs?: number } = {}): Promise<ControlServer> {
  const server = await startControlServer({ target, runDir, netnsId: NETNS, pid: PID, log, ...extra });
  servers.push(server);
  return server;
}

/** Sends `payload` (then ends our side if asked) and resolves with all the server sent before it closed. */
function exchange(path: string, payload: string | Buffer, options: { end?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let received = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      if (options.end) socket.end(payload);
      else socket.write(payload);
    });
    socket.on('data', (text: string) => (received += text));
    socket.on('end', () => socket.end());
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}

describe('startControlServer', () => {
  it('listens on <runDir>/control/<netns>-<pid>.sock, root-only, and close() removes it', async () => {
    const server = await start();
    expect(server.path).toBe(join(runDir, 'control', `${NETNS}-${PID}.sock`));
    expect(statSync(join(runDir, 'control')).mode & 0o777).toBe(0o700);
    const socketStat = statSync(server.path);
    expect(socketStat.isSocket()).toBe(true);
    expect(socketStat.mode & 0o777).toBe(0o600);
    await server.close();
    await server.close(); // idempotent
    expect(existsSync(server.path)).toBe(false);
  });

  it('replaces a leftover file of its own name, and tightens a loose control directory', async () => {
    mkdirSync(join(runDir, 'control'), { mode: 0o755 });
    writeFileSync(join(runDir, 'control', `${NETNS}-${PID}.sock`), 'left by a crash');
    const server = await start();
    expect(statSync(server.path).isSocket()).toBe(true);
    expect(statSync(join(runDir, 'control')).mode & 0o777).toBe(0o700);
  });

  it('fails with one line when the socket cannot be made', async () => {
    writeFileSync(join(runDir, 'control'), 'a file where the directory should be');
    const error = await start().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(new RegExp(`^cannot create the control socket ${join(runDir, 'control')}/${NETNS}-${PID}\\.sock: .+$`));
  });

  it('answers status with the snapshot as one line of JSON, then closes', async () => {
    const snapshot = daemonSnapshot();
    const server = await start(new FakeTarget(snapshot));
    const text = await exchange(server.path, '{"command":"status"}\n');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.indexOf('\n')).toBe(text.length - 1);
    expect(JSON.parse(text)).toEqual({ ok: true, status: snapshot });
  });

  it('answers a client that ends its side without a newline (socat, nc -N)', async () => {
    const server = await start();
    const text = await exchange(server.path, '{"command":"status"}', { end: true });
    expect(JSON.parse(text).ok).toBe(true);
  });

  it('passes the reload result on, ok or not', async () => {
    const target = new FakeTarget();
    const server = await start(target);
    expect(JSON.parse(await exchange(server.path, '{"command":"reload"}\n'))).toEqual({ ok: true, message: 'reloaded: 1 vhost, nothing changed' });
    target.reloadResult = { ok: false, message: 'line 3: advskew must be an integer from 0 to 254, got "300"' };
    expect(JSON.parse(await exchange(server.path, '{"command":"reload"}\n'))).toEqual({
      ok: false,
      message: 'line 3: advskew must be an integer from 0 to 254, got "300"',
    });
    expect(target.reloads).toBe(2);
  });

  it('runs overlapping reloads one after the other', async () => {
    let running = 0;
    let most = 0;
    const target = new FakeTarget(daemonSnapshot(), async (): Promise<ReloadResult> => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, 30));
      running--;
      return { ok: true, message: 'reloaded' };
    });
    const server = await start(target);
    const answers = await Promise.all([1, 2, 3].map(() => exchange(server.path, '{"command":"reload"}\n')));
    expect(answers.map((text) => JSON.parse(text).ok)).toEqual([true, true, true]);
    expect(target.reloads).toBe(3);
    expect(most).toBe(1);
  });

  it('names an unknown command', async () => {
    const server = await start();
    expect(JSON.parse(await exchange(server.path, '{"command":"stop"}\n'))).toEqual({
      ok: false,
      message: 'unknown command "stop" (expected "status" or "reload")',
    });
  });

  it('survives garbage, an oversized request and a client that vanishes, and still answers', async () => {
    const target = new FakeTarget();
    const server = await start(target);
    expect(JSON.parse(await exchange(server.path, Buffer.from([0xff, 0x00, 0x0a])))).toMatchObject({ ok: false, message: expect.stringMatching(/^bad request/) });
    expect(JSON.parse(await exchange(server.path, 'x'.repeat(64 * 1024)))).toEqual({ ok: false, message: 'bad request: longer than 4096 bytes' });
    // Half a request, then gone.
    await new Promise<void>((resolve) => {
      const socket = createConnection(server.path, () => {
        socket.write('{"comm');
        socket.destroy();
        resolve();
      });
    });
    expect(JSON.parse(await exchange(server.path, '{"command":"status"}\n')).ok).toBe(true);
    expect(log.at('debug').length).toBeLessThanOrEqual(1); // the vanished client, at most
    expect(log.at('warn')).toEqual([]);
    expect(log.at('error')).toEqual([]);
  });

  it('drops a client that sends nothing, with one debug line', async () => {
    const server = await start(new FakeTarget(), { requestTimeLimitMs: 100 });
    const started = Date.now();
    expect(await exchange(server.path, '')).toBe('');
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(log.at('debug')).toEqual(['control connection: no request within 0.1 s, closed']);
  });

  it('answers ok: false, with a warning, when the daemon throws', async () => {
    const target = new FakeTarget();
    target.snapshot = () => {
      throw new Error('vhost table is being rebuilt');
    };
    const server = await start(target);
    expect(JSON.parse(await exchange(server.path, '{"command":"status"}\n'))).toEqual({
      ok: false,
      message: 'status failed inside carpd: vhost table is being rebuilt',
    });
    expect(log.at('warn')).toEqual(['control: status failed: vhost table is being rebuilt']);
  });

  it('answers ok: false when the snapshot cannot be encoded', async () => {
    const target = new FakeTarget(daemonSnapshot({ pid: 10n as unknown as number }));
    const server = await start(target);
    expect(JSON.parse(await exchange(server.path, '{"command":"status"}\n'))).toEqual({
      ok: false,
      message: 'cannot encode the answer inside carpd: Do not know how to serialize a BigInt',
    });
    expect(log.at('warn')).toEqual(['control: cannot encode the answer: Do not know how to serialize a BigInt']);
  });

  it('close() does not wait for a client that holds its connection open', async () => {
    const server = await start();
    const socket = createConnection(server.path);
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.on('connect', resolve));
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(existsSync(server.path)).toBe(false);
  });
});

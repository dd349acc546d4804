import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSyslog, syslogPriority } from '../../lib/host/syslog.js';

describe('syslog priorities', () => {
  it.each([
    ['daemon', 'warn', 3 * 8 + 4],
    ['daemon', 'error', 3 * 8 + 3],
    ['local0', 'info', 16 * 8 + 6],
    ['local7', 'debug', 23 * 8 + 7],
    ['auth', 'info', 4 * 8 + 6],
  ] as const)('%s.%s = %i', (facility, level, priority) => {
    expect(syslogPriority(facility, level)).toBe(priority);
  });
});

describe('openSyslog through logger(1)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'carpd-syslog-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('sends each line with its own priority, tag and pid to the syslog socket', async () => {
    const socketPath = join(dir, 'log');
    // A stand-in for syslogd: a unix datagram socket (Node has none) that prints what arrives.
    const listener = spawn('python3', ['-c', `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
s.settimeout(5)
for _ in range(2):
    print(s.recv(4096).decode(), flush=True)
`, socketPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    listener.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const done = new Promise<number | null>((r) => listener.once('close', r));
    for (let i = 0; i < 100 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(out).toContain('ready');

    const syslog = openSyslog('local3', 4242, socketPath);
    syslog.sink('warn', 'BACKUP -> MASTER (master down: no advert for 3.39 s)');
    syslog.sink('error', 'two\nlines');
    await syslog.close();
    expect(await done).toBe(0);
    const lines = out.split('\n').filter((l) => l.startsWith('<'));
    // RFC 3164 framing from logger: <PRI>timestamp tag[pid]: message
    expect(lines[0]).toMatch(/^<156>.* carpd\[4242\]: BACKUP -> MASTER \(master down: no advert for 3\.39 s\)$/);
    expect(lines[1]).toMatch(/^<155>.* carpd\[4242\]: two lines$/);
  });
});

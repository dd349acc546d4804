import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatAge, formatStatus, runControlCommand, type ControlCommandIo } from '../../lib/control/client.js';
import { startControlServer, type ControlServer } from '../../lib/control/server.js';
import { daemonSnapshot, FakeTarget, Output, RecordingLogger, vhostSnapshot } from './helpers.js';

// Real control servers on Unix sockets in a temporary directory standing in for /run/carpd.
const NETNS = '4026531840';
const NOW = new Date('2025-03-01T12:05:30.000Z');
let runDir: string;
let stdout: Output;
let stderr: Output;
const servers: ControlServer[] = [];

beforeEach(() => {
  runDir = mkdtempSync(join(tmpdir(), 'carpd-client-'));
  stdout = new Output();
  stderr = new Output();
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  rmSync(runDir, { recursive: true, force: true });
});

async function daemon(target: FakeTarget, netnsId = NETNS): Promise<ControlServer> {
  const server = await startControlServer({ target, runDir, netnsId, pid: target.snapshotValue.pid, log: new RecordingLogger() });
  servers.push(server);
  return server;
}

function run(argv: string[], extra: Partial<ControlCommandIo> = {}): Promise<number> {
  return runControlCommand(argv, { stdout, stderr, runDir, netnsId: NETNS, now: () => NOW, ...extra });
}

const controlDir = (): string => join(runDir, 'control');

/** A control socket left by a carpd killed before it could clean up: the file stays, nobody listens. */
function staleSocket(): { pid: number; path: string } {
  mkdirSync(controlDir(), { recursive: true, mode: 0o700 });
  const script = `
    const net = require('node:net');
    const path = require('node:path').join(process.argv[1], '${NETNS}-' + process.pid + '.sock');
    net.createServer().listen(path, () => { process.stdout.write(path); process.kill(process.pid, 'SIGKILL'); });`;
  const child = spawnSync(process.execPath, ['-e', script, controlDir()], { encoding: 'utf8' });
  expect(child.signal).toBe('SIGKILL');
  expect(existsSync(child.stdout)).toBe(true);
  return { pid: child.pid!, path: child.stdout };
}

const NO_DAEMON = (): string => `carpd: no carpd is running in this network namespace (no live control socket in ${controlDir()})\n`;

describe('carpd status', () => {
  it('prints a table of every vhost', async () => {
    await daemon(new FakeTarget());
    expect(await run(['status'])).toBe(0);
    expect(stderr.text).toBe('');
    expect(stdout.text).toBe(
      [
        'VHOST  INTERFACE  VHID  STATE   SINCE                                    MASTER     VIPS',
        'web    eth0       10    MASTER  2025-03-01 10:00:00 UTC (2 h 5 min ago)  this node  198.18.0.10/24',
        '  last transition BACKUP -> MASTER (master down: no advert for 3.04 s)',
        '  adverts sent 7530, received 12; dropped bad-auth 3',
        '',
      ].join('\n'),
    );
  });

  it('--json prints one object with the vhosts of every daemon of the namespace and the daemons beside them', async () => {
    const first = daemonSnapshot({ pid: 5001 });
    const second = daemonSnapshot({
      pid: 4001,
      configFile: null,
      startedAt: '2025-03-01T08:00:00.000Z',
      vhosts: [vhostSnapshot({ name: 'eth1-vhid20', interface: 'eth1', vhid: 20, state: 'BACKUP', master: '198.18.1.2' })],
      links: [{ interface: 'eth1', family: 4, up: true, drops: {} }],
    });
    await daemon(new FakeTarget(first));
    await daemon(new FakeTarget(second));
    await daemon(new FakeTarget(daemonSnapshot({ pid: 6001, vhosts: [vhostSnapshot({ name: 'elsewhere' })] })), '4026532000'); // another namespace

    expect(await run(['status', '--json'])).toBe(0);
    const printed = JSON.parse(stdout.text);
    expect(printed).toEqual({
      vhosts: [...second.vhosts, ...first.vhosts], // by pid
      daemons: [
        { pid: 4001, version: '0.1.0', configFile: null, startedAt: '2025-03-01T08:00:00.000Z', links: second.links, checks: [] },
        { pid: 5001, version: '0.1.0', configFile: '/etc/carpd/carpd.conf', startedAt: '2025-03-01T09:59:56.000Z', links: first.links, checks: [] },
      ],
    });
    // The field names operators' checks read, exactly as lib/control/types.ts has them.
    expect(Object.keys(printed.vhosts[0]).sort()).toEqual(
      [
        'advbase', 'advertsReceived', 'advertsSent', 'advskew', 'drops', 'group', 'interface', 'lastTransition', 'linkUp',
        'master', 'name', 'otherMasterHeard', 'scriptRuns', 'sendErrors', 'since', 'srcip', 'state', 'transitions', 'vhid', 'vips',
        'demotion', 'advertisedAdvskew', 'tracks', 'protocol', 'priority', 'advertInt', 'advertisedPriority',
      ].sort(),
    );
  });

  it('prints the vhosts of two daemons in one table', async () => {
    await daemon(new FakeTarget(daemonSnapshot({ pid: 5001 })));
    await daemon(new FakeTarget(daemonSnapshot({ pid: 4001, vhosts: [vhostSnapshot({ name: 'db', interface: 'eth1', vhid: 20, state: 'BACKUP', master: '198.18.1.2' })] })));
    expect(await run(['status'])).toBe(0);
    const rows = stdout.text.split('\n').filter((line) => !line.startsWith(' ') && line !== '');
    expect(rows.map((row) => row.split(/\s+/).slice(0, 4).join(' '))).toEqual(['VHOST INTERFACE VHID STATE', 'db eth1 20 BACKUP', 'web eth0 10 MASTER']);
    expect(rows[1]).toContain('198.18.1.2');
  });

  it('says so in one line, exit 1, when no carpd ever ran', async () => {
    expect(await run(['status'])).toBe(1);
    expect(stdout.text).toBe('');
    expect(stderr.text).toBe(NO_DAEMON());
  });

  it('skips and removes the socket of a carpd that was killed', async () => {
    const stale = staleSocket();
    expect(await run(['status', '--json'])).toBe(1);
    expect(stderr.text).toBe(NO_DAEMON());
    expect(existsSync(stale.path)).toBe(false);

    const again = staleSocket();
    await daemon(new FakeTarget());
    stderr.text = '';
    expect(await run(['status', '--json'])).toBe(0);
    expect(stderr.text).toBe('');
    expect(JSON.parse(stdout.text).daemons.map((d: { pid: number }) => d.pid)).toEqual([4242]);
    expect(existsSync(again.path)).toBe(false);
  });

  it('leaves a refusing socket whose pid is alive (a carpd between bind and listen)', async () => {
    mkdirSync(controlDir(), { mode: 0o700 });
    const path = join(controlDir(), `${NETNS}-${process.pid}.sock`);
    writeFileSync(path, ''); // connect(2) to a file that is not a listening socket is refused too
    expect(await run(['status'])).toBe(1);
    expect(stderr.text).toBe(NO_DAEMON());
    expect(existsSync(path)).toBe(true);
  });

  it('reports a daemon that does not answer, prints the others, and exits 1', async () => {
    await daemon(new FakeTarget());
    const silent: Server = createServer(() => undefined); // accepts, never answers
    const silentPath = join(controlDir(), `${NETNS}-${process.pid}.sock`);
    await new Promise<void>((resolve) => silent.listen(silentPath, resolve));
    try {
      expect(await run(['status', '--json'], { timeoutMs: 200 })).toBe(1);
    } finally {
      silent.close();
    }
    expect(stderr.text).toBe(`carpd: carpd pid ${process.pid} did not answer: no answer within 0.2 s (socket ${silentPath})\n`);
    expect(JSON.parse(stdout.text).daemons.map((d: { pid: number }) => d.pid)).toEqual([4242]);
  });

  it('--pid=N asks that daemon only: a silent other daemon does not fail it', async () => {
    await daemon(new FakeTarget());
    const silent: Server = createServer(() => undefined);
    const silentPath = join(controlDir(), `${NETNS}-${process.pid}.sock`);
    await new Promise<void>((resolve) => silent.listen(silentPath, resolve));
    try {
      expect(await run(['status', '--json', '--pid=4242'], { timeoutMs: 200 })).toBe(0);
    } finally {
      silent.close();
    }
    expect(stderr.text).toBe('');
    expect(JSON.parse(stdout.text).daemons.map((d: { pid: number }) => d.pid)).toEqual([4242]);
  });

  it('rejects unknown options with one line, exit 64', async () => {
    expect(await run(['status', '--yaml'])).toBe(64);
    expect(await run(['reload', '--json'])).toBe(64);
    expect(await run(['restart'])).toBe(64);
    expect(stderr.text).toBe(
      [
        'carpd: unknown option "--yaml" for carpd status (usage: carpd status [--json] [--pid=N] | carpd reload [--pid=N])',
        'carpd: unknown option "--json" for carpd reload (usage: carpd status [--json] [--pid=N] | carpd reload [--pid=N])',
        'carpd: unknown command "restart" (usage: carpd status [--json] [--pid=N] | carpd reload [--pid=N])',
        '',
      ].join('\n'),
    );
    expect(stdout.text).toBe('');
  });

  it('needs root to read the control directory, and says so', async () => {
    await daemon(new FakeTarget());
    chmodSync(runDir, 0o755); // as /run/carpd: only control/ is root's
    let code: Promise<number>;
    if (process.getuid?.() === 0) {
      // Ask as nobody. The directory is read before runControlCommand first awaits, so root is
      // given up only for that synchronous stretch (the saved uid lets us take it back).
      process.seteuid!(65534);
      try {
        code = run(['status']);
      } finally {
        process.seteuid!(0);
      }
    } else {
      chmodSync(controlDir(), 0o000);
      try {
        code = run(['status']);
      } finally {
        chmodSync(controlDir(), 0o700);
      }
    }
    expect(await code).toBe(77);
    expect(stderr.text).toBe(`carpd: carpd status needs root (permission denied on ${controlDir()})\n`);
    expect(stdout.text).toBe('');
  });
});

describe('carpd reload', () => {
  it("asks every daemon with a config file and prints each one's answer", async () => {
    const withConfig = new FakeTarget(daemonSnapshot({ pid: 4001 }), { ok: true, message: 'reloaded: 1 vhost, 1 changed' });
    const withoutConfig = new FakeTarget(daemonSnapshot({ pid: 5001, configFile: null }));
    await daemon(withConfig);
    await daemon(withoutConfig);
    expect(await run(['reload'])).toBe(0);
    expect(stdout.text).toBe(['pid 5001: started without --config, nothing to reload', 'pid 4001 (/etc/carpd/carpd.conf): reloaded: 1 vhost, 1 changed', ''].join('\n'));
    expect(stderr.text).toBe('');
    expect([withConfig.reloads, withoutConfig.reloads]).toEqual([1, 0]);
  });

  it('exits 1 with the reason when one daemon cannot reload', async () => {
    await daemon(new FakeTarget(daemonSnapshot({ pid: 4001 })));
    await daemon(
      new FakeTarget(daemonSnapshot({ pid: 5001, configFile: '/etc/carpd/db.conf' }), {
        ok: false,
        message: 'nothing changed: line 7: vhid must be an integer from 1 to 255, got "0"',
      }),
    );
    expect(await run(['reload'])).toBe(1);
    expect(stdout.text).toBe('pid 4001 (/etc/carpd/carpd.conf): reloaded: 1 vhost, nothing changed\n');
    expect(stderr.text).toBe('carpd: reload of pid 5001 (/etc/carpd/db.conf) failed: nothing changed: line 7: vhid must be an integer from 1 to 255, got "0"\n');
  });

  it('--pid=N reloads that daemon only (systemd ExecReload names $MAINPID)', async () => {
    const a = new FakeTarget(daemonSnapshot({ pid: 4001 }), { ok: true, message: 'reloaded a' });
    const b = new FakeTarget(daemonSnapshot({ pid: 5001, configFile: '/etc/carpd/db.conf' }), { ok: true, message: 'reloaded b' });
    await daemon(a);
    await daemon(b);
    expect(await run(['reload', '--pid=5001'])).toBe(0);
    expect(stdout.text).toBe('pid 5001 (/etc/carpd/db.conf): reloaded b\n');
    expect([a.reloads, b.reloads]).toEqual([0, 1]);
    expect(await run(['reload', '--pid=6001'])).toBe(1);
    expect(stderr.text).toBe('carpd: no carpd with pid 6001 answers in this network namespace\n');
    expect(await run(['status', '--pid=x'])).toBe(64);
  });

  it('exits 1 when no daemon was started with a config file', async () => {
    const target = new FakeTarget(daemonSnapshot({ configFile: null }));
    await daemon(target);
    expect(await run(['reload'])).toBe(1);
    expect(stderr.text).toBe('carpd: no carpd in this network namespace was started with --config; nothing to reload\n');
    expect(target.reloads).toBe(0);
  });

  it('says so, exit 1, when no carpd runs', async () => {
    mkdirSync(controlDir(), { mode: 0o700 });
    expect(await run(['reload'])).toBe(1);
    expect(stderr.text).toBe(NO_DAEMON());
    expect(readdirSync(controlDir())).toEqual([]);
  });
});

describe('formatStatus', () => {
  it('shows only what is worth reading: non-zero drops, trouble, the group column when a vhost has one', () => {
    const text = formatStatus(
      [
        daemonSnapshot({
          vhosts: [
            vhostSnapshot({
              name: 'db',
              state: 'BACKUP',
              master: '198.18.0.2',
              group: 'backend',
              vips: ['198.18.0.20/24', '198.18.0.21/24'],
              linkUp: false,
              lastTransition: null,
              drops: { 'bad-ttl': 0, 'bad-auth': 0 },
              sendErrors: 2,
              otherMasterHeard: 4,
              scriptRuns: { ok: 3, failed: 1, timeout: 0, error: 2 },
              since: '2025-03-01T12:05:00.000Z',
            }),
            vhostSnapshot({ name: 'web', state: 'INIT', since: '2025-03-01T12:05:30.000Z' }),
          ],
        }),
      ],
      NOW,
    );
    expect(text).toBe(
      [
        'VHOST  INTERFACE  VHID  STATE               SINCE                               MASTER      GROUP    VIPS',
        'db     eth0       10    BACKUP (link down)  2025-03-01 12:05:00 UTC (30 s ago)  198.18.0.2  backend  198.18.0.20/24, 198.18.0.21/24',
        '  no transition yet',
        '  adverts sent 7530, received 12; no drops; send errors 2; another master heard 4 times while master (split brain?); scripts failed 1, error 2',
        'web    eth0       10    INIT                2025-03-01 12:05:30 UTC (0 s ago)   -           -        198.18.0.10/24',
        '  last transition BACKUP -> MASTER (master down: no advert for 3.04 s)',
        '  adverts sent 7530, received 12; dropped bad-auth 3',
        '',
      ].join('\n'),
    );
  });

  it('says when a daemon has no vhost', () => {
    expect(formatStatus([daemonSnapshot({ vhosts: [] })], NOW)).toBe('no virtual hosts (carpd pid 4242)\n');
  });
});

describe('formatAge', () => {
  it.each([
    [0, '0 s'],
    [-5_000, '0 s'],
    [999, '0 s'],
    [45_000, '45 s'],
    [60_000, '1 min'],
    [192_000, '3 min 12 s'],
    [3_600_000, '1 h'],
    [7_530_000, '2 h 5 min'],
    [86_400_000 * 3 + 3_600_000 * 4 + 59_000, '3 d 4 h'],
  ])('%d ms is %s', (milliseconds, text) => {
    expect(formatAge(milliseconds)).toBe(text);
  });
});

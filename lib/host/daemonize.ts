import { spawn } from 'node:child_process';

/**
 * --daemonize without fork(): Node cannot fork, so the foreground process starts a detached
 * copy of itself (same arguments) and waits until that copy says it is running before it
 * exits 0 — so `carpd -B ...` returning success means the daemon is up, and systemd's
 * Type=forking or an if-up.d hook can rely on it.
 */

const CHILD_ENV = 'CARPD_DAEMON_CHILD';
const START_TIMEOUT_MS = 30_000;

// Read once and removed from our environment, so the up/down scripts (and a carpd that one
// of them might start) do not inherit it and mistake themselves for a detached child.
const daemonChild = process.env[CHILD_ENV] === '1';
delete process.env[CHILD_ENV];

export function isDaemonChild(): boolean {
  return daemonChild;
}

export function notifyParentReady(): void {
  if (process.send) {
    process.send('ready');
    process.disconnect();
  }
}

export function daemonizeParent(): Promise<number> {
  const script = process.argv[1];
  if (script === undefined) return Promise.resolve(1);
  const child = spawn(process.execPath, [...process.execArgv, script, ...process.argv.slice(2)], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: { ...process.env, [CHILD_ENV]: '1' },
    cwd: process.cwd(),
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      process.stderr.write('carpd: the daemon did not report ready within 30 s; see syslog\n');
      finish(1);
    }, START_TIMEOUT_MS);
    const finish = (code: number) => {
      clearTimeout(timer);
      child.removeAllListeners();
      if (child.connected) child.disconnect();
      child.unref();
      resolve(code);
    };
    child.on('message', (m) => {
      if (m === 'ready') finish(0);
    });
    child.on('exit', (code, signal) => {
      process.stderr.write(
        `carpd: the daemon exited during start-up (${signal ?? `status ${code}`}); see syslog for why\n`,
      );
      finish(1);
    });
    child.on('error', (error) => {
      process.stderr.write(`carpd: cannot start the daemon: ${error.message}\n`);
      finish(1);
    });
  });
}

// One-shot commands for the lab. Everything goes through execFile with an argument vector (no
// shell) and a timeout, so a hung `ip` or `tcpdump` fails a test instead of hanging it.
import { execFile, spawnSync } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** Runs a command and reports its exit code; never throws for a non-zero exit. */
export function exec(cmd: string, args: string[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (!error) {
        resolve({ code: 0, stdout, stderr });
        return;
      }
      // A spawn failure (ENOENT) or a timeout kill has no numeric exit code: report -1 and
      // put the reason in stderr so the caller's message shows it.
      const code = typeof error.code === 'number' ? error.code : -1;
      const reason = typeof error.code === 'number' ? '' : `${error.message}\n`;
      resolve({ code, stdout, stderr: reason + stderr });
    });
  });
}

/** Runs a command that must succeed; the error names the command line and its stderr. */
export async function run(cmd: string, args: string[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
  const result = await exec(cmd, args, timeoutMs);
  if (result.code !== 0) {
    throw new Error(`lab command failed (exit ${result.code}): ${[cmd, ...args].join(' ')}\n${result.stderr.trim()}`);
  }
  return result.stdout;
}

/**
 * Synchronous variant for process 'exit' handlers, where nothing asynchronous runs any more.
 * Errors are swallowed: cleanup is best effort and must reach every namespace.
 */
export function runSyncQuietly(cmd: string, args: string[]): string {
  const result = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5_000 });
  return result.status === 0 ? result.stdout : '';
}

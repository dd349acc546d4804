import { execa } from 'execa';
import { constants } from 'node:os';
import { currentLauncher } from './launcher.js';

/**
 * One short-lived command (`ip`, `arping`) with a deadline. It never throws for a failing
 * command: the callers decide whether a failure matters (adding an address that is already there
 * is a success) and log it once. No shell is involved: arguments go to the program as they are.
 */

export interface CommandOptions {
  /** The command is sent SIGTERM at this point, then SIGKILL one second later. */
  timeoutMs: number;
  /**
   * Words put in front of the command, e.g. ['ip', 'netns', 'exec', 'lab-a'] in tests. The
   * daemon runs inside its namespace already and passes none.
   */
  prefix?: readonly string[];
  /** Aborting it kills the command at once (the daemon cancels arping at shutdown). */
  cancelSignal?: AbortSignal;
  /** Text written to the command's standard input (`ip -batch -`); none by default. */
  input?: string;
}

export interface CommandResult {
  /** undefined when the program could not be started or was killed by a signal. */
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The caller aborted the command through cancelSignal. */
  canceled: boolean;
  /** true for a non-zero exit, a signal, a timeout, or a program that could not be started. */
  failed: boolean;
  signal?: string;
  /** Set when the program could not be started at all (ENOENT, EACCES...): execa's message. */
  spawnError?: string;
}

/** Output of `ip`/`arping` is a few lines; anything near this is a runaway. */
const MAX_BUFFER = 1024 * 1024;
const FORCE_KILL_AFTER_MS = 1000;

export async function runCommand(file: string, args: readonly string[], opts: CommandOptions): Promise<CommandResult> {
  // The daemon's launcher shell forks far faster than Node can (lib/host/launcher.ts).
  const launcher = opts.prefix === undefined || opts.prefix.length === 0 ? currentLauncher() : undefined;
  if (launcher !== undefined) {
    const launched = await launcher.run(file, args, {
      timeoutMs: opts.timeoutMs,
      ...(opts.input !== undefined ? { input: opts.input } : {}),
      ...(opts.cancelSignal !== undefined ? { cancelSignal: opts.cancelSignal } : {}),
    });
    if (launched !== undefined) return fromLaunch(file, launched);
  }
  const [program, ...argv] = opts.prefix && opts.prefix.length > 0 ? [...opts.prefix, file, ...args] : [file, ...args];
  const result = await execa(program!, argv, {
    reject: false,
    timeout: opts.timeoutMs,
    forceKillAfterDelay: FORCE_KILL_AFTER_MS,
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
    maxBuffer: MAX_BUFFER,
    // `ip` messages are what we log and match; keep them in English whatever the host's locale.
    env: { LC_ALL: 'C' },
    ...(opts.cancelSignal !== undefined ? { cancelSignal: opts.cancelSignal } : {}),
  });
  const started = result.exitCode !== undefined || result.signal !== undefined || result.timedOut || result.isCanceled;
  const out: CommandResult = {
    exitCode: result.exitCode,
    stdout: typeof result.stdout === 'string' ? result.stdout : '',
    stderr: typeof result.stderr === 'string' ? result.stderr : '',
    timedOut: result.timedOut,
    canceled: result.isCanceled,
    failed: result.failed,
  };
  if (result.signal !== undefined) out.signal = result.signal;
  if (!started) out.spawnError = oneLine(result.shortMessage ?? result.message ?? 'cannot start');
  return out;
}

/** A launcher's result in runCommand's terms. */
function fromLaunch(file: string, r: { exitCode: number; stdout: string; stderr: string; killedBy?: 'timeout' | 'cancel' }): CommandResult {
  const out: CommandResult = {
    exitCode: r.exitCode,
    stdout: r.stdout,
    stderr: r.stderr,
    timedOut: r.killedBy === 'timeout',
    canceled: r.killedBy === 'cancel',
    failed: r.exitCode !== 0,
  };
  if (r.exitCode > 128) {
    // The shell reports a child killed by signal N as 128 + N.
    const name = Object.entries(constants.signals).find(([, n]) => n === r.exitCode - 128)?.[0];
    if (name !== undefined) {
      out.exitCode = undefined;
      out.signal = name;
    }
  }
  if (r.exitCode === 127 && /not found|No such file/i.test(r.stderr)) {
    out.exitCode = undefined;
    out.spawnError = `${file}: not found`;
  }
  return out;
}

/** Collapses a multi-line message (stderr, execa's error text) into one log line. */
export function oneLine(text: string, maxLength = 500): string {
  const line = text
    .split(/\r?\n/)
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .join(' | ');
  return line.length > maxLength ? `${line.slice(0, maxLength)}...` : line;
}

/** "exit status 2", "killed by SIGTERM", "timed out after 3000 ms", "cannot start: ..." */
export function describeFailure(result: CommandResult, timeoutMs: number): string {
  if (result.spawnError !== undefined) return `cannot start: ${result.spawnError}`;
  if (result.timedOut) return `timed out after ${timeoutMs} ms`;
  if (result.signal !== undefined) return `killed by ${result.signal}`;
  return `exit status ${String(result.exitCode)}`;
}

/** For log lines: the command as an operator would type it. */
export function formatCommand(file: string, args: readonly string[]): string {
  return [file, ...args].map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : JSON.stringify(word))).join(' ');
}

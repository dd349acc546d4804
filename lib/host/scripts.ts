import { constants as fsConstants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { BoundedLines } from './output-lines.js';
import { groupHasLiveMembers, killGroup } from './process-group.js';
import type { HostLogger } from './types.js';
import { checkInteger } from './validate.js';

/**
 * The up- and down-scripts, run the way ucarp calls them — `<script> <interface> <vip>
 * [<xparam>]`, an argument vector, no shell — but without ucarp's blocking waitpid() in the
 * protocol loop: request() returns at once and adverts keep flowing while a script runs.
 *
 * Ordering rules ("the latest state wins"):
 * - At most one script runs at a time, so an up- and a down-script never overlap.
 * - A request made while a script runs is queued; only the latest queued request is kept.
 * - A queued request of the same kind as the one running is dropped, together with whatever
 *   was queued before it: the host ends up in the state the running script is producing, so
 *   running down then up again would only flap the service.
 *     running up,   then down             -> up, down
 *     running up,   then down, up         -> up
 *     running up,   then down, up, down   -> up, down
 *     running up,   then up               -> up
 * - A request made while nothing runs starts at once, even if it repeats the last kind: the
 *   caller only asks on a state change, so a repeat means the opposite transition happened in
 *   between without a script of its own (e.g. only an up-script is configured).
 * - A request with no script (none configured for that kind) is an entry like any other that
 *   runs nothing; it still cancels a queued request of the other kind.
 *
 * A script that outlives timeoutMs is sent SIGTERM and, killGraceMs later, SIGKILL — to its
 * whole process group: it runs detached in a group of its own, so a script that forked
 * `sleep 100` cannot survive it or keep our pipes open. A script that exits normally leaves its
 * background children alone (starting a service from an up-script is legitimate); we just stop
 * reading output they still hold open shortly after the script itself has exited.
 */

/** up/down: ucarp's scripts; notify: keepalived's notify, told every state change. */
export type ScriptKind = 'up' | 'down' | 'notify';

export interface ScriptRunnerOptions {
  /** A script still running after this is killed (with its process group). */
  timeoutMs: number;
  log: HostLogger;
  /** Between SIGTERM and SIGKILL; default 1000 ms. */
  killGraceMs?: number;
  /**
   * Told how each run ended, for the metrics: `ok`, `failed` (non-zero exit or a signal),
   * `timeout` (killed at the timeout), `error` (could not be started).
   */
  onOutcome?: (kind: ScriptKind, outcome: ScriptOutcome) => void;
  /** Extra environment for the scripts (CARPD_* variables naming the vhost and its VIPs). */
  env?: Readonly<Record<string, string>>;
  /** Run the scripts as this user (keepalived's script_user); default: carpd's own. */
  user?: { readonly uid: number; readonly gid: number };
}

export type ScriptOutcome = 'ok' | 'failed' | 'timeout' | 'error';

interface Job {
  kind: ScriptKind;
  script: string | undefined;
  args: readonly string[];
  /** Variables for this run only (the notify script's CARPD_STATE, ...). */
  env?: Readonly<Record<string, string>>;
}

interface Run {
  job: Job;
  /** Set once spawned; the process group id (the group leader's pid, as it runs detached). */
  pgid?: number;
}

const DEFAULT_KILL_GRACE_MS = 1000;
/** After the script exits, how long we keep reading output that background children hold open. */
const DRAIN_AFTER_EXIT_MS = 300;
const MAX_OUTPUT_LINES = 20;
const MAX_LINE_CHARS = 4096;

export class ScriptRunner {
  private readonly timeoutMs: number;
  private readonly killGraceMs: number;
  private readonly log: HostLogger;
  private readonly onOutcome: ((kind: ScriptKind, outcome: ScriptOutcome) => void) | undefined;
  private readonly env: Readonly<Record<string, string>> | undefined;
  private readonly user: { readonly uid: number; readonly gid: number } | undefined;
  private current: Run | undefined;
  private pending: Job | undefined;
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(o: ScriptRunnerOptions) {
    checkInteger('timeoutMs', o.timeoutMs, 1, 24 * 3600 * 1000);
    if (o.killGraceMs !== undefined) checkInteger('killGraceMs', o.killGraceMs, 0, 600_000);
    this.timeoutMs = o.timeoutMs;
    this.killGraceMs = o.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.log = o.log;
    this.onOutcome = o.onOutcome;
    this.env = o.env;
    this.user = o.user;
  }

  /** Whether a script is running now. */
  get running(): boolean {
    return this.current !== undefined;
  }

  /**
   * Asks for the up- or down-script. Returns at once: the script starts on a later tick, after
   * the one running (if any) has finished. `args` is passed as it is: [interface, vip, xparam?].
   */
  request(kind: ScriptKind, script: string | undefined, args: readonly string[], env?: Readonly<Record<string, string>>): void {
    if (kind !== 'up' && kind !== 'down' && kind !== 'notify') {
      throw new TypeError(`kind must be 'up', 'down' or 'notify', got ${JSON.stringify(kind)}`);
    }
    if (this.closed) {
      this.log.debug(`${kind}-script not run: script runner closed`);
      return;
    }
    const job: Job = { kind, script, args: [...args], ...(env !== undefined ? { env } : {}) };
    const current = this.current;
    if (current === undefined) {
      this.start(job);
      return;
    }
    const replaced = this.pending;
    // Two up-scripts in a row say nothing new; two notifications do (another state each):
    // the latest waits its turn.
    if (kind === current.job.kind && kind !== 'notify') {
      this.pending = undefined;
      this.log.debug(
        `${kind}-script requested while the ${kind}-script runs: nothing more to run` +
          (replaced ? ` (dropped the queued ${replaced.kind}-script)` : ''),
      );
      return;
    }
    this.pending = job;
    this.log.debug(
      `${kind}-script queued behind the running ${current.job.kind}-script` +
        (replaced ? ` (replaces the queued ${replaced.kind}-script)` : ''),
    );
  }

  /** Resolves when no script runs and none is queued — at shutdown, after requesting the down-script. */
  idle(): Promise<void> {
    if (this.current === undefined && this.pending === undefined) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Last resort on a hard exit: drops the queue and SIGKILLs the running script's process
   * group at once (there may be no event loop left to send a delayed SIGKILL). For an orderly
   * stop, request the down-script and await idle() instead.
   */
  close(): void {
    this.closed = true;
    this.pending = undefined;
    const pgid = this.current?.pgid;
    if (pgid !== undefined) {
      this.log.warn(`killing the running ${this.current!.job.kind}-script (pid ${pgid})`);
      killGroup(pgid, 'SIGKILL');
    }
  }

  private start(job: Job): void {
    const run: Run = { job };
    this.current = run;
    // execute() runs on its own; its first await is before the spawn, so even the spawn does not
    // happen on the caller's stack.
    void this.execute(run)
      .catch((error: unknown) => {
        // execute() handles every expected failure itself; this is the "cannot happen" net.
        this.log.error(`${job.kind}-script ${job.script ?? ''}: ${error instanceof Error ? error.message : String(error)}`);
      })
      .finally(() => this.finished(run));
  }

  private finished(run: Run): void {
    if (this.current !== run) return;
    this.current = undefined;
    const next = this.pending;
    this.pending = undefined;
    if (next !== undefined && !this.closed) {
      this.start(next);
      return;
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private async execute(run: Run): Promise<void> {
    const { kind, script, args } = run.job;
    if (script === undefined) {
      this.log.debug(`no ${kind}-script configured`);
      return;
    }
    const name = `${kind}-script ${script}`;
    // ucarp exec()s the path as given, without a PATH search: a bare name is relative to the
    // working directory. Spawning "name" would search PATH, so make it explicit.
    const file = script.includes('/') ? script : `./${script}`;
    const problem = await checkExecutable(file);
    if (problem !== undefined) {
      this.log.error(`${name}: cannot run: ${problem}`);
      this.onOutcome?.(kind, 'error');
      return;
    }
    if (this.closed) return;

    const startedAt = performance.now();
    const subprocess = execa(file, args, {
      reject: false,
      ...(this.env !== undefined || run.job.env !== undefined ? { env: { ...this.env, ...run.job.env } } : {}),
      ...(this.user !== undefined ? { uid: this.user.uid, gid: this.user.gid } : {}),
      // Its own process group (setsid), so a timeout can kill everything it started.
      detached: true,
      cleanup: false,
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
    });
    const stdoutLines = new BoundedLines(MAX_OUTPUT_LINES, MAX_LINE_CHARS);
    const stderrLines = new BoundedLines(MAX_OUTPUT_LINES, MAX_LINE_CHARS);
    subprocess.stdout?.on('data', (chunk: Buffer) => stdoutLines.push(chunk));
    subprocess.stderr?.on('data', (chunk: Buffer) => stderrLines.push(chunk));
    if (subprocess.pid !== undefined) run.pgid = subprocess.pid;

    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      subprocess.once('exit', (code, signal) => resolve({ code, signal }));
    });
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    void exited.then((e) => {
      exit = e;
    });

    let timedOut = false;
    let sentKill = false;
    let graceTimer: NodeJS.Timeout | undefined;
    let graceOver: Promise<void> | undefined;
    const timeoutTimer = setTimeout(() => {
      if (exit !== undefined || run.pgid === undefined) return;
      timedOut = true;
      const pgid = run.pgid;
      killGroup(pgid, 'SIGTERM');
      // SIGKILL the group after the grace period even if the leader died of the SIGTERM: a
      // child that ignores SIGTERM would otherwise survive and overlap the next script.
      graceOver = new Promise((resolve) => {
        graceTimer = setTimeout(() => {
          sentKill = killGroup(pgid, 'SIGKILL');
          resolve();
        }, this.killGraceMs);
      });
    }, this.timeoutMs);

    // Done when execa has seen the exit and the end of both pipes; or, if background children
    // keep the pipes open, shortly after the exit. execa resolves (never rejects, reject: false)
    // at once when the program cannot be spawned.
    const drained = exited.then(() => delay(DRAIN_AFTER_EXIT_MS));
    const result = await Promise.race([subprocess, drained.then(() => undefined)]);
    let outputAbandoned = false;
    if (result === undefined) {
      outputAbandoned = true;
      subprocess.stdout?.destroy();
      subprocess.stderr?.destroy();
      await subprocess;
    }
    clearTimeout(timeoutTimer);
    if (timedOut && graceOver !== undefined) {
      // Wait for the SIGKILL only if something of the group is still alive.
      if (run.pgid !== undefined && groupHasLiveMembers(run.pgid)) await graceOver;
      else clearTimeout(graceTimer);
    }
    const elapsed = Math.round(performance.now() - startedAt);

    let status: string;
    let ok = false;
    let outcome: ScriptOutcome = 'failed';
    if (exit === undefined) {
      outcome = 'error';
      const settled = await subprocess;
      status = `cannot run: ${oneLineMessage(settled.shortMessage ?? settled.message ?? 'spawn failed')}`;
    } else if (timedOut) {
      outcome = 'timeout';
      status =
        `timed out after ${this.timeoutMs} ms: killed its process group with SIGTERM` +
        (sentKill ? `, then SIGKILL after ${this.killGraceMs} ms` : '');
    } else if (exit.signal !== null) {
      status = `killed by ${exit.signal} after ${elapsed} ms`;
    } else {
      ok = exit.code === 0;
      if (ok) outcome = 'ok';
      status = `exit status ${String(exit.code)} after ${elapsed} ms`;
    }
    this.onOutcome?.(kind, outcome);
    const level = ok ? 'info' : 'error';
    const command = [name, ...args.map(quoteArg)].join(' ');
    this.log[level](`${command}: ${status}`);
    const outputLevel = ok ? 'info' : 'warn';
    for (const line of stdoutLines.finish()) this.log[outputLevel](`${kind}-script stdout: ${line}`);
    for (const line of stderrLines.finish()) this.log[outputLevel](`${kind}-script stderr: ${line}`);
    if (outputAbandoned) {
      this.log.debug(`${name}: a background process it started still holds its output open; no longer reading it`);
    }
  }
}

/** undefined when file is an executable regular file, else the reason in a few words. */
async function checkExecutable(file: string): Promise<string | undefined> {
  try {
    const info = await stat(file);
    if (!info.isFile()) return 'not a regular file';
    await access(file, fsConstants.X_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'no such file';
    if (code === 'EACCES') return 'not executable (check its mode and the x bit)';
    return error instanceof Error ? error.message : String(error);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : JSON.stringify(arg);
}

function oneLineMessage(text: string): string {
  return text.replace(/\s*\n\s*/g, ' | ').trim();
}

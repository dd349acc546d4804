import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { oneLine } from './command.js';
import { BoundedLines } from './output-lines.js';
import { groupHasLiveMembers, terminateGroup, type GroupEnd } from './process-group.js';
import type { HostLogger } from './types.js';
import { checkInteger } from './validate.js';

/**
 * One health check (keepalived's vrrp_script) run every intervalMs. It only observes: each run
 * becomes a CheckRun on the 'result' event, and lib/state/check.ts turns results into
 * healthy/failed. Nothing here throws once constructed; whatever goes wrong ends up in a result.
 *
 * How a check runs, and why:
 * - An argument vector with no shell, argv[0] looked up in PATH as execvp() does, as keepalived
 *   runs its scripts. (Unlike the up/down-scripts, which ucarp runs as a path.) A user who wants
 *   pipes or `||` writes `sh -c '...'`.
 * - stdin is /dev/null; stdout is dropped; the first line of stderr is kept (bounded) for the
 *   detail of a failed run, the rest is read and thrown away so the check never blocks on a
 *   full pipe.
 * - It is the leader of a process group of its own. At the timeout the whole group is sent
 *   SIGTERM, then SIGKILL killGraceMs later if anything is left.
 * - Runs never overlap. A run ends when its process group is gone, not just its leader: a
 *   check is a probe, and a `sleep &` it left behind would otherwise pile up one per interval.
 *   Leftovers of a check that exited on its own are therefore ended the same way (this differs
 *   from the up-script, whose background children may be the service it started). A process
 *   that daemonizes (setsid) has left the group and is not touched.
 * - Starts are on a fixed beat, previous start + intervalMs, counted on the monotonic clock from
 *   the scheduled start, so neither the run's duration nor a late timer makes the beat drift. A
 *   run longer than the interval delays the next one, which then starts as soon as it ends; the
 *   missed beats are not made up.
 *
 * The timers are left ref'd: a started runner is meant to keep running until stop(), and a
 * running check keeps the event loop alive through its child anyway. A forgotten stop() then
 * shows as a process that does not exit, rather than as checks that quietly stop between runs.
 */

export interface CheckSpec {
  readonly name: string;
  /** argv: command[0] is looked up in PATH when it has no '/'. */
  readonly command: readonly string[];
  readonly intervalMs: number;
  /** A run still going after this is killed with its process group and counts as a failure. */
  readonly timeoutMs: number;
}

/** ok: exit 0; failed: another exit status or a signal; timeout: we killed it; error: cannot start. */
export type CheckOutcome = 'ok' | 'failed' | 'timeout' | 'error';

export interface CheckRun {
  readonly ok: boolean;
  readonly outcome: CheckOutcome;
  /** For the log: `exit 7 after 0.03 s`, `timed out after 2 s: killed`, `cannot start: ...` */
  readonly detail: string;
  /** From the start to the exit of the command (0 when it could not start). */
  readonly durationMs: number;
  /** Date.now() when the run was over. */
  readonly at: number;
}

export interface CheckRunnerOptions {
  log: HostLogger;
  /** Between SIGTERM and SIGKILL; default 1000 ms. */
  killGraceMs?: number;
  /** Extra environment for the command, on top of carpd's own. */
  env?: Readonly<Record<string, string>>;
  /** Run the check as this user (keepalived's script_user); default: carpd's own. */
  user?: { readonly uid: number; readonly gid: number };
}

const DEFAULT_KILL_GRACE_MS = 1000;
const MAX_MS = 24 * 3600 * 1000;
/** After the group is gone, how long we wait for stderr to close (a daemonized child may hold it). */
const DRAIN_AFTER_EXIT_MS = 300;
/** Of stderr, only the first line goes into the detail. */
const MAX_DETAIL_CHARS = 200;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Run {
  /** The process group id (the leader's pid): set once spawned. */
  pgid?: number;
  /** Set once we kill the group (timeout or stop): later callers wait for the same end. */
  killing?: Promise<GroupEnd>;
  /** stop() was called while it ran: its result is not a health observation. */
  abandoned: boolean;
}

export class CheckRunner extends EventEmitter<{ result: [CheckRun] }> {
  readonly spec: CheckSpec;
  private readonly log: HostLogger;
  private readonly killGraceMs: number;
  private readonly env: Readonly<Record<string, string>> | undefined;
  private readonly user: { readonly uid: number; readonly gid: number } | undefined;
  private readonly label: string;
  private phase: 'new' | 'started' | 'stopped' = 'new';
  /** The start the current beat was scheduled for (monotonic ms). */
  private scheduledStart = 0;
  private nextRunTimer: NodeJS.Timeout | undefined;
  private current: Run | undefined;
  /** Settles when the current run, result and all, is over. */
  private currentDone: Promise<void> | undefined;
  private lastRun: CheckRun | undefined;
  private readonly counts: Record<CheckOutcome, number> = { ok: 0, failed: 0, timeout: 0, error: 0 };
  private warnedLeftovers = false;

  constructor(spec: CheckSpec, o: CheckRunnerOptions) {
    super();
    if (typeof spec.name !== 'string' || spec.name === '') {
      throw new TypeError(`name must be a non-empty string, got ${JSON.stringify(spec.name)}`);
    }
    if (!Array.isArray(spec.command) || spec.command.length === 0 || !spec.command.every((word) => typeof word === 'string') || spec.command[0] === '') {
      throw new TypeError(`command must be a non-empty array of strings with a non-empty first word, got ${JSON.stringify(spec.command)}`);
    }
    checkInteger('intervalMs', spec.intervalMs, 1, MAX_MS);
    checkInteger('timeoutMs', spec.timeoutMs, 1, MAX_MS);
    if (o.killGraceMs !== undefined) checkInteger('killGraceMs', o.killGraceMs, 0, 600_000);
    this.spec = Object.freeze({ ...spec, command: Object.freeze([...spec.command]) });
    this.log = o.log;
    this.killGraceMs = o.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.env = o.env;
    this.user = o.user;
    this.label = `check ${JSON.stringify(spec.name)}`;
  }

  /** The latest result, undefined before the first run has ended. */
  get last(): CheckRun | undefined {
    return this.lastRun;
  }

  /** How many runs ended each way (runs cut short by stop() are not counted). */
  get runs(): Readonly<Record<CheckOutcome, number>> {
    return { ...this.counts };
  }

  /** Runs the check at once, then on every beat of intervalMs until stop(). Once only. */
  start(): void {
    if (this.phase !== 'new') throw new Error(`${this.label}: start() called on a runner already ${this.phase}`);
    this.phase = 'started';
    this.scheduledStart = performance.now();
    this.launch();
  }

  /** No more runs; a running check is killed with its process group. Resolves when it is gone. */
  async stop(): Promise<void> {
    this.phase = 'stopped';
    clearTimeout(this.nextRunTimer);
    this.nextRunTimer = undefined;
    const run = this.current;
    if (run !== undefined) {
      run.abandoned = true;
      if (run.pgid !== undefined) void this.kill(run, run.pgid);
    }
    await this.currentDone;
  }

  private launch(): void {
    this.nextRunTimer = undefined;
    if (this.phase !== 'started') return;
    const run: Run = { abandoned: false };
    this.current = run;
    this.currentDone = this.execute(run)
      .then((result) => {
        if (run.abandoned || this.phase !== 'started') return;
        this.counts[result.outcome]++;
        this.lastRun = result;
        this.log.debug(`${this.label}: ${result.detail}`);
        this.emit('result', result);
      })
      .catch((error: unknown) => {
        // execute() turns every expected failure into a result, so this is a listener that
        // threw, or a "cannot happen": log it and keep the beat going.
        this.log.error(`${this.label}: ${error instanceof Error ? error.message : String(error)}`);
      })
      .finally(() => {
        this.current = undefined;
        this.scheduleNext();
      });
  }

  private scheduleNext(): void {
    if (this.phase !== 'started') return;
    const now = performance.now();
    this.scheduledStart += this.spec.intervalMs;
    // Overran the beat: start now, and count the following beats from here.
    if (this.scheduledStart < now) this.scheduledStart = now;
    this.nextRunTimer = setTimeout(() => this.launch(), this.scheduledStart - now);
  }

  private kill(run: Run, pgid: number): Promise<GroupEnd> {
    run.killing ??= terminateGroup(pgid, this.killGraceMs);
    return run.killing;
  }

  private async execute(run: Run): Promise<CheckRun> {
    const [file, ...args] = this.spec.command as [string, ...string[]];
    const startedAt = performance.now();
    let subprocess;
    try {
      subprocess = execa(file, args, {
        reject: false,
        ...(this.env !== undefined ? { env: this.env } : {}),
        ...(this.user !== undefined ? { uid: this.user.uid, gid: this.user.gid } : {}),
        // Its own process group (setsid), so one signal reaches everything the check started.
        detached: true,
        cleanup: false,
        stdin: 'ignore',
        stdout: 'ignore',
        stderr: 'pipe',
        buffer: false,
      });
    } catch (error) {
      return this.result('error', `cannot start: ${oneLine(error instanceof Error ? error.message : String(error))}`, 0);
    }
    const pgid = subprocess.pid;
    if (pgid === undefined) {
      // Spawning failed; execa resolves at once with the reason (reject: false).
      const settled = await subprocess;
      return this.result('error', `cannot start: ${this.spawnProblem(file, settled.code, settled.originalMessage ?? settled.message ?? 'spawn failed')}`, 0);
    }
    run.pgid = pgid;
    const stderr = new BoundedLines(1, MAX_DETAIL_CHARS);
    subprocess.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));

    let timedOut = false;
    let timeoutTimer: NodeJS.Timeout | undefined;
    const exit = await new Promise<Exit>((resolve) => {
      subprocess.once('exit', (code, signal) => {
        // Cleared in the same tick as the exit: the timeout can never fire for a finished run.
        clearTimeout(timeoutTimer);
        resolve({ code, signal });
      });
      timeoutTimer = setTimeout(() => {
        timedOut = true;
        void this.kill(run, pgid);
      }, this.spec.timeoutMs);
    });
    const durationMs = performance.now() - startedAt;

    // The run is over when the whole group is: finish the kill under way, or end the leftovers.
    let end = run.killing !== undefined ? await run.killing : undefined;
    if (end === undefined && groupHasLiveMembers(pgid)) {
      if (!this.warnedLeftovers && !run.abandoned) {
        this.warnedLeftovers = true;
        this.log.warn(`${this.label}: exited but left processes behind in its process group; killing them after this and every run`);
      }
      end = await this.kill(run, pgid);
    }
    if (end?.survived) this.log.warn(`${this.label}: a process of its group (pgid ${pgid}) survived SIGKILL; not waiting for it`);
    await this.drain(subprocess);

    const took = formatSeconds(durationMs);
    if (timedOut) {
      return this.result('timeout', `timed out after ${formatTimeout(this.spec.timeoutMs)}: killed${end?.sentKill ? ' (SIGTERM ignored, needed SIGKILL)' : ''}`, durationMs);
    }
    const firstLine = stderr.finish()[0]?.trim();
    const said = firstLine !== undefined && firstLine !== '' ? `: ${firstLine}` : '';
    if (exit.signal !== null) return this.result('failed', `killed by ${exit.signal} after ${took}${said}`, durationMs);
    if (exit.code === 0) return this.result('ok', `exit 0 after ${took}`, durationMs);
    return this.result('failed', `exit ${String(exit.code)} after ${took}${said}`, durationMs);
  }

  /** Waits for stderr to close, but not for a process outside the group that still holds it. */
  private async drain(subprocess: ReturnType<typeof execa>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      subprocess.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), DRAIN_AFTER_EXIT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (!closed) {
      subprocess.stderr?.destroy();
      await subprocess;
    }
  }

  private spawnProblem(file: string, code: string | undefined, message: string): string {
    // libuv's execvp reports ENOENT both for a missing command and for a script whose #!
    // interpreter is missing; the second is rarer and would need a stat to tell apart.
    if (code === 'ENOENT') {
      return file.includes('/') ? `${JSON.stringify(file)} or its #! interpreter does not exist` : `no such command ${JSON.stringify(file)}`;
    }
    if (code === 'EACCES') return `${JSON.stringify(file)} is not executable (permission denied)`;
    return oneLine(message);
  }

  private result(outcome: CheckOutcome, detail: string, durationMs: number): CheckRun {
    return Object.freeze({ ok: outcome === 'ok', outcome, detail, durationMs, at: Date.now() });
  }
}

/** Measured durations: seconds with two decimals, "0.03 s". */
function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** A configured duration: as few digits as it needs, "2 s", "0.25 s". */
function formatTimeout(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/**
 * A small `sh` started once, at launch, that starts carpd's short commands (`ip`, `arping`,
 * `xargs`) for it.
 *
 * Why: Node forks itself for every child, and a fork of a 60 MiB process blocks the event loop
 * for 5 to 8 ms (measured by bench:vrrp with strace: `spawn('ip')` 6.2 ms). On a takeover that is
 * the time between our advert and the VIP on the interface, and again before the gratuitous ARP;
 * keepalived, which talks netlink, needs 0.3 ms. A 1 MiB shell forks in a fraction of that,
 * and the event loop only writes a line to a pipe.
 *
 * Protocol (one line each way per step, short writes, so lines never interleave):
 *   carpd → sh   R <id> <command words, shell-quoted>     stdin from <dir>/<id>.in
 *   sh → carpd   P <id> <pid>                             the command runs as <pid>
 *   sh → carpd   D <id> <exit status>                     stdout/stderr in <dir>/<id>.out/.err
 * The command is exec'd directly (no shell syntax reaches it: every word is quoted), through
 * setsid(1) so that it leads a process group of its own: on a timeout or a cancel carpd kills
 * the group, and with it what the command started (xargs's arpings). When carpd goes, the pipe closes and the shell exits.
 *
 * Used only when the daemon installed it (useLauncher); otherwise, and for a command prefix
 * (tests), and if the shell is gone, runCommand starts the command itself as before.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

const SCRIPT = `
dir=$1
while IFS=' ' read -r verb id words; do
  [ "$verb" = R ] || continue
  {
    eval "exec setsid $words" <"$dir/$id.in" >"$dir/$id.out" 2>"$dir/$id.err" &
    p=$!
    printf 'P %s %s\\n' "$id" "$p"
    wait "$p"
    printf 'D %s %s\\n' "$id" "$?"
  } &
done
# carpd is gone (it closed our input, or it was killed): once the last command is done, nothing
# of ours stays behind.
wait
rm -rf -- "$dir"
`;

export interface LaunchResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Set when carpd killed it (timeout or cancel). */
  killedBy?: 'timeout' | 'cancel';
}

interface Pending {
  resolve: (r: LaunchResult | undefined) => void;
  pid?: number;
  killedBy?: 'timeout' | 'cancel';
  timers: NodeJS.Timeout[];
  cleanup: () => void;
}

/** A word as the shell reads it back unchanged: single quotes, an embedded one as '\''. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

const FORCE_KILL_AFTER_MS = 1000;

export class Launcher {
  private readonly child: ChildProcessByStdio<Writable, Readable, null>;
  readonly dir: string;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private buffered = '';
  private alive = true;

  constructor(private readonly onGone: (reason: string) => void = () => undefined) {
    this.dir = mkdtempSync(join(tmpdir(), 'carpd-launcher-'));
    this.child = spawn('/bin/sh', ['-c', SCRIPT, 'carpd-launcher', this.dir], {
      stdio: ['pipe', 'pipe', 'ignore'],
      env: { ...process.env, LC_ALL: 'C' },
      // Its own session: a signal to carpd's process group (Ctrl-C, timeout(1), systemd's
      // SIGTERM) is carpd's to handle, and carpd still needs its commands while it stops.
      detached: true,
    });
    // Only a command waiting for its result keeps carpd running (ref() below): an idle launcher
    // never does, so a daemon that exits (or fails to start) just goes, and the shell follows
    // when its input closes.
    this.child.unref();
    (this.child.stdin as Writable & { unref?: () => void }).unref?.();
    this.output.unref?.();
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => this.onData(chunk));
    this.child.on('exit', () => this.gone('the launcher shell exited'));
    this.child.on('error', (error) => this.gone(`the launcher shell failed: ${error.message}`));
    this.child.stdin.on('error', () => this.gone('the launcher shell closed its input'));
  }

  /** The shell's stdout, a pipe socket: ref'd exactly while a command waits for its result. */
  private get output(): Readable & { ref?: () => void; unref?: () => void } {
    return this.child.stdout as Readable & { ref?: () => void; unref?: () => void };
  }

  get usable(): boolean {
    return this.alive;
  }

  /**
   * Runs the command; undefined when the launcher cannot (gone): the caller then starts it
   * itself. Never rejects.
   */
  run(file: string, args: readonly string[], o: { input?: string; timeoutMs: number; cancelSignal?: AbortSignal }): Promise<LaunchResult | undefined> {
    if (!this.alive) return Promise.resolve(undefined);
    const id = this.nextId++;
    const base = join(this.dir, String(id));
    writeFileSync(`${base}.in`, o.input ?? '');
    return new Promise((resolve) => {
      const entry: Pending = {
        resolve,
        timers: [],
        cleanup: () => {
          for (const timer of entry.timers) clearTimeout(timer);
          o.cancelSignal?.removeEventListener('abort', onAbort);
          for (const ext of ['in', 'out', 'err']) {
            try {
              unlinkSync(`${base}.${ext}`);
            } catch {
              // Not written (the command never started) or already gone.
            }
          }
        },
      };
      const kill = (why: 'timeout' | 'cancel'): void => {
        entry.killedBy ??= why;
        this.signal(entry, 'SIGTERM');
        entry.timers.push(setTimeout(() => this.signal(entry, 'SIGKILL'), FORCE_KILL_AFTER_MS).unref());
      };
      const onAbort = (): void => kill('cancel');
      this.pending.set(id, entry);
      if (this.pending.size === 1) this.output.ref?.();
      entry.timers.push(setTimeout(() => kill('timeout'), o.timeoutMs).unref());
      if (o.cancelSignal?.aborted === true) kill('cancel');
      o.cancelSignal?.addEventListener('abort', onAbort, { once: true });
      this.child.stdin.write(`R ${id} ${[file, ...args].map(shellQuote).join(' ')}\n`);
    });
  }

  /** Ends the shell (it exits when its input closes); commands still running finish on their own. */
  close(): void {
    if (!this.alive) return;
    this.alive = false;
    this.child.stdin.end();
    for (const entry of this.pending.values()) {
      entry.cleanup();
      entry.resolve(undefined);
    }
    this.pending.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private signal(entry: Pending, signal: NodeJS.Signals): void {
    if (entry.pid === undefined) return;
    for (const target of [-entry.pid, entry.pid]) {
      try {
        process.kill(target, signal);
        return;
      } catch {
        // No such group (setsid could not make one): the process alone, or it is gone.
      }
    }
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    let newline: number;
    while ((newline = this.buffered.indexOf('\n')) !== -1) {
      const line = this.buffered.slice(0, newline);
      this.buffered = this.buffered.slice(newline + 1);
      const [verb, idText, value] = line.split(' ');
      const entry = this.pending.get(Number(idText));
      if (entry === undefined) continue;
      if (verb === 'P') {
        entry.pid = Number(value);
        // A kill asked for before the pid was known.
        if (entry.killedBy !== undefined) this.signal(entry, 'SIGTERM');
      } else if (verb === 'D') {
        this.pending.delete(Number(idText));
        if (this.pending.size === 0) this.output.unref?.();
        const base = join(this.dir, idText!);
        const read = (ext: string): string => {
          try {
            return readFileSync(`${base}.${ext}`, 'utf8');
          } catch {
            return '';
          }
        };
        const result: LaunchResult = { exitCode: Number(value), stdout: read('out'), stderr: read('err') };
        if (entry.killedBy !== undefined) result.killedBy = entry.killedBy;
        entry.cleanup();
        entry.resolve(result);
      }
    }
  }

  private gone(reason: string): void {
    if (!this.alive) return;
    this.close();
    this.onGone(reason);
  }
}

let installed: Launcher | undefined;

/** The daemon starts one at launch (while its heap is small) and hands it over here. */
export function useLauncher(launcher: Launcher | undefined): void {
  installed = launcher;
}

export function currentLauncher(): Launcher | undefined {
  return installed?.usable === true ? installed : undefined;
}

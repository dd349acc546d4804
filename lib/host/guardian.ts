import { spawn as spawnChild } from 'node:child_process';
import { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { errorText } from '../errors.js';
import type { HostLogger } from './types.js';

/**
 * The VIP guardian: a tiny `sh` child that outlives a carpd killed by SIGKILL (or the OOM
 * killer) just long enough to take its VIPs off the interfaces. A process that dies that way
 * runs no code of its own, so without it a dead MASTER's address stays up and answers ARP next
 * to the backup that took over, until someone restarts carpd.
 *
 * carpd holds the write end of the guardian's stdin and tells it, one line each, every VIP it
 * is about to add and every one it has removed. The kernel closes that pipe when carpd dies,
 * however it dies; on end of file without the clean-exit word first, the guardian deletes the
 * VIPs it was told are held, in one `ip -force -batch -`. A clean stop removes the VIPs itself
 * and then sends the word, and the guardian exits without touching anything.
 *
 * Why `sh`: the guardian sleeps in read(2) for the daemon's whole life, so all that matters is
 * its footprint: a dash shell costs about 1 MiB of RSS, a second Node process about 40. Every
 * command it runs while carpd lives is a builtin, so it forks nothing until it has to act.
 *
 * What keeps it from removing a VIP a live carpd holds:
 *  - it removes only what this carpd said it added, on the interface it named, with the exact
 *    prefix (`ip addr del` of that address/prefix): what carpd's own clean stop would remove;
 *  - before it removes anything it reads the vhost's instance lock (one per netns, interface
 *    and vhid, see instance-lock.ts): a file naming a live process other than the dead carpd is
 *    a carpd started since — it removed any stale copy itself at start, and an address on the
 *    interface now is its own — so that VIP is left alone;
 *  - it is started by the long-lived carpd process and inherits its network namespace, so
 *    `eth0` means carpd's eth0;
 *  - it runs in a session of its own (not in carpd's process group, so a Ctrl-C or a signal to
 *    the group reaches carpd alone) and ignores the usual stop signals: only the pipe ends it.
 *    SIGKILL still kills it, which is why the systemd unit also runs `carpd cleanup` after the
 *    service stops (ExecStopPost=): systemd kills the whole control group once the main process
 *    is gone, possibly before the guardian has acted.
 */

/** The clean-exit word: carpd stopped cleanly and left nothing that is the guardian's to remove. */
export const CLEAN_EXIT_WORD = 'bye';

/**
 * The guardian itself, run as `sh -c GUARDIAN_SCRIPT carpd-guardian <carpd pid> <ip> <facility>`.
 * Its input, one command a line, fields separated by one space:
 *   hold <interface> <address>/<prefix> <instance lock file>
 *   drop <interface> <address>/<prefix> <instance lock file>
 *   bye
 * The held set is a newline-delimited string of "interface cidr lock" entries (no field can
 * hold a space or a newline: carpd checks them before it writes a line). <facility> empty:
 * its lines go to stderr; else to syslog through logger(1).
 */
export const GUARDIAN_SCRIPT = `# carpd VIP guardian: removes the VIPs of a carpd that died without stopping cleanly
trap '' HUP INT QUIT TERM PIPE USR1 USR2
carpd=$1 ip=$2 facility=$3
nl='
'
say() {
  if [ -n "$facility" ]; then logger -t carpd -p "$facility.warning" -- "guardian of pid $carpd: $*"
  else printf 'carpd guardian of pid %s: %s\\n' "$carpd" "$*" >&2; fi
}
held=$nl
while IFS=' ' read -r word dev cidr lock; do
  entry="$dev $cidr $lock"
  case $word in
  hold) case $held in *"$nl$entry$nl"*) ;; *) held=$held$entry$nl ;; esac ;;
  drop) case $held in *"$nl$entry$nl"*) held=\${held%%"$nl$entry$nl"*}$nl\${held#*"$nl$entry$nl"} ;; esac ;;
  ${CLEAN_EXIT_WORD}) exit 0 ;;
  esac
done
[ "$held" = "$nl" ] && exit 0
batch= removed= kept=
set -f
IFS=$nl
for entry in $held; do
  IFS=' '
  set -- $entry
  IFS=$nl
  holder=
  [ -r "$3" ] && read -r holder <"$3"
  if [ -n "$holder" ] && [ "$holder" != "$carpd" ] && kill -0 "$holder" 2>/dev/null; then
    kept="\${kept:+$kept, }$2 on $1 (pid $holder holds its lock)"
  else
    batch="\${batch}address del $2 dev $1$nl"
    removed="\${removed:+$removed, }$2 from $1"
  fi
done
IFS=' '
if [ -n "$batch" ]; then
  printf '%s' "$batch" | "$ip" -force -batch - >/dev/null 2>&1
  say "carpd exited without stopping cleanly: removed $removed"
fi
[ -z "$kept" ] || say "left alone, a running carpd owns them: $kept"
exit 0
`;

/** What one line may carry: interface names, cidrs and paths with no space, newline or control character. */
const FIELD = /^[^\s\x00-\x1f\x7f]+$/;

/** One line of the guardian's input; undefined when a field could not be carried (never expected). */
export function guardianLine(word: 'hold' | 'drop', iface: string, cidr: string, lockPath: string): string | undefined {
  if (!FIELD.test(iface) || !FIELD.test(cidr) || !FIELD.test(lockPath)) return undefined;
  return `${word} ${iface} ${cidr} ${lockPath}\n`;
}

/** The child as the guardian uses it; tests substitute a fake. */
export interface GuardianChild {
  readonly pid?: number | undefined;
  readonly stdin: Writable | null;
  once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  once(event: 'error', listener: (error: Error) => void): unknown;
  unref(): void;
}

export interface VipGuardianOptions {
  log: HostLogger;
  /** The pid the guardian is guarding (its parent): a lock file naming it is ours. */
  carpdPid?: number;
  /** Syslog facility for the guardian's own lines; undefined: stderr (inherited from carpd). */
  facility?: string;
  /** The `ip` program; tests pass a fixture that records what it is asked. */
  ipProgram?: string;
  /** Starts the child; tests pass a fake. The default spawns `sh -c GUARDIAN_SCRIPT ...`. */
  spawn?: (args: readonly string[], stderr: 'inherit' | 'ignore') => GuardianChild;
  /** How long close() waits for the guardian to exit; default 2000 ms. */
  closeTimeoutMs?: number;
  /** Delay before a guardian that died while carpd runs is replaced; default 1000 ms. */
  respawnDelayMs?: number;
}

const defaultSpawn = (args: readonly string[], stderr: 'inherit' | 'ignore'): GuardianChild =>
  spawnChild('sh', ['-c', GUARDIAN_SCRIPT, 'carpd-guardian', ...args], {
    // A session of its own: no signal meant for carpd's process group or terminal reaches it.
    detached: true,
    stdio: ['pipe', 'ignore', stderr],
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
  });

/**
 * carpd's side of the guardian. The daemon starts it at launch when some vhost manages its
 * VIPs (prepare()), not on the first VIP it must hold: Node's fork of itself blocks the event
 * loop for 5 to 8 ms, and on a takeover that delayed the first advert and the VIP by as much
 * (bench:vrrp). A carpd with --no-manage-vip starts none. Every line is written before
 * the change it announces is made: a `hold` before `ip addr add` runs, a `drop` after `ip addr
 * del` succeeded. A write to a pipe with room goes to the kernel at once (libuv tries the write
 * before queueing it), so a carpd killed the next instant has already told the guardian.
 *
 * Should the guardian die while carpd runs (someone killed it), one line says so and a new one
 * is started a second later and told the VIPs held now.
 */
export class VipGuardian {
  private child: GuardianChild | undefined;
  private exited: Promise<void> | undefined;
  /** Entries held now, key = the line's fields after the word, in the order they were taken. */
  private readonly held = new Map<string, { iface: string; cidr: string; lockPath: string }>();
  private closing = false;
  private respawnTimer: NodeJS.Timeout | undefined;
  private readonly closeTimeoutMs: number;
  private readonly respawnDelayMs: number;

  constructor(private readonly o: VipGuardianOptions) {
    this.closeTimeoutMs = o.closeTimeoutMs ?? 2000;
    this.respawnDelayMs = o.respawnDelayMs ?? 1000;
  }

  /** The guardian's pid while one runs (status, tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The entries held now, as "iface cidr" (tests, status). */
  get heldVips(): string[] {
    return [...this.held.values()].map((e) => `${e.iface} ${e.cidr}`);
  }

  /** Starts the guardian now, holding nothing yet, so that no takeover waits for its fork. */
  prepare(): void {
    if (this.child === undefined && this.respawnTimer === undefined && !this.closing) this.start();
  }

  /** carpd is about to add cidr to iface for the vhost whose instance lock is lockPath. */
  hold(iface: string, cidr: string, lockPath: string): void {
    const line = guardianLine('hold', iface, cidr, lockPath);
    if (line === undefined || this.closing) return;
    const key = line.slice('hold '.length);
    if (this.held.has(key)) return;
    this.held.set(key, { iface, cidr, lockPath });
    if (this.child === undefined && this.respawnTimer === undefined) this.start();
    else this.write(line);
  }

  /** carpd has removed cidr from iface: nothing left for the guardian to do about it. */
  release(iface: string, cidr: string, lockPath: string): void {
    const line = guardianLine('drop', iface, cidr, lockPath);
    if (line === undefined) return;
    if (!this.held.delete(line.slice('drop '.length))) return;
    this.write(line);
  }

  /**
   * The clean stop: the word, end of file, and a wait (bounded) for the guardian to exit, so
   * that nothing of carpd's is left running once carpd has exited. Call it after the VIPs are
   * removed. Whatever is still held then (a removal that failed) stays carpd's problem, logged.
   */
  async close(): Promise<void> {
    this.closing = true;
    if (this.respawnTimer !== undefined) clearTimeout(this.respawnTimer);
    this.respawnTimer = undefined;
    const child = this.child;
    const exited = this.exited;
    if (child === undefined || exited === undefined) return;
    try {
      child.stdin?.end(`${CLEAN_EXIT_WORD}\n`);
    } catch {
      // Gone already: the exit handler has seen it.
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), this.closeTimeoutMs);
    });
    const outcome = await Promise.race([exited, late]);
    clearTimeout(timer);
    if (outcome === 'late') this.o.log.warn(`the VIP guardian (pid ${child.pid}) did not exit within ${this.closeTimeoutMs} ms of carpd's clean stop`);
  }

  private start(): void {
    const args = [String(this.o.carpdPid ?? process.pid), this.o.ipProgram ?? 'ip', this.o.facility ?? ''];
    let child: GuardianChild;
    try {
      child = (this.o.spawn ?? defaultSpawn)(args, this.o.facility === undefined ? 'inherit' : 'ignore');
    } catch (error) {
      this.o.log.error(`cannot start the VIP guardian (a kill -9 of carpd would leave its VIPs up): ${errorText(error)}`);
      return;
    }
    this.child = child;
    // Neither the child nor its pipe may keep carpd's event loop alive: close() ends them.
    child.unref();
    const stdin = child.stdin;
    if (stdin instanceof Socket) stdin.unref();
    // EPIPE when the guardian has died: its exit handler reports it and starts another.
    stdin?.on('error', () => {});
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        resolve();
        this.onExit(child, code, signal);
      });
      child.once('error', (error) => {
        resolve();
        this.o.log.error(`the VIP guardian failed (a kill -9 of carpd would leave its VIPs up): ${errorText(error)}`);
        this.onExit(child, null, null);
      });
    });
    this.o.log.debug(`VIP guardian started (pid ${child.pid})`);
    const lines = [...this.held.values()].map((e) => guardianLine('hold', e.iface, e.cidr, e.lockPath)!).join('');
    if (lines !== '') this.write(lines);
  }

  private onExit(child: GuardianChild, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.exited = undefined;
    if (this.closing) return;
    this.o.log.warn(
      `the VIP guardian (pid ${child.pid}) ${signal !== null ? `was killed by ${signal}` : `exited with status ${String(code)}`}; ` +
        `starting another in ${this.respawnDelayMs} ms`,
    );
    this.respawnTimer = setTimeout(() => {
      this.respawnTimer = undefined;
      if (!this.closing) this.start();
    }, this.respawnDelayMs);
    this.respawnTimer.unref();
  }

  private write(text: string): void {
    const stdin = this.child?.stdin;
    if (stdin === undefined || stdin === null || stdin.destroyed) return;
    try {
      stdin.write(text);
    } catch {
      // A closed pipe: the exit handler replaces the guardian and replays the held set.
    }
  }
}

import { EventEmitter } from 'node:events';
import { execa, type ResultPromise } from 'execa';
import { describeFailure, oneLine, runCommand } from './command.js';
import type { HostLogger } from './types.js';
import { checkCommandPrefix, checkInterfaceName } from './validate.js';

/**
 * Carrier state of the CARP interface, event-driven: a long-lived `ip -o monitor link` prints
 * one line per RTM_NEWLINK/RTM_DELLINK, and each line carries the link's full flags, so the new
 * state is read straight from it — no polling, and a cable pull is seen within milliseconds
 * (ucarp re-checks only every 10 s). "Up" means administratively UP and LOWER_UP (carrier);
 * operstate is not used because drivers without carrier reporting leave it UNKNOWN.
 *
 * Latency is the kernel's: carrier *loss* is announced by linkwatch, which batches non-urgent
 * events to at most one run per second, so it arrives 0..1 s after the fact (measured on veth:
 * 200-900 ms); carrier *return* is urgent and arrives within a few ms. A flap shorter than
 * that window can reach us as its end state only. Still far better than ucarp's 10 s re-check.
 *
 * The state is read with `ip -j link show` at start (and after a monitor restart, when changes
 * may have been missed) rather than from /sys/class/net: /sys shows the namespace of whoever
 * mounted it, while `ip` follows the process's own namespace (and the test's command prefix).
 *
 * If `ip monitor` dies, it is restarted with exponential backoff, a bounded number of times;
 * then 'error' is emitted and the last known state stays.
 *
 * The interface is also tracked by index. The daemon's raw socket is bound to the interface as
 * it was at start (SO_BINDTODEVICE and the group membership hold its index): if the interface
 * is deleted and created again under the same name (ifdown/ifup of a VLAN, a USB NIC plugged
 * back in), the name comes back up but the socket stays deaf and every send fails with ENODEV.
 * So deletion (`Deleted N: name:`) counts as down, and when the name reappears with another
 * index 'replaced' is emitted — before the 'change' to up — so the socket can be reopened
 * first. A rename away is treated like a deletion.
 */

export interface LinkMonitorOptions {
  interface: string;
  log: HostLogger;
  /** Command prefix for tests (['ip', 'netns', 'exec', ns]); the daemon passes none. */
  commandPrefix?: readonly string[];
}

export type LinkMonitorEvents = {
  change: [up: boolean];
  /** The interface now has this index, not the one it had: reopen what is bound to it. */
  replaced: [ifindex: number];
  error: [error: Error];
};

/** What a monitor line or a read says: admin UP with carrier, and the index (undefined: no such interface). */
interface Observation {
  up: boolean;
  ifindex: number | undefined;
}

const READ_TIMEOUT_MS = 5000;
const RESTART_DELAYS_MS = [100, 500, 2000, 5000, 10_000];
/** A monitor that ran this long before dying counts as healthy: the retry budget starts over. */
const STABLE_RUN_MS = 60_000;
/**
 * `ip monitor` gives no sign that it has subscribed, and starting it (through `ip netns exec`
 * in tests, on a busy host) can take longer than the initial read: a change in between would be
 * missed. So the state is read again a few times shortly after a (re)start.
 */
const SETTLE_REREADS_MS = [100, 500, 2000];

export class LinkMonitor extends EventEmitter<LinkMonitorEvents> {
  private readonly ifname: string;
  private readonly log: HostLogger;
  private readonly commandPrefix: readonly string[] | undefined;
  private state = false;
  /** The interface's index now; undefined while it does not exist (or was never read). */
  private index: number | undefined;
  /** The last index it was seen with, kept across a deletion to recognise a re-creation. */
  private lastIndex: number | undefined;
  private starting: Promise<boolean> | undefined;
  /** Counts start()s, so a start that stop() overtook does not finish over a newer one. */
  private runs = 0;
  /** Set once start() has its initial state: from then on changes are events. */
  private started = false;
  private stopped = false;
  private monitor: ResultPromise | undefined;
  private monitorStartedAt = 0;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private settleTimers: NodeJS.Timeout[] = [];
  /** Bumped by every monitor line; a read that started before a line arrived is stale. */
  private generation = 0;

  constructor(o: LinkMonitorOptions) {
    super();
    checkInterfaceName('interface', o.interface);
    checkCommandPrefix('commandPrefix', o.commandPrefix);
    this.ifname = o.interface;
    this.log = o.log;
    this.commandPrefix = o.commandPrefix;
  }

  /** The last known state: admin UP with carrier. */
  get up(): boolean {
    return this.state;
  }

  /** The interface's index; undefined while it does not exist or before start() read it. */
  get ifindex(): number | undefined {
    return this.index;
  }

  /**
   * Starts watching; resolves with the initial state. 'change' and 'replaced' fire only on
   * later changes.
   */
  start(): Promise<boolean> {
    this.starting ??= this.startWatching();
    return this.starting;
  }

  private async startWatching(): Promise<boolean> {
    this.stopped = false;
    const run = ++this.runs;
    // Monitor first, then read: a change after the read is then reported by the monitor.
    this.spawnMonitor();
    // A monitor line that arrives during the read is newer than the read's result, which must
    // not overwrite it. Lines before `started` update the state without an event: the caller
    // gets the state from this promise, not from a 'change' into a machine not yet started.
    const generation = this.generation;
    const initial = await this.readState();
    if (this.stopped || run !== this.runs) return this.state; // stopped (and maybe restarted) meanwhile
    if (initial !== undefined && generation === this.generation) this.observe(initial);
    this.started = true;
    this.log.debug(`link monitor: ${this.ifname} is ${this.state ? 'up' : 'down'}${this.index !== undefined ? ` (index ${this.index})` : ''}`);
    this.scheduleSettleReads();
    return this.state;
  }

  stop(): void {
    this.stopped = true;
    this.started = false;
    this.starting = undefined;
    clearTimeout(this.restartTimer);
    for (const timer of this.settleTimers.splice(0)) clearTimeout(timer);
    const monitor = this.monitor;
    this.monitor = undefined;
    monitor?.kill('SIGTERM');
  }

  private spawnMonitor(): void {
    // setpriv --pdeathsig: the kernel kills the monitor when carpd dies, even by SIGKILL or the
    // OOM killer, where execa's exit-time cleanup never runs and the orphan would live until
    // the next link event made its write to our dead pipe fail.
    const [file, ...args] = [
      ...(this.commandPrefix ?? []),
      'setpriv', '--pdeathsig', 'KILL', '--',
      'ip', '-o', 'monitor', 'link',
    ];
    const monitor = execa(file!, args, {
      reject: false,
      buffer: false,
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      // Killed with us if the daemon exits without calling stop() (pdeathsig covers a crash).
      cleanup: true,
      env: { LC_ALL: 'C' },
    });
    this.monitor = monitor;
    this.monitorStartedAt = Date.now();
    let partial = '';
    monitor.stdout?.setEncoding('utf8');
    monitor.stdout?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.onMonitorLine(line);
    });
    let stderr = '';
    monitor.stderr?.setEncoding('utf8');
    monitor.stderr?.on('data', (chunk: string) => {
      if (stderr.length < 2000) stderr += chunk;
    });
    void monitor.then((result) => {
      if (this.monitor !== monitor || this.stopped) return; // stopped by us
      this.monitor = undefined;
      const why = describeFailure(
        {
          exitCode: result.exitCode,
          stdout: '',
          stderr,
          timedOut: false,
          canceled: false,
          failed: true,
          ...(result.signal !== undefined ? { signal: result.signal } : {}),
          ...(result.exitCode === undefined && result.signal === undefined ? { spawnError: oneLine(result.shortMessage ?? 'spawn failed') } : {}),
        },
        0,
      );
      this.onMonitorDied(`${why}${stderr.trim() !== '' ? `: ${oneLine(stderr)}` : ''}`);
    });
  }

  private onMonitorDied(why: string): void {
    if (Date.now() - this.monitorStartedAt >= STABLE_RUN_MS) this.failures = 0;
    const delayMs = RESTART_DELAYS_MS[this.failures];
    if (delayMs === undefined) {
      const message = `ip monitor for ${this.ifname} keeps dying (${why}); gave up after ${RESTART_DELAYS_MS.length} restarts: carrier changes are no longer noticed`;
      this.log.error(message);
      if (this.listenerCount('error') > 0) this.emit('error', new Error(message));
      return;
    }
    this.failures++;
    this.log.warn(`ip monitor for ${this.ifname} exited unexpectedly (${why}); restarting in ${delayMs} ms`);
    this.restartTimer = setTimeout(() => {
      if (this.stopped) return;
      this.spawnMonitor();
      // Changes while it was gone were not seen.
      void this.refresh();
      this.scheduleSettleReads();
    }, delayMs);
  }

  private scheduleSettleReads(): void {
    for (const timer of this.settleTimers.splice(0)) clearTimeout(timer);
    for (const ms of SETTLE_REREADS_MS) {
      const timer = setTimeout(() => void this.refresh(), ms);
      timer.unref();
      this.settleTimers.push(timer);
    }
  }

  private onMonitorLine(line: string): void {
    const parsed = parseMonitorLine(line);
    if (parsed === undefined) return;
    if (parsed.ifname !== this.ifname) {
      // Our interface renamed away: the name we watch no longer exists.
      if (!parsed.deleted && this.index !== undefined && parsed.ifindex === this.index) {
        this.generation++;
        this.observe({ up: false, ifindex: undefined });
      }
      return;
    }
    if (parsed.deleted) {
      // The deletion of an interface we no longer track (a read already saw its successor).
      if (this.index !== undefined && parsed.ifindex !== this.index) return;
      this.generation++;
      this.observe({ up: false, ifindex: undefined });
      return;
    }
    this.generation++;
    this.observe({ up: parsed.up, ifindex: parsed.ifindex });
  }

  private async refresh(): Promise<void> {
    const generation = this.generation;
    const observed = await this.readState();
    // A monitor line that arrived during the read is newer than what we read.
    if (observed !== undefined && generation === this.generation && !this.stopped) this.observe(observed);
  }

  /** The one place state changes: index first ('replaced'), then carrier ('change'). */
  private observe({ up, ifindex }: Observation): void {
    const replaced = ifindex !== undefined && this.lastIndex !== undefined && ifindex !== this.lastIndex;
    this.index = ifindex;
    if (ifindex !== undefined) this.lastIndex = ifindex;
    // Before start() resolved, no events: the index start() ends with is the baseline (a
    // re-creation during those few ms of start-up goes unnoticed).
    if (replaced && this.started) {
      this.log.warn(`link monitor: ${this.ifname} was re-created (now index ${ifindex})`);
      this.emit('replaced', ifindex);
    }
    if (up === this.state) return;
    this.state = up;
    if (!this.started) return; // before start() resolved: the initial state, no event
    this.log.debug(`link monitor: ${this.ifname} is now ${up ? 'up' : 'down'}`);
    this.emit('change', up);
  }

  /**
   * Reads the state and index with `ip -j link show`; down and no index when the interface
   * does not exist, undefined when it cannot be read.
   */
  private async readState(): Promise<Observation | undefined> {
    const args = ['-j', 'link', 'show', 'dev', this.ifname];
    const result = await runCommand('ip', args, {
      timeoutMs: READ_TIMEOUT_MS,
      ...(this.commandPrefix !== undefined ? { prefix: this.commandPrefix } : {}),
    });
    if (result.failed) {
      if (/does not exist|Cannot find device/i.test(result.stderr)) {
        this.log.warn(`link monitor: interface ${this.ifname} does not exist`);
        return { up: false, ifindex: undefined };
      }
      this.log.error(`link monitor: ip ${args.join(' ')}: ${describeFailure(result, READ_TIMEOUT_MS)}: ${oneLine(result.stderr)}`);
      return undefined;
    }
    try {
      const links = JSON.parse(result.stdout) as Array<{ ifindex?: unknown; flags?: string[] }>;
      const ifindex = links[0]?.ifindex;
      return {
        up: linkIsUp(links[0]?.flags ?? []),
        ifindex: typeof ifindex === 'number' && Number.isInteger(ifindex) && ifindex > 0 ? ifindex : undefined,
      };
    } catch (error) {
      this.log.error(`link monitor: cannot parse ip ${args.join(' ')}: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  }
}

/** Up = administratively UP and carrier (LOWER_UP). */
export function linkIsUp(flags: readonly string[]): boolean {
  return flags.includes('UP') && flags.includes('LOWER_UP');
}

/**
 * One line of `ip -o monitor link`, e.g.
 *   `3: eth0@if2: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state DOWN ...`
 *   `Deleted 3: eth0@if2: <BROADCAST,MULTICAST> mtu 1500 ...`
 * (with `[LINK]` in front when more object types are monitored). The number is the ifindex.
 * Names cannot contain ':', '/' or spaces; "@peer" is a veth/vlan's link, not part of the name.
 * A deleted interface is down.
 */
export function parseMonitorLine(line: string): { ifindex: number; ifname: string; up: boolean; deleted: boolean } | undefined {
  const match = /^(?:\[LINK\]\s*)?(Deleted\s+)?(\d+):\s+([^:@\s]+)(?:@[^:\s]*)?:\s+<([^>]*)>/.exec(line.trim());
  if (match === null) return undefined;
  const ifindex = Number(match[2]);
  const ifname = match[3]!;
  const deleted = match[1] !== undefined;
  return { ifindex, ifname, up: !deleted && linkIsUp(match[4]!.split(',')), deleted };
}

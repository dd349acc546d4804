import { describeFailure, formatCommand, oneLine, runCommand, type CommandResult } from './command.js';
import { garpCommand, sendGratuitousArp } from './garp.js';
import type { HostLogger } from './types.js';

/**
 * Host work of many vhosts, gathered into few processes. When a link is cut under a master of
 * 100 vhosts, the backup's 100 master-down timers fire within a millisecond or two; one `ip`
 * and one `arping` per VIP would be 200 process spawns on the daemon's one thread, and the
 * later timers would fire hundreds of milliseconds late behind them. So requests made in one
 * turn of the event loop are run together after it (setImmediate: every timer due in that
 * turn has fired and sent its advert first):
 *  - address changes as one `ip -4 -force -batch -` (each line's failure is reported by line
 *    number, "Command failed -:N"; a failed line is handed back so the caller can retry it
 *    alone, where "already there" and "not there" count as success);
 *  - address listings as one `ip -4 -j addr show dev IF` per interface;
 *  - gratuitous ARPs as one `xargs -P 0 arping ...` per interface (arping takes one address,
 *    and lingers a second after its frame left; xargs starts them all at once, off our thread).
 * A single request runs as it always did, so a one-vhost carpd spawns exactly what it used to.
 */

export type AddressOp = 'add' | 'del';

/** 'done': the change is made; 'failed': its line failed in the batch; 'alone': nothing ran, it was the only one: run it yourself. */
export type BatchOutcome = 'done' | 'failed' | 'alone';

interface AddressRequest {
  readonly line: string;
  readonly resolve: (outcome: BatchOutcome) => void;
}

interface GarpRequest {
  readonly iface: string;
  readonly vip: string;
  /** Cuts this arping short when it runs alone (a batch is cut by the batcher's own signal). */
  readonly cancelSignal: AbortSignal | undefined;
  readonly resolve: (ok: boolean) => void;
}

export interface AddrInfo {
  family?: string;
  local?: string;
  prefixlen?: number;
}

export interface HostBatcherOptions {
  log: HostLogger;
  /** Command prefix for tests (['ip', 'netns', 'exec', ns]); the daemon passes none. */
  commandPrefix?: readonly string[];
  /** Deadline for each batch; default 10 s (a batch may hold hundreds of lines). */
  timeoutMs?: number;
  /** Aborting it cuts lingering arpings short (shutdown). */
  cancelSignal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export class HostBatcher {
  private addressQueue: AddressRequest[] = [];
  private garpQueue: GarpRequest[] = [];
  private listQueue = new Map<string, Array<(addresses: AddrInfo[] | undefined) => void>>();
  private scheduled = false;
  private readonly timeoutMs: number;

  constructor(private readonly o: HostBatcherOptions) {
    this.timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /**
   * `ip addr add|del <cidr> dev <iface> [label <label>]`, batched with the others of this turn.
   * A line that failed (or a batch that did) is for the caller to judge and retry on its own.
   */
  address(op: AddressOp, cidr: string, iface: string, label?: string): Promise<BatchOutcome> {
    const line = `address ${op} ${cidr} dev ${iface}${label !== undefined && op === 'add' ? ` label ${label}` : ''}`;
    return new Promise((resolve) => {
      this.addressQueue.push({ line, resolve });
      this.schedule();
    });
  }

  /** The interface's IPv4 addresses (undefined when they cannot be read; logged). */
  listAddresses(iface: string): Promise<AddrInfo[] | undefined> {
    return new Promise((resolve) => {
      const waiting = this.listQueue.get(iface) ?? [];
      waiting.push(resolve);
      this.listQueue.set(iface, waiting);
      this.schedule();
    });
  }

  /** One gratuitous ARP for vip on iface, batched with others of the same turn. */
  garp(iface: string, vip: string, cancelSignal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      this.garpQueue.push({ iface, vip, cancelSignal, resolve });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const addresses = this.addressQueue;
      const garps = this.garpQueue;
      const lists = this.listQueue;
      this.addressQueue = [];
      this.garpQueue = [];
      this.listQueue = new Map();
      if (addresses.length > 0) void this.runAddresses(addresses);
      for (const [iface, waiting] of lists) void this.runList(iface, waiting);
      const byInterface = new Map<string, GarpRequest[]>();
      for (const request of garps) byInterface.set(request.iface, [...(byInterface.get(request.iface) ?? []), request]);
      for (const [iface, requests] of byInterface) void this.runGarps(iface, requests);
    });
  }

  private run(file: string, args: string[], input?: string): Promise<CommandResult> {
    return runCommand(file, args, {
      timeoutMs: this.timeoutMs,
      ...(this.o.commandPrefix !== undefined ? { prefix: this.o.commandPrefix } : {}),
      ...(input !== undefined ? { input } : {}),
    });
  }

  private async runAddresses(requests: readonly AddressRequest[]): Promise<void> {
    if (requests.length === 1) {
      // Alone: the caller's own single command, with its own reading of any failure.
      requests[0]!.resolve('alone');
      return;
    }
    const result = await this.run('ip', ['-4', '-force', '-batch', '-'], requests.map((r) => r.line).join('\n') + '\n');
    if (result.spawnError !== undefined || result.timedOut || result.signal !== undefined) {
      this.o.log.warn(`ip -batch with ${requests.length} address changes: ${describeFailure(result, this.timeoutMs)}; retrying them one by one`);
      for (const r of requests) r.resolve('failed');
      return;
    }
    const failed = new Set([...result.stderr.matchAll(/Command failed -:(\d+)/g)].map((m) => Number(m[1])));
    requests.forEach((r, index) => r.resolve(failed.has(index + 1) ? 'failed' : 'done'));
  }

  private async runList(iface: string, waiting: ReadonlyArray<(addresses: AddrInfo[] | undefined) => void>): Promise<void> {
    const args = ['-4', '-j', 'addr', 'show', 'dev', iface];
    const result = await this.run('ip', args);
    let addresses: AddrInfo[] | undefined;
    if (result.failed) {
      this.o.log.error(`cannot list the addresses of ${iface}: ${formatCommand('ip', args)}: ${describeFailure(result, this.timeoutMs)}: ${oneLine(result.stderr)}`);
    } else {
      try {
        const links = JSON.parse(result.stdout === '' ? '[]' : result.stdout) as Array<{ addr_info?: AddrInfo[] }>;
        addresses = links.flatMap((link) => link.addr_info ?? []).filter((a) => a.family === 'inet');
      } catch (error) {
        this.o.log.error(`cannot parse the output of ${formatCommand('ip', args)}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    for (const resolve of waiting) resolve(addresses);
  }

  private async runGarps(iface: string, requests: readonly GarpRequest[]): Promise<void> {
    if (requests.length === 1) {
      const { vip, resolve, cancelSignal } = requests[0]!;
      const signal = cancelSignal ?? this.o.cancelSignal;
      resolve(
        await sendGratuitousArp({
          interface: iface,
          vip,
          log: this.o.log,
          ...(this.o.commandPrefix !== undefined ? { commandPrefix: this.o.commandPrefix } : {}),
          ...(signal !== undefined ? { cancelSignal: signal } : {}),
        }),
      );
      return;
    }
    // xargs -n 2 takes "vip vip" per line: arping's -s address and its target, both the VIP.
    const base = garpCommand(iface, 'VIP').slice(0, -2);
    const args = ['-n', '2', '-P', '0', 'arping', ...base];
    const result = await runCommand('xargs', args, {
      timeoutMs: this.timeoutMs,
      input: requests.map((r) => `${r.vip} ${r.vip}\n`).join(''),
      ...(this.o.commandPrefix !== undefined ? { prefix: this.o.commandPrefix } : {}),
      ...(this.o.cancelSignal !== undefined ? { cancelSignal: this.o.cancelSignal } : {}),
    });
    const ok = !result.failed || result.canceled;
    if (ok) this.o.log.debug(`gratuitous ARP sent for ${requests.length} addresses on ${iface}`);
    else {
      this.o.log.error(
        `cannot send gratuitous ARP for some of ${requests.map((r) => r.vip).join(', ')} on ${iface}: ` +
          `${formatCommand('xargs', args)}: ${describeFailure(result, this.timeoutMs)}: ${oneLine(result.stderr)}`,
      );
    }
    for (const r of requests) r.resolve(ok);
  }
}

import { describeFailure, formatCommand, oneLine, runCommand, type CommandResult } from './command.js';
import { labelProblem } from '../net/names.js';
import type { HostLogger } from './types.js';
import { checkCommandPrefix, checkInteger, checkInterfaceName } from './validate.js';
import { parseIpAddress, type IpAddress } from '../net/address.js';
import { hostIo, type HostIo } from './host-io.js';

/**
 * The virtual address on the interface, through `ip -4 addr` (IPv6: `ip -6 addr`). Every operation is idempotent —
 * adding an address that is there and removing one that is not are successes — because the
 * state machine may ask twice (a shutdown right after a step-down) and a crashed run may have
 * left the address behind. Failures are one log line with ip's own message and a `false`
 * return; nothing here throws at run time.
 *
 * Plain `ip addr add`: no `noprefixroute` or lifetimes — the address behaves like one an
 * operator added by hand, which is what ucarp's vip-up script does. IPv6 adds `nodad`: with
 * duplicate address detection the new master could not use (or announce) the VIP for a
 * second or more after taking over, and the old master's copy is what DAD would find during a
 * hand-over anyway; the election already decided who holds it (keepalived adds it nodad too).
 * IPv6 addresses carry no label (the kernel keeps labels for IPv4 only).
 *
 * In the daemon, add() and remove() make the same change over rtnetlink instead (HostIo,
 * lib/host/host-io.ts), with `ip` only as the fallback when the kernel's answer is missing;
 * listings and the stale clean-up at start still run `ip -j`.
 */

export interface VipManagerOptions {
  interface: string;
  vip: string;
  /** Prefix length of the VIP, 0..32, IPv6 0..128 (ucarp's scripts usually add a /32 or the subnet's). */
  prefix: number;
  /** `label` for `ip addr add`, e.g. "eth0:ucarp" so `ifconfig`-era tools show an alias. */
  label?: string;
  log: HostLogger;
  /** Command prefix for tests (['ip', 'netns', 'exec', ns]); the daemon passes none. */
  commandPrefix?: readonly string[];
  /** Deadline for each `ip` call; default 5000 ms. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5000;

// What the kernel says, old iproute2 (netlink errno) and new (extack) wording. These only pick
// the log level: the outcome is confirmed by reading the addresses back.
const ALREADY_PRESENT = /File exists|Address already assigned/i;
const NOT_PRESENT = /Cannot assign requested address|Address not found/i;

interface AddrInfo {
  family?: string;
  local?: string;
  prefixlen?: number;
}

export class VipManager {
  private readonly ifname: string;
  private readonly vip: string;
  private readonly prefixLength: number;
  private readonly label: string | undefined;
  private readonly log: HostLogger;
  private readonly commandPrefix: readonly string[] | undefined;
  private readonly timeoutMs: number;
  /** '-4' or '-6', for every `ip` call. */
  private readonly familyFlag: '-4' | '-6';
  /** The family as `ip -j` names it. */
  private readonly familyName: 'inet' | 'inet6';
  private readonly address: IpAddress;

  constructor(o: VipManagerOptions) {
    checkInterfaceName('interface', o.interface);
    const address = parseIpAddress(o.vip);
    if (address === undefined) throw new TypeError(`vip must be an IPv4 or IPv6 address, got ${JSON.stringify(o.vip)}`);
    // `ip -j` prints IPv6 in RFC 5952 form; comparing against the same form finds the address.
    if (address.text !== o.vip) throw new TypeError(`vip must be written as ${address.text}, got ${JSON.stringify(o.vip)}`);
    checkInteger('prefix', o.prefix, 0, address.family === 6 ? 128 : 32);
    if (o.label !== undefined) checkLabel(o.label, o.interface);
    this.address = address;
    this.familyFlag = address.family === 6 ? '-6' : '-4';
    this.familyName = address.family === 6 ? 'inet6' : 'inet';
    checkCommandPrefix('commandPrefix', o.commandPrefix);
    if (o.timeoutMs !== undefined) checkInteger('timeoutMs', o.timeoutMs, 1, 600_000);
    this.ifname = o.interface;
    this.vip = o.vip;
    this.prefixLength = o.prefix;
    this.label = address.family === 6 ? undefined : o.label;
    this.log = o.log;
    this.commandPrefix = o.commandPrefix;
    this.timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  private get cidr(): string {
    return `${this.vip}/${this.prefixLength}`;
  }

  /** The daemon's sockets, unless a command prefix says the change belongs to another namespace. */
  private io(): HostIo | undefined {
    return this.commandPrefix === undefined ? hostIo() : undefined;
  }

  /**
   * The change over rtnetlink: true/false when the kernel answered (a refusal logged), undefined
   * when there is no HostIo or no answer, and `ip` must decide.
   */
  private overNetlink(op: 'add' | 'del'): boolean | undefined {
    const io = this.io();
    if (io === undefined) return undefined;
    const outcome = io.address(op, this.address, this.prefixLength, this.ifname, op === 'add' ? this.label : undefined);
    if (outcome.kind === 'done') {
      this.log.debug(`${op === 'add' ? 'added' : 'removed'} ${this.cidr} ${op === 'add' ? 'to' : 'from'} ${this.ifname}`);
      return true;
    }
    if (outcome.kind === 'failed') {
      this.log.error(`cannot ${op === 'add' ? 'add' : 'remove'} ${this.cidr} on ${this.ifname}: ${outcome.reason}`);
      return false;
    }
    this.log.warn(`${op === 'add' ? 'adding' : 'removing'} ${this.cidr} on ${this.ifname} over netlink: ${outcome.reason}; trying ip`);
    return undefined;
  }

  /**
   * Adds vip/prefix in this call, over the daemon's netlink socket: true/false as the kernel
   * answered (a refusal logged); undefined when that cannot be known now (no HostIo, no answer):
   * then add() decides.
   */
  addNow(): boolean | undefined {
    return this.overNetlink('add');
  }

  /** Adds vip/prefix. true when the address is on the interface afterwards. */
  async add(): Promise<boolean> {
    const done = this.overNetlink('add');
    if (done !== undefined) return done;
    const args = [this.familyFlag, 'addr', 'add', this.cidr, 'dev', this.ifname];
    if (this.label !== undefined) args.push('label', this.label);
    if (this.familyFlag === '-6') args.push('nodad');
    const result = await this.ip(args);
    if (!result.failed) {
      this.log.debug(`added ${this.cidr} to ${this.ifname}`);
      return true;
    }
    if (result.spawnError === undefined && !result.timedOut) {
      // "File exists": most likely there already. Read back rather than trust the wording.
      const prefixes = await this.vipPrefixes(true);
      if (prefixes?.includes(this.prefixLength)) {
        this.log.debug(`${this.cidr} already on ${this.ifname}${ALREADY_PRESENT.test(result.stderr) ? '' : ` (${oneLine(result.stderr)})`}`);
        return true;
      }
    }
    this.logFailure('cannot add', args, result);
    return false;
  }

  /** Removes vip/prefix (that prefix only; see removeStale). true when it is gone afterwards. */
  async remove(): Promise<boolean> {
    const done = this.overNetlink('del');
    if (done !== undefined) return done;
    const args = [this.familyFlag, 'addr', 'del', this.cidr, 'dev', this.ifname];
    const result = await this.ip(args);
    if (!result.failed) {
      this.log.debug(`removed ${this.cidr} from ${this.ifname}`);
      return true;
    }
    if (result.spawnError === undefined && !result.timedOut) {
      const prefixes = await this.vipPrefixes(true);
      if (prefixes !== undefined && !prefixes.includes(this.prefixLength)) {
        this.log.debug(`${this.cidr} not on ${this.ifname}, nothing to remove${NOT_PRESENT.test(result.stderr) ? '' : ` (${oneLine(result.stderr)})`}`);
        return true;
      }
    }
    this.logFailure('cannot remove', args, result);
    return false;
  }

  /**
   * Removes every copy of the VIP on the interface whatever its prefix length — an earlier run
   * that crashed, or one configured with another prefix, may have left one behind, and it would
   * answer ARP next to the real master's. Returns how many were removed.
   */
  async removeStale(): Promise<number> {
    const prefixes = await this.vipPrefixes();
    if (prefixes === undefined) return 0;
    let removed = 0;
    for (const prefixlen of prefixes) {
      const args = [this.familyFlag, 'addr', 'del', `${this.vip}/${prefixlen}`, 'dev', this.ifname];
      const result = await this.ip(args);
      if (!result.failed) {
        removed++;
        this.log.debug(`removed stale ${this.vip}/${prefixlen} from ${this.ifname}`);
      } else if (!NOT_PRESENT.test(result.stderr)) {
        this.logFailure('cannot remove stale address', args, result);
      }
    }
    return removed;
  }

  /** Whether vip/prefix (this prefix) is on the interface; undefined when it cannot be read (logged). */
  async hasExact(): Promise<boolean | undefined> {
    const prefixes = await this.vipPrefixes();
    return prefixes?.includes(this.prefixLength);
  }

  /** Whether the VIP is on the interface, with any prefix length. */
  async isPresent(): Promise<boolean> {
    const prefixes = await this.vipPrefixes();
    return prefixes !== undefined && prefixes.length > 0;
  }

  /**
   * The prefix lengths the VIP has on the interface ([] when absent), or undefined when the
   * addresses could not be read (logged). JSON output, because the text form's layout has
   * changed between iproute2 versions and labels make it harder to parse. `quiet` when it only
   * double-checks a failed add/del: that failure gets the one log line.
   */
  private async vipPrefixes(quiet = false): Promise<number[] | undefined> {
    const args = ['-j', this.familyFlag, 'addr', 'show', 'dev', this.ifname];
    const result = await this.ip(args);
    if (result.failed) {
      if (!quiet) this.logFailure('cannot list addresses', args, result);
      return undefined;
    }
    try {
      const links = JSON.parse(result.stdout === '' ? '[]' : result.stdout) as Array<{ addr_info?: AddrInfo[] }>;
      const prefixes: number[] = [];
      for (const link of links) {
        for (const addr of link.addr_info ?? []) {
          if (addr.family === this.familyName && addr.local === this.vip && typeof addr.prefixlen === 'number') {
            prefixes.push(addr.prefixlen);
          }
        }
      }
      return prefixes;
    } catch (error) {
      this.log.error(`cannot parse the output of ip ${args.join(' ')}: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  }

  private ip(args: string[]): Promise<CommandResult> {
    const options: { timeoutMs: number; prefix?: readonly string[] } = { timeoutMs: this.timeoutMs };
    if (this.commandPrefix !== undefined) options.prefix = this.commandPrefix;
    return runCommand('ip', args, options);
  }

  private logFailure(what: string, args: string[], result: CommandResult): void {
    const stderr = oneLine(result.stderr);
    this.log.error(
      `${what} ${this.cidr} on ${this.ifname}: ${formatCommand('ip', args)}: ${describeFailure(result, this.timeoutMs)}` +
        (stderr !== '' ? `: ${stderr}` : ''),
    );
  }
}

function checkLabel(label: string, iface: string): void {
  const problem = labelProblem(label, iface);
  if (problem !== undefined) throw new TypeError(`label must be ${problem}, got ${JSON.stringify(label)}`);
}

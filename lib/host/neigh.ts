import { mkdirSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describeFailure, formatCommand, oneLine, runCommand } from './command.js';
import { claimPidFile, isAlive, releasePidFile } from './pidfile.js';
import { currentNetnsId, DEFAULT_RUN_DIR } from './run-dir.js';
import type { HostLogger } from './types.js';
import { checkCommandPrefix, checkInteger, checkInterfaceName, checkIpv4 } from './validate.js';
import { errorText } from '../errors.js';

/**
 * --nomcast's broadcast frames. ucarp -M writes its adverts as Ethernet broadcast frames whose
 * IP destination is still the group (224.0.0.18), for switches that drop multicast. carpd's raw
 * IP socket cannot write frames, and with IP_HDRINCL Linux takes the link-layer destination
 * from the IP header's destination (a multicast MAC), whatever address sendto() was given.
 * A permanent neighbour entry mapping the group to ff:ff:ff:ff:ff:ff on our interface makes
 * the kernel put exactly ucarp's frame on the wire. It only concerns datagrams this host sends
 * to that group on that interface.
 *
 * The entry is keyed by (group, interface) in the namespace's neighbour table, and several
 * carpd instances share it: the usual layout is one instance per vhid on one interface, all on
 * 224.0.0.18. So the entry is reference-counted with one file per user, named by its pid, in
 * `<runDir>/nomcast/<netns>-<if>-<group>/`: install() adds our file, then replaces the entry;
 * remove() deletes our file and deletes the entry only when no file names a live process.
 * Files of dead processes (a crash, SIGKILL) are deleted as they are found, so a crashed
 * instance never keeps the entry alive; its entry itself stays until the next start replaces
 * it or the last user exits.
 */

export interface GroupNeighbourOptions {
  interface: string;
  group: string;
  log: HostLogger;
  /** Command prefix for tests (['ip', 'netns', 'exec', ns]); the daemon passes none. */
  commandPrefix?: readonly string[];
  /** Default /run/carpd; tests pass a directory of their own. */
  runDir?: string;
  /**
   * The namespace whose neighbour table the entry is in. Default: ours (currentNetnsId()); with
   * a commandPrefix the entry is in the prefix's namespace, so tests pass that one's id.
   */
  netnsId?: string;
  /** Who uses the entry; default process.pid. Tests stand in for other instances with it. */
  pid?: number;
}

const TIMEOUT_MS = 5000;
const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';

export class BroadcastGroupNeighbour {
  private readonly pid: number;

  constructor(private readonly o: GroupNeighbourOptions) {
    checkInterfaceName('interface', o.interface);
    checkIpv4('group', o.group);
    checkCommandPrefix('commandPrefix', o.commandPrefix);
    this.pid = o.pid ?? process.pid;
    checkInteger('pid', this.pid, 1, 0x7fffffff);
  }

  /**
   * Registers us as a user, then `ip neigh replace <group> lladdr ff:ff:ff:ff:ff:ff nud
   * permanent dev <if>`; true when the entry is in place. If registering fails the entry is
   * installed all the same (the adverts matter more), and the error is logged.
   */
  async install(): Promise<boolean> {
    const users = this.usersDir();
    if (users !== undefined) {
      try {
        mkdirSync(users, { recursive: true, mode: 0o755 });
        const claim = claimPidFile(this.userFile(users), this.pid);
        if (!claim.claimed) throw new Error('error' in claim ? claim.error : `held by pid ${claim.holder}`);
      } catch (error) {
        this.o.log.error(`--nomcast: cannot register in ${users}: ${errorText(error)}; another carpd stopping may remove the ${this.o.group} neighbour entry`);
      }
    }
    const ok = await this.replace();
    // Not installed: we are no user, and no file should keep another instance from removing it.
    if (!ok && users !== undefined) releasePidFile(this.userFile(users), this.pid);
    return ok;
  }

  /**
   * Unregisters us and removes the entry if no live user is left (true: removed or kept for the
   * others; an entry that is not there is a success). When the users cannot be read, the entry
   * is left: it only affects this host's datagrams to the group, and a live instance may need it.
   */
  async remove(): Promise<boolean> {
    const users = this.usersDir();
    if (users === undefined) return true;
    releasePidFile(this.userFile(users), this.pid);
    const others = this.liveUsers(users);
    if (others === undefined) return true;
    if (others.length > 0) {
      this.o.log.debug(`--nomcast: ${this.o.group} neighbour entry on ${this.o.interface} kept for pid ${others.join(', ')}`);
      return true;
    }
    const ok = await this.ip(['-4', 'neigh', 'del', this.o.group, 'dev', this.o.interface], true);
    // An instance that registered between our look and our delete installed the entry before or
    // after we removed it; look again, and put it back for it if it is there.
    const late = this.liveUsers(users);
    if (late !== undefined && late.length > 0) return this.replace();
    try {
      rmdirSync(users);
    } catch {
      // not empty (someone registered just now) or already gone
    }
    return ok;
  }

  private replace(): Promise<boolean> {
    return this.ip(['-4', 'neigh', 'replace', this.o.group, 'lladdr', BROADCAST_MAC, 'nud', 'permanent', 'dev', this.o.interface], false);
  }

  /** `<runDir>/nomcast/<netns>-<if>-<group>`; undefined (logged) when /proc cannot tell the namespace. */
  private usersDir(): string | undefined {
    try {
      const netnsId = this.o.netnsId ?? currentNetnsId();
      return join(this.o.runDir ?? DEFAULT_RUN_DIR, 'nomcast', `${netnsId}-${this.o.interface}-${this.o.group}`);
    } catch (error) {
      this.o.log.error(`--nomcast: cannot tell our network namespace: ${errorText(error)}`);
      return undefined;
    }
  }

  private userFile(users: string): string {
    return join(users, String(this.pid));
  }

  /** Pids of the other live users; deletes the files of dead ones. undefined if unreadable. */
  private liveUsers(users: string): number[] | undefined {
    let names: string[];
    try {
      names = readdirSync(users);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      this.o.log.error(`--nomcast: cannot read ${users}: ${errorText(error)}; leaving the ${this.o.group} neighbour entry in place`);
      return undefined;
    }
    const live: number[] = [];
    for (const name of names) {
      // claimPidFile's temporary files (<pid>.<pid>.tmp) are not users yet: their owner
      // replaces the entry after linking its file, so after any delete of ours.
      if (!/^[1-9]\d*$/.test(name)) continue;
      const pid = Number(name);
      if (pid !== this.pid && isAlive(pid)) {
        live.push(pid);
      } else if (pid !== this.pid) {
        this.o.log.debug(`--nomcast: removing the stale user file of pid ${pid} (no such process)`);
        try {
          unlinkSync(join(users, name));
        } catch {
          // another instance cleaned it up first
        }
      }
    }
    return live;
  }

  private async ip(args: string[], absentIsFine: boolean): Promise<boolean> {
    const opts: { timeoutMs: number; prefix?: readonly string[] } = { timeoutMs: TIMEOUT_MS };
    if (this.o.commandPrefix !== undefined) opts.prefix = this.o.commandPrefix;
    const result = await runCommand('ip', args, opts);
    if (!result.failed) return true;
    if (absentIsFine && /No such file|not found|Cannot assign/i.test(result.stderr)) return true;
    this.o.log.error(
      `${formatCommand('ip', args)}: ${describeFailure(result, TIMEOUT_MS)}: ${oneLine(result.stderr)}`,
    );
    return false;
  }
}


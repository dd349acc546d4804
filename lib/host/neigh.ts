import { describeFailure, formatCommand, oneLine, runCommand } from './command.js';
import type { HostLogger } from './types.js';

/**
 * --nomcast's broadcast frames. ucarp -M writes its adverts as Ethernet broadcast frames whose
 * IP destination is still the group (224.0.0.18), for switches that drop multicast. carpd's raw
 * IP socket cannot write frames, and with IP_HDRINCL Linux takes the link-layer destination
 * from the IP header's destination (a multicast MAC), whatever address sendto() was given.
 * A permanent neighbour entry mapping the group to ff:ff:ff:ff:ff:ff on our interface makes
 * the kernel put exactly ucarp's frame on the wire. It only concerns datagrams this host sends
 * to that group on that interface; it is installed at start and removed at exit (a crash
 * leaves it, and the next start replaces it).
 */

export interface GroupNeighbourOptions {
  interface: string;
  group: string;
  log: HostLogger;
  /** Command prefix for tests (['ip', 'netns', 'exec', ns]); the daemon passes none. */
  commandPrefix?: readonly string[];
}

const TIMEOUT_MS = 5000;
const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';

export class BroadcastGroupNeighbour {
  constructor(private readonly o: GroupNeighbourOptions) {}

  /** `ip neigh replace <group> lladdr ff:ff:ff:ff:ff:ff nud permanent dev <if>`; true on success. */
  install(): Promise<boolean> {
    return this.ip(['-4', 'neigh', 'replace', this.o.group, 'lladdr', BROADCAST_MAC, 'nud', 'permanent', 'dev', this.o.interface], false);
  }

  /** Removes the entry; an entry that is not there is a success. */
  remove(): Promise<boolean> {
    return this.ip(['-4', 'neigh', 'del', this.o.group, 'dev', this.o.interface], true);
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

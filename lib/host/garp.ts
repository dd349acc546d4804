import { describeFailure, formatCommand, oneLine, runCommand } from './command.js';
import type { HostLogger } from './types.js';
import { checkCommandPrefix, checkInteger, checkInterfaceName, checkIpv4 } from './validate.js';

/**
 * Gratuitous ARP for the VIP, so switches and neighbours move it to this host's MAC at once
 * instead of when their ARP entries expire. ucarp sends it on becoming MASTER and again a
 * couple of adverts later for slow switches (see garp.c): an ARP *request* (op 1), sender IP =
 * target IP = VIP, sender MAC = the interface's MAC, Ethernet destination broadcast.
 *
 * iputils `arping -U` sends exactly that frame, except that the ARP target-MAC field is
 * ff:ff:ff:ff:ff:ff where ucarp puts its own MAC; receivers ignore that field in a request.
 * `-A` would send an ARP *reply* instead, which some switches and old stacks treat
 * differently; ucarp uses a request "for the highest interoperability", so do we. Linux
 * receivers update an existing entry for the VIP from such a request immediately, even inside
 * the 1 s neighbour locktime (the kernel treats sender IP == target IP as a gratuitous ARP and
 * overrides); they do not create new entries (arp_accept=0).
 *
 * Measured facts (iputils 20221126, test/host/garp.test.ts):
 * - The frame leaves within a few ms of the call, but arping -c 1 exits only after one probe
 *   interval, about 1 s (-i and -w take whole seconds; `-i 0` makes it hang). So the promise
 *   resolves after ~1 s: callers should not hold other work behind it.
 * - arping binds to the -s address, so the VIP must already be on the interface (otherwise
 *   "bind: Cannot assign requested address", exit 2) unless net.ipv4.ip_nonlocal_bind=1.
 */

export interface GarpOptions {
  interface: string;
  vip: string;
  log: HostLogger;
  /** Command prefix for tests (['ip', 'netns', 'exec', ns]); the daemon passes none. */
  commandPrefix?: readonly string[];
  /** Deadline for the arping call; default 3000 ms (it takes ~1 s, see above). */
  timeoutMs?: number;
  /** Aborting it kills arping: the frame left long before, only its 1 s linger is cut short. */
  cancelSignal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 3000;

export function garpCommand(ifname: string, vip: string): string[] {
  // -q: no per-probe chatter on stdout; -c 1: one frame per call (the daemon repeats the call
  // itself, as ucarp does); -I/-s pin interface and sender address; the target is the VIP too.
  return ['-q', '-U', '-c', '1', '-I', ifname, '-s', vip, vip];
}

/** Sends one gratuitous ARP request for vip on the interface. Never throws; false on failure (logged). */
export async function sendGratuitousArp(o: GarpOptions): Promise<boolean> {
  checkInterfaceName('interface', o.interface);
  checkIpv4('vip', o.vip);
  checkCommandPrefix('commandPrefix', o.commandPrefix);
  if (o.timeoutMs !== undefined) checkInteger('timeoutMs', o.timeoutMs, 1, 600_000);
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const args = garpCommand(o.interface, o.vip);
  const options: { timeoutMs: number; prefix?: readonly string[]; cancelSignal?: AbortSignal } = { timeoutMs };
  if (o.commandPrefix !== undefined) options.prefix = o.commandPrefix;
  if (o.cancelSignal !== undefined) options.cancelSignal = o.cancelSignal;
  const result = await runCommand('arping', args, options);
  if (result.canceled) {
    o.log.debug(`arping for ${o.vip} on ${o.interface} cut short at shutdown`);
    return true;
  }
  if (!result.failed) {
    o.log.debug(`gratuitous ARP sent for ${o.vip} on ${o.interface}`);
    return true;
  }
  const stderr = oneLine(result.stderr);
  const hint = /Cannot assign requested address/i.test(result.stderr)
    ? ` (arping needs ${o.vip} on ${o.interface} as its source address: add the VIP first)`
    : result.spawnError !== undefined
      ? ' (is iputils-arping installed?)'
      : '';
  o.log.error(
    `cannot send gratuitous ARP for ${o.vip} on ${o.interface}: ${formatCommand('arping', args)}: ` +
      `${describeFailure(result, timeoutMs)}${stderr !== '' ? `: ${stderr}` : ''}${hint}`,
  );
  return false;
}

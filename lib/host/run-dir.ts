import { readlinkSync } from 'node:fs';

/**
 * Where carpd keeps state shared between its instances on one machine: the per-vhid instance
 * locks and the --nomcast neighbour's user files. /run is a tmpfs emptied at boot, so nothing
 * there outlives the processes it describes by more than a crash.
 */
export const DEFAULT_RUN_DIR = '/run/carpd';

/**
 * Our network namespace's identity: the inode of /proc/self/ns/net ("net:[4026531840]").
 * Processes in different namespaces share /run but not interfaces or neighbour tables, so an
 * eth0 in one namespace is not the eth0 of another and every key in the run directory starts
 * with this. Throws if /proc is not mounted.
 */
export function currentNetnsId(): string {
  const link = readlinkSync('/proc/self/ns/net');
  const match = /^net:\[(\d+)\]$/.exec(link);
  if (match === null) throw new Error(`unexpected /proc/self/ns/net link ${JSON.stringify(link)}`);
  return match[1]!;
}

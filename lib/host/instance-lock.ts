import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { claimPidFile, releasePidFile } from './pidfile.js';
import { currentNetnsId, DEFAULT_RUN_DIR } from './run-dir.js';
import { checkInteger, checkInterfaceName } from './validate.js';

/**
 * One carpd per (network namespace, interface, vhid). At start carpd removes any copy of its
 * VIP it finds on the interface (the leftover of a crash would answer ARP beside the real
 * master), so a second carpd started by mistake for the same vhid would take the running
 * master's address away. The lock is a pid file, `<runDir>/<netns>-<if>-vhid<vhid>.pid`,
 * independent of --pidfile (which is optional and named by the operator): a file naming a live
 * process refuses the start, one naming a dead process is a crash's leftover and is taken over.
 */

export interface InstanceLockOptions {
  interface: string;
  vhid: number;
  /**
   * 6: the IPv6 vhost of that vhid (`...-vhid<vhid>-ipv6.pid`): the IPv4 and IPv6 halves of a
   * dual-stack vhost share the vhid and each is locked on its own. Default 4.
   */
  family?: 4 | 6;
  /** Default /run/carpd; tests pass a directory of their own. */
  runDir?: string;
  /** Default: our namespace (currentNetnsId()); tests pass the namespace they run commands in. */
  netnsId?: string;
}

export type InstanceLock = { ok: true; release(): void } | { ok: false; message: string };

/**
 * The lock file of (namespace, interface, vhid). The VIP guardian (guardian.ts) reads it too: a
 * file naming a live carpd other than the one it guards means that VIP has a new owner. Throws
 * if /proc is not mounted (currentNetnsId).
 */
export function instanceLockPath(o: InstanceLockOptions): string {
  const family = o.family === 6 ? '-ipv6' : '';
  return join(o.runDir ?? DEFAULT_RUN_DIR, `${o.netnsId ?? currentNetnsId()}-${o.interface}-vhid${o.vhid}${family}.pid`);
}

export function acquireInstanceLock(o: InstanceLockOptions): InstanceLock {
  checkInterfaceName('interface', o.interface);
  checkInteger('vhid', o.vhid, 1, 255);
  const runDir = o.runDir ?? DEFAULT_RUN_DIR;
  let path: string;
  try {
    path = instanceLockPath(o);
    mkdirSync(runDir, { recursive: true, mode: 0o755 });
  } catch (error) {
    return { ok: false, message: `cannot create the instance lock in ${runDir}: ${error instanceof Error ? error.message : String(error)}` };
  }
  const claim = claimPidFile(path);
  if (claim.claimed) {
    let released = false;
    return {
      ok: true,
      release(): void {
        if (released) return;
        released = true;
        releasePidFile(path);
      },
    };
  }
  if ('holder' in claim) {
    return { ok: false, message: `another carpd (pid ${claim.holder}) already runs vhid ${o.vhid} on ${o.interface} (lock file ${path})` };
  }
  return { ok: false, message: `cannot write the instance lock ${path}: ${claim.error}` };
}

/**
 * `carpd cleanup <the daemon's options>`: removes the VIPs a carpd for this configuration left
 * behind when it could not stop cleanly. It is the systemd unit's ExecStopPost=, the second
 * line of defence behind the VIP guardian (lib/host/guardian.ts): when the main process dies,
 * systemd SIGKILLs the rest of the service's control group — the guardian with it, possibly
 * before it has acted — and only then runs ExecStopPost. It also covers a guardian killed on
 * its own, or one that could not start.
 *
 * It never removes a VIP a running carpd holds: for each vhost it takes the vhost's instance
 * lock first (one per namespace, interface and vhid; a live holder refuses it), so a vhost that
 * another carpd runs now is left alone, and no carpd can start on that vhid while the address
 * goes. It removes the VIP with the configured prefix only, the address carpd itself adds. After
 * a clean stop it finds nothing and changes nothing.
 */
import type { Config } from '../config.js';
import { acquireInstanceLock } from '../host/instance-lock.js';
import type { HostLogger } from '../host/types.js';
import { VipManager } from '../host/vip.js';
import { formatVip } from '../net/address.js';
import { lockOptions } from '../config.js';

export interface CleanupOptions {
  log: HostLogger;
  /** Default /run/carpd; tests pass their own. */
  runDir?: string;
}

/** 0 when nothing of ours is left up (or it belongs to a running carpd), 1 when a removal failed. */
export async function runCleanup(config: Config, o: CleanupOptions): Promise<number> {
  let status = 0;
  for (const vhost of config.vhosts) {
    if (!vhost.manageVip) continue;
    const lock = acquireInstanceLock({ ...lockOptions(vhost), ...(o.runDir !== undefined ? { runDir: o.runDir } : {}) });
    if (!lock.ok) {
      // A live carpd runs this vhost (or the lock cannot be read): its addresses are its own.
      o.log.info(`${vhost.name}: left alone: ${lock.message}`);
      continue;
    }
    try {
      for (const vip of vhost.vips) {
        // A VIP may name its own interface (keepalived's `dev`).
        const iface = vip.interface ?? vhost.interface;
        const manager = new VipManager({ interface: iface, vip: vip.address.text, prefix: vip.prefix, label: vip.label ?? vhost.vipLabel, log: o.log });
        const present = await manager.hasExact();
        if (present === undefined) {
          status = 1;
          continue;
        }
        if (!present) continue;
        if (await manager.remove()) o.log.warn(`${vhost.name}: removed ${formatVip(vip)} from ${iface}, left up by a carpd that did not stop cleanly`);
        else status = 1;
      }
    } finally {
      lock.release();
    }
  }
  return status;
}

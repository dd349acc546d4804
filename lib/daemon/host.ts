/**
 * The real HostPort of a vhost: `ip addr` for the VIPs, `arping` for gratuitous ARP, the
 * script runner. One VipManager per VIP; one script runner per vhost, so the scripts of two
 * vhosts never wait for each other while the up and down scripts of one never overlap.
 */
import type { VhostConfig } from '../config.js';
import { sendGratuitousArp } from '../host/garp.js';
import { ScriptRunner, type ScriptKind, type ScriptOutcome } from '../host/scripts.js';
import type { HostLogger } from '../host/types.js';
import { VipManager } from '../host/vip.js';
import { formatVip, type VipAddress } from '../net/address.js';
import type { HostPort } from './ports.js';

export function createHostPort(
  config: VhostConfig,
  log: HostLogger,
  onScriptOutcome: (kind: ScriptKind, outcome: ScriptOutcome) => void,
): HostPort {
  const managers = new Map<string, VipManager>();
  const manager = (vip: VipAddress): VipManager => {
    const key = formatVip(vip);
    let found = managers.get(key);
    if (found === undefined) {
      found = new VipManager({ interface: config.interface, vip: vip.address.text, prefix: vip.prefix, label: config.vipLabel, log });
      managers.set(key, found);
    }
    return found;
  };
  const scripts = new ScriptRunner({
    timeoutMs: config.scriptTimeoutMs,
    log,
    onOutcome: onScriptOutcome,
    // The scripts' arguments are ucarp's (interface, first VIP, xparam); these say the rest.
    env: {
      CARPD_VHOST: config.name,
      CARPD_VHID: String(config.vhid),
      CARPD_INTERFACE: config.interface,
      CARPD_VIPS: config.vips.map(formatVip).join(' '),
    },
  });
  const garpCancel = new AbortController();
  return {
    removeStale: (vip) => manager(vip).removeStale(),
    addVip: (vip) => manager(vip).add(),
    removeVip: (vip) => manager(vip).remove(),
    garp: (vip) => sendGratuitousArp({ interface: config.interface, vip: vip.address.text, log, cancelSignal: garpCancel.signal }),
    requestScript: (kind, script, args) => scripts.request(kind, script, args),
    scriptsIdle: () => scripts.idle(),
    killScripts: () => scripts.close(),
    close: async () => {
      // Any arping still lingering has long sent its frame; the VIP is gone now anyway.
      garpCancel.abort();
    },
  };
}

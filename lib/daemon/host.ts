/**
 * The real HostPort of a vhost: `ip addr` for the VIPs, `arping` for gratuitous ARP, the
 * script runner. One VipManager per VIP; one script runner per vhost, so the scripts of two
 * vhosts never wait for each other while the up and down scripts of one never overlap.
 *
 * In the daemon, VIPs change over rtnetlink and the gratuitous ARP is carpd's own frame
 * (HostIo, lib/host/host-io.ts): one system call each, made in the turn that asks for it, so
 * nothing needs gathering. Without HostIo (CARPD_HOST_IO=commands, or sockets that could not
 * be opened) IPv4 changes and ARPs go through the batcher's `ip -batch` and `arping`, IPv6 ones
 * through `ip -6 ... nodad` one at a time (VipManager). IPv6 VIPs are announced with
 * unsolicited neighbour advertisements (lib/net/neighbour-advert.ts) either way.
 */
import type { VhostConfig } from '../config.js';
import { ScriptRunner, type ScriptKind, type ScriptOutcome } from '../host/scripts.js';
import type { HostLogger } from '../host/types.js';
import { VipManager } from '../host/vip.js';
import { formatVip, type Ipv4Address, type VipAddress } from '../net/address.js';
import { hostIo } from '../host/host-io.js';
import { errorText } from '../errors.js';
import { openNeighbourAdvertSocket, sendUnsolicitedNeighbourAdvert } from '../net/neighbour-advert.js';
import type { Ipv6Socket } from '../net/ipv6-socket.js';
import { readInterfaceAddresses } from '../host/link-local.js';
import type { HostPort, NotifyChannel } from './ports.js';
import type { HostBatcher } from '../host/batch.js';
import { guardianLine, type VipGuardian } from '../host/guardian.js';

/** The VIP guardian and this vhost's instance lock file, which the guardian checks before it acts. */
export interface GuardianLink {
  readonly guardian: VipGuardian;
  readonly lockPath: string;
}

export function createHostPort(
  config: VhostConfig,
  log: HostLogger,
  batcher: HostBatcher,
  onScriptOutcome: (kind: ScriptKind, outcome: ScriptOutcome) => void,
  guarded?: GuardianLink,
  user?: { readonly uid: number; readonly gid: number },
): HostPort {
  const managers = new Map<string, VipManager>();
  // A VIP may name its own interface and label (keepalived's `dev`, `label`).
  const iface = (vip: VipAddress): string => vip.interface ?? config.interface;
  const label = (vip: VipAddress): string | undefined => vip.label ?? config.vipLabel;
  const manager = (vip: VipAddress): VipManager => {
    const key = formatVip(vip);
    let found = managers.get(key);
    if (found === undefined) {
      found = new VipManager({ interface: iface(vip), vip: vip.address.text, prefix: vip.prefix, label: label(vip), log });
      managers.set(key, found);
    }
    return found;
  };
  // The scripts' arguments are ucarp's (interface, first VIP, xparam); these say the rest.
  const env = {
    CARPD_VHOST: config.name,
    CARPD_VHID: String(config.vhid),
    CARPD_INTERFACE: config.interface,
    CARPD_VIPS: config.vips.map(formatVip).join(' '),
  };
  const scripts = new ScriptRunner({
    timeoutMs: config.scriptTimeoutMs,
    log,
    onOutcome: onScriptOutcome,
    env,
    ...(user !== undefined ? { user } : {}),
  });
  // One runner per notify channel, made when first used.
  const notifiers = new Map<NotifyChannel, ScriptRunner>();
  const notifier = (channel: NotifyChannel): ScriptRunner => {
    let runner = notifiers.get(channel);
    if (runner === undefined) {
      runner = new ScriptRunner({ timeoutMs: config.scriptTimeoutMs, log, onOutcome: onScriptOutcome, env, ...(user !== undefined ? { user } : {}) });
      notifiers.set(channel, runner);
    }
    return runner;
  };
  const garpCancel = new AbortController();
  /** Whether vip/prefix is on the interface now; undefined when the listing failed. */
  const present = async (vip: VipAddress): Promise<boolean | undefined> => {
    const addresses = await batcher.listAddresses(iface(vip));
    return addresses?.some((a) => a.local === vip.address.text && a.prefixlen === vip.prefix);
  };
  // One send-only ICMPv6 socket per interface, opened at the first announcement.
  const naSockets = new Map<string, Ipv6Socket>();
  const neighbourAdvert = async (vip: VipAddress): Promise<boolean> => {
    const ifname = iface(vip);
    try {
      let socket = naSockets.get(ifname);
      if (socket === undefined) {
        socket = openNeighbourAdvertSocket(ifname);
        naSockets.set(ifname, socket);
      }
      const { mac } = readInterfaceAddresses(ifname);
      if (mac === undefined) throw new Error(`${ifname} is down or has no MAC`);
      // From the VIP itself (it is on the interface: the host queue added it first), as
      // keepalived sends them; Override set, so neighbours drop the old master's MAC.
      await sendUnsolicitedNeighbourAdvert(socket, { target: vip.address.text, mac, source: vip.address.text });
      return true;
    } catch (error) {
      log.error(`cannot send a neighbour advertisement for ${vip.address.text} on ${ifname}: ${errorText(error)}`);
      return false;
    }
  };
  /** Whether this VIP's change skips the batcher: IPv6 (its `ip -6` is VipManager's), or with HostIo. */
  const direct = (vip: VipAddress): boolean => vip.address.family === 6 || hostIo() !== undefined;
  const garp = (vip: VipAddress): Promise<boolean> => {
    const io = hostIo();
    if (io === undefined) return batcher.garp(iface(vip), vip.address.text, garpCancel.signal);
    const problem = io.garp(iface(vip), vip.address as Ipv4Address);
    if (problem === undefined) {
      log.debug(`gratuitous ARP sent for ${vip.address.text} on ${iface(vip)}`);
      return Promise.resolve(true);
    }
    log.error(`cannot send gratuitous ARP for ${vip.address.text} on ${iface(vip)}: ${problem}`);
    return Promise.resolve(false);
  };
  const removeVip = async (vip: VipAddress): Promise<boolean> => {
    if (direct(vip)) return manager(vip).remove();
    const outcome = await batcher.address('del', formatVip(vip), iface(vip));
    if (outcome === 'done') return true;
    if (outcome === 'failed' && (await present(vip)) === false) return true;
    return manager(vip).remove();
  };
  // Told before the address goes up: a carpd killed during the change is covered.
  const hold = (vip: VipAddress): void => guarded?.guardian.hold(iface(vip), formatVip(vip), guarded.lockPath);
  return {
    prepare(vips) {
      const io = hostIo();
      for (const vip of vips) {
        manager(vip);
        guardianLine('hold', iface(vip), formatVip(vip), guarded?.lockPath ?? '/');
        io?.prepare(vip.address, vip.prefix, iface(vip), label(vip));
      }
    },
    async removeStale(vip) {
      if (vip.address.family === 6) return manager(vip).removeStale();
      // One listing of the interface serves every vhost that asks in the same turn.
      const addresses = await batcher.listAddresses(iface(vip));
      if (addresses === undefined) return manager(vip).removeStale();
      let removed = 0;
      for (const copy of addresses.filter((a) => a.local === vip.address.text && typeof a.prefixlen === 'number')) {
        const cidr = `${vip.address.text}/${copy.prefixlen}`;
        if (hostIo() !== undefined) {
          if (await manager({ ...vip, prefix: copy.prefixlen! }).remove()) removed++;
        } else if ((await batcher.address('del', cidr, iface(vip))) === 'done') removed++;
        else removed += await manager({ ...vip, prefix: copy.prefixlen! }).removeStale();
      }
      return removed;
    },
    // A line that failed in a batch is judged by one listing shared by every vhost that asks
    // in the same turn: "already there" and "not there" count as done. Only when the listing
    // disagrees (or fails) is the change retried alone, with its own error line. A change that
    // was alone in its turn runs as it always did: one `ip`, judged by VipManager.
    holdAhead(vips) {
      for (const vip of vips) hold(vip);
    },
    releaseAhead(vips) {
      for (const vip of vips) guarded?.guardian.release(iface(vip), formatVip(vip), guarded.lockPath);
    },
    addVipNow(vip, heldAhead = false) {
      if (hostIo() === undefined) return undefined;
      // The guardian must know of a VIP before it is on the interface; one held ahead it does.
      if (!heldAhead) hold(vip);
      return manager(vip).addNow();
    },
    async addVip(vip) {
      hold(vip);
      if (direct(vip)) return manager(vip).add();
      const outcome = await batcher.address('add', formatVip(vip), iface(vip), label(vip));
      if (outcome === 'done') return true;
      if (outcome === 'failed' && (await present(vip)) === true) return true;
      return manager(vip).add();
    },
    async removeVip(vip) {
      const removed = await removeVip(vip);
      // Told only once the address is gone: one that failed to go stays the guardian's to remove.
      if (removed) guarded?.guardian.release(iface(vip), formatVip(vip), guarded.lockPath);
      return removed;
    },
    garp: (vip) => (vip.address.family === 6 ? neighbourAdvert(vip) : garp(vip)),
    requestScript: (kind, script, args) => scripts.request(kind, script, args),
    notify: (script, args, env, channel = 'notify') => notifier(channel).request('notify', script, args, env),
    scriptsIdle: async () => {
      await Promise.all([scripts.idle(), ...[...notifiers.values()].map((runner) => runner.idle())]);
    },
    killScripts: () => {
      scripts.close();
      for (const runner of notifiers.values()) runner.close();
    },
    close: async () => {
      // Any arping still lingering has long sent its frame; the VIP is gone now anyway.
      garpCancel.abort();
      for (const socket of naSockets.values()) socket.close();
      naSockets.clear();
    },
  };
}

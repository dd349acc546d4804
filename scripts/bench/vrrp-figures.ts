// From what a VRRP round recorded to its figures (pure): netlink events on both hosts (`ip -ts
// monitor address`), the client's capture (tcpdump's own VRRP decoding, kernel timestamps) and
// its ping replies, all on the machine's one clock, turned into times after the fault.
import type { CapturedPacket } from '../lab/capture.js';
import { firstAddressEvent, vrrpOf, type AddressEvent, type Endpoint } from './checks-figures.js';
import { protocolWaitMs, type Row } from './vrrp-plan.js';

export interface VrrpRoundRecord {
  row: Row;
  /** The VIP without its prefix, as the monitors and ARP print it. */
  vip: string;
  /** Date.now() just before the fault (kill() or `ip link set down`). */
  faultAtMs: number;
  master: Endpoint;
  backup: Endpoint;
  masterAddresses: readonly AddressEvent[];
  backupAddresses: readonly AddressEvent[];
  packets: readonly CapturedPacket[];
  /** The client's ping replies (ms since the epoch, ascending) and when ping was stopped. */
  replyTimesMs: readonly number[];
  pingStoppedMs: number;
}

export interface OutageWindow {
  /** The last reply before the silence (the fault itself if no reply came after it). */
  startMs: number | undefined;
  /** The first reply after it; undefined when the pings never came back. */
  endMs: number | undefined;
  /** endMs − startMs, or (not recovered) stoppedMs − startMs: then a lower bound. */
  ms: number | undefined;
  recovered: boolean;
}

/**
 * The client's outage: the longest silence between two replies that ends after the fault (the
 * same rule as the failover bench's outageAfter, with the ends kept): replies in flight at the
 * fault arrive just after it, so the silence that matters starts at the last reply before it.
 */
export function outageWindow(replyTimesMs: readonly number[], faultAtMs: number, stoppedMs: number): OutageWindow {
  const t = replyTimesMs;
  let best: OutageWindow | undefined;
  for (let i = 1; i < t.length; i++) {
    if (t[i]! <= faultAtMs) continue;
    const ms = t[i]! - t[i - 1]!;
    if (best === undefined || ms > best.ms!) best = { startMs: t[i - 1], endMs: t[i], ms, recovered: true };
  }
  const last = t[t.length - 1];
  if (last === undefined || last <= faultAtMs) {
    const startMs = last ?? faultAtMs;
    return { startMs, endMs: undefined, ms: stoppedMs - startMs, recovered: false };
  }
  // A single reply after the fault with none before it: nothing to measure a silence between.
  return best ?? { startMs: undefined, endMs: undefined, ms: undefined, recovered: true };
}

/** An advert (priority > 0) or the resignation (priority 0) from `from`, in VRRP's own decoding. */
export function isVrrpFrom(p: CapturedPacket, from: Endpoint, resignation: boolean): boolean {
  const v = vrrpOf(p);
  return v !== undefined && p.srcIp === from.address && (v.priority === 0) === resignation;
}

export function isGarpFor(p: CapturedPacket, vip: string, from: Endpoint): boolean {
  return p.arp?.gratuitous === true && p.arp.senderIp === vip && p.srcMac === from.mac;
}

export interface VrrpFigures {
  /**
   * Fault → the VIP on the backup: the earlier of its netlink event (`ip -ts monitor`) and the
   * backup's first gratuitous ARP for it at the client. Both come after the address is in place
   * (both daemons send their GARPs only once it is added), and ip stamps the event only when
   * it has woken up and read it: up to ~2 ms late on the lab's VM, in either daemon's rounds.
   */
  vipOnBackupMs: number | undefined;
  /** How much later than that `ip monitor` reported the address (0 when it was first). */
  monitorLagMs: number | undefined;
  /** Fault → the client's first ping reply after its outage: the backup answers. */
  pingsBackMs: number | undefined;
  /** The client's longest silence ending after the fault. */
  outageMs: number | undefined;
  pingRecovered: boolean;
  /** Fault → the VIP gone from the master (netlink; a clean stop removes it, a cut link does not). */
  vipOffMasterMs: number | undefined;
  /** Fault → the master's priority-0 advert at the client (clean stop only). */
  resignMs: number | undefined;
  /** The priority-0 advert → the VIP on the backup: skew time plus the backup's own work. */
  resignToVipMs: number | undefined;
  /** The master's last ordinary advert → the VIP on the backup: master-down plus the backup's own work. */
  lastAdvertToVipMs: number | undefined;
  /**
   * What the backup took beyond the protocol's wait, measured from the packet that started it:
   * resignToVip − skew (clean stop), lastAdvertToVip − master-down (link cut).
   */
  beyondProtocolMs: number | undefined;
  /**
   * Its first part: the backup's first advert − (that packet + the protocol's wait). The advert is
   * the first thing both send when their timer fires, so this is receive + timer latency.
   */
  advertLatenessMs: number | undefined;
  /** The rest: the backup's first advert → the VIP on it (the address being added). */
  advertToVipMs: number | undefined;
  /** Fault → the backup's first gratuitous ARP at the client. */
  garpMs: number | undefined;
  /** The VIP on the backup → its first gratuitous ARP at the client. */
  vipToGarpMs: number | undefined;
  /** Fault → the backup's first advert at the client. */
  backupAdvertMs: number | undefined;
  /**
   * The advert the backup times from (the master's last before the take-over) → the fault: where
   * in the interval the fault fell. Can be a little below 0: the capture's kernel timestamp of the
   * advert the bench waited for is sometimes a fraction of a millisecond after Date.now() at the fault.
   */
  faultPhaseMs: number | undefined;
}

const since = (t: number | undefined, t0: number | undefined): number | undefined => (t === undefined || t0 === undefined ? undefined : t - t0);

export function vrrpRoundFigures(r: VrrpRoundRecord): VrrpFigures {
  const t0 = r.faultAtMs;
  const monitored = firstAddressEvent(r.backupAddresses, r.vip, false, t0);
  const vipOff = firstAddressEvent(r.masterAddresses, r.vip, true, t0);
  const after = r.packets.filter((p) => p.timeMs >= t0);
  const resign = after.find((p) => isVrrpFrom(p, r.master, true));
  const backupAdvert = after.find((p) => isVrrpFrom(p, r.backup, false));
  const garp = after.find((p) => isGarpFor(p, r.vip, r.backup));
  // A GARP without a netlink event is not taken alone: the address may never have been added.
  const vipOn = monitored === undefined ? undefined : Math.min(monitored, garp?.timeMs ?? Infinity);
  // The master can still get an advert out while `ip link set down` runs: the backup's timer
  // starts from that one, so "last" means last before the take-over, not before the fault.
  const takeoverAt = Math.min(vipOn ?? Infinity, backupAdvert?.timeMs ?? Infinity);
  const masterAdverts = r.packets.filter((p) => isVrrpFrom(p, r.master, false));
  const lastAdvert = masterAdverts.filter((p) => p.timeMs < takeoverAt).pop();
  const outage = outageWindow(r.replyTimesMs, t0, r.pingStoppedMs);
  const resignToVip = since(vipOn, resign?.timeMs);
  const lastAdvertToVip = since(vipOn, lastAdvert?.timeMs);
  const trigger = r.row.fault === 'clean-stop' ? resign?.timeMs : lastAdvert?.timeMs;
  const beyond = since(vipOn, trigger);
  const advertLateness = since(backupAdvert?.timeMs, trigger);
  return {
    vipOnBackupMs: since(vipOn, t0),
    monitorLagMs: since(monitored, vipOn),
    pingsBackMs: outage.recovered ? since(outage.endMs, t0) : undefined,
    outageMs: outage.ms,
    pingRecovered: outage.recovered,
    vipOffMasterMs: since(vipOff, t0),
    resignMs: since(resign?.timeMs, t0),
    resignToVipMs: resignToVip,
    lastAdvertToVipMs: lastAdvertToVip,
    beyondProtocolMs: beyond === undefined ? undefined : beyond - protocolWaitMs(r.row),
    advertLatenessMs: advertLateness === undefined ? undefined : advertLateness - protocolWaitMs(r.row),
    advertToVipMs: since(vipOn, backupAdvert?.timeMs),
    garpMs: since(garp?.timeMs, t0),
    vipToGarpMs: since(garp?.timeMs, vipOn),
    backupAdvertMs: since(backupAdvert?.timeMs, t0),
    faultPhaseMs: since(t0, lastAdvert?.timeMs),
  };
}

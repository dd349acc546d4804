import { advertisementInterval256, masterDownInterval256, type AdvertTiming } from './timing.js';

/** What a MASTER does when it hears another master (ucarp's carp input, MASTER branch). */
export enum MasterVerdict {
  /** The other master is preferred: send one last advert and become BACKUP. */
  Yield = 'yield',
  /** We are preferred: stay MASTER and re-announce the VIP with gratuitous ARP. */
  Reassert = 'reassert',
}

/**
 * The order ucarp puts source addresses in for the equal-interval tie-break. ucarp compares
 * the raw `s_addr` fields as host integers, which on every little-endian machine it runs on
 * (x86, arm64) makes the LAST octet the most significant. Inside one /24 that is simply "the
 * lower address wins"; across subnets it is not, and a mixed carpd/ucarp group must agree on
 * the winner or both sides stay MASTER. So carpd uses ucarp's order, not network order.
 */
export function tieBreakOrder(address: number | bigint): number | bigint {
  // IPv6 (ucarp has none): plain numeric order, as the bytes compare.
  if (typeof address === 'bigint') return address;
  return (
    (((address & 0xff) << 24) >>> 0) +
    ((address >>> 8) & 0xff) * 0x10000 +
    ((address >>> 16) & 0xff) * 0x100 +
    ((address >>> 24) & 0xff)
  );
}

/**
 * A MASTER hearing an advert from another master. The shorter interval wins; on a tie the
 * "lower" source address wins, in ucarp's order (tieBreakOrder). Equal interval and equal
 * address can only be our own packet, which the input checks drop.
 */
export function judgeRivalMaster(
  own: AdvertTiming,
  ownAddress: number | bigint,
  rival: AdvertTiming,
  rivalAddress: number | bigint,
): MasterVerdict {
  const ours = advertisementInterval256(own);
  const theirs = advertisementInterval256(rival);
  if (theirs < ours) return MasterVerdict.Yield;
  if (theirs === ours && tieBreakOrder(rivalAddress) < tieBreakOrder(ownAddress)) return MasterVerdict.Yield;
  return MasterVerdict.Reassert;
}

/** What a BACKUP does with a valid advert from the master (ucarp's carp input, BACKUP branch). */
export enum BackupVerdict {
  /** Preempt: the master is slower and we were told to take over from slower masters. */
  Preempt = 'preempt',
  /** The master advertises so rarely it is bound to time out: treat it as down now. */
  MasterTimingOut = 'master-timing-out',
  /**
   * The master bowed out (advbase 255, advskew 255): the master is leaving. The backup takes
   * over after its own skew time (see bowOutDelay256), not on the spot.
   */
  BowOut = 'bow-out',
  /** A healthy master: restart the master-down timer. */
  Follow = 'follow',
}

export function judgeMaster(
  own: AdvertTiming,
  deadratio: number,
  preempt: boolean,
  master: AdvertTiming,
  masterIsBowingOut: boolean,
): BackupVerdict {
  if (masterIsBowingOut) return BackupVerdict.BowOut;
  const theirs = advertisementInterval256(master);
  if (preempt && theirs > advertisementInterval256(own)) return BackupVerdict.Preempt;
  // ucarp compares the master's interval with its own advbase × deadratio (+ own skew): a
  // master that slow would time out anyway.
  if (theirs > masterDownInterval256(own, deadratio)) return BackupVerdict.MasterTimingOut;
  return BackupVerdict.Follow;
}

/** Milliseconds a backup waits after a bow-out per unit of its own advskew. */
export const BOW_OUT_WAIT_MS_PER_SKEW = 0.25;

/**
 * How long a backup waits after a bow-out before claiming the VIP. With several backups,
 * taking over at once (what ucarp and OpenBSD do) makes every one of them MASTER for a moment
 * — each adds the VIP, sends gratuitous ARP and runs its up-script — before all but one step
 * back. Waiting in proportion to its advskew (the idea of VRRP's skew time for a priority-0
 * advert, RFC 3768 §6.4.2) lets the preferred backup claim first; the others hear its advert
 * before their own wait ends. A quarter of a millisecond per advskew unit orders backups whose
 * advskews are a few dozen apart (LAN latency is far below a millisecond; a loaded host's timers
 * may be 10 ms late) while even advskew 254 waits only 63.5 ms, so a clean stop still hands over
 * in well under 100 ms; the full skew time (up to a second) would not. A backup at advskew 0
 * claims at once.
 */
export function bowOutDelayMs(own: AdvertTiming): number {
  return own.advskew * BOW_OUT_WAIT_MS_PER_SKEW;
}

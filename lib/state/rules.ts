/**
 * The election rules of each protocol, behind one interface: the state machine (machine.ts) is
 * one machine for CARP and VRRP alike and asks these rules every question whose answer differs
 * between them — what a node claims, what a leaving master sends, who wins, how long to wait.
 *
 * CARP (ucarp, OpenBSD): a claim is the advert interval (advbase + advskew/256 s); the shorter
 * interval wins, ties go to the lower source address in ucarp's byte order.
 *
 * VRRP (RFC 3768 for v2, RFC 5798/9568 for v3, as keepalived speaks them): a claim is a
 * priority and an interval; the higher priority wins, ties go to the higher primary address
 * (network order); priority 0 means "the master is leaving", 255 the address owner. A backup
 * waits 3 × interval + skew time, skew = (256 − priority)/256 of an interval (v3) or of a
 * second (v2), so better backups time out first; v3 backups count the master's interval, not
 * their own.
 *
 * Pure: no clock, no I/O.
 */
import {
  BackupVerdict,
  MasterVerdict,
  bowOutDelayMs as carpBowOutDelayMs,
  judgeMaster as carpJudgeMaster,
  judgeRivalMaster as carpJudgeRival,
} from './election.js';
import { advertisementIntervalMs, masterDownIntervalMs, type AdvertTiming } from './timing.js';

export type Protocol = 'carp' | 'vrrp2' | 'vrrp3';

/** A VRRP claim: what a VRRP advert says about its sender. */
export interface VrrpClaim {
  readonly priority: number;
  /** The advert interval in centiseconds (v2 carries whole seconds: 100 × advert_int). */
  readonly intervalCs: number;
}

/** What an advert claims: CARP's timing or VRRP's priority and interval. */
export type Claim = AdvertTiming | VrrpClaim;

export function isVrrpClaim(c: Claim): c is VrrpClaim {
  return 'priority' in c;
}

/** FreeBSD's CARP_MAXSKEW: demotion never pushes the advertised advskew past this. */
export const MAX_DEMOTED_ADVSKEW = 240;

/** OpenBSD's bow-out advert: the slowest possible interval, which every backup treats as dead. */
export const CARP_BOW_OUT: AdvertTiming = Object.freeze({ advbase: 255, advskew: 255 });

/** VRRP priorities with a meaning of their own. */
export const VRRP_PRIORITY_RESIGN = 0;
export const VRRP_PRIORITY_OWNER = 255;
/** The lowest priority demotion can take a VRRP node to (keepalived's floor too). */
export const VRRP_MIN_DEMOTED_PRIORITY = 1;

export interface ElectionRules {
  readonly protocol: Protocol;
  /** The claim this node advertises and elects with, after `demotion` from failing weights. */
  claim(demotion: number): Claim;
  /** What a leaving master advertises (clean stop, step-down, FAULT). */
  bowOut(own: Claim): Claim;
  isBowOut(claim: Claim): boolean;
  advertIntervalMs(own: Claim): number;
  /** How long a backup waits for the master's next advert; `master` is the last one heard. */
  masterDownMs(own: Claim, master: Claim | undefined): number;
  /** A MASTER hearing another master. */
  judgeRival(own: Claim, ownAddress: number | bigint, rival: Claim, rivalAddress: number | bigint): MasterVerdict;
  /** A BACKUP hearing the master (bow-outs included). */
  judgeMaster(own: Claim, preempt: boolean, master: Claim): BackupVerdict;
  /** After a master's bow-out, how long this backup waits before claiming. */
  bowOutDelayMs(own: Claim, master: Claim): number;
  /**
   * How a MASTER answers a weaker master or a bow-out: CARP re-sends gratuitous ARP (ucarp),
   * VRRP sends an advert at once (RFC 5798 6.4.3, keepalived) so the other side hears who rules.
   */
  readonly reassertWith: 'garp' | 'advert';
  /** VRRP's address owner (priority 255) is MASTER from the start, without listening first. */
  readonly owner: boolean;
  /** "(advbase 1, advskew 0)" / "(priority 100, interval 1 s)", for log lines. */
  describe(claim: Claim): string;
  /** "advskew 60 (10 + demotion 50)" / "priority 80 (100 - demotion 20)". */
  describeDemoted(demotion: number): string;
}

function asCarp(c: Claim): AdvertTiming {
  if (isVrrpClaim(c)) throw new TypeError('a VRRP claim given to the CARP rules');
  return c;
}

function asVrrp(c: Claim): VrrpClaim {
  if (!isVrrpClaim(c)) throw new TypeError('a CARP claim given to the VRRP rules');
  return c;
}

export interface CarpRulesConfig extends AdvertTiming {
  /** Master-down multiplier (ucarp -r). */
  readonly deadratio: number;
}

export function carpRules(config: CarpRulesConfig): ElectionRules {
  const configured: AdvertTiming = Object.freeze({ advbase: config.advbase, advskew: config.advskew });
  const describe = (c: Claim): string => `(advbase ${asCarp(c).advbase}, advskew ${asCarp(c).advskew})`;
  const claim = (demotion: number): AdvertTiming => {
    if (demotion === 0) return configured;
    // advskew + demotion, capped at 240 as FreeBSD caps demotion, never below the configured one.
    const advskew = Math.max(configured.advskew, Math.min(configured.advskew + demotion, MAX_DEMOTED_ADVSKEW));
    return { advbase: configured.advbase, advskew };
  };
  return {
    protocol: 'carp',
    claim,
    bowOut: () => CARP_BOW_OUT,
    isBowOut: (c) => {
      const t = asCarp(c);
      return t.advbase === CARP_BOW_OUT.advbase && t.advskew === CARP_BOW_OUT.advskew;
    },
    advertIntervalMs: (own) => advertisementIntervalMs(asCarp(own)),
    // CARP backups time out on their own timing, whatever the master's.
    masterDownMs: (own) => masterDownIntervalMs(asCarp(own), config.deadratio),
    judgeRival: (own, ownAddress, rival, rivalAddress) => carpJudgeRival(asCarp(own), ownAddress, asCarp(rival), rivalAddress),
    judgeMaster: (own, preempt, master) => {
      const m = asCarp(master);
      const bowingOut = m.advbase === CARP_BOW_OUT.advbase && m.advskew === CARP_BOW_OUT.advskew;
      return carpJudgeMaster(asCarp(own), config.deadratio, preempt, m, bowingOut);
    },
    bowOutDelayMs: (own) => carpBowOutDelayMs(asCarp(own)),
    reassertWith: 'garp',
    owner: false,
    describe,
    describeDemoted: (demotion) =>
      `advskew ${claim(demotion).advskew}${demotion > 0 ? ` (${configured.advskew} + demotion ${demotion})` : ''}`,
  };
}

export interface VrrpRulesConfig {
  readonly version: 2 | 3;
  readonly priority: number;
  readonly intervalCs: number;
}

/**
 * Skew time in milliseconds: v3 scales by the master's interval (RFC 5798 6.1), v2 by one
 * second (RFC 3768 6.1), as keepalived computes it.
 */
export function vrrpSkewMs(version: 2 | 3, priority: number, masterIntervalCs: number): number {
  const base = version === 3 ? masterIntervalCs * 10 : 1000;
  return ((256 - priority) * base) / 256;
}

/** 3 × the master's interval + skew time (v2: the interval both sides are configured with). */
export function vrrpMasterDownMs(version: 2 | 3, priority: number, masterIntervalCs: number): number {
  return 3 * masterIntervalCs * 10 + vrrpSkewMs(version, priority, masterIntervalCs);
}

export function vrrpRules(config: VrrpRulesConfig): ElectionRules {
  const configured: VrrpClaim = Object.freeze({ priority: config.priority, intervalCs: config.intervalCs });
  const claim = (demotion: number): VrrpClaim => {
    if (demotion === 0) return configured;
    return { priority: Math.max(VRRP_MIN_DEMOTED_PRIORITY, configured.priority - demotion), intervalCs: configured.intervalCs };
  };
  // v3 backups take the master's interval (Master_Adver_Interval); v2 requires both to match.
  const masterInterval = (master: Claim | undefined): number =>
    config.version === 3 && master !== undefined && asVrrp(master).intervalCs > 0 ? asVrrp(master).intervalCs : configured.intervalCs;
  const seconds = (cs: number): string => `${Number((cs / 100).toFixed(2))} s`;
  return {
    protocol: config.version === 3 ? 'vrrp3' : 'vrrp2',
    claim,
    bowOut: (own) => ({ priority: VRRP_PRIORITY_RESIGN, intervalCs: asVrrp(own).intervalCs }),
    isBowOut: (c) => asVrrp(c).priority === VRRP_PRIORITY_RESIGN,
    advertIntervalMs: (own) => asVrrp(own).intervalCs * 10,
    masterDownMs: (own, master) => vrrpMasterDownMs(config.version, asVrrp(own).priority, masterInterval(master)),
    judgeRival: (own, ownAddress, rival, rivalAddress) => {
      const ours = asVrrp(own).priority;
      const theirs = asVrrp(rival).priority;
      // RFC 5798 6.4.3: a higher priority, or an equal one from a higher primary address.
      // IPv4 keys compare unsigned (a signed int may come in), IPv6 keys are bigints.
      const unsigned = (a: number | bigint): number | bigint => (typeof a === 'bigint' ? a : a >>> 0);
      if (theirs > ours || (theirs === ours && unsigned(rivalAddress) > unsigned(ownAddress))) return MasterVerdict.Yield;
      return MasterVerdict.Reassert;
    },
    judgeMaster: (own, preempt, master) => {
      const theirs = asVrrp(master).priority;
      if (theirs === VRRP_PRIORITY_RESIGN) return BackupVerdict.BowOut;
      // RFC 5798 6.4.2 discards a weaker master's advert and lets the master-down timer run
      // out; carpd takes over at once, as it does for CARP: the weaker master hears our advert
      // and yields, so the result is the same, seconds sooner.
      if (preempt && theirs < asVrrp(own).priority) return BackupVerdict.Preempt;
      return BackupVerdict.Follow;
    },
    bowOutDelayMs: (own, master) => vrrpSkewMs(config.version, asVrrp(own).priority, masterInterval(master)),
    reassertWith: 'advert',
    owner: configured.priority === VRRP_PRIORITY_OWNER,
    describe: (c) => `(priority ${asVrrp(c).priority}, interval ${seconds(asVrrp(c).intervalCs)})`,
    describeDemoted: (demotion) =>
      `priority ${claim(demotion).priority}${demotion > 0 ? ` (${configured.priority} - demotion ${demotion})` : ''}`,
  };
}

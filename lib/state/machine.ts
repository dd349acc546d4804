import { ManualClock, type Clock } from './clock.js';
import { BackupVerdict, MasterVerdict } from './election.js';
import { CARP_BOW_OUT, type Claim, type ElectionRules } from './rules.js';
import { formatSeconds } from './timing.js';

export { MAX_DEMOTED_ADVSKEW } from './rules.js';
export type { Claim } from './rules.js';

/**
 * The state machine of one virtual host, CARP or VRRP: events in, effects out, time from an
 * injected clock. What differs between the protocols (what a node claims, who wins, how long a
 * backup waits, what a leaving master sends) is asked of its ElectionRules (rules.ts); the
 * states, timers, health, groups and effects are the same machine for both.
 *
 * It follows ucarp 1.5.2's rules (which follow OpenBSD's ip_carp.c) and adds what ucarp lacks:
 * a bow-out advert on clean exit and on SIGUSR2, exact timers, link handling without a 10 s
 * sleep. Like ip_carp.c, one method changes state (setState) and one arms the protocol timers
 * (setRun); every transition is reported once, with its reason.
 */

export type CarpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';

export type TimerName =
  /** MASTER: time to send the next advertisement (ip_carp.c's ad_tmo). */
  | 'advertTimer'
  /** BACKUP: no advertisement for the master-down interval means the master is gone (md_tmo). */
  | 'masterDownTimer'
  /** After SIGUSR2: how long a master that stepped down stays quiet before listening again. */
  | 'stepDownTimer'
  /** MASTER: the second announcement of the VIPs (keepalived's garp_master_delay). */
  | 'garpTimer';

export const TIMER_NAMES: readonly TimerName[] = ['advertTimer', 'masterDownTimer', 'stepDownTimer', 'garpTimer'];

/** ucarp sleeps 3 s after SIGUSR2 before it listens again; carpd waits as long, without freezing. */
export const STEP_DOWN_HOLD_MS = 3000;

/**
 * ucarp repeats the gratuitous ARP this many adverts after becoming MASTER (and after
 * reasserting itself against a slower master) for switches that missed the first one.
 */
export const DELAYED_GARP_ADVERTS = 2;

/** OpenBSD's bow-out advert: the slowest possible interval, which every backup treats as dead. */
export const BOW_OUT = CARP_BOW_OUT;

export interface MachineConfig {
  /** The protocol's election rules (rules.ts: carpRules, vrrpRules). */
  readonly rules: ElectionRules;
  readonly preempt: boolean;
  /**
   * keepalived's `state MASTER`: with the VRRP address owner's priority 255, claim at start
   * without waiting a master-down interval (a better master heard later still wins).
   */
  readonly initialMaster?: boolean;
  /** Do not run the down-script when entering BACKUP at start. */
  readonly neutral: boolean;
  /** Run the down-script when a MASTER shuts down (ucarp --shutdown). */
  readonly downScriptOnExit: boolean;
  /** After start and after leaving FAULT, do not preempt for this long (keepalived's preempt_delay). */
  readonly preemptDelayMs?: number;
  /**
   * When the VIPs are announced again after becoming MASTER: undefined, two adverts later (as
   * ucarp); a number of ms (keepalived's garp_master_delay, 5 s by default); 0, never.
   */
  readonly delayedGarpMs?: number;
  /**
   * Our source address for the tie-break, as lib/net/address.ts addressKey gives it: unsigned
   * 32-bit for IPv4, a bigint for IPv6 (read at each use: an IPv6 vhost learns its link-local
   * source from the interface).
   */
  readonly srcAddress: number | bigint;
}

export type MachineEvent =
  | { readonly type: 'start'; readonly linkUp: boolean }
  | {
      readonly type: 'advert';
      readonly src: string;
      readonly srcAddress: number | bigint;
      readonly claim: Claim;
      /**
       * The clock's reading when the advert arrived, if earlier than its handling (the shell's
       * checks take time): the timers it starts run from then, as the protocol's do.
       */
      readonly at?: number;
    }
  | { readonly type: 'timer'; readonly timer: TimerName }
  | { readonly type: 'link'; readonly up: boolean }
  /** SIGUSR2. */
  | { readonly type: 'stepDown'; readonly reason?: string }
  /**
   * The host could not put a VIP on the interface. A MASTER without its address serves nobody
   * while its adverts keep the backups quiet, so the machine gives MASTER up (bow-out, hold).
   */
  | { readonly type: 'vipAddFailed'; readonly reason: string }
  /** A sync-group peer became MASTER by its own election: follow it (lib/state/group.ts). */
  | { readonly type: 'groupMaster'; readonly reason: string }
  /** A sync-group peer went BACKUP by its own election or a step-down: follow it. */
  | { readonly type: 'groupBackup'; readonly reason: string }
  /**
   * A sync-group peer cannot hold its VIPs (link down): while held, this vhost stays BACKUP and
   * does not contend, so the group's VIPs never split across nodes; released, it listens again.
   */
  | { readonly type: 'groupHold'; readonly held: boolean; readonly reason: string }
  /**
   * The vhost's health (lib/state/health.ts): a failed weight-0 check, tracked interface or
   * file means FAULT; failing weights demote; `pending` until every weight-0 check reported once.
   */
  | { readonly type: 'health'; readonly fault: boolean; readonly demotion: number; readonly pending: boolean; readonly reason: string }
  | { readonly type: 'shutdown' };

export type Effect =
  | { readonly type: 'sendAdvert'; readonly claim: Claim }
  | { readonly type: 'addVip' }
  | { readonly type: 'removeVip' }
  | { readonly type: 'garp' }
  | { readonly type: 'runScript'; readonly script: 'up' | 'down' }
  | { readonly type: 'armTimer'; readonly timer: TimerName; readonly delayMs: number }
  | { readonly type: 'cancelTimer'; readonly timer: TimerName }
  | {
      readonly type: 'transition';
      readonly from: CarpState;
      readonly to: CarpState;
      readonly reason: string;
    }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn'; readonly message: string };

export interface MachineStatus {
  readonly state: CarpState;
  readonly linkUp: boolean;
  /** Held back by its sync group (a peer's link is down). */
  readonly groupHeld: boolean;
  /** What failing weights take off the claim (0: none), and the claim advertised with it. */
  readonly demotion: number;
  readonly claim: Claim;
  /** Waiting for a weight-0 check's first result before contending. */
  readonly healthPending: boolean;
  readonly steppingDown: boolean;
  readonly stopped: boolean;
  readonly advertisementIntervalMs: number;
  readonly masterDownIntervalMs: number;
  /** The address of the last master we heard, if any. */
  readonly lastMaster: string | undefined;
}

/**
 * Node's timers may call back up to a millisecond before the deadline measured on
 * performance.now(); a timer that fires this close is on time, earlier ones are re-armed.
 */
const TIMER_SLACK_MS = 1;

export class CarpMachine {
  private state: CarpState = 'INIT';
  private linkUp = true;
  private groupHeld = false;
  private stopped = false;
  private readonly deadlines = new Map<TimerName, number>();
  /** While an advert event is handled: when it arrived (the event's `at`). */
  private eventAt: number | undefined;
  /** Adverts still to send before the delayed gratuitous ARP; -1 when none is due. */
  private delayedGarpCountdown = -1;
  /** When the last valid advert arrived (or when listening began), for the master-down log line. */
  private listeningSince = 0;
  private lastAdvertAt: number | undefined;
  private lastMaster: string | undefined;
  /** Set between a master's bow-out and the end of our bow-out wait. */
  private bowedOut: { from: string; at: number } | undefined;
  private effects: Effect[] = [];
  /** The last master heard: VRRPv3 backups time out on its interval. */
  private lastMasterClaim: Claim | undefined;
  private readonly rules: ElectionRules;
  /** Sum of the failing weights of checks and tracked interfaces/files (0: healthy). */
  private demotion = 0;
  /** A weight-0 check has not reported yet: no claim until it has (no false FAULT, no blind claim at boot). */
  private healthPending = false;
  /** Preemption waits until this clock time (--preempt-delay after start and after FAULT). */
  private preemptAllowedAt = 0;

  constructor(
    private readonly config: MachineConfig,
    private readonly clock: Clock,
  ) {
    this.rules = config.rules;
  }

  /**
   * The claim this node advertises and elects with: the configured one, or demoted by failing
   * checks (CARP: a longer advskew, VRRP: a lower priority; rules.ts).
   */
  private get own(): Claim {
    return this.rules.claim(this.demotion);
  }

  get currentState(): CarpState {
    return this.state;
  }

  status(): MachineStatus {
    return {
      state: this.state,
      linkUp: this.linkUp,
      groupHeld: this.groupHeld,
      demotion: this.demotion,
      claim: this.own,
      healthPending: this.healthPending,
      steppingDown: this.deadlines.has('stepDownTimer'),
      stopped: this.stopped,
      advertisementIntervalMs: this.rules.advertIntervalMs(this.own),
      masterDownIntervalMs: this.rules.masterDownMs(this.own, this.lastMasterClaim),
      lastMaster: this.lastMaster,
    };
  }

  /**
   * A copy of this machine reading another clock: what an event would do, asked without doing
   * it (the vhost asks, in the master-down timer's last milliseconds, whether the timer will add
   * the VIPs). The copy shares nothing that either of them changes.
   */
  fork(clock: Clock): CarpMachine {
    const copy = Object.assign(Object.create(CarpMachine.prototype) as CarpMachine, this);
    const own = copy as unknown as { clock: Clock; deadlines: Map<TimerName, number>; effects: Effect[] };
    own.clock = clock;
    own.deadlines = new Map(this.deadlines);
    own.effects = [];
    return copy;
  }

  /** Absolute deadline (clock ms) of an armed timer, for tests and status. */
  deadline(timer: TimerName): number | undefined {
    return this.deadlines.get(timer);
  }

  handle(event: MachineEvent): Effect[] {
    this.effects = [];
    if (this.stopped) return this.effects;
    switch (event.type) {
      case 'start':
        this.onStart(event.linkUp);
        break;
      case 'advert':
        // Never a reading from the future: a bad one only shortens nothing.
        this.eventAt = event.at !== undefined ? Math.min(event.at, this.clock.now()) : undefined;
        try {
          this.onAdvert(event);
        } finally {
          this.eventAt = undefined;
        }
        break;
      case 'timer':
        this.onTimer(event.timer);
        break;
      case 'link':
        this.onLink(event.up);
        break;
      case 'stepDown':
        this.onStepDown(event.reason ?? 'step-down requested (SIGUSR2)');
        break;
      case 'vipAddFailed':
        if (this.state === 'MASTER') this.onStepDown(event.reason);
        break;
      case 'groupMaster':
        this.onGroupMaster(event.reason);
        break;
      case 'groupBackup':
        if (this.state === 'MASTER') {
          this.setState('BACKUP', event.reason);
          this.setRun();
        }
        break;
      case 'groupHold':
        this.onGroupHold(event.held, event.reason);
        break;
      case 'health':
        this.onHealth(event);
        break;
      case 'shutdown':
        this.onShutdown();
        break;
    }
    return this.effects;
  }

  // ---- event handlers -------------------------------------------------------------------

  private onStart(linkUp: boolean): void {
    if (this.state !== 'INIT') return;
    this.linkUp = linkUp;
    this.preemptAllowedAt = this.clock.now() + (this.config.preemptDelayMs ?? 0);
    // VRRP's address owner with keepalived's `state MASTER` takes over at once (RFC 5798
    // 6.4.1; keepalived treats `state MASTER` of any other priority as BACKUP, and so does
    // carpd); a better master heard afterwards still wins the election.
    if (linkUp && !this.healthPending && this.rules.owner && this.config.initialMaster === true) {
      this.becomeMaster('start: address owner (priority 255) in initial state MASTER');
      return;
    }
    // As in ucarp, INIT lasts no time: a node starts as BACKUP and must hear nothing for a
    // whole master-down interval before it claims the address.
    this.setState('BACKUP', linkUp ? 'start' : 'start, link down: waiting for carrier');
    this.setRun();
  }

  private onAdvert(ad: Extract<MachineEvent, { type: 'advert' }>): void {
    if (!this.linkUp || this.state === 'INIT') return;
    if (this.state === 'FAULT') {
      // Out of the election until healthy again; status still names the master.
      this.lastMaster = ad.src;
      return;
    }
    const now = this.clock.now();
    const theirs = ad.claim;
    const rules = this.rules;
    const describe = (c: Claim): string => rules.describe(c);

    if (this.state === 'MASTER') {
      if (rules.isBowOut(theirs)) {
        this.log('debug', `master ${ad.src} bowed out; we stay MASTER`);
        // VRRP: a master hearing priority 0 advertises at once (RFC 5798 6.4.3), so backups
        // that were about to claim after their skew time hear that a master is still here.
        if (rules.reassertWith === 'advert') this.sendAdvert(this.own);
        return;
      }
      const verdict = rules.judgeRival(this.own, this.config.srcAddress, theirs, ad.srcAddress);
      if (verdict === MasterVerdict.Yield) {
        this.lastAdvertAt = now;
        this.lastMaster = ad.src;
        this.lastMasterClaim = theirs;
        // As ucarp does: one more advert so the preferred master knows it must (re)assert
        // itself, then step back. keepalived yields silently, and so does carpd under VRRP (the
        // winner would only answer it with an advert and gratuitous ARP).
        if (rules.reassertWith === 'garp') this.sendAdvert(this.own);
        this.setState('BACKUP', `preferred master ${ad.src} advertised ${describe(theirs)}`);
        this.setRun();
      } else if (rules.reassertWith === 'advert') {
        // VRRP, as keepalived does: answer a weaker master with an advert at once (it yields on
        // it) and re-announce the VIPs, now and a couple of adverts later.
        this.log('warn', `non-preferred master ${ad.src} advertising ${describe(theirs)}: advertising at once, re-sending gratuitous ARP`);
        this.sendAdvert(this.own);
        this.effects.push({ type: 'garp' });
        this.scheduleDelayedGarp();
      } else {
        // As ucarp does, a master that hears a slower master re-announces the VIP, now and
        // again a couple of adverts later, so clients that followed the other one come back.
        this.log('warn', `non-preferred master ${ad.src} advertising ${describe(theirs)}: re-sending gratuitous ARP`);
        this.effects.push({ type: 'garp' });
        this.scheduleDelayedGarp();
      }
      return;
    }

    // BACKUP
    this.lastAdvertAt = now;
    this.lastMaster = ad.src;
    if (!rules.isBowOut(theirs)) this.lastMasterClaim = theirs;
    if (this.deadlines.has('stepDownTimer') || this.groupHeld) {
      // Stepping down on request, or held by the group: hear the master but do not contend.
      return;
    }
    if (this.healthPending) {
      this.setRun();
      return;
    }
    const preempt = this.config.preempt && now >= this.preemptAllowedAt;
    const verdict = rules.judgeMaster(this.own, preempt, theirs);
    switch (verdict) {
      case BackupVerdict.Preempt:
        this.becomeMaster(`preempting ${rules.protocol === 'carp' ? 'slower' : 'lower-priority'} master ${ad.src} ${describe(theirs)}`);
        break;
      case BackupVerdict.MasterTimingOut:
        this.becomeMaster(`master ${ad.src} advertises too slowly ${describe(theirs)}`);
        break;
      case BackupVerdict.BowOut: {
        const delayMs = rules.bowOutDelayMs(this.own, this.lastMasterClaim ?? theirs);
        if (delayMs === 0) {
          this.becomeMaster(`master ${ad.src} bowed out`);
        } else {
          // The master-down timer, shortened to our bow-out wait: a better backup that claims
          // first will be heard before it fires, and that advert re-arms it in full.
          this.bowedOut = { from: ad.src, at: now };
          this.cancel('advertTimer');
          this.arm('masterDownTimer', delayMs);
        }
        break;
      }
      case BackupVerdict.Follow:
        this.setRun();
        break;
    }
  }

  private onTimer(timer: TimerName): void {
    const due = this.deadlines.get(timer);
    if (due === undefined) return; // cancelled after the shell's timer was already queued
    const now = this.clock.now();
    if (now + TIMER_SLACK_MS < due) {
      this.arm(timer, due - now);
      return;
    }
    this.deadlines.delete(timer);
    switch (timer) {
      case 'advertTimer':
        if (this.state !== 'MASTER') return;
        this.sendAdvert(this.own);
        if (this.delayedGarpCountdown > 0 && --this.delayedGarpCountdown === 0) {
          this.effects.push({ type: 'garp' });
          this.delayedGarpCountdown = -1;
        }
        // The next advert is due one interval after this one was due, not after it went out:
        // re-arming from "now" would add each firing's lateness to every later advert (a busy
        // host drifted 1-3 ms per second). A firing that is already a whole interval late
        // starts the beat again from now rather than sending a burst to catch up.
        this.arm('advertTimer', Math.max(0, due + this.rules.advertIntervalMs(this.own) - now));
        break;
      case 'masterDownTimer': {
        if (this.state !== 'BACKUP') return;
        if (this.healthPending) {
          // Nobody advertises, but our service has not been checked yet: claiming now could
          // take the VIP to a dead service. Listen on; the first result decides.
          this.log('info', 'no master heard, but waiting for the first check result before claiming');
          this.setRun();
          return;
        }
        const silentFor = now - (this.lastAdvertAt ?? this.listeningSince);
        const reason = this.bowedOut
          ? `master ${this.bowedOut.from} bowed out; no better backup claimed within ${Math.round(now - this.bowedOut.at)} ms`
          : this.lastAdvertAt === undefined
            ? `no master heard for ${formatSeconds(silentFor)}`
            : `master down: no advert for ${formatSeconds(silentFor)}`;
        this.bowedOut = undefined;
        this.becomeMaster(reason);
        break;
      }
      case 'stepDownTimer':
        this.log('info', 'step-down hold over: listening for a master again');
        this.setRun();
        break;
      case 'garpTimer':
        // As keepalived: the second announcement only if still MASTER.
        if (this.state === 'MASTER') this.effects.push({ type: 'garp' });
        break;
    }
  }

  private onLink(up: boolean): void {
    if (up === this.linkUp) return;
    this.linkUp = up;
    if (!up) {
      // ucarp goes BACKUP and sleeps 10 s per check; we drop the VIP at once and wait for
      // the link event that brings carrier back.
      if (this.state === 'MASTER') this.setState('BACKUP', 'link down: lost carrier');
      else this.log('warn', 'link down: lost carrier, waiting for it to return');
      this.cancelAll();
      return;
    }
    this.log('info', 'link up: carrier back, listening for a master');
    this.setRun();
  }

  private onGroupMaster(reason: string): void {
    // A vhost that cannot advertise (link down), is held or is stepping down on request stays
    // out; the others follow at once rather than after their own master-down interval.
    if (this.state !== 'BACKUP' || !this.linkUp || this.groupHeld || this.healthPending || this.deadlines.has('stepDownTimer')) return;
    this.becomeMaster(reason);
  }

  private onHealth(e: Extract<MachineEvent, { type: 'health' }>): void {
    const before = this.own;
    this.demotion = e.demotion;
    const wasPending = this.healthPending;
    this.healthPending = e.pending;
    if (e.fault) {
      if (this.state === 'FAULT' || this.state === 'INIT') return;
      if (this.state === 'MASTER' && this.linkUp) {
        // As on a clean stop: backups (ucarp included) take over without waiting for the
        // master-down interval.
        this.sendAdvert(this.rules.bowOut(this.own));
      }
      this.setState('FAULT', e.reason);
      this.cancelAll();
      return;
    }
    if (this.state === 'FAULT') {
      this.preemptAllowedAt = this.clock.now() + (this.config.preemptDelayMs ?? 0);
      this.setState('BACKUP', e.reason);
      this.setRun();
      return;
    }
    const after = this.own;
    if (this.rules.describe(after) !== this.rules.describe(before)) {
      this.log('info', `advertising ${this.rules.describeDemoted(this.demotion)}: ${e.reason}`);
      // As FreeBSD's carp_demote_adj: advertise the new timing at once, so a preempting backup
      // takes over now rather than at our next advert.
      if (this.state === 'MASTER' && this.linkUp) this.sendAdvert(this.own);
    }
    if (wasPending && !this.healthPending && this.state === 'BACKUP') this.log('info', `${e.reason}: contending`);
  }

  private onGroupHold(held: boolean, reason: string): void {
    if (held === this.groupHeld) return;
    this.groupHeld = held;
    if (held) {
      if (this.state === 'MASTER') this.setState('BACKUP', reason);
      else this.log('info', `${reason}: not contending`);
      this.cancelAll();
      return;
    }
    this.log('info', `${reason}: listening for a master again`);
    this.setRun();
  }

  private onStepDown(reason: string): void {
    if (this.state !== 'MASTER') {
      this.log('info', `step-down requested but state is ${this.state}: nothing to do`);
      return;
    }
    // Unlike ucarp (which freezes for 3 s), bow out so a backup takes over at once, and keep
    // serving events during the hold.
    this.sendAdvert(this.rules.bowOut(this.own));
    this.setState('BACKUP', reason);
    this.cancelAll();
    this.arm('stepDownTimer', STEP_DOWN_HOLD_MS);
  }

  private onShutdown(): void {
    const wasMaster = this.state === 'MASTER';
    const bowOut = wasMaster && this.linkUp;
    if (bowOut) {
      // OpenBSD's bow-out (VRRP: priority 0): backups, ucarp and keepalived included, take
      // over without waiting for the master-down timer.
      this.sendAdvert(this.rules.bowOut(this.own));
    }
    this.cancelAll();
    this.effects.push({ type: 'removeVip' });
    if (wasMaster && this.config.downScriptOnExit) this.effects.push({ type: 'runScript', script: 'down' });
    if (this.state === 'INIT') {
      this.log('info', 'shutdown before the election started');
    } else {
      this.effects.push({
        type: 'transition',
        from: this.state,
        to: 'INIT',
        reason: bowOut ? 'shutdown: bow-out advert sent, releasing the VIP' : wasMaster ? 'shutdown: releasing the VIP' : 'shutdown',
      });
    }
    this.state = 'INIT';
    this.stopped = true;
  }

  // ---- the one place that changes state, the one place that arms protocol timers --------

  private setState(to: CarpState, reason: string): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    if (from === 'MASTER') this.cancel('garpTimer');
    this.effects.push({ type: 'transition', from, to, reason });
    if (to === 'MASTER') {
      this.effects.push({ type: 'addVip' }, { type: 'garp' }, { type: 'runScript', script: 'up' });
    } else if (to === 'FAULT') {
      this.delayedGarpCountdown = -1;
      // ucarp's meaning of the down-script: "no longer MASTER".
      if (from === 'MASTER') this.effects.push({ type: 'removeVip' }, { type: 'runScript', script: 'down' });
    } else if (to === 'BACKUP') {
      this.delayedGarpCountdown = -1;
      if (from === 'MASTER') {
        this.effects.push({ type: 'removeVip' }, { type: 'runScript', script: 'down' });
      } else if (from === 'INIT' && !this.config.neutral) {
        // ucarp runs the down-script on the INIT -> BACKUP entry too, unless --neutral.
        this.effects.push({ type: 'runScript', script: 'down' });
      }
    }
  }

  /** Arms the timer the current state runs on (ip_carp.c's carp_setrun). */
  private setRun(): void {
    if (!this.linkUp || this.groupHeld || this.state === 'FAULT') return;
    if (this.state === 'MASTER') {
      this.cancel('masterDownTimer');
      this.arm('advertTimer', beatDelayMs(this.clock.now(), this.rules.advertIntervalMs(this.own)));
    } else if (this.state === 'BACKUP') {
      this.cancel('advertTimer');
      this.bowedOut = undefined;
      this.listeningSince = this.clock.now();
      this.arm('masterDownTimer', this.rules.masterDownMs(this.own, this.lastMasterClaim));
    }
  }

  private becomeMaster(reason: string): void {
    // The advert goes out before anything slow (ip addr, arping, scripts) so the other
    // nodes hear the new master as early as possible.
    this.sendAdvert(this.own);
    this.setState('MASTER', reason);
    this.scheduleDelayedGarp();
    this.setRun();
  }

  /** The second announcement: ucarp's two adverts later, or keepalived's fixed delay. */
  private scheduleDelayedGarp(): void {
    const delayMs = this.config.delayedGarpMs;
    if (delayMs === undefined) {
      this.delayedGarpCountdown = DELAYED_GARP_ADVERTS;
    } else if (delayMs > 0) {
      this.arm('garpTimer', delayMs);
    }
  }

  private sendAdvert(claim: Claim): void {
    this.effects.push({ type: 'sendAdvert', claim });
  }

  private arm(timer: TimerName, delayMs: number): void {
    const now = this.clock.now();
    // Started by an advert: from its arrival (see the advert event's `at`).
    const deadline = (this.eventAt ?? now) + delayMs;
    this.deadlines.set(timer, deadline);
    this.effects.push({ type: 'armTimer', timer, delayMs: Math.max(0, deadline - now) });
  }

  private cancel(timer: TimerName): void {
    if (this.deadlines.delete(timer)) this.effects.push({ type: 'cancelTimer', timer });
  }

  private cancelAll(): void {
    for (const timer of TIMER_NAMES) this.cancel(timer);
  }

  private log(level: 'debug' | 'info' | 'warn', message: string): void {
    this.effects.push({ type: 'log', level, message });
  }
}

/** A beat starts on one of this many phases per interval (see beatDelayMs). */
export const BEAT_PHASES = 8;

/**
 * When a new MASTER's second advert is due: on a grid of 1/8 of its interval on the clock, and
 * 7/8 to 8/8 of an interval after the first. As every later advert follows one interval after
 * the previous was due, all vhosts of a process with the same timing advertise on at most 8
 * phases per interval, in the same turns of the event loop. A hundred timers with scattered
 * phases wake an idle process a hundred times a second, and the wake-ups, not the adverts, were
 * most of its idle CPU (a bare Node script with 100 scattered 1 s timers: 1020 ms of CPU a
 * minute; aligned: 180). The first interval is never longer than the interval, so no backup's
 * master-down timer (deadratio 1 included) can expire because of it, and never shorter than 7/8
 * of it.
 */
export function beatDelayMs(now: number, intervalMs: number): number {
  return intervalMs - (now % (intervalMs / BEAT_PHASES));
}

/**
 * Runs a throwaway machine with this configuration through a takeover and a clean stop, and
 * returns the transitions it made. Nothing leaves it: it exists so that the machine's takeover
 * and shutdown code has run once before a real vhost needs it. carpd's bytecode is compiled at
 * load (--no-lazy), but the inline caches of code that never ran hold no type feedback yet, and
 * their first runs take the slow path: measured with marks in the bundle, a vhost's first
 * master-down timer spent 0.1 ms in handle() (its steady adverts 0.03), between the timer and
 * the VIP that the LAN waits for.
 */
export function rehearseMachine(config: MachineConfig): string[] {
  const clock = new ManualClock(0);
  // A copy: the spread reads srcAddress (a getter in the vhost) once, at the rehearsal.
  const machine = new CarpMachine({ ...config }, clock);
  const transitions: string[] = [];
  const run = (event: MachineEvent): void => {
    for (const e of machine.handle(event)) if (e.type === 'transition') transitions.push(`${e.from}->${e.to}`);
  };
  run({ type: 'start', linkUp: true });
  // Past any preempt delay and master-down interval: the timer a silent master lets fire.
  clock.advance(3_600_000);
  if (machine.currentState === 'BACKUP') run({ type: 'timer', timer: 'masterDownTimer' });
  clock.advance(1_000);
  run({ type: 'timer', timer: 'advertTimer' });
  run({ type: 'shutdown' });
  return transitions;
}

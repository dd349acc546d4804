/**
 * One virtual host: a vhid on an interface with its VIPs. It owns its state machine, its
 * advert counter, its statistics and its own ordered queue of host actions, and it carries out
 * the effects its machine returns. It decides nothing about the election; everything it touches
 * outside itself goes through ports (lib/daemon/ports.ts), so the simulation runs this code too.
 */
import { sourceFromLink, vhostFamily, type VhostConfig } from '../config.js';
import type { TrackSnapshot, TransitionRecord, VhostSnapshot, VhostState } from '../control/types.js';
import { errorText } from '../errors.js';
import type { ScriptKind, ScriptOutcome } from '../host/scripts.js';
import type { Logger, RateLimitedLog } from '../log.js';
import { addressKey, formatVip, type IpAddress, type VipAddress } from '../net/address.js';
import { DROP_REASONS, DropCounters, type DropReason, type LinkAccepted } from '../protocol/checks.js';
import { AdvertCounter } from '../protocol/counter.js';
import { ReplayGuard, senderIdOfIpv4, TimedCounter } from '../protocol/replay.js';
import { vhostWire, type VhostWire } from '../protocol/wire.js';
import type { Clock } from '../state/clock.js';
import { CarpMachine, rehearseMachine, type Claim, type Effect, type MachineConfig, type MachineEvent, type TimerName } from '../state/machine.js';
import { carpRules, isVrrpClaim, vrrpRules, type ElectionRules } from '../state/rules.js';
import type { AdvertPort, HostPort, TimerPort } from './ports.js';

/** Drop reasons that are normal on a shared segment and only interesting with --debug. */
export const QUIET_DROPS: ReadonlySet<DropReason> = new Set(['own-packet', 'other-vhid', 'other-group', 'not-carp']);

/** Events a sync group sends; the transitions they cause are not passed back to the group. */
const GROUP_EVENTS: ReadonlySet<MachineEvent['type']> = new Set(['groupMaster', 'groupBackup', 'groupHold']);

/** Adverts encoded ahead of need, for the claim and source they were encoded with. */
interface PreparedAdvert {
  readonly claim: Claim;
  readonly src: number | bigint;
  readonly datagrams: readonly Buffer[];
}

function sameClaim(a: Claim, b: Claim): boolean {
  if (isVrrpClaim(a) || isVrrpClaim(b)) return isVrrpClaim(a) && isVrrpClaim(b) && a.priority === b.priority && a.intervalCs === b.intervalCs;
  return a.advbase === b.advbase && a.advskew === b.advskew;
}

/**
 * On a takeover, what comes first, in this order: the VIP (what the users' traffic needs), the
 * advert (what the peers need), the gratuitous ARPs (what the LAN needs; after the advert, as
 * RFC 3768 6.4.2 and RFC 5798 6.4.2 order them).
 */
const URGENT_ORDER: readonly Effect['type'][] = ['addVip', 'sendAdvert', 'garp'];

/**
 * The effects with the urgent ones first (URGENT_ORDER; each kind in the machine's order), the
 * rest in the machine's order. keepalived sends its advert, then adds the VIP (0.2 ms later),
 * then its ARPs, and only then writes its log line and runs notify scripts. Applied in the
 * machine's order, carpd's log line, notify and group work came between the advert and the VIP
 * (0.5 ms, bench:vrrp); with the advert first, the send still stood between the timer and the
 * VIP (0.2-0.4 ms). The VIP first costs the peers nothing: a netlink add is some 0.1 ms, and a
 * peer acts on an advert in whole intervals, not microseconds. The RFCs' order of advert before
 * ARP is kept.
 */
function urgentFirst(effects: readonly Effect[]): readonly Effect[] {
  if (!effects.some((e) => e.type === 'addVip')) return effects;
  const out: Effect[] = [];
  for (const type of URGENT_ORDER) for (const e of effects) if (e.type === type) out.push(e);
  for (const e of effects) if (!URGENT_ORDER.includes(e.type)) out.push(e);
  return out;
}

export interface VhostPorts {
  readonly clock: Clock;
  readonly timers: TimerPort;
  readonly host: HostPort;
  /** The link's socket; undefined while it is closed (interface re-created, not yet reopened). */
  readonly adverts: () => AdvertPort | undefined;
  /** Lines of this vhost (already named, for a sectioned config). */
  readonly log: Logger;
  /** --debug: only then are the per-packet lines built at all (a hundred vhosts send 100/s). */
  readonly debug?: boolean;
  readonly limited: RateLimitedLog;
  /** Wall-clock ms, for `since` and transition times in status output and --replay-protect's counter (never for timers). */
  readonly wallClock: () => number;
  /** A random 64-bit starting counter and 16-bit IP ids (injected so tests are repeatable). */
  readonly randomCounter: () => bigint;
  readonly randomIpId: () => number;
  /** The machine threw: a bug. The process gives every VIP up and exits 70. */
  readonly onInternalError: (message: string) => void;
  /** A transition of this vhost's own making (not one its group caused). */
  readonly onOwnTransition?: (vhost: VirtualHost, from: VhostState, to: VhostState, reason: string) => void;
  /** Its link went down or came back as the machine sees it. */
  readonly onAbilityChange?: (vhost: VirtualHost, able: boolean) => void;
}

export class VirtualHost {
  readonly machine: CarpMachine;
  private readonly machineConfig: MachineConfig;
  private readonly counter: AdvertCounter;
  /** --replay-protect: our counter comes from here instead, and received ones are checked. */
  private readonly replay: { readonly counter: TimedCounter; readonly guard: ReplayGuard } | undefined;
  private readonly drops = new DropCounters();
  private readonly wire: VhostWire;
  readonly rules: ElectionRules;
  /** Senders whose VIP list differs from ours, each logged once (as keepalived does). */
  private readonly mismatchLogged = new Set<string>();
  private readonly timers = new Map<TimerName, unknown>();
  /** VIP, ARP and script work runs one step at a time, in the order the machine asked. */
  private hostQueue: Promise<unknown> = Promise.resolve();
  /** Tasks queued on hostQueue and not yet settled. */
  private hostPending = 0;
  /** The last addVip effect's VIPs were added in its own turn (addVipsNow). */
  private vipsAddedNow = false;
  /** The takeover's advert, encoded while the master-down timer ran out (rehearseTakeover). */
  private prepared: PreparedAdvert | undefined;
  /** The guardian was told of our VIPs in the master-down timer's last milliseconds (holdAhead). */
  private heldAhead = false;
  /** A VRRP MASTER's bow-out (priority 0), encoded when it became MASTER: a stop sends it at once. */
  private preparedBowOut: PreparedAdvert | undefined;
  private readonly pendingGarps = new Set<Promise<boolean>>();
  private advertsSent = 0;
  /** The advert being sent now, if any (never rejects: sendAdvert catches). */
  private lastSend: Promise<void> = Promise.resolve();
  /** Events dispatched so far: what a forked machine said stays true while this has not moved. */
  private dispatches = 0;
  /** A fork of the machine said the master-down timer will add our VIPs: when, and at which `dispatches`. */
  private takeoverForeseen: { readonly due: number; readonly dispatches: number } | undefined;
  /** The VIPs were added as the timer fired, before the machine ran (addAheadOfMachine). */
  private vipsAddedAhead = false;
  private advertsReceived = 0;
  private sendErrors = 0;
  private otherMasterHeard = 0;
  private readonly transitionCounts = new Map<string, number>();
  private readonly scriptCounts: Record<ScriptOutcome, number> = { ok: 0, failed: 0, timeout: 0, error: 0 };
  private lastTransition: TransitionRecord | null = null;
  private since: number;
  private lastAbility = true;
  private stopped = false;
  /** The last VIP change queued: a removal after a removal would only repeat it. */
  private lastVipChange: 'add' | 'remove' | undefined;

  constructor(
    readonly config: VhostConfig,
    private readonly ports: VhostPorts,
  ) {
    this.since = ports.wallClock();
    this.counter = new AdvertCounter(ports.randomCounter());
    this.replay = config.replayProtect ? { counter: new TimedCounter(senderIdOfIpv4(addressKey(config.srcip))), guard: new ReplayGuard() } : undefined;
    this.rules =
      config.protocol === 'carp'
        ? carpRules({ advbase: config.advbase, advskew: config.advskew, deadratio: config.deadratio })
        : vrrpRules({ version: config.protocol === 'vrrp3' ? 3 : 2, priority: config.priority, intervalCs: config.advertIntCs });
    // Read at each tie-break: an IPv6 vhost's source is the link-local address its link finds.
    const source = (): number | bigint => addressKey(this.source() ?? config.srcip);
    this.machineConfig = {
      get srcAddress() {
        return source();
      },
      rules: this.rules,
      preempt: config.preempt,
      initialMaster: config.initialMaster,
      neutral: config.neutral,
      downScriptOnExit: config.shutdown,
      preemptDelayMs: config.preemptDelayMs,
      ...(config.garpDelayMs !== undefined ? { delayedGarpMs: config.garpDelayMs } : {}),
    };
    this.machine = new CarpMachine(this.machineConfig, ports.clock);
    this.wire = vhostWire({ ...config, family: vhostFamily(config) });
    this.hostVips = Object.freeze([...config.vips, ...config.excludedVips]);
  }

  /** What the host moves: the advertised VIPs and keepalived's excluded ones. */
  private readonly hostVips: readonly VipAddress[];

  get name(): string {
    return this.config.name;
  }

  get state(): VhostState {
    return this.machine.currentState;
  }

  /** Removes VIPs a crashed run left behind (they would answer ARP beside the real master's). */
  async removeStaleVips(): Promise<void> {
    if (!this.config.manageVip) return;
    for (const vip of this.hostVips) {
      const removed = await this.ports.host.removeStale(vip);
      if (removed > 0) this.ports.log.warn(`removed ${vip.address.text} left on ${this.config.interface} by an earlier run`);
    }
  }

  start(linkUp: boolean): void {
    this.lastAbility = linkUp;
    this.dispatch({ type: 'start', linkUp });
    try {
      rehearseMachine(this.machineConfig);
    } catch (error) {
      // Only a rehearsal, on a machine of its own: the real one reports whatever is wrong.
      this.ports.log.debug(`machine rehearsal: ${errorText(error)}`);
    }
    this.rehearseTakeover();
  }

  /**
   * Runs, without sending or changing anything, the code a takeover runs: encoding our advert
   * and the host side's preparation (VipManager, netlink message, ARP frame). A takeover is the
   * one moment carpd must be quick and a path it has rarely or never run: measured by
   * bench:vrrp, that code's first run cost about 3 ms between the master-down timer and the VIP
   * (V8 runs a function's first calls slowly, gathering its type feedback), and even warm, on
   * caches gone cold while the backup slept, a millisecond, where keepalived needs 0.4. So it
   * runs once at start, and again in the master-down timer's last milliseconds (`keep`): then the VRRP
   * advert it encodes is the one sent, should the timer fire with the same claim.
   */
  private rehearseTakeover(keep = false): void {
    try {
      const src = this.source();
      if (src !== undefined) {
        const claim = this.machine.status().claim;
        const datagrams = this.destinations().map((dst) => this.wire.encode(claim, dst, keep ? this.ports.randomIpId() : 0, 0n, src));
        // A VRRP advert holds no counter: the one encoded now is the one to send, if the claim
        // and source are still the same when the timer fires (CARP's counter is taken at send).
        this.prepared = keep && this.config.protocol !== 'carp' ? { claim, src: addressKey(src), datagrams } : undefined;
      }
      if (this.config.manageVip) {
        this.ports.host.prepare?.(this.hostVips);
        if (keep && this.ports.host.holdAhead !== undefined) {
          this.ports.host.holdAhead(this.hostVips);
          this.heldAhead = true;
        }
        if (keep) this.foreseeTakeover();
      }
    } catch (error) {
      // Only a rehearsal: the takeover itself reports whatever is wrong.
      this.ports.log.debug(`takeover rehearsal: ${errorText(error)}`);
    }
  }

  // ---- inputs ---------------------------------------------------------------------------

  dispatch(event: MachineEvent): void {
    this.dispatches++;
    let effects: Effect[];
    try {
      effects = this.machine.handle(event);
    } catch (error) {
      // The machine is pure and total; reaching this is a bug, and the safe reaction is to
      // give the address up rather than keep running in an unknown state.
      this.ports.onInternalError(`internal error handling ${event.type} in ${this.name}: ${errorText(error)}`);
      return;
    }
    const own = !GROUP_EVENTS.has(event.type);
    for (const effect of urgentFirst(effects)) {
      this.apply(effect);
      if (effect.type === 'transition' && own && effect.to !== 'INIT') {
        this.ports.onOwnTransition?.(this, effect.from, effect.to, effect.reason);
      }
    }
    // A vhost in FAULT holds its group back as one whose link is down does.
    const status = this.machine.status();
    const able = status.linkUp && status.state !== 'FAULT';
    if (able !== this.lastAbility && !this.stopped) {
      this.lastAbility = able;
      this.ports.onAbilityChange?.(this, able);
    }
  }

  /**
   * An advert for our vhid that passed the link's checks, `at` the clock's reading when it
   * came in. Nothing it carries may escape.
   */
  receive(accepted: LinkAccepted, at?: number): void {
    try {
      const result = this.wire.check(accepted);
      if (!result.ok) {
        this.countDrop(result.reason, accepted.ip.src, result.detail);
        return;
      }
      if (this.replay !== undefined && result.counter !== undefined) {
        // --replay-protect: a valid digest is not enough, the counter must be new (replay.ts).
        const replayed = this.replay.guard.admit(result.srcInt, result.counter);
        if (replayed !== undefined) {
          this.countDrop('replayed', accepted.ip.src, replayed.detail);
          return;
        }
      } else if (result.counter !== undefined) {
        // As ucarp does: adopt the sender's counter (there is no replay protection in ucarp's
        // CARP, and counters that move together keep mixed groups consistent).
        this.counter.adopt(result.counter);
      }
      this.advertsReceived++;
      if (result.addressMismatch !== undefined && !this.mismatchLogged.has(result.src) && this.mismatchLogged.size < 64) {
        // keepalived accepts such an advert and says so; once per sender is enough.
        this.mismatchLogged.add(result.src);
        this.ports.log.warn(`${result.src} ${result.addressMismatch}: check virtual_ipaddress / --addr on both nodes`);
      }
      if (this.machine.currentState === 'MASTER' && !this.rules.isBowOut(result.claim)) this.otherMasterHeard++;
      if (this.ports.debug === true) this.ports.log.debug(result.describe());
      // Its timers run from its arrival, not from the end of its checks (keepalived's C checks
      // take µs; ours a few hundred on a cold cache).
      this.dispatch({ type: 'advert', src: result.src, srcAddress: result.srcInt, claim: result.claim, ...(at !== undefined ? { at } : {}) });
    } catch (error) {
      this.ports.limited.warn('datagram-handler', `error handling a datagram: ${errorText(error)}`);
    }
  }

  private countDrop(reason: DropReason, src: string, detail: string): void {
    this.drops.increment(reason);
    if (QUIET_DROPS.has(reason)) {
      this.ports.log.debug(`dropped advert: ${reason}: ${detail}`);
    } else {
      // One window per reason, whatever the packet holds; the summary names a few senders.
      this.ports.limited.drop(reason, src, detail);
    }
  }

  /** Counts a script run's outcome (the host port reports it). */
  recordScript(_kind: ScriptKind, outcome: ScriptOutcome): void {
    this.scriptCounts[outcome]++;
  }

  // ---- effects --------------------------------------------------------------------------

  private apply(effect: Effect): void {
    const c = this.config;
    const host = this.ports.host;
    switch (effect.type) {
      case 'sendAdvert':
        this.lastSend = this.sendAdvert(effect.claim);
        break;
      case 'addVip': {
        // The VIPs held ahead are now held for real.
        const heldAhead = this.heldAhead;
        this.heldAhead = false;
        if (c.manageVip) {
          this.lastVipChange = 'add';
          if (this.vipsAddedAhead) {
            // Added as the timer fired, a moment ago (addAheadOfMachine).
            this.vipsAddedAhead = false;
            break;
          }
          if (this.addVipsNow(heldAhead)) break;
          this.onHostQueue(async () => {
            const failed: string[] = [];
            for (const vip of this.hostVips) if (!(await host.addVip(vip))) failed.push(vip.address.text);
            // The machine decides what a MASTER without its address does.
            if (failed.length > 0) this.dispatch({ type: 'vipAddFailed', reason: `cannot add ${failed.join(', ')} to ${c.interface}` });
          });
        }
        break;
      }
      case 'removeVip':
        if (c.manageVip) this.queueVipRemoval();
        break;
      case 'garp':
        if (c.manageVip) {
          // Right after VIPs added in this very turn (addVipsNow); else after the queued `ip addr
          // add` (arping binds to the VIP).
          if (this.vipsAddedNow && this.hostPending === 0) this.startGarps();
          else this.onHostQueue(async () => this.startGarps());
        } else {
          // The up-script adds the address (ucarp style): announce it once the script is done.
          this.onHostQueue(async () => {
            await host.scriptsIdle();
            if (this.machine.currentState === 'MASTER') this.startGarps();
          });
        }
        break;
      case 'runScript': {
        const script = effect.script === 'up' ? c.upscript : c.downscript;
        // ucarp's arguments: interface, the (first) VIP, xparam. The other VIPs are in the
        // environment (CARPD_VIPS).
        const args = [c.interface, c.vips[0]!.address.text, ...(c.xparam !== undefined ? [c.xparam] : [])];
        // Requested even without a script: a missing up-script still cancels a queued down.
        const request = () => host.requestScript(effect.script, script, args);
        // After the VIP change it follows, so an up-script finds the address in place.
        if (c.manageVip) this.onHostQueue(async () => request());
        else request();
        break;
      }
      case 'armTimer': {
        this.clearTimer(effect.timer);
        // The master-down timer (skew time after a bow-out included) ends the wait before a
        // takeover: exact, so the backup's figure is the protocol's, not Node's rounding. It
        // runs to the machine's deadline, not for the effect's delay from now: the effects
        // before this one took time (50 µs after an advert, bench:vrrp marks) that is not the wait's.
        const due = this.machine.deadline(effect.timer);
        const handle = this.ports.timers.set(
          due === undefined ? effect.delayMs : Math.max(0, due - this.ports.clock.now()),
          () => {
            this.timers.delete(effect.timer);
            if (effect.timer === 'masterDownTimer') this.addAheadOfMachine();
            this.dispatch({ type: 'timer', timer: effect.timer });
            if (this.vipsAddedAhead) {
              // The machine did not take over after all (never seen: the fork said it would).
              this.vipsAddedAhead = false;
              this.ports.log.warn(`master-down timer: ${this.hostVips.map((v) => v.address.text).join(', ')} added ahead of a takeover that did not come; removing`);
              this.queueVipRemoval();
            }
            // Fired without a takeover (a held group, say): what was held ahead goes again.
            if (effect.timer === 'masterDownTimer' && this.heldAhead) {
              this.heldAhead = false;
              this.ports.host.releaseAhead?.(this.hostVips);
            }
          },
          effect.timer === 'masterDownTimer' ? { soon: () => this.rehearseTakeover(true) } : undefined,
        );
        this.timers.set(effect.timer, handle);
        break;
      }
      case 'cancelTimer':
        this.clearTimer(effect.timer);
        break;
      case 'transition': {
        this.preparedBowOut = effect.to === 'MASTER' ? this.prepareBowOut() : undefined;
        this.ports.log.warn(`${effect.from} -> ${effect.to} (${effect.reason})`);
        const kind = `${effect.from}->${effect.to}`;
        this.transitionCounts.set(kind, (this.transitionCounts.get(kind) ?? 0) + 1);
        this.since = this.ports.wallClock();
        this.lastTransition = { from: effect.from, to: effect.to, reason: effect.reason, at: new Date(this.since).toISOString() };
        // Every state change; INIT at the end is STOP.
        const state = effect.to === 'INIT' ? 'STOP' : effect.to;
        const notifyEnv = { CARPD_STATE: state, CARPD_PREVIOUS_STATE: effect.from, CARPD_REASON: effect.reason };
        if (c.notify !== undefined) {
          const args = [state, c.interface, c.vips[0]!.address.text, ...(c.xparam !== undefined ? [c.xparam] : [])];
          host.notify(c.notify, args, notifyEnv);
        }
        // keepalived's notify_<state> (its words only), then its notify (+ INSTANCE name STATE priority).
        const stateCommand = c.stateNotify[state];
        if (stateCommand !== undefined) host.notify(stateCommand[0]!, stateCommand.slice(1), notifyEnv, 'state');
        if (c.keepalivedNotify !== undefined) {
          const claim = this.machine.status().claim;
          const priority = isVrrpClaim(claim) ? claim.priority : c.priority;
          host.notify(c.keepalivedNotify[0]!, [...c.keepalivedNotify.slice(1), 'INSTANCE', c.name, state, String(priority)], notifyEnv, 'keepalived');
        }
        break;
      }
      case 'log':
        // A rival that never yields makes the machine say the same thing once per advert.
        if (effect.level === 'warn') this.ports.limited.warn(`machine:${effect.message}`, effect.message);
        else this.ports.log[effect.level](effect.message);
        break;
    }
  }

  /** The bow-out a stop will send, encoded now (VRRP: no counter in it; CARP's is taken at send). */
  private prepareBowOut(): PreparedAdvert | undefined {
    const src = this.source();
    if (this.config.protocol === 'carp' || src === undefined) return undefined;
    try {
      const claim = this.rules.bowOut(this.machine.status().claim);
      return { claim, src: addressKey(src), datagrams: this.destinations().map((dst) => this.wire.encode(claim, dst, this.ports.randomIpId(), 0n, src)) };
    } catch (error) {
      this.ports.log.debug(`bow-out advert not prepared: ${errorText(error)}`);
      return undefined;
    }
  }

  private queueVipRemoval(): void {
    this.lastVipChange = 'remove';
    this.vipsAddedNow = false;
    // A leaving master's bow-out (priority 0) goes on the wire before `ip` is spawned: the
    // spawn blocks the event loop for several ms, and the backups' skew time starts only when
    // they hear the advert (measured: the bow-out left 10-20 ms late behind the removal).
    const sent = this.lastSend;
    this.onHostQueue(async () => {
      await sent;
      for (const vip of this.hostVips) await this.ports.host.removeVip(vip);
    });
  }

  private clearTimer(timer: TimerName): void {
    if (timer === 'masterDownTimer') {
      this.prepared = undefined;
      this.takeoverForeseen = undefined;
      // The takeover did not come (an advert arrived, or we stop): nothing was added.
      if (this.heldAhead) this.ports.host.releaseAhead?.(this.hostVips);
      this.heldAhead = false;
    }
    const handle = this.timers.get(timer);
    if (handle !== undefined) this.ports.timers.clear(handle);
    this.timers.delete(timer);
  }

  /**
   * arping -c 1 puts its frame on the wire at once but exits only a second later, so it is not
   * awaited where it would hold up a VIP change or a script; shutdown waits for stragglers.
   */
  private startGarps(): void {
    // keepalived sends garp_master_repeat (5) at once; ucarp one.
    for (let n = 0; n < this.config.garpRepeat; n++) {
      for (const vip of this.hostVips) {
        const sent = this.ports.host.garp(vip);
        this.pendingGarps.add(sent);
        void sent.finally(() => this.pendingGarps.delete(sent));
      }
    }
  }

  private onHostQueue(task: () => Promise<unknown>): void {
    this.hostPending++;
    this.hostQueue = this.hostQueue
      .then(task)
      .catch((error: unknown) => {
        this.ports.log.error(`host operation failed: ${errorText(error)}`);
      })
      .finally(() => this.hostPending--);
  }

  /**
   * Asks a fork of the machine, on a clock stopped at the master-down deadline, what the timer
   * will do. Only the machine decides a takeover (groups, checks, FAULT, a pending first check
   * result): this lets the timer act on its decision before running it again for real.
   */
  private foreseeTakeover(): void {
    this.takeoverForeseen = undefined;
    const due = this.machine.deadline('masterDownTimer');
    if (due === undefined) return;
    const effects = this.machine.fork({ now: () => due }).handle({ type: 'timer', timer: 'masterDownTimer' });
    if (effects.some((e) => e.type === 'addVip')) this.takeoverForeseen = { due, dispatches: this.dispatches };
  }

  /**
   * The master-down timer fired: when the fork foresaw a takeover and no event has reached the
   * machine since, the VIPs go on now, before the machine runs. What a timer's takeover spent in
   * JavaScript before the netlink message left was 0.15-0.2 ms on the lab's VM (marks in the
   * bundle; keepalived's C takes µs); the machine's own share of it and the effects' dispatch
   * now come after the VIP.
   */
  private addAheadOfMachine(): void {
    const foreseen = this.takeoverForeseen;
    this.takeoverForeseen = undefined;
    // Foreseen for the deadline, with the machine as it was: not before it, nor after any event.
    if (foreseen === undefined || foreseen.dispatches !== this.dispatches || this.ports.clock.now() < foreseen.due) return;
    if (this.addVipsNow(this.heldAhead)) {
      this.heldAhead = false;
      this.vipsAddedAhead = true;
    }
  }

  /**
   * A takeover's VIPs, added before this returns when the host can (carpd's netlink socket) and
   * nothing waits in the host queue, which they would otherwise have to follow. true: done
   * (failures reported to the machine, as the queued path does); false: queue them.
   */
  private addVipsNow(heldAhead: boolean): boolean {
    const host = this.ports.host;
    this.vipsAddedNow = false;
    if (this.hostPending > 0 || host.addVipNow === undefined) return false;
    const failed: string[] = [];
    const later: VipAddress[] = [];
    for (const vip of this.hostVips) {
      const added = host.addVipNow(vip, heldAhead);
      if (added === undefined) later.push(vip);
      else if (!added) failed.push(vip.address.text);
    }
    if (later.length > 0) {
      // No answer from the kernel for some: the queued path (ip) decides those, all of them
      // (adding one that is there is harmless), and the GARPs follow it.
      return false;
    }
    this.vipsAddedNow = true;
    if (failed.length > 0) {
      // Not from inside the dispatch that asked for the VIPs.
      queueMicrotask(() => this.dispatch({ type: 'vipAddFailed', reason: `cannot add ${failed.join(', ')} to ${this.config.interface}` }));
    }
    return true;
  }

  /**
   * Where our adverts come from: --srcip, or for an IPv6 vhost without one the link-local
   * address of its interface (undefined while there is none).
   */
  private source(): IpAddress | undefined {
    const c = this.config;
    if (!sourceFromLink(c)) return c.srcip;
    return this.ports.adverts()?.source?.();
  }

  /** Where our adverts go: each peer (keepalived's unicast_peer, FreeBSD's carp peer), else the group. */
  private destinations(): readonly IpAddress[] {
    return this.config.peers.length > 0 ? this.config.peers : [this.config.mcast];
  }

  private async sendAdvert(claim: Claim): Promise<void> {
    const c = this.config;
    const adverts = this.ports.adverts();
    if (adverts === undefined) return;
    const src = this.source();
    if (src === undefined) {
      this.sendErrors++;
      this.ports.limited.warn('send-error', `cannot send advert on ${c.interface}: it has no IPv6 link-local address (yet)`);
      return;
    }
    const counter = this.replay?.counter.next(this.ports.wallClock()) ?? this.counter.next();
    const destinations = this.destinations();
    // Encoded ahead (the takeover's in the master-down timer's last milliseconds, the bow-out
    // when we became MASTER), if still for this claim and source.
    const fits = (p: PreparedAdvert | undefined): p is PreparedAdvert => p !== undefined && p.src === addressKey(src) && sameClaim(p.claim, claim);
    const takeover = this.prepared;
    this.prepared = undefined;
    let ready: readonly Buffer[] | undefined;
    if (fits(takeover)) ready = takeover.datagrams;
    else if (fits(this.preparedBowOut)) {
      ready = this.preparedBowOut.datagrams;
      this.preparedBowOut = undefined;
    }
    try {
      const from = src.family === 6 ? src.text : undefined;
      await Promise.all(
        destinations.map((dst, i) => adverts.send(ready?.[i] ?? this.wire.encode(claim, dst, this.ports.randomIpId(), counter, src), dst.text, from)),
      );
      this.advertsSent++;
      if (this.ports.debug === true) this.ports.log.debug(`advert sent: ${this.rules.describe(claim)}${c.protocol === 'carp' ? ` counter ${counter}` : ''}`);
    } catch (error) {
      this.sendErrors++;
      this.ports.limited.warn('send-error', `cannot send advert on ${c.interface}: ${errorText(error)}`);
    }
  }

  // ---- shutdown -------------------------------------------------------------------------

  /**
   * Bows out if MASTER (the advert is awaited), releases the VIPs, runs the down-script if
   * --shutdown asks for it, and waits for every host action. Idempotent.
   */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      // The bow-out advert and the VIP removal come out of the machine like any other effect.
      const effects = this.machine.handle({ type: 'shutdown' });
      // The bow-out first, on the wire before anything spawns a process (see queueVipRemoval).
      const sends = effects.filter((e) => e.type === 'sendAdvert').map((e) => this.sendAdvert(e.claim));
      await Promise.all(sends);
      for (const effect of effects) if (effect.type !== 'sendAdvert') this.apply(effect);
    } catch (error) {
      this.ports.log.error(`error while stopping: ${errorText(error)}`);
    }
    this.releaseHost();
    await this.hostQueue;
  }

  /** Timers off and the VIPs off the interface (also when shutdown() never ran, at a start failure). */
  releaseHost(): void {
    for (const timer of [...this.timers.keys()]) this.clearTimer(timer);
    // Also when the machine never asked (a start-up failure): a VIP of ours may be there.
    if (this.config.manageVip && this.lastVipChange !== 'remove') this.queueVipRemoval();
  }

  /** After shutdown(): the host queue done, lingering arpings cut short. */
  async drain(): Promise<void> {
    await this.hostQueue;
    await this.ports.host.close();
    await Promise.all(this.pendingGarps);
  }

  /** Resolves once no script of this vhost runs or waits (the down-script and STOP notify at exit, say). */
  scriptsIdle(): Promise<void> {
    return this.ports.host.scriptsIdle();
  }

  killScripts(): void {
    this.ports.host.killScripts();
  }

  /** SIGUSR1's line; `linkDrops` are the drops of its link before the vhid was known. */
  statusLine(linkDrops: Readonly<Record<string, number>> = {}): string {
    const s = this.machine.status();
    const c = this.config;
    const counts = new Map<string, number>();
    for (const source of [linkDrops, this.drops.snapshot()]) {
      for (const [reason, n] of Object.entries(source)) counts.set(reason, (counts.get(reason) ?? 0) + n);
    }
    const nonZero = DROP_REASONS.filter((r) => (counts.get(r) ?? 0) > 0);
    const total = nonZero.reduce((sum, r) => sum + (counts.get(r) ?? 0), 0);
    const drops = nonZero.map((r) => `${r} ${counts.get(r)}`).join(', ');
    const vips = c.vips.map((v) => v.address.text).join(',');
    return (
      `${s.state} on ${c.interface} id ${c.vhid} vip ${vips}` +
      `${s.linkUp ? '' : ' (link down)'}${s.groupHeld ? ' (held by its group)' : ''}${s.steppingDown ? ' (stepping down)' : ''}` +
      ` - adverts sent ${this.advertsSent}, received ${this.advertsReceived}, dropped ${total}` +
      `${drops ? ` (${drops})` : ''}${this.sendErrors ? `, send errors ${this.sendErrors}` : ''}` +
      `${s.lastMaster ? `, last master ${s.lastMaster}` : ''}`
    );
  }

  snapshot(tracks: readonly TrackSnapshot[] = []): VhostSnapshot {
    const s = this.machine.status();
    const c = this.config;
    return {
      name: c.name,
      interface: c.interface,
      vhid: c.vhid,
      vips: c.vips.map(formatVip),
      srcip: this.source()?.text ?? c.srcip.text,
      state: s.state,
      since: new Date(this.since).toISOString(),
      master: s.state === 'MASTER' ? (this.source()?.text ?? c.srcip.text) : (s.lastMaster ?? null),
      lastTransition: this.lastTransition,
      group: c.group ?? null,
      linkUp: s.linkUp,
      protocol: c.protocol,
      advbase: c.advbase,
      advskew: c.advskew,
      priority: c.protocol === 'carp' ? null : c.priority,
      advertInt: c.protocol === 'carp' ? null : c.advertIntCs / 100,
      advertsSent: this.advertsSent,
      advertsReceived: this.advertsReceived,
      sendErrors: this.sendErrors,
      drops: { ...this.drops.snapshot() },
      transitions: Object.fromEntries(this.transitionCounts),
      scriptRuns: { ...this.scriptCounts },
      otherMasterHeard: this.otherMasterHeard,
      demotion: s.demotion,
      advertisedAdvskew: isVrrpClaim(s.claim) ? null : s.claim.advskew,
      advertisedPriority: isVrrpClaim(s.claim) ? s.claim.priority : null,
      tracks: [...tracks],
    };
  }
}

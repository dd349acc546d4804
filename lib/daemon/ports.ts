/**
 * The ports a virtual host runs on. The daemon plugs in real timers, `ip`, `arping`, scripts and
 * the raw socket; the in-memory simulation (test/helpers/sim.ts) plugs in a manual clock and a
 * simulated segment, and so runs the very same VirtualHost, Link and group wiring.
 */
import type { IpAddress, VipAddress } from '../net/address.js';
import type { ScriptKind } from '../host/scripts.js';

/** Which notify runner: carpd's --notify, keepalived's notify_<state>, keepalived's notify. */
export type NotifyChannel = 'notify' | 'state' | 'keepalived';

/** One-shot timers; handles are opaque to the caller. */
export interface TimerPort {
  /**
   * `exact`: fire at the deadline to a few µs rather than Node's whole milliseconds, and call
   * `exact.soon` a couple of milliseconds before it (see ExactTimer).
   */
  set(delayMs: number, fire: () => void, exact?: { readonly soon?: () => void }): unknown;
  clear(handle: unknown): void;
}

/**
 * How early the Node timer of an exact one fires: more than Node's own rounding (up to ~1.3 ms)
 * plus what `soon` may take on a cold cache (measured up to ~3 ms: with 2 ms, 3 link-cut rounds
 * in 5 fired 4 to 5 ms late).
 */
const EXACT_LEAD_MS = 5;

/**
 * A timer that fires at its deadline, not up to 1.3 ms after it. Node counts timers in whole
 * milliseconds of the event loop's cached clock, so a 68.75 ms wait (VRRP's skew time at
 * priority 80, advert_int 0.1) fired at 69.3 to 70 ms; keepalived's fires within µs. Here a
 * Node timer fires EXACT_LEAD_MS early and setImmediate turns the event loop until the
 * deadline: a spin of a few ms, but one that still reads every socket on each turn, so an advert
 * that arrives meanwhile cancels the timer as it would have before. Used for the timer that
 * ends a wait for a silent master (master-down, skew): it fires only at a takeover, and a
 * takeover is what the wait is for. Its `soon` callback lets the vhost rehearse the takeover
 * in those milliseconds, so the real one runs on warm caches.
 */
export class ExactTimer {
  private timeout: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;

  /**
   * `soon`: called once when the loop starts turning, to get ready for what fire() will do.
   * `leadMs`: how long before the deadline that is (tests make it long).
   */
  constructor(delayMs: number, private readonly fire: () => void, soon?: () => void, leadMs = EXACT_LEAD_MS) {
    const deadline = performance.now() + delayMs;
    const check = (): void => {
      this.timeout = undefined;
      this.immediate = undefined;
      if (performance.now() >= deadline) this.fire();
      else this.immediate = setImmediate(check);
    };
    this.timeout = setTimeout(() => {
      soon?.();
      check();
    }, Math.max(0, delayMs - leadMs));
  }

  cancel(): void {
    if (this.timeout !== undefined) clearTimeout(this.timeout);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timeout = this.immediate = undefined;
  }
}

export const realTimers: TimerPort = {
  set: (delayMs, fire, exact) => (exact !== undefined ? new ExactTimer(delayMs, fire, exact.soon) : setTimeout(fire, delayMs)),
  clear: (handle) => {
    if (handle instanceof ExactTimer) handle.cancel();
    else clearTimeout(handle as NodeJS.Timeout);
  },
};

/**
 * The host side of one vhost. Address changes are idempotent and report success; nothing here
 * throws at run time. The vhost orders the calls (a GARP never precedes its address).
 */
export interface HostPort {
  /** Builds, sends nothing: what adding and announcing these VIPs needs (VirtualHost's rehearsal). */
  prepare?(vips: readonly VipAddress[]): void;
  /**
   * Tells the VIP guardian now about VIPs a takeover may add in a moment (the master-down
   * timer's last milliseconds), so that its line is written before, not during, the takeover.
   */
  holdAhead?(vips: readonly VipAddress[]): void;
  /** The takeover did not come: the guardian forgets those VIPs again (none was added). */
  releaseAhead?(vips: readonly VipAddress[]): void;
  /** Removes copies of the VIP left by an earlier run, whatever their prefix; returns how many. */
  removeStale(vip: VipAddress): Promise<number>;
  addVip(vip: VipAddress): Promise<boolean>;
  /**
   * The same, made before it returns (carpd's netlink socket): true/false as done, undefined
   * when it cannot be done at once, and addVip() must be used. The vhost uses it on a takeover
   * whose host queue is idle, so the VIP is up first, before the rest of the takeover's work
   * (the advert, log lines, notify scripts, groups). `heldAhead`: holdAhead() told the guardian
   * of it already.
   */
  addVipNow?(vip: VipAddress, heldAhead?: boolean): boolean | undefined;
  removeVip(vip: VipAddress): Promise<boolean>;
  /** Sends one gratuitous ARP for the VIP; not awaited by the caller (arping lingers 1 s). */
  garp(vip: VipAddress): Promise<boolean>;
  /** Queues a script run (latest request wins while one runs); undefined script: none configured. */
  requestScript(kind: ScriptKind, script: string | undefined, args: readonly string[]): void;
  /**
   * Queues a notify program (its own runner: it never delays the up/down scripts; latest wins).
   * `channel` keeps apart carpd's --notify, keepalived's notify_<state> and keepalived's notify,
   * which all run on one transition and must not replace each other.
   */
  notify(script: string, args: readonly string[], env: Readonly<Record<string, string>>, channel?: NotifyChannel): void;
  /** Resolves when no up/down or notify script runs or waits. */
  scriptsIdle(): Promise<void>;
  /** Kills a running script (a second stop signal). */
  killScripts(): void;
  /** Cuts short lingering arpings and waits for them; after this the port is not used again. */
  close(): Promise<void>;
}

/** Where a vhost's adverts go: its link's socket, to the group or (unicast) to each peer. */
export interface AdvertPort {
  /** IPv6: `src` is the source to send from (the payload's VRRPv3 checksum covers it). */
  send(datagram: Buffer, to: string, src?: string): Promise<void>;
  /** IPv6: the interface's link-local address (undefined while it has none). */
  source?(): IpAddress | undefined;
}

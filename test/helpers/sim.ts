import { ManualClock } from '../../lib/state/clock.js';
import {
  CarpMachine,
  type CarpState,
  type Effect,
  type MachineConfig,
  type MachineEvent,
  type TimerName,
} from '../../lib/state/machine.js';

/**
 * An in-memory CARP segment: several state machines sharing one manual clock, with adverts
 * delivered to every other node after a fixed latency. It plays the daemon's part (timers,
 * packet delivery) so whole elections can be run without sockets or real time.
 */

export interface SimNodeOptions extends Partial<MachineConfig> {
  name: string;
  address: string;
}

interface Pending {
  at: number;
  seq: number;
  run: () => void;
}

export interface Transition {
  at: number;
  node: string;
  from: CarpState;
  to: CarpState;
  reason: string;
}

export class SimNode {
  readonly machine: CarpMachine;
  readonly effects: { at: number; effect: Effect }[] = [];
  alive = true;
  /** Whether this node's adverts reach the segment (false models a partition). */
  connected = true;
  readonly timers = new Map<TimerName, number>(); // timer -> seq of the pending firing

  constructor(
    readonly sim: Simulation,
    readonly name: string,
    readonly address: string,
    readonly addressInt: number,
    config: MachineConfig,
  ) {
    this.machine = new CarpMachine(config, sim.clock);
  }

  get state(): CarpState {
    return this.machine.currentState;
  }

  /** VIP presence as the effects left it. */
  hasVip = false;
  scripts: ('up' | 'down')[] = [];
  adverts: { at: number; advbase: number; advskew: number }[] = [];
  garps: number[] = [];

  feed(event: MachineEvent): Effect[] {
    if (!this.alive) return [];
    const out = this.machine.handle(event);
    for (const effect of out) this.apply(effect);
    return out;
  }

  private apply(effect: Effect): void {
    const at = this.sim.clock.now();
    this.effects.push({ at, effect });
    switch (effect.type) {
      case 'sendAdvert':
        this.adverts.push({ at, advbase: effect.advbase, advskew: effect.advskew });
        if (this.connected) this.sim.broadcast(this, effect.advbase, effect.advskew);
        break;
      case 'addVip':
        this.hasVip = true;
        break;
      case 'removeVip':
        this.hasVip = false;
        break;
      case 'garp':
        this.garps.push(at);
        break;
      case 'runScript':
        this.scripts.push(effect.script);
        break;
      case 'armTimer': {
        const seq = this.sim.schedule(effect.delayMs, () => {
          if (this.timers.get(effect.timer) === seq) {
            this.timers.delete(effect.timer);
            this.feed({ type: 'timer', timer: effect.timer });
          }
        });
        this.timers.set(effect.timer, seq);
        break;
      }
      case 'cancelTimer':
        this.timers.delete(effect.timer);
        break;
      case 'transition':
        this.sim.transitions.push({ at, node: this.name, from: effect.from, to: effect.to, reason: effect.reason });
        break;
      case 'log':
        break;
    }
  }

  /** A crash: no more events, no goodbye. */
  kill(): void {
    this.alive = false;
    this.timers.clear();
  }
}

export class Simulation {
  readonly clock = new ManualClock(0);
  readonly nodes: SimNode[] = [];
  readonly transitions: Transition[] = [];
  private queue: Pending[] = [];
  private seq = 0;

  constructor(readonly latencyMs = 0.2) {}

  add(o: SimNodeOptions): SimNode {
    const addressInt = o.address.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
    const config: MachineConfig = {
      advbase: o.advbase ?? 1,
      advskew: o.advskew ?? 0,
      deadratio: o.deadratio ?? 3,
      preempt: o.preempt ?? false,
      neutral: o.neutral ?? false,
      downScriptOnExit: o.downScriptOnExit ?? true,
      srcAddress: addressInt,
    };
    const node = new SimNode(this, o.name, o.address, addressInt, config);
    this.nodes.push(node);
    return node;
  }

  schedule(delayMs: number, run: () => void): number {
    const seq = ++this.seq;
    this.queue.push({ at: this.clock.now() + delayMs, seq, run });
    return seq;
  }

  broadcast(from: SimNode, advbase: number, advskew: number): void {
    for (const node of this.nodes) {
      if (node === from || !node.connected) continue;
      this.schedule(this.latencyMs, () =>
        node.feed({ type: 'advert', src: from.address, srcAddress: from.addressInt, advbase, advskew }),
      );
    }
  }

  /** Runs every scheduled event up to and including `until` (absolute ms), in time order. */
  runUntil(until: number): void {
    for (;;) {
      this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.queue[0];
      if (!next || next.at > until) break;
      this.queue.shift();
      this.clock.set(Math.max(this.clock.now(), next.at));
      next.run();
    }
    this.clock.set(Math.max(this.clock.now(), until));
  }

  runFor(ms: number): void {
    this.runUntil(this.clock.now() + ms);
  }

  masters(): SimNode[] {
    return this.nodes.filter((n) => n.alive && n.state === 'MASTER');
  }
}

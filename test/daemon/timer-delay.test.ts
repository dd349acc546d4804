// VirtualHost (lib/daemon/vhost.ts) arms the machine's timers from the machine's clock reading,
// not from when it gets to the armTimer effect: the effects before it (a transition's log line,
// notify, sync-group work) would otherwise lengthen every wait by their own time.
import { describe, expect, it } from 'vitest';
import type { TimerPort } from '../../lib/daemon/ports.js';
import { Simulation } from '../helpers/sim.js';

describe("a vhost's timer delays", () => {
  it('leave out what the effects before the armTimer took', async () => {
    const sim = new Simulation();
    const node = sim.addHost('a', '198.18.0.1');
    // Each transition's work takes 0.25 ms of the clock here.
    const own = node.groups.onOwnTransition;
    node.groups.onOwnTransition = (...args) => {
      sim.clock.advance(0.25);
      own(...args);
    };
    const delays: number[] = [];
    const timers = node.timers;
    (node as { timers: TimerPort }).timers = {
      set: (delayMs, fire, exact) => {
        delays.push(delayMs);
        return timers.set(delayMs, fire, exact);
      },
      clear: (handle) => timers.clear(handle),
    };
    node.addVhost({ advskew: 0 });
    node.feed({ type: 'start', linkUp: true });
    // INIT -> BACKUP, then the master-down timer: 3 × 1 s from the start event, of which the
    // transition's 0.25 ms is already gone.
    expect(delays[0]).toBeCloseTo(3_000 - 0.25, 9);
    await sim.runFor(3_100);
    // Its first advert (sent before the MASTER transition's own 0.25 ms) goes at the deadline.
    expect(sim.transitions.some((t) => t.to === 'MASTER')).toBe(true);
    expect(node.adverts[0]?.at).toBeCloseTo(3_000, 9);
  });
});

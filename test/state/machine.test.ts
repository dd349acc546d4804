import { describe, expect, it } from 'vitest';
import { STEP_DOWN_HOLD_MS, type MachineConfig } from '../../lib/state/machine.js';
import { carpRules } from '../../lib/state/rules.js';
import { HIGHER_PEER, LOWER_PEER as PEER, newMachine, startAsMaster, types } from '../helpers/machine.js';
import { Simulation } from '../helpers/sim.js';

type CarpOptions = Partial<Omit<MachineConfig, 'rules'>> & { advbase?: number; advskew?: number; deadratio?: number };

function machine(over: CarpOptions = {}) {
  const { advbase = 1, advskew = 0, deadratio = 3, ...rest } = over;
  return newMachine({ rules: carpRules({ advbase, advskew, deadratio }), preempt: false, ...rest });
}

/** Starts a machine and lets its master-down timer expire so it is MASTER. */
function master(over: CarpOptions = {}) {
  return startAsMaster(machine(over));
}

describe('start', () => {
  it('enters BACKUP, runs the down-script and arms the master-down timer', () => {
    const { m } = machine();
    const out = m.handle({ type: 'start', linkUp: true });
    expect(m.currentState).toBe('BACKUP');
    expect(out).toContainEqual({ type: 'transition', from: 'INIT', to: 'BACKUP', reason: 'start' });
    expect(types(out)).toContain('runScript:down');
    expect(out).toContainEqual({ type: 'armTimer', timer: 'masterDownTimer', delayMs: 3000 });
    expect(m.deadline('masterDownTimer')).toBe(4000);
  });

  it('with --neutral does not run the down-script at start', () => {
    const { m } = machine({ neutral: true });
    expect(types(m.handle({ type: 'start', linkUp: true }))).not.toContain('runScript:down');
  });

  it('with the link down arms no timer until carrier returns', () => {
    const { m, clock } = machine();
    const out = m.handle({ type: 'start', linkUp: false });
    expect(types(out)).not.toContain('armTimer');
    clock.advance(10_000);
    expect(m.currentState).toBe('BACKUP');
    const up = m.handle({ type: 'link', up: true });
    expect(up).toContainEqual({ type: 'armTimer', timer: 'masterDownTimer', delayMs: 3000 });
  });
});

describe('BACKUP -> MASTER', () => {
  it('on master-down: advert first, then VIP, gratuitous ARP, up-script, advert timer', () => {
    const { m, clock } = machine();
    m.handle({ type: 'start', linkUp: true });
    clock.advance(3000);
    const out = m.handle({ type: 'timer', timer: 'masterDownTimer' });
    expect(types(out)).toEqual(['sendAdvert', 'transition', 'addVip', 'garp', 'runScript:up', 'armTimer']);
    expect(out[0]).toEqual({ type: 'sendAdvert', claim: { advbase: 1, advskew: 0 } });
    expect(out[1]).toMatchObject({ from: 'BACKUP', to: 'MASTER', reason: 'no master heard for 3.00 s' });
    expect(out[5]).toEqual({ type: 'armTimer', timer: 'advertTimer', delayMs: 1000 });
  });

  it('names the silence in the reason once a master had been heard', () => {
    const { m, clock } = machine();
    m.handle({ type: 'start', linkUp: true });
    clock.advance(500);
    m.handle({ type: 'advert', ...PEER, claim: { advbase: 1, advskew: 0 } });
    clock.advance(3040);
    const out = m.handle({ type: 'timer', timer: 'masterDownTimer' });
    expect(out).toContainEqual(expect.objectContaining({ type: 'transition', reason: 'master down: no advert for 3.04 s' }));
  });

  it('an advert restarts the master-down timer from the moment it arrived', () => {
    const { m, clock } = machine();
    m.handle({ type: 'start', linkUp: true });
    clock.advance(2500);
    m.handle({ type: 'advert', ...PEER, claim: { advbase: 1, advskew: 0 } });
    expect(m.deadline('masterDownTimer')).toBe(1000 + 2500 + 3000);
  });

  it('a timer that fires early is re-armed for the remainder, not obeyed', () => {
    const { m, clock } = machine();
    m.handle({ type: 'start', linkUp: true });
    clock.advance(2990);
    const out = m.handle({ type: 'timer', timer: 'masterDownTimer' });
    expect(m.currentState).toBe('BACKUP');
    expect(out).toEqual([{ type: 'armTimer', timer: 'masterDownTimer', delayMs: 10 }]);
  });

  it('a timer event for a cancelled timer is ignored', () => {
    const { m, clock } = master();
    clock.advance(5000);
    expect(m.handle({ type: 'timer', timer: 'masterDownTimer' })).toEqual([]);
  });

  it.each([
    ['preempts a slower master when --preempt is set', { preempt: true }, { advbase: 1, advskew: 1 }, 'MASTER'],
    ['follows a slower master without --preempt', { preempt: false }, { advbase: 1, advskew: 1 }, 'BACKUP'],
    ['follows an equally fast master with --preempt', { preempt: true }, { advbase: 1, advskew: 0 }, 'BACKUP'],
    ['takes over from a master too slow to stay alive', {}, { advbase: 5, advskew: 0 }, 'MASTER'],
    ['takes over at once on a bow-out advert when its advskew is 0', {}, { advbase: 255, advskew: 255 }, 'MASTER'],
  ] as const)('%s', (_name, over, timing, expected) => {
    const { m } = machine(over);
    m.handle({ type: 'start', linkUp: true });
    const out = m.handle({ type: 'advert', ...PEER, claim: timing });
    expect(m.currentState).toBe(expected);
    if (expected === 'MASTER') expect(types(out)).toContain('addVip');
  });
});

describe('a bow-out heard by a backup with a skew', () => {
  it('waits a quarter millisecond per advskew unit, then takes over', () => {
    const { m, clock } = machine({ advskew: 100 });
    m.handle({ type: 'start', linkUp: true });
    const out = m.handle({ type: 'advert', ...PEER, claim: { advbase: 255, advskew: 255 } });
    expect(m.currentState).toBe('BACKUP');
    expect(out).toEqual([{ type: 'armTimer', timer: 'masterDownTimer', delayMs: 25 }]);
    clock.advance(25);
    const claim = m.handle({ type: 'timer', timer: 'masterDownTimer' });
    expect(m.currentState).toBe('MASTER');
    expect(claim).toContainEqual(
      expect.objectContaining({ type: 'transition', reason: 'master 198.18.0.1 bowed out; no better backup claimed within 25 ms' }),
    );
  });

  it('follows a better backup that claims during the wait', () => {
    const { m, clock } = machine({ advskew: 100 });
    m.handle({ type: 'start', linkUp: true });
    m.handle({ type: 'advert', ...PEER, claim: { advbase: 255, advskew: 255 } });
    clock.advance(10);
    m.handle({ type: 'advert', ...HIGHER_PEER, claim: { advbase: 1, advskew: 20 } });
    expect(m.deadline('masterDownTimer')).toBe(1000 + 10 + 3390.625);
    clock.advance(25);
    // The shortened timer's firing finds the full interval armed again: re-armed, not obeyed.
    expect(m.handle({ type: 'timer', timer: 'masterDownTimer' })).toEqual([
      { type: 'armTimer', timer: 'masterDownTimer', delayMs: 3390.625 - 25 },
    ]);
    expect(m.currentState).toBe('BACKUP');
  });
});

describe('MASTER', () => {
  it('advertises every interval and repeats the gratuitous ARP two adverts after taking over', () => {
    const { m, clock } = master({ advskew: 128 });
    const garpsAt: number[] = [];
    for (let i = 1; i <= 4; i++) {
      clock.advance(1500);
      const out = m.handle({ type: 'timer', timer: 'advertTimer' });
      expect(out[0]).toEqual({ type: 'sendAdvert', claim: { advbase: 1, advskew: 128 } });
      expect(out).toContainEqual({ type: 'armTimer', timer: 'advertTimer', delayMs: 1500 });
      if (types(out).includes('garp')) garpsAt.push(i);
    }
    expect(garpsAt).toEqual([2]);
  });

  it('yields to a faster master: one more advert, then BACKUP, VIP removed, down-script', () => {
    const { m } = master({ advskew: 50 });
    const out = m.handle({ type: 'advert', ...HIGHER_PEER, claim: { advbase: 1, advskew: 0 } });
    expect(types(out)).toEqual(['sendAdvert', 'transition', 'removeVip', 'runScript:down', 'cancelTimer', 'armTimer']);
    expect(out[0]).toEqual({ type: 'sendAdvert', claim: { advbase: 1, advskew: 50 } });
    expect(m.currentState).toBe('BACKUP');
    expect(m.deadline('masterDownTimer')).toBeDefined();
    expect(m.deadline('advertTimer')).toBeUndefined();
  });

  it('on equal intervals yields to a lower address and holds against a higher one', () => {
    const a = master();
    a.m.handle({ type: 'advert', ...HIGHER_PEER, claim: { advbase: 1, advskew: 0 } });
    expect(a.m.currentState).toBe('MASTER');
    a.m.handle({ type: 'advert', ...PEER, claim: { advbase: 1, advskew: 0 } });
    expect(a.m.currentState).toBe('BACKUP');
  });

  it('re-sends gratuitous ARP when a slower master advertises, and again two adverts later', () => {
    const { m, clock } = master();
    const out = m.handle({ type: 'advert', ...PEER, claim: { advbase: 1, advskew: 10 } });
    expect(types(out)).toEqual(['log', 'garp']);
    clock.advance(1000);
    expect(types(m.handle({ type: 'timer', timer: 'advertTimer' }))).not.toContain('garp');
    clock.advance(1000);
    expect(types(m.handle({ type: 'timer', timer: 'advertTimer' }))).toContain('garp');
  });

  it('ignores another master bowing out', () => {
    const { m } = master();
    m.handle({ type: 'advert', ...PEER, claim: { advbase: 255, advskew: 255 } });
    expect(m.currentState).toBe('MASTER');
  });

  it('loses carrier: BACKUP at once, VIP removed, all timers cancelled; rejoins when it returns', () => {
    const { m } = master();
    const out = m.handle({ type: 'link', up: false });
    expect(types(out)).toEqual(['transition', 'removeVip', 'runScript:down', 'cancelTimer']);
    expect(out[0]).toMatchObject({ to: 'BACKUP', reason: 'link down: lost carrier' });
    expect(m.deadline('advertTimer')).toBeUndefined();
    expect(m.handle({ type: 'advert', ...PEER, claim: { advbase: 255, advskew: 255 } })).toEqual([]);
    const up = m.handle({ type: 'link', up: true });
    expect(up).toContainEqual({ type: 'armTimer', timer: 'masterDownTimer', delayMs: 3000 });
  });
});

describe('SIGUSR2 step-down', () => {
  it('bows out, goes BACKUP, stays quiet for 3 s, then listens as usual', () => {
    const { m, clock } = master();
    const out = m.handle({ type: 'stepDown' });
    expect(out[0]).toEqual({ type: 'sendAdvert', claim: { advbase: 255, advskew: 255 } });
    expect(m.currentState).toBe('BACKUP');
    expect(types(out)).toContain('removeVip');
    expect(m.deadline('masterDownTimer')).toBeUndefined();
    // A bow-out from someone else during the hold must not pull us back.
    clock.advance(1000);
    expect(m.handle({ type: 'advert', ...PEER, claim: { advbase: 255, advskew: 255 } })).toEqual([]);
    expect(m.currentState).toBe('BACKUP');
    clock.advance(STEP_DOWN_HOLD_MS - 1000);
    const after = m.handle({ type: 'timer', timer: 'stepDownTimer' });
    expect(after).toContainEqual({ type: 'armTimer', timer: 'masterDownTimer', delayMs: 3000 });
  });

  it('carries the daemon\'s reason when it gives MASTER up itself', () => {
    const { m } = master();
    const out = m.handle({ type: 'stepDown', reason: 'cannot add the VIP' });
    expect(out).toContainEqual({ type: 'transition', from: 'MASTER', to: 'BACKUP', reason: 'cannot add the VIP' });
  });

  it('does nothing unless MASTER', () => {
    const { m } = machine();
    m.handle({ type: 'start', linkUp: true });
    expect(types(m.handle({ type: 'stepDown' }))).toEqual(['log']);
  });
});

describe('shutdown', () => {
  it('as MASTER: bow-out advert, VIP removed, down-script (--shutdown), nothing after', () => {
    const { m } = master();
    const out = m.handle({ type: 'shutdown' });
    expect(types(out)).toEqual(['sendAdvert', 'cancelTimer', 'removeVip', 'runScript:down', 'transition']);
    expect(out[0]).toEqual({ type: 'sendAdvert', claim: { advbase: 255, advskew: 255 } });
    expect(m.handle({ type: 'timer', timer: 'advertTimer' })).toEqual([]);
    expect(m.handle({ type: 'advert', ...PEER, claim: { advbase: 1, advskew: 0 } })).toEqual([]);
  });

  it('as MASTER without --shutdown runs no down-script', () => {
    const { m } = master({ downScriptOnExit: false });
    expect(types(m.handle({ type: 'shutdown' }))).not.toContain('runScript:down');
  });

  it('as MASTER with the link down sends no bow-out (it could not leave) and says so', () => {
    const { m } = master();
    m.handle({ type: 'link', up: false });
    const out = m.handle({ type: 'shutdown' });
    expect(types(out)).not.toContain('sendAdvert');
    expect(out).toContainEqual({ type: 'transition', from: 'BACKUP', to: 'INIT', reason: 'shutdown' });
  });

  it('before start: no transition line, just a note, and nothing afterwards', () => {
    const { m } = machine();
    const out = m.handle({ type: 'shutdown' });
    expect(types(out)).toEqual(['removeVip', 'log']);
    expect(m.handle({ type: 'start', linkUp: true })).toEqual([]);
  });

  it('as BACKUP sends nothing and runs no script, but still makes sure the VIP is gone', () => {
    const { m } = machine();
    m.handle({ type: 'start', linkUp: true });
    expect(types(m.handle({ type: 'shutdown' }))).toEqual(['cancelTimer', 'removeVip', 'transition']);
  });
});

describe('elections run in memory', () => {
  it('the node with the smaller advskew wins and nobody flaps for a simulated hour', async () => {
    const sim = new Simulation();
    const a = sim.add({ name: 'a', address: '198.18.0.1', advskew: 100 });
    const b = sim.add({ name: 'b', address: '198.18.0.2', advskew: 0 });
    a.feed({ type: 'start', linkUp: true });
    await sim.runFor(1000);
    b.feed({ type: 'start', linkUp: true });
    await sim.runFor(3_600_000);
    // a claims first (it started first); b starts later, hears a, and — without --preempt —
    // follows it: a slower master is not overthrown without preemption.
    expect(sim.masters().map((n) => n.name)).toEqual(['a']);
    expect(sim.transitions.filter((t) => t.to === 'MASTER')).toHaveLength(1);
  });

  it('with --preempt the faster node takes over from a slower master as soon as it hears it', async () => {
    const sim = new Simulation();
    const a = sim.add({ name: 'a', address: '198.18.0.1', advskew: 100 });
    const b = sim.add({ name: 'b', address: '198.18.0.2', advskew: 0, preempt: true });
    a.feed({ type: 'start', linkUp: true });
    await sim.runFor(5000);
    b.feed({ type: 'start', linkUp: true });
    await sim.runFor(2000);
    expect(sim.masters().map((n) => n.name)).toEqual(['b']);
    expect(a.hasVip).toBe(false);
    expect(b.hasVip).toBe(true);
  });

  it('simultaneous start with equal timing: the lower address ends up the only MASTER', async () => {
    const sim = new Simulation();
    const nodes = ['198.18.0.3', '198.18.0.1', '198.18.0.2'].map((address, i) =>
      sim.add({ name: `n${i}`, address }),
    );
    for (const n of nodes) n.feed({ type: 'start', linkUp: true });
    await sim.runFor(10_000);
    expect(sim.masters().map((n) => n.address)).toEqual(['198.18.0.1']);
    expect(nodes.filter((n) => n.hasVip)).toHaveLength(1);
  });

  it('a crashed master is replaced exactly one master-down interval after its last advert', async () => {
    const sim = new Simulation(0);
    const a = sim.add({ name: 'a', address: '198.18.0.1' });
    const b = sim.add({ name: 'b', address: '198.18.0.2', advskew: 20 });
    a.feed({ type: 'start', linkUp: true });
    b.feed({ type: 'start', linkUp: true });
    await sim.runFor(20_000);
    expect(sim.masters()).toEqual([a]);
    const lastAdvert = a.adverts.at(-1)!.at;
    a.kill();
    await sim.runFor(10_000);
    const takeover = sim.transitions.find((t) => t.node === 'b' && t.to === 'MASTER')!;
    expect(takeover.at - lastAdvert).toBeCloseTo(3000 + (20 * 1000) / 256, 6);
  });

  it('a clean stop of the master hands over at once to a backup at advskew 0', async () => {
    const sim = new Simulation(0.2);
    const a = sim.add({ name: 'a', address: '198.18.0.1' });
    const b = sim.add({ name: 'b', address: '198.18.0.2', advskew: 0 });
    a.feed({ type: 'start', linkUp: true });
    b.feed({ type: 'start', linkUp: true });
    await sim.runFor(20_000);
    const stopAt = sim.clock.now();
    a.feed({ type: 'shutdown' });
    await sim.runFor(1000);
    const takeover = sim.transitions.find((t) => t.node === 'b' && t.to === 'MASTER')!;
    expect(takeover.at - stopAt).toBeLessThanOrEqual(0.2 + 1e-9);
    expect(b.hasVip).toBe(true);
    expect(a.hasVip).toBe(false);
  });

  it('at a ~100 ms interval (advbase 0) a healthy master is never declared dead despite jitter', async () => {
    const sim = new Simulation(30); // 30 ms one-way delay, a third of the interval
    const a = sim.add({ name: 'a', address: '198.18.0.1', advbase: 0, advskew: 26 });
    const b = sim.add({ name: 'b', address: '198.18.0.2', advbase: 0, advskew: 30 });
    a.feed({ type: 'start', linkUp: true });
    await sim.runFor(50);
    b.feed({ type: 'start', linkUp: true });
    await sim.runFor(600_000);
    expect(sim.transitions.filter((t) => t.to === 'MASTER').map((t) => t.node)).toEqual(['a']);
    a.kill();
    await sim.runFor(1000);
    expect(sim.masters()).toEqual([b]);
  });

  it('a clean stop in a three-node group: only the best backup ever becomes MASTER', async () => {
    const sim = new Simulation(0.2);
    const a = sim.add({ name: 'a', address: '198.18.0.1', advskew: 0 });
    const b = sim.add({ name: 'b', address: '198.18.0.2', advskew: 50 });
    const c = sim.add({ name: 'c', address: '198.18.0.3', advskew: 100 });
    for (const n of [a, b, c]) n.feed({ type: 'start', linkUp: true });
    await sim.runFor(20_000);
    expect(sim.masters()).toEqual([a]);
    const stopAt = sim.clock.now();
    a.feed({ type: 'shutdown' });
    await sim.runFor(20_000);
    const after = sim.transitions.filter((t) => t.at >= stopAt && t.to === 'MASTER');
    expect(after.map((t) => t.node)).toEqual(['b']);
    expect(after[0]!.at - stopAt).toBeCloseTo(0.2 + 50 * 0.25, 6);
    expect(c.scripts.filter((s) => s === 'up')).toEqual([]);
  });

  it('a healed partition leaves one master within two advert intervals', async () => {
    const sim = new Simulation(0.2);
    const a = sim.add({ name: 'a', address: '198.18.0.1' });
    const b = sim.add({ name: 'b', address: '198.18.0.2' });
    a.feed({ type: 'start', linkUp: true });
    b.feed({ type: 'start', linkUp: true });
    await sim.runFor(10_000);
    b.connected = false;
    await sim.runFor(10_000);
    expect(sim.masters()).toHaveLength(2);
    b.connected = true;
    await sim.runFor(2000);
    expect(sim.masters()).toEqual([a]);
    expect(b.hasVip).toBe(false);
  });
});

describe('advert beat', () => {
  it('a late firing does not delay the next advert: it is due one interval after the last was due', () => {
    const { m, clock } = master({ advbase: 1, advskew: 0 });
    const due = m.deadline('advertTimer')!;
    clock.set(due + 7); // the timer fired 7 ms late (a busy event loop)
    const out = m.handle({ type: 'timer', timer: 'advertTimer' });
    expect(out).toContainEqual({ type: 'sendAdvert', claim: { advbase: 1, advskew: 0 } });
    expect(out).toContainEqual({ type: 'armTimer', timer: 'advertTimer', delayMs: 993 });
    expect(m.deadline('advertTimer')).toBe(due + 1000);
  });

  it('a firing more than a whole interval late sends at once and starts the beat again from now', () => {
    const { m, clock } = master({ advbase: 1, advskew: 0 });
    const due = m.deadline('advertTimer')!;
    clock.set(due + 1500);
    const out = m.handle({ type: 'timer', timer: 'advertTimer' });
    expect(out.filter((e) => e.type === 'sendAdvert')).toHaveLength(1);
    expect(m.deadline('advertTimer')).toBe(due + 1500);
    clock.set(due + 1500);
    expect(m.handle({ type: 'timer', timer: 'advertTimer' }).filter((e) => e.type === 'sendAdvert')).toHaveLength(1);
    expect(m.deadline('advertTimer')).toBe(due + 2500);
  });
});

describe('beat alignment', () => {
  it('vhosts with the same timing that become MASTER at different times advertise on a grid of 1/8 interval', () => {
    const a = master({ advbase: 1, advskew: 100 });
    const b = machine({ advbase: 1, advskew: 100 });
    b.clock.set(a.clock.now() + 123.4); // becomes MASTER later, on the same clock
    b.m.handle({ type: 'start', linkUp: true });
    b.clock.set(b.m.deadline('masterDownTimer')!);
    b.m.handle({ type: 'timer', timer: 'masterDownTimer' });
    expect(b.m.currentState).toBe('MASTER');
    const interval = 1000 + (100 * 1000) / 256;
    for (const t of [a, b]) {
      const due = t.m.deadline('advertTimer')!;
      // On the grid, 7/8 to 8/8 of an interval after the claim.
      const phase = due % (interval / 8);
      expect(Math.min(phase, interval / 8 - phase)).toBeCloseTo(0, 6);
      expect(due - t.clock.now()).toBeLessThanOrEqual(interval);
      expect(due - t.clock.now()).toBeGreaterThan((interval * 7) / 8);
    }
  });
});

describe('health: FAULT, demotion, pending, preempt-delay', () => {
  const health = (over: Partial<{ fault: boolean; demotion: number; pending: boolean; reason: string }> = {}) => ({
    type: 'health' as const,
    fault: false,
    demotion: 0,
    pending: false,
    reason: 'r',
    ...over,
  });

  it('a MASTER whose check fails bows out, enters FAULT, releases the VIP and runs the down-script', () => {
    const { m } = master();
    const out = m.handle(health({ fault: true, reason: 'check "nginx" failed' }));
    expect(out).toContainEqual({ type: 'sendAdvert', claim: { advbase: 255, advskew: 255 } });
    expect(out).toContainEqual({ type: 'transition', from: 'MASTER', to: 'FAULT', reason: 'check "nginx" failed' });
    expect(types(out)).toEqual(expect.arrayContaining(['removeVip', 'runScript:down', 'cancelTimer']));
    expect(types(out).indexOf('sendAdvert')).toBeLessThan(types(out).indexOf('transition'));
    expect(m.currentState).toBe('FAULT');
    expect(m.deadline('advertTimer')).toBeUndefined();
    expect(m.deadline('masterDownTimer')).toBeUndefined();
  });

  it('in FAULT it ignores adverts and timers; healthy again, it returns as BACKUP and listens', () => {
    const { m, clock } = master();
    m.handle(health({ fault: true }));
    expect(m.handle({ type: 'advert', ...PEER, claim: { advbase: 255, advskew: 255 } })).toEqual([]);
    expect(m.currentState).toBe('FAULT');
    clock.advance(10_000);
    const out = m.handle(health({ reason: 'everything tracked is healthy' }));
    expect(out).toContainEqual({ type: 'transition', from: 'FAULT', to: 'BACKUP', reason: 'everything tracked is healthy' });
    // No script on FAULT -> BACKUP: the down-script already ran when it left MASTER.
    expect(types(out)).not.toContain('runScript:down');
    expect(m.deadline('masterDownTimer')).toBe(clock.now() + 3000);
  });

  it('a BACKUP that faults runs no script (it holds no VIP) and never claims', () => {
    const { m, clock } = machine();
    m.handle({ type: 'start', linkUp: true });
    const out = m.handle(health({ fault: true }));
    expect(types(out)).toEqual(['transition', 'cancelTimer']);
    clock.advance(60_000);
    expect(m.handle({ type: 'timer', timer: 'masterDownTimer' })).toEqual([]);
    expect(m.currentState).toBe('FAULT');
  });

  it('demotion: a MASTER advertises advskew + demotion at once, capped at 240, and back when healthy', () => {
    const { m } = master({ advskew: 10 });
    expect(m.handle(health({ demotion: 50 }))).toContainEqual({ type: 'sendAdvert', claim: { advbase: 1, advskew: 60 } });
    expect(m.status()).toMatchObject({ demotion: 50, claim: { advbase: 1, advskew: 60 } });
    expect(m.handle(health({ demotion: 500 }))).toContainEqual({ type: 'sendAdvert', claim: { advbase: 1, advskew: 240 } });
    expect(m.handle(health({ demotion: 0 }))).toContainEqual({ type: 'sendAdvert', claim: { advbase: 1, advskew: 10 } });
    expect(m.currentState).toBe('MASTER');
  });

  it('a demoted MASTER yields to a preferred master it would otherwise beat', () => {
    const { m } = master({ advskew: 0 });
    m.handle(health({ demotion: 50 }));
    // The peer advertises advskew 20: shorter than our demoted 50.
    const out = m.handle({ type: 'advert', ...PEER, claim: { advbase: 1, advskew: 20 } });
    expect(out).toContainEqual(expect.objectContaining({ type: 'transition', from: 'MASTER', to: 'BACKUP' }));
  });

  it('pending: no claim while a weight-0 check has not reported, even when nobody advertises', () => {
    const { m, clock } = machine();
    m.handle({ type: 'start', linkUp: true });
    m.handle(health({ pending: true }));
    clock.set(m.deadline('masterDownTimer')!);
    const out = m.handle({ type: 'timer', timer: 'masterDownTimer' });
    expect(types(out)).not.toContain('transition');
    expect(m.currentState).toBe('BACKUP');
    m.handle(health({ pending: false }));
    clock.set(m.deadline('masterDownTimer')!);
    m.handle({ type: 'timer', timer: 'masterDownTimer' });
    expect(m.currentState).toBe('MASTER');
  });

  it('preempt-delay: a faster backup with --preempt waits after start before overthrowing a slower master', () => {
    const { m, clock } = machine({ advskew: 0, preempt: true, preemptDelayMs: 5000 });
    m.handle({ type: 'start', linkUp: true });
    clock.advance(1000);
    m.handle({ type: 'advert', ...PEER, claim: { advbase: 1, advskew: 100 } });
    expect(m.currentState).toBe('BACKUP');
    clock.advance(4500);
    m.handle({ type: 'advert', ...PEER, claim: { advbase: 1, advskew: 100 } });
    expect(m.currentState).toBe('MASTER');
  });

  it('preempt-delay applies again after leaving FAULT', () => {
    const { m, clock } = master({ advskew: 0, preempt: true, preemptDelayMs: 3000 });
    m.handle(health({ fault: true }));
    clock.advance(100_000);
    m.handle(health({}));
    m.handle({ type: 'advert', ...PEER, claim: { advbase: 1, advskew: 100 } });
    expect(m.currentState).toBe('BACKUP');
    clock.advance(3001);
    m.handle({ type: 'advert', ...PEER, claim: { advbase: 1, advskew: 100 } });
    expect(m.currentState).toBe('MASTER');
  });
});

import { describe, expect, it } from 'vitest';
import { type Effect, type MachineConfig } from '../../lib/state/machine.js';
import { vrrpRules, type VrrpClaim } from '../../lib/state/rules.js';
import { HIGHER_PEER, LOWER_PEER, newMachine, startAsMaster, types } from '../helpers/machine.js';
import { Simulation, type SimNode } from '../helpers/sim.js';

// The machine with VRRP's rules (rules.ts vrrpRules): the behaviour keepalived 2.2.7 showed
// in the lab (/work/wt/vrrp-facts.md), where carpd means to match it.

type VrrpOptions = Partial<Omit<MachineConfig, 'rules'>> & { version?: 2 | 3; priority?: number; intervalCs?: number };

function machine(over: VrrpOptions = {}) {
  const { version = 2, priority = 100, intervalCs = 100, ...rest } = over;
  return newMachine({ rules: vrrpRules({ version, priority, intervalCs }), preempt: true, ...rest });
}

/** Started and past its master-down interval: MASTER. */
function master(over: VrrpOptions = {}) {
  return startAsMaster(machine(over));
}

const sent = (effects: Effect[]) => effects.flatMap((e) => (e.type === 'sendAdvert' ? [e.claim] : []));
const advert = (peer: { src: string; srcAddress: number }, priority: number, intervalCs = 100) =>
  ({ type: 'advert', ...peer, claim: { priority, intervalCs } satisfies VrrpClaim }) as const;

describe('start', () => {
  it.each([
    // [version, priority, interval cs, master-down ms]: 3 × interval + skew, as keepalived (3.609 s at 100)
    [2, 100, 100, 3609.375],
    [2, 255, 100, 3003.90625],
    [2, 100, 200, 6609.375],
    [3, 100, 100, 3609.375],
    [3, 200, 10, 321.875],
  ] as const)('v%i priority %i interval %i cs: BACKUP, then MASTER after %f ms of silence', (version, priority, intervalCs, downMs) => {
    const { m, clock } = machine({ version, priority, intervalCs });
    const out = m.handle({ type: 'start', linkUp: true });
    expect(m.currentState).toBe('BACKUP');
    expect(out).toContainEqual({ type: 'armTimer', timer: 'masterDownTimer', delayMs: downMs });
    clock.advance(downMs - 5);
    m.handle({ type: 'timer', timer: 'masterDownTimer' });
    expect(m.currentState).toBe('BACKUP');
    clock.set(1000 + downMs);
    const claimed = m.handle({ type: 'timer', timer: 'masterDownTimer' });
    expect(m.currentState).toBe('MASTER');
    // The advert goes first, with our priority and interval.
    expect(claimed[0]).toEqual({ type: 'sendAdvert', claim: { priority, intervalCs } });
    expect(types(claimed)).toEqual(['sendAdvert', 'transition', 'addVip', 'garp', 'runScript:up', 'armTimer']);
  });

  it('the owner (255) in initial state MASTER claims at once', () => {
    const { m } = machine({ priority: 255, initialMaster: true });
    const out = m.handle({ type: 'start', linkUp: true });
    expect(m.currentState).toBe('MASTER');
    expect(out[0]).toEqual({ type: 'sendAdvert', claim: { priority: 255, intervalCs: 100 } });
    expect(out).toContainEqual(expect.objectContaining({ type: 'transition', from: 'INIT', to: 'MASTER' }));
    expect(types(out)).toContain('addVip');
    expect(m.deadline('masterDownTimer')).toBeUndefined();
  });

  it('the owner without initial state MASTER listens a master-down interval first (keepalived: +3.027 s)', () => {
    const { m } = machine({ priority: 255 });
    expect(m.handle({ type: 'start', linkUp: true })).toContainEqual({ type: 'armTimer', timer: 'masterDownTimer', delayMs: 3003.90625 });
    expect(m.currentState).toBe('BACKUP');
  });

  it('initial state MASTER below 255 is only a hint: BACKUP first, as keepalived', () => {
    const { m } = machine({ priority: 254, initialMaster: true });
    m.handle({ type: 'start', linkUp: true });
    expect(m.currentState).toBe('BACKUP');
  });

  it('the owner in initial state MASTER with the link down waits for carrier', () => {
    const { m } = machine({ priority: 255, initialMaster: true });
    m.handle({ type: 'start', linkUp: false });
    expect(m.currentState).toBe('BACKUP');
  });

  it('an owner that claimed at once still yields to another owner with a higher address', () => {
    const { m } = machine({ priority: 255, initialMaster: true });
    m.handle({ type: 'start', linkUp: true });
    m.handle(advert(HIGHER_PEER, 255));
    expect(m.currentState).toBe('BACKUP');
  });
});

describe('bow-out (priority 0)', () => {
  it('heard by a backup: MASTER after the skew time, not the master-down interval (keepalived: 0.688 s at 80)', () => {
    const { m, clock } = machine({ priority: 80 });
    m.handle({ type: 'start', linkUp: true });
    m.handle(advert(HIGHER_PEER, 150));
    clock.advance(500);
    const out = m.handle(advert(HIGHER_PEER, 0));
    expect(m.currentState).toBe('BACKUP');
    expect(out).toContainEqual({ type: 'armTimer', timer: 'masterDownTimer', delayMs: 687.5 });
    clock.advance(687.5);
    const claimed = m.handle({ type: 'timer', timer: 'masterDownTimer' });
    expect(m.currentState).toBe('MASTER');
    expect(claimed).toContainEqual(expect.objectContaining({ type: 'transition', reason: expect.stringContaining('bowed out') }));
  });

  it('v3: the skew time is of the master\'s interval', () => {
    const { m } = machine({ version: 3, priority: 80, intervalCs: 200 });
    m.handle({ type: 'start', linkUp: true });
    m.handle(advert(HIGHER_PEER, 150, 50));
    expect(m.handle(advert(HIGHER_PEER, 0, 50))).toContainEqual({ type: 'armTimer', timer: 'masterDownTimer', delayMs: 343.75 });
  });

  it('heard by a backup without preempt: still taken over after the skew time', () => {
    const { m } = machine({ priority: 80, preempt: false });
    m.handle({ type: 'start', linkUp: true });
    expect(m.handle(advert(HIGHER_PEER, 0))).toContainEqual({ type: 'armTimer', timer: 'masterDownTimer', delayMs: 687.5 });
  });

  it('a better backup that claims during our skew wait is followed, and re-arms the full timer', () => {
    const { m, clock } = machine({ priority: 80 });
    m.handle({ type: 'start', linkUp: true });
    m.handle(advert(HIGHER_PEER, 0));
    clock.advance(300);
    const out = m.handle(advert(LOWER_PEER, 100));
    expect(m.currentState).toBe('BACKUP');
    expect(out).toContainEqual({ type: 'armTimer', timer: 'masterDownTimer', delayMs: 3687.5 });
    clock.advance(687.5);
    m.handle({ type: 'timer', timer: 'masterDownTimer' });
    expect(m.currentState).toBe('BACKUP');
  });

  it('heard by a master: it advertises at once and stays MASTER', () => {
    const { m } = master();
    const out = m.handle(advert(HIGHER_PEER, 0));
    expect(m.currentState).toBe('MASTER');
    expect(sent(out)).toEqual([{ priority: 100, intervalCs: 100 }]);
    expect(types(out)).not.toContain('transition');
  });
});

describe('a MASTER hearing another master', () => {
  it.each([
    ['a lower priority', advert(HIGHER_PEER, 50)],
    ['an equal priority from a lower address', advert(LOWER_PEER, 100)],
  ])('%s: advertises at once and re-sends gratuitous ARP', (_name, event) => {
    const { m } = master();
    const out = m.handle(event);
    expect(m.currentState).toBe('MASTER');
    expect(sent(out)).toEqual([{ priority: 100, intervalCs: 100 }]);
    expect(types(out)).toContain('garp');
  });

  it.each([
    ['a higher priority', advert(LOWER_PEER, 101)],
    ['an equal priority from a higher address', advert(HIGHER_PEER, 100)],
  ])('%s: goes BACKUP, drops the VIP, runs the down-script', (_name, event) => {
    const { m } = master();
    const out = m.handle(event);
    expect(m.currentState).toBe('BACKUP');
    expect(out).toContainEqual(expect.objectContaining({ type: 'transition', from: 'MASTER', to: 'BACKUP' }));
    expect(types(out)).toEqual(expect.arrayContaining(['removeVip', 'runScript:down', 'armTimer']));
    expect(m.deadline('advertTimer')).toBeUndefined();
  });
});

describe('leaving MASTER', () => {
  it('shutdown sends one priority-0 advert at our interval, then releases the VIP', () => {
    const { m } = master({ version: 3, intervalCs: 50 });
    const out = m.handle({ type: 'shutdown' });
    expect(sent(out)).toEqual([{ priority: 0, intervalCs: 50 }]);
    expect(types(out).indexOf('sendAdvert')).toBeLessThan(types(out).indexOf('removeVip'));
    expect(m.handle({ type: 'timer', timer: 'advertTimer' })).toEqual([]);
  });

  it('shutdown of a BACKUP sends nothing', () => {
    const { m } = machine();
    m.handle({ type: 'start', linkUp: true });
    expect(sent(m.handle({ type: 'shutdown' }))).toEqual([]);
  });

  it('FAULT sends priority 0 so a backup takes over after its skew time', () => {
    const { m } = master({ priority: 150 });
    const out = m.handle({ type: 'health', fault: true, demotion: 0, pending: false, reason: 'check web failed' });
    expect(m.currentState).toBe('FAULT');
    expect(sent(out)).toEqual([{ priority: 0, intervalCs: 100 }]);
    expect(types(out)).toContain('removeVip');
  });

  it('step-down (SIGUSR2) sends priority 0 too', () => {
    const { m } = master();
    expect(sent(m.handle({ type: 'stepDown' }))).toEqual([{ priority: 0, intervalCs: 100 }]);
    expect(m.currentState).toBe('BACKUP');
  });
});

describe('demotion', () => {
  it('lowers the advertised priority and advertises it at once', () => {
    const { m } = master({ priority: 100 });
    const out = m.handle({ type: 'health', fault: false, demotion: 30, pending: false, reason: 'check db failed (weight 30)' });
    expect(sent(out)).toEqual([{ priority: 70, intervalCs: 100 }]);
    expect(out).toContainEqual(expect.objectContaining({ type: 'log', message: expect.stringContaining('priority 70 (100 - demotion 30)') }));
    expect(m.status().claim).toEqual({ priority: 70, intervalCs: 100 });
  });

  it('the periodic adverts carry the demoted priority, and a backup above it preempts', () => {
    const t = master({ priority: 100 });
    t.m.handle({ type: 'health', fault: false, demotion: 30, pending: false, reason: 'check failed' });
    t.clock.set(t.m.deadline('advertTimer')!);
    expect(sent(t.m.handle({ type: 'timer', timer: 'advertTimer' }))).toEqual([{ priority: 70, intervalCs: 100 }]);
    // A master at 80 now beats us.
    t.m.handle(advert(LOWER_PEER, 80));
    expect(t.m.currentState).toBe('BACKUP');
  });

  it('never below priority 1: a demoted node does not resign', () => {
    const { m } = master({ priority: 50 });
    expect(sent(m.handle({ type: 'health', fault: false, demotion: 200, pending: false, reason: 'x' }))).toEqual([{ priority: 1, intervalCs: 100 }]);
  });

  it('a demoted backup does not preempt a master it no longer beats', () => {
    const { m } = machine({ priority: 150 });
    m.handle({ type: 'start', linkUp: true });
    m.handle({ type: 'health', fault: false, demotion: 60, pending: false, reason: 'x' });
    m.handle(advert(HIGHER_PEER, 100));
    expect(m.currentState).toBe('BACKUP');
  });
});

describe('preemption', () => {
  it('a backup preempts a lower-priority master by default (VRRP\'s preempt)', () => {
    const { m } = machine({ priority: 150 });
    m.handle({ type: 'start', linkUp: true });
    const out = m.handle(advert(HIGHER_PEER, 100));
    expect(m.currentState).toBe('MASTER');
    expect(sent(out)[0]).toEqual({ priority: 150, intervalCs: 100 });
  });

  it('nopreempt: a backup follows a lower-priority master', () => {
    const { m, clock } = machine({ priority: 150, preempt: false });
    m.handle({ type: 'start', linkUp: true });
    for (let i = 0; i < 10; i++) {
      clock.advance(1000);
      m.handle(advert(HIGHER_PEER, 100));
    }
    expect(m.currentState).toBe('BACKUP');
    expect(m.deadline('masterDownTimer')).toBe(clock.now() + 3414.0625);
  });

  it('preempt delay: no preemption until the delay after start has passed, then at the next lower advert', () => {
    const { m, clock } = machine({ priority: 150, preemptDelayMs: 5000 });
    m.handle({ type: 'start', linkUp: true });
    for (let t = 1000; t < 5000; t += 1000) {
      clock.set(1000 + t);
      m.handle(advert(HIGHER_PEER, 100));
      expect(m.currentState, `at +${t} ms`).toBe('BACKUP');
    }
    clock.set(1000 + 5000);
    m.handle(advert(HIGHER_PEER, 100));
    expect(m.currentState).toBe('MASTER');
  });

  it('preempt delay starts again after FAULT', () => {
    const { m, clock } = machine({ priority: 150, preemptDelayMs: 2000 });
    m.handle({ type: 'start', linkUp: true });
    clock.advance(10_000);
    m.handle({ type: 'health', fault: true, demotion: 0, pending: false, reason: 'down' });
    m.handle({ type: 'health', fault: false, demotion: 0, pending: false, reason: 'up' });
    clock.advance(1000);
    m.handle(advert(HIGHER_PEER, 100));
    expect(m.currentState).toBe('BACKUP');
    clock.advance(1000);
    m.handle(advert(HIGHER_PEER, 100));
    expect(m.currentState).toBe('MASTER');
  });
});

describe('VRRPv3 intervals', () => {
  it('a backup adopts the master\'s interval for master-down (keepalived: 1.844 s with a 0.5 s master, own 2 s)', () => {
    const { m, clock } = machine({ version: 3, priority: 80, intervalCs: 200 });
    m.handle({ type: 'start', linkUp: true });
    expect(m.deadline('masterDownTimer')).toBe(1000 + 3 * 2000 + (176 * 2000) / 256);
    clock.advance(100);
    const out = m.handle(advert(HIGHER_PEER, 150, 50));
    expect(out).toContainEqual({ type: 'armTimer', timer: 'masterDownTimer', delayMs: 1843.75 });
    expect(m.status().masterDownIntervalMs).toBe(1843.75);
    clock.advance(1843.75);
    m.handle({ type: 'timer', timer: 'masterDownTimer' });
    expect(m.currentState).toBe('MASTER');
  });

  it('as MASTER it advertises its own configured interval again', () => {
    const { m, clock } = machine({ version: 3, priority: 80, intervalCs: 200 });
    m.handle({ type: 'start', linkUp: true });
    m.handle(advert(HIGHER_PEER, 150, 50));
    clock.advance(1843.75);
    const out = m.handle({ type: 'timer', timer: 'masterDownTimer' });
    expect(sent(out)).toEqual([{ priority: 80, intervalCs: 200 }]);
    expect(m.status().advertisementIntervalMs).toBe(2000);
  });

  it('v2 keeps its own interval for master-down', () => {
    const { m } = machine({ version: 2, priority: 80, intervalCs: 100 });
    m.handle({ type: 'start', linkUp: true });
    expect(m.handle(advert(HIGHER_PEER, 150, 300))).toContainEqual({ type: 'armTimer', timer: 'masterDownTimer', delayMs: 3687.5 });
  });
});

describe('three VRRP nodes in the simulation (priorities 150, 100, 50)', () => {
  /**
   * How many nodes were MASTER at once, at worst, replaying the transitions in time order.
   * The simulation records transitions made by events; a shutdown is not one (SimNode.feed
   * calls vhost.shutdown()), so the stopped nodes are given with the time they stopped.
   */
  function mostMastersAtOnce(sim: Simulation, stopped: { node: string; at: number }[] = []): number {
    const events = [
      ...sim.transitions.map((t) => ({ at: t.at, node: t.node, master: t.to === 'MASTER' ? true : t.from === 'MASTER' ? false : undefined })),
      ...stopped.map((s) => ({ at: s.at, node: s.node, master: false as boolean | undefined })),
    ].sort((x, y) => x.at - y.at);
    const masters = new Set<string>();
    let most = 0;
    for (const e of events) {
      if (e.master === true) masters.add(e.node);
      else if (e.master === false) masters.delete(e.node);
      most = Math.max(most, masters.size);
    }
    return most;
  }

  async function threeNodes(version: 2 | 3): Promise<{ sim: Simulation; a: SimNode; b: SimNode; c: SimNode }> {
    const sim = new Simulation();
    const protocol = version === 3 ? 'vrrp3' : 'vrrp2';
    const a = sim.add({ name: 'a', address: '198.18.0.1', protocol, priority: 150, vhid: 51, vips: ['198.18.0.50'] });
    const b = sim.add({ name: 'b', address: '198.18.0.2', protocol, priority: 100, vhid: 51, vips: ['198.18.0.50'] });
    const c = sim.add({ name: 'c', address: '198.18.0.3', protocol, priority: 50, vhid: 51, vips: ['198.18.0.50'] });
    for (const n of sim.nodes) n.feed({ type: 'start', linkUp: true });
    await sim.runFor(10_000);
    return { sim, a, b, c };
  }

  it.each([2, 3] as const)('v%i: elect the 150 node, once, after its master-down interval', async (version) => {
    const { sim, a, b, c } = await threeNodes(version);
    expect(sim.masters()).toEqual([a]);
    expect([a.state, b.state, c.state]).toEqual(['MASTER', 'BACKUP', 'BACKUP']);
    expect(a.hasVip && !b.hasVip && !c.hasVip).toBe(true);
    expect(mostMastersAtOnce(sim)).toBe(1);
    const claimed = sim.transitions.find((t) => t.to === 'MASTER')!;
    expect(claimed.at).toBeCloseTo(3414.0625, 0);
    // The backups heard VRRP adverts: a advertises every second at priority 150; they never did.
    expect(a.vrrpAdverts.length).toBeGreaterThanOrEqual(6);
    expect(a.vrrpAdverts.every((ad) => ad.priority === 150 && ad.version === version && ad.vrid === 51)).toBe(true);
    expect(b.vrrpAdverts).toEqual([]);
    expect(c.vrrpAdverts).toEqual([]);
    expect(b.main.vhost.snapshot().advertsReceived).toBeGreaterThanOrEqual(6);
  });

  it.each([2, 3] as const)('v%i: clean stop of the master: the 100 node takes over after its skew time, not the 50 one, never two masters', async (version) => {
    const { sim, a, b, c } = await threeNodes(version);
    const stopAt = sim.clock.now();
    a.feed({ type: 'shutdown' });
    await sim.runFor(10_000);
    expect(a.vrrpAdverts.at(-1)).toMatchObject({ priority: 0 });
    expect(sim.masters()).toEqual([b]);
    expect(c.state).toBe('BACKUP');
    expect(b.hasVip && !c.hasVip).toBe(true);
    const takeover = sim.transitions.filter((t) => t.at > stopAt && t.to === 'MASTER');
    expect(takeover.map((t) => t.node)).toEqual(['b']);
    // b's skew time, (256 - 100)/256 of a second (v3: of a's 1 s interval), plus the latency.
    expect(takeover[0]!.at - stopAt).toBeGreaterThan(600);
    expect(takeover[0]!.at - stopAt).toBeLessThan(620);
    expect(mostMastersAtOnce(sim, [{ node: 'a', at: stopAt }])).toBe(1);
    expect(c.vrrpAdverts).toEqual([]);
  });

  it.each([2, 3] as const)('v%i: the takeover advert, encoded in the timer\'s last milliseconds, is the one the other backup accepts at once', async (version) => {
    const { sim, a, b, c } = await threeNodes(version);
    const before = c.main.vhost.snapshot().advertsReceived;
    a.feed({ type: 'shutdown' });
    // Up to b's takeover and the delivery of its first advert (0.2 ms), not to its second.
    await sim.runFor(700);
    const takeover = sim.transitions.find((t) => t.node === 'b' && t.to === 'MASTER')!;
    const first = b.vrrpAdverts.find((ad) => ad.at >= takeover.at)!;
    expect(first).toMatchObject({ at: takeover.at, priority: 100, version, vrid: 51, intervalCs: 100 });
    expect(b.vrrpAdverts.filter((ad) => ad.at >= takeover.at)).toHaveLength(1);
    // c took it: a's bow-out and b's first advert, nothing dropped, b now its master.
    expect(c.main.vhost.snapshot().advertsReceived).toBe(before + 2);
    expect(c.main.vhost.snapshot().master).toBe('198.18.0.2');
    expect(Object.values(c.main.vhost.snapshot().drops).every((n) => n === 0)).toBe(true);
  });

  it('the guardian hears of the VIP in the timer\'s last 5 ms: kept when the takeover comes, released when it does not', async () => {
    const { sim, a, b, c } = await threeNodes(3);
    a.feed({ type: 'shutdown' });
    await sim.runFor(700);
    expect(sim.masters()).toEqual([b]);
    expect(b.main.host.ahead).toEqual(['hold']);
    // c's longer skew never reached its last 5 ms: b's advert came first.
    expect(c.main.host.ahead).toEqual([]);

    // b stops; c's master-down timer reaches its last 5 ms, then c stops before it fires.
    const stopAt = sim.clock.now();
    b.feed({ type: 'shutdown' });
    // c's skew after b's bow-out: (256 - 50)/256 of b's 1 s interval, about 805 ms.
    await sim.runUntil(stopAt + 802);
    expect(c.state).toBe('BACKUP');
    expect(c.main.host.ahead).toEqual(['hold']);
    c.feed({ type: 'shutdown' });
    await sim.runFor(10);
    expect(c.main.host.ahead).toEqual(['hold', 'release']);
    expect(c.hasVip).toBe(false);
  });

  it('a takeover adds the VIP (held ahead, so told nothing again), then advertises, then sends its ARPs', async () => {
    for (const addsNow of [true, false]) {
      const { sim, a, b } = await threeNodes(3);
      b.main.host.addsNow = addsNow;
      b.actions.length = 0;
      a.feed({ type: 'shutdown' });
      await sim.runFor(700);
      expect(sim.masters()).toEqual([b]);
      const takeover = b.actions.slice(b.actions.indexOf('hold ahead'), b.actions.indexOf('garp') + 1);
      // Without addVipNow (ip(8)) the VIP waits in the host queue: the advert goes first.
      expect(takeover).toEqual(addsNow ? ['hold ahead', 'vip', 'advert', 'garp'] : ['hold ahead', 'advert', 'garp']);
      expect(b.hasVip).toBe(true);
    }
  });

  it('the skew time runs from the bow-out\'s arrival: time its checks took is not added to the wait', async () => {
    const takeoverAfterStop = async (checksMs: number): Promise<number> => {
      const sim = new Simulation(0.2, checksMs);
      const a = sim.add({ name: 'a', address: '198.18.0.1', protocol: 'vrrp3', priority: 150, vhid: 51, vips: ['198.18.0.50'] });
      sim.add({ name: 'b', address: '198.18.0.2', protocol: 'vrrp3', priority: 100, vhid: 51, vips: ['198.18.0.50'] });
      for (const n of sim.nodes) n.feed({ type: 'start', linkUp: true });
      await sim.runFor(10_000);
      const stopAt = sim.clock.now();
      a.feed({ type: 'shutdown' });
      await sim.runFor(2_000);
      return sim.transitions.find((t) => t.node === 'b' && t.to === 'MASTER' && t.at > stopAt)!.at - stopAt;
    };
    const plain = await takeoverAfterStop(0);
    // The bow-out arrives 0.2 ms after the stop; b waits (256 - 100)/256 of a second from then.
    expect(plain).toBeCloseTo(0.2 + 609.375, 3);
    expect(await takeoverAfterStop(3)).toBeCloseTo(plain - 3, 3);
  });

  it('the 150 node back: it preempts the 100 node (VRRP preempts by default), and b steps back', async () => {
    const { sim, a, b } = await threeNodes(2);
    a.feed({ type: 'shutdown' });
    await sim.runFor(5000);
    expect(sim.masters()).toEqual([b]);
    const again = sim.add({ name: 'a2', address: '198.18.0.1', protocol: 'vrrp2', priority: 150, vhid: 51, vips: ['198.18.0.50'] });
    again.feed({ type: 'start', linkUp: true });
    await sim.runFor(5000);
    expect(sim.masters()).toEqual([again]);
  });
});

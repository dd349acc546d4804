// The daemon's wiring (Link, VirtualHost, sync groups) on the in-memory segment: real checks,
// real digests, real host-action queues, a manual clock.
import { describe, expect, it } from 'vitest';
import { Simulation } from '../helpers/sim.js';

const states = (sim: Simulation) =>
  Object.fromEntries(sim.nodes.flatMap((n) => n.vhosts.map((v) => [`${n.name}/${v.vhost.name}`, v.state])));

describe('one process, many vhosts', () => {
  it('active/active: each node is MASTER of the vhost it advertises faster, over one link', async () => {
    const sim = new Simulation();
    const a = sim.addHost('a', '198.18.0.1');
    const b = sim.addHost('b', '198.18.0.2');
    a.addVhost({ name: 'web', vhid: 10, advskew: 0, preempt: true });
    a.addVhost({ name: 'db', vhid: 11, advskew: 100, preempt: true });
    b.addVhost({ name: 'web', vhid: 10, advskew: 100, preempt: true });
    b.addVhost({ name: 'db', vhid: 11, advskew: 0, preempt: true });
    a.feed({ type: 'start', linkUp: true });
    b.feed({ type: 'start', linkUp: true });
    await sim.runFor(60_000);
    expect(states(sim)).toEqual({ 'a/web': 'MASTER', 'a/db': 'BACKUP', 'b/web': 'BACKUP', 'b/db': 'MASTER' });
    // Each vhost heard the other node's adverts for its own vhid only: no bad digests, and
    // nothing of one vhid leaked into the other's counters.
    for (const node of [a, b]) {
      for (const v of node.vhosts) {
        const snap = v.vhost.snapshot();
        expect(Object.values(snap.drops).reduce((x, y) => x + y, 0)).toBe(0);
        // A BACKUP hears its master; a MASTER hears nobody (backups are silent).
        if (snap.state === 'BACKUP') expect(snap.advertsReceived).toBeGreaterThan(50);
        else expect(snap.advertsSent).toBeGreaterThan(50);
      }
    }
    // A cut link on b: both VIPs end on a.
    b.carrier(false);
    await sim.runFor(5_000);
    expect(states(sim)).toEqual({ 'a/web': 'MASTER', 'a/db': 'MASTER', 'b/web': 'BACKUP', 'b/db': 'BACKUP' });
    expect(a.vhosts.every((v) => v.hasVip)).toBe(true);
    expect(b.vhosts.some((v) => v.hasVip)).toBe(false);
  });

  it('the link hands each advert to the vhost of its vhid; other vhids are counted on the link', async () => {
    const sim = new Simulation();
    const a = sim.addHost('a', '198.18.0.1');
    const b = sim.addHost('b', '198.18.0.2');
    a.addVhost({ vhid: 1 });
    a.addVhost({ vhid: 2, password: 'right' });
    b.addVhost({ vhid: 2, password: 'wrong', advskew: 0 });
    b.addVhost({ vhid: 3 });
    b.feed({ type: 'start', linkUp: true });
    await sim.runFor(10_000); // b is MASTER of 2 and 3, advertising both
    a.feed({ type: 'start', linkUp: true });
    await sim.runFor(5_000);
    const [v1, v2] = a.vhosts.map((v) => v.vhost.snapshot());
    expect(v2!.drops['bad-digest']).toBeGreaterThan(0);
    expect(v1!.drops['bad-digest']).toBe(0);
    expect(a.link.dropSnapshot()['other-vhid']).toBeGreaterThan(0);
    // The wrong password means a never hears b on vhid 2: it claims it too (split brain, as
    // with ucarp), and reports the bad digests that explain it.
    expect(a.vhosts[1]!.state).toBe('MASTER');
  });

  it('several VIPs in one vhost: nodes that list them in another order still agree', async () => {
    const sim = new Simulation();
    const a = sim.add({ name: 'a', address: '198.18.0.1', vips: ['198.18.0.50', '198.18.0.51', '198.18.0.9'] });
    const b = sim.add({ name: 'b', address: '198.18.0.2', vips: ['198.18.0.9', '198.18.0.51', '198.18.0.50'], advskew: 50 });
    a.feed({ type: 'start', linkUp: true });
    b.feed({ type: 'start', linkUp: true });
    await sim.runFor(20_000);
    expect(sim.masters()).toEqual([a]);
    expect([...a.main.host.vips].sort()).toEqual(['198.18.0.50', '198.18.0.51', '198.18.0.9']);
    expect(b.main.vhost.snapshot().drops['bad-digest']).toBe(0);
    expect(b.main.vhost.snapshot().advertsReceived).toBeGreaterThan(10);
  });

  it('a MASTER that cannot add its VIP steps down and the peer takes over (the machine decides)', async () => {
    const sim = new Simulation();
    const a = sim.add({ name: 'a', address: '198.18.0.1', advskew: 0 });
    const b = sim.add({ name: 'b', address: '198.18.0.2', advskew: 100 });
    a.main.host.failAdds = true;
    a.feed({ type: 'start', linkUp: true });
    b.feed({ type: 'start', linkUp: true });
    await sim.runFor(3_500);
    // a won (faster), failed to add its VIP, bowed out; b took over at once.
    const aFirst = sim.transitions.filter((t) => t.node === 'a').map((t) => `${t.from}->${t.to} ${t.reason}`);
    expect(aFirst).toContain('BACKUP->MASTER timer');
    expect(aFirst).toContain('MASTER->BACKUP vipAddFailed');
    await sim.runFor(2_000);
    expect(sim.masters()).toEqual([b]);
    expect(b.hasVip).toBe(true);
  });
});

describe('sync groups', () => {
  function pair(sim: Simulation) {
    const a = sim.addHost('a', '198.18.0.1');
    const b = sim.addHost('b', '198.18.0.2');
    for (const [node, skew] of [
      [a, 0],
      [b, 100],
    ] as const) {
      node.addVhost({ name: 'inside', vhid: 20, group: 'router', advskew: skew, preempt: true });
      node.addVhost({ name: 'outside', vhid: 21, group: 'router', advskew: skew, preempt: true });
    }
    return { a, b };
  }

  it('a preempting node takes the whole group at the same instant', async () => {
    const sim = new Simulation();
    const { a, b } = pair(sim);
    b.feed({ type: 'start', linkUp: true });
    await sim.runFor(10_000);
    expect(states(sim)).toMatchObject({ 'b/inside': 'MASTER', 'b/outside': 'MASTER' });
    a.feed({ type: 'start', linkUp: true });
    await sim.runFor(3_000);
    expect(states(sim)).toEqual({ 'a/inside': 'MASTER', 'a/outside': 'MASTER', 'b/inside': 'BACKUP', 'b/outside': 'BACKUP' });
    const aUp = sim.transitions.filter((t) => t.node === 'a' && t.to === 'MASTER');
    expect(aUp).toHaveLength(2);
    expect(aUp[0]!.at).toBe(aUp[1]!.at);
    // One member won its election; the other followed through the group.
    expect(aUp.map((t) => t.reason).sort()).toEqual(['advert', 'groupMaster']);
    const bDown = sim.transitions.filter((t) => t.node === 'b' && t.from === 'MASTER');
    expect(bDown[1]!.at - bDown[0]!.at).toBeLessThan(1);
    // and it stays so: no flapping for a simulated ten minutes.
    const before = sim.transitions.length;
    await sim.runFor(600_000);
    expect(sim.transitions.length).toBe(before);
  });

  it('a member whose link is down holds the rest of the group: all VIPs move to the peer', async () => {
    const sim = new Simulation();
    const a = sim.addHost('a', '198.18.0.1');
    const b = sim.addHost('b', '198.18.0.2');
    // "outside" ignores carrier (as if on another interface that stays up), "inside" follows it.
    a.addVhost({ name: 'inside', vhid: 20, group: 'router', advskew: 0 });
    a.addVhost({ name: 'outside', vhid: 21, group: 'router', advskew: 0, ignoreIfState: true });
    b.addVhost({ name: 'inside', vhid: 20, group: 'router', advskew: 100 });
    b.addVhost({ name: 'outside', vhid: 21, group: 'router', advskew: 100 });
    a.feed({ type: 'start', linkUp: true });
    b.feed({ type: 'start', linkUp: true });
    await sim.runFor(10_000);
    expect(a.vhosts.map((v) => v.state)).toEqual(['MASTER', 'MASTER']);
    a.carrier(false); // only "inside" sees it
    await sim.runFor(1);
    expect(a.vhosts.map((v) => v.state)).toEqual(['BACKUP', 'BACKUP']);
    expect(a.vhosts[1]!.vhost.machine.status().groupHeld).toBe(true);
    await sim.runFor(5_000);
    expect(b.vhosts.map((v) => v.state)).toEqual(['MASTER', 'MASTER']);
    // Held, "outside" on a never contends though it hears b's adverts and its own timer would fire.
    await sim.runFor(60_000);
    expect(a.vhosts.map((v) => v.state)).toEqual(['BACKUP', 'BACKUP']);
    // Carrier back: released, both listen again; without preempt nothing moves back.
    a.carrier(true);
    await sim.runFor(20_000);
    expect(a.vhosts[1]!.vhost.machine.status().groupHeld).toBe(false);
    expect(b.vhosts.map((v) => v.state)).toEqual(['MASTER', 'MASTER']);
    expect(a.vhosts.some((v) => v.hasVip)).toBe(false);
  });
});

describe('health in the wiring', () => {
  it('a FAULT member holds its sync group: the peer takes every VIP of the group', async () => {
    const sim = new Simulation();
    const a = sim.addHost('a', '198.18.0.1');
    const b = sim.addHost('b', '198.18.0.2');
    for (const [node, skew] of [
      [a, 0],
      [b, 100],
    ] as const) {
      node.addVhost({ name: 'inside', vhid: 20, group: 'router', advskew: skew });
      node.addVhost({ name: 'outside', vhid: 21, group: 'router', advskew: skew });
    }
    a.feed({ type: 'start', linkUp: true });
    b.feed({ type: 'start', linkUp: true });
    await sim.runFor(10_000);
    expect(a.vhosts.map((v) => v.state)).toEqual(['MASTER', 'MASTER']);
    const faultAt = sim.clock.now();
    a.vhosts[0]!.vhost.dispatch({ type: 'health', fault: true, demotion: 0, pending: false, reason: 'check "fw" failed' });
    await sim.runFor(100);
    expect(a.vhosts.map((v) => v.state)).toEqual(['FAULT', 'BACKUP']);
    expect(a.vhosts[1]!.vhost.machine.status().groupHeld).toBe(true);
    // The bow-out of the faulting member and the group's push: b takes both within the bow-out wait.
    expect(b.vhosts.map((v) => v.state)).toEqual(['MASTER', 'MASTER']);
    const bUp = sim.transitions.filter((t) => t.node === 'b' && t.to === 'MASTER' && t.at >= faultAt);
    expect(Math.max(...bUp.map((t) => t.at)) - faultAt).toBeLessThan(100);
    expect(a.vhosts.some((v) => v.hasVip)).toBe(false);
    // Healthy again: back as BACKUP, released, and nothing moves back without preempt.
    a.vhosts[0]!.vhost.dispatch({ type: 'health', fault: false, demotion: 0, pending: false, reason: 'healthy' });
    await sim.runFor(20_000);
    expect(a.vhosts.map((v) => v.state)).toEqual(['BACKUP', 'BACKUP']);
    expect(b.vhosts.map((v) => v.state)).toEqual(['MASTER', 'MASTER']);
  });

  it('notify is told every state change, STOP at the end', async () => {
    const sim = new Simulation();
    const a = sim.add({ name: 'a', address: '198.18.0.1', notify: '/etc/carpd/notify' });
    a.feed({ type: 'start', linkUp: true });
    await sim.runFor(5_000);
    a.main.vhost.dispatch({ type: 'health', fault: true, demotion: 0, pending: false, reason: 'x' });
    a.main.vhost.dispatch({ type: 'health', fault: false, demotion: 0, pending: false, reason: 'y' });
    a.feed({ type: 'shutdown' });
    await sim.runFor(10);
    expect(a.main.host.notifications).toEqual(['BACKUP', 'MASTER', 'FAULT', 'BACKUP', 'STOP']);
  });
});

// --replay-protect on the daemon's wiring (Link, VirtualHost) in the in-memory segment: a dead
// master's recorded adverts, sent again by a third host, hold a backup off without it and not
// with it. The same scenario on real sockets: test/netns/replay.test.ts.
import { describe, expect, it } from 'vitest';
import { decodeAdvertisement } from '../../lib/protocol/carp.js';
import { counterSenderId, senderIdOfIpv4 } from '../../lib/protocol/replay.js';
import { Simulation, type SimNode } from '../helpers/sim.js';

/** Every datagram `node` puts on the segment, as sent. */
function record(sim: Simulation, node: SimNode): Buffer[] {
  const sent: Buffer[] = [];
  const broadcast = sim.broadcast.bind(sim);
  sim.broadcast = (from, datagram) => {
    if (from === node) sent.push(Buffer.from(datagram));
    broadcast(from, datagram);
  };
  return sent;
}

async function replayScenario(replayProtect: boolean) {
  const sim = new Simulation();
  const a = sim.add({ name: 'a', address: '198.18.0.1', advskew: 0, replayProtect });
  const b = sim.add({ name: 'b', address: '198.18.0.2', advskew: 100, replayProtect });
  const eve = sim.addHost('eve', '198.18.0.3'); // runs no vhost: only sends
  const recorded = record(sim, a);
  const sentByB = record(sim, b);
  a.feed({ type: 'start', linkUp: true });
  await sim.runFor(4_000);
  b.feed({ type: 'start', linkUp: true });
  await sim.runFor(8_000);
  expect([a.state, b.state]).toEqual(['MASTER', 'BACKUP']);
  a.kill();
  const killedAt = sim.clock.now();
  // Eight seconds of the recording, one advert a second, as the master sent them.
  const replay = recorded.slice(0, 8);
  expect(replay).toHaveLength(8);
  replay.forEach((datagram, k) => sim.schedule(100 + k * 1_000, () => sim.broadcast(eve, datagram)));
  await sim.runFor(14_000);
  const takeover = sim.transitions.find((t) => t.node === 'b' && t.to === 'MASTER' && t.at > killedAt);
  return { a, b, takeoverMs: takeover === undefined ? undefined : takeover.at - killedAt, recorded, sentByB };
}

describe('replayed adverts of a dead master', () => {
  it('without --replay-protect hold the backup off for as long as they come (the defect)', async () => {
    const { b, takeoverMs } = await replayScenario(false);
    // Master down is 3 × 1 s + 100/256 s after the last advert heard: the last replayed one
    // comes 7.1 s after the kill, so the backup takes over 10.5 s after it, not 3.4 s.
    expect(takeoverMs).toBeGreaterThan(10_000);
    expect(b.main.vhost.snapshot().drops.replayed).toBe(0);
  });

  it('with --replay-protect are dropped as replayed, and the backup takes over in the master-down time', async () => {
    const { b, takeoverMs } = await replayScenario(true);
    expect(takeoverMs).toBeDefined();
    expect(takeoverMs!).toBeLessThan(3_500);
    expect(b.main.vhost.snapshot().drops.replayed).toBe(8);
    expect(b.main.vhost.statusLine()).toMatch(/dropped 8 \(replayed 8\)/);
  });

  it('with --replay-protect every node sends its own counter and adopts none', async () => {
    const { a, b, recorded, sentByB } = await replayScenario(true);
    const counters = (sent: Buffer[]) => sent.map((d) => decodeAdvertisement(d, 20).counter);
    expect(counters(recorded).map(counterSenderId)).toEqual(recorded.map(() => senderIdOfIpv4(a.addressInt)));
    // b heard a's adverts for 8 s, then took over: its own adverts carry b's id, not a's
    // counter + 1 as ucarp's (and carpd's default) adoption would send, and they rise.
    const ofB = counters(sentByB);
    expect(ofB.length).toBeGreaterThan(4);
    expect(ofB.map(counterSenderId)).toEqual(ofB.map(() => senderIdOfIpv4(b.addressInt)));
    for (let k = 1; k < ofB.length; k++) expect(ofB[k]! > ofB[k - 1]!).toBe(true);
  });

  it('without --replay-protect a backup that takes over goes on from the old master\'s counter (ucarp\'s adoption)', async () => {
    const sim = new Simulation();
    const a = sim.add({ name: 'a', address: '198.18.0.1', advskew: 0 });
    const b = sim.add({ name: 'b', address: '198.18.0.2', advskew: 100 });
    const ofA = record(sim, a);
    const ofB = record(sim, b);
    a.feed({ type: 'start', linkUp: true });
    b.feed({ type: 'start', linkUp: true });
    await sim.runFor(8_000);
    a.kill();
    await sim.runFor(5_000);
    const last = decodeAdvertisement(ofA[ofA.length - 1]!, 20).counter;
    expect(decodeAdvertisement(ofB[0]!, 20).counter).toBe(last + 1n);
  });

  it('a peer without --replay-protect is not heard by one with it (every node of the vhost must run it)', async () => {
    const sim = new Simulation();
    const a = sim.add({ name: 'a', address: '198.18.0.1', advskew: 0 });
    const b = sim.add({ name: 'b', address: '198.18.0.2', advskew: 100, replayProtect: true });
    a.feed({ type: 'start', linkUp: true });
    await sim.runFor(4_000);
    b.feed({ type: 'start', linkUp: true });
    await sim.runFor(8_000);
    // a's counters do not carry its address: b drops them and claims the VIP too.
    expect(b.main.vhost.snapshot().drops.replayed).toBeGreaterThan(4);
    expect(b.state).toBe('MASTER');
  });
});

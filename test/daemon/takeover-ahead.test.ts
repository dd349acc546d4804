// A takeover's VIP goes on as the master-down timer fires, before the machine runs, when a fork
// of the machine foresaw it in the timer's last milliseconds and no event reached the machine
// since (VirtualHost.foreseeTakeover / addAheadOfMachine, lib/daemon/vhost.ts). Otherwise the
// machine runs first, as before. Either way the VIP is added once and the machine decides.
import { describe, expect, it } from 'vitest';
import { Simulation, type SimNode } from '../helpers/sim.js';

async function pair(): Promise<{ sim: Simulation; a: SimNode; b: SimNode; statesAtAdd: string[] }> {
  const sim = new Simulation();
  const a = sim.add({ name: 'a', address: '198.18.0.1', protocol: 'vrrp3', priority: 150, vhid: 51, advertIntCs: 10, vips: ['198.18.0.50'] });
  const b = sim.add({ name: 'b', address: '198.18.0.2', protocol: 'vrrp3', priority: 100, vhid: 51, advertIntCs: 10, vips: ['198.18.0.50'] });
  for (const n of sim.nodes) n.feed({ type: 'start', linkUp: true });
  await sim.runFor(3_000);
  expect(sim.masters()).toEqual([a]);
  const host = b.main.host;
  host.addsNow = true;
  // b's state when its VIP is added: still BACKUP means the machine had not run yet.
  const statesAtAdd: string[] = [];
  const add = host.addVipNow.bind(host);
  host.addVipNow = (vip, heldAhead) => {
    statesAtAdd.push(b.state);
    return add(vip, heldAhead);
  };
  b.actions.length = 0;
  return { sim, a, b, statesAtAdd };
}

describe('a takeover foreseen by a fork of the machine', () => {
  it('adds the VIP as the timer fires, before the machine runs, and once', async () => {
    const { sim, a, b, statesAtAdd } = await pair();
    a.kill();
    await sim.runFor(1_000);
    expect(sim.masters()).toEqual([b]);
    expect(statesAtAdd).toEqual(['BACKUP']);
    expect(b.actions.filter((x) => x === 'vip')).toHaveLength(1);
    expect(b.actions.slice(b.actions.indexOf('hold ahead'), b.actions.indexOf('garp') + 1)).toEqual(['hold ahead', 'vip', 'advert', 'garp']);
    expect(b.hasVip).toBe(true);
  });

  it('leaves it to the machine when an event reached it after the fork', async () => {
    const { sim, a, b, statesAtAdd } = await pair();
    a.kill();
    // b's master-down interval is 3 × 100 ms + skew (about 61 ms) after a's last advert, and
    // the fork runs 5 ms before its end: an event in those 5 ms (a link report that changes
    // nothing) makes the fork's answer stale.
    const lastAdvert = Math.max(...a.vrrpAdverts.map((x) => x.at));
    const due = lastAdvert + 0.2 + 300 + ((256 - 100) / 256) * 100;
    await sim.runUntil(due - 2);
    expect(b.state).toBe('BACKUP');
    b.feed({ type: 'link', up: true });
    await sim.runFor(1_000);
    expect(sim.masters()).toEqual([b]);
    expect(statesAtAdd).toEqual(['MASTER']);
    expect(b.actions.filter((x) => x === 'vip')).toHaveLength(1);
  });

  it('adds nothing when the fork sees no takeover (first check result still pending)', async () => {
    const { sim, a, b, statesAtAdd } = await pair();
    b.feed({ type: 'health', fault: false, demotion: 0, pending: true, reason: 'first check result pending' });
    a.kill();
    await sim.runFor(1_000);
    expect(b.state).not.toBe('MASTER');
    expect(statesAtAdd).toEqual([]);
    expect(b.hasVip).toBe(false);
  });
});

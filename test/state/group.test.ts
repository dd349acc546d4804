import { describe, expect, it } from 'vitest';
import { SyncGroup } from '../../lib/state/group.js';

const m = (name: string) => ({ name });

describe('SyncGroup', () => {
  it('a member that becomes MASTER on its own pulls every other member to MASTER', () => {
    const [a, b, c] = [m('a'), m('b'), m('c')];
    const group = new SyncGroup('router');
    for (const x of [a, b, c]) group.add(x);
    const out = group.onTransition(a, 'BACKUP', 'MASTER', 'master down');
    expect(out.map((d) => [d.member.name, d.event.type])).toEqual([
      ['b', 'groupMaster'],
      ['c', 'groupMaster'],
    ]);
    expect(out[0]!.event).toMatchObject({ reason: 'group router: a became MASTER (master down)' });
  });

  it('a MASTER that goes BACKUP pushes the others to BACKUP; INIT -> BACKUP moves nobody', () => {
    const [a, b] = [m('a'), m('b')];
    const group = new SyncGroup('g');
    group.add(a);
    group.add(b);
    expect(group.onTransition(a, 'MASTER', 'BACKUP', 'preferred master').map((d) => [d.member.name, d.event.type])).toEqual([
      ['b', 'groupBackup'],
    ]);
    expect(group.onTransition(a, 'INIT', 'BACKUP', 'start')).toEqual([]);
  });

  it('a member whose link is down holds the others until it returns, then releases them', () => {
    const [a, b, c] = [m('a'), m('b'), m('c')];
    const group = new SyncGroup('g');
    for (const x of [a, b, c]) group.add(x);
    const down = group.onAbility(a, false);
    expect(down.map((d) => [d.member.name, d.event])).toEqual([
      ['a', { type: 'groupHold', held: false, reason: 'group g: a link down' }],
      ['b', { type: 'groupHold', held: true, reason: 'group g: a link down' }],
      ['c', { type: 'groupHold', held: true, reason: 'group g: a link down' }],
    ]);
    expect(group.isHeld(b)).toBe(true);
    expect(group.isHeld(a)).toBe(false);
    // A second report of the same state changes nothing.
    expect(group.onAbility(a, false)).toEqual([]);
    // b goes down too: now a is held by b, and when a returns it stays held.
    group.onAbility(b, false);
    expect(group.isHeld(a)).toBe(true);
    const aBack = group.onAbility(a, true);
    expect(aBack.find((d) => d.member === a)?.event).toMatchObject({ held: true });
    const bBack = group.onAbility(b, true);
    expect(bBack.map((d) => (d.event as { held: boolean }).held)).toEqual([false, false, false]);
  });

  it('a member that leaves while down releases the others', () => {
    const [a, b] = [m('a'), m('b')];
    const group = new SyncGroup('g');
    group.add(a);
    group.add(b);
    group.onAbility(a, false);
    expect(group.isHeld(b)).toBe(true);
    const out = group.remove(a);
    expect(out.map((d) => [d.member.name, (d.event as { held: boolean }).held])).toEqual([['b', false]]);
    expect(group.size).toBe(1);
  });
});

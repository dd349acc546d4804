import { describe, expect, it } from 'vitest';
import { assessHealth, type TrackStatus } from '../../lib/state/health.js';

const check = (name: string, state: TrackStatus['state'], weight = 0, detail?: string): TrackStatus => ({
  kind: 'check',
  name,
  weight,
  state,
  ...(detail !== undefined ? { detail } : {}),
});

describe('assessHealth', () => {
  it('nothing tracked, or everything healthy: no fault, no demotion, not pending', () => {
    expect(assessHealth([])).toEqual({ fault: false, demotion: 0, pending: false, reason: 'nothing tracked' });
    expect(assessHealth([check('a', 'healthy'), check('b', 'healthy', 20)])).toMatchObject({ fault: false, demotion: 0, pending: false });
  });

  it('a failed weight-0 check faults, naming it and its last result', () => {
    const h = assessHealth([check('nginx', 'failed', 0, 'exit 7 after 0.03 s'), check('db', 'healthy')]);
    expect(h).toEqual({ fault: true, demotion: 0, pending: false, reason: 'check "nginx" failed (exit 7 after 0.03 s)' });
  });

  it('failing weights add up (the machine caps the advertised advskew)', () => {
    const h = assessHealth([check('a', 'failed', 20), check('b', 'failed', 30), check('c', 'healthy', 100)]);
    expect(h).toMatchObject({ fault: false, demotion: 50, pending: false });
    expect(h.reason).toBe('demoted by 50: check "a" failed, check "b" failed');
  });

  it('a weight-0 check that never ran keeps the vhost pending; a weighted one does not', () => {
    expect(assessHealth([check('a', 'unknown')])).toMatchObject({ fault: false, pending: true, reason: 'waiting for check "a" unknown' });
    expect(assessHealth([check('a', 'unknown', 10)])).toMatchObject({ fault: false, pending: false, demotion: 0 });
  });

  it('tracked interfaces: down faults at weight 0, demotes at weight N', () => {
    expect(assessHealth([{ kind: 'interface', name: 'eth1', weight: 0, state: 'failed' }])).toMatchObject({
      fault: true,
      reason: 'tracked interface eth1 down',
    });
    expect(assessHealth([{ kind: 'interface', name: 'eth1', weight: 15, state: 'failed' }])).toMatchObject({ fault: false, demotion: 15 });
  });

  it('track files: "fault" faults, a number demotes by itself', () => {
    expect(assessHealth([{ kind: 'file', name: '/run/carpd/maint', weight: 0, state: 'failed', detail: 'fault requested' }])).toMatchObject({
      fault: true,
      reason: 'track file /run/carpd/maint failed (fault requested)',
    });
    expect(assessHealth([{ kind: 'file', name: '/run/carpd/maint', weight: 40, state: 'failed', demotion: 40 }])).toMatchObject({
      fault: false,
      demotion: 40,
    });
  });

  it('several faults are counted in the reason; demotion still reported beside a fault', () => {
    const h = assessHealth([check('a', 'failed'), check('b', 'failed'), check('c', 'failed', 5)]);
    expect(h).toMatchObject({ fault: true, demotion: 5, reason: 'check "a" failed and 1 more' });
  });
});

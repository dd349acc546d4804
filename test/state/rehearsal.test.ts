import { describe, expect, it } from 'vitest';
import { rehearseMachine, type MachineConfig } from '../../lib/state/machine.js';
import { carpRules, vrrpRules } from '../../lib/state/rules.js';
import { newMachine, types } from '../helpers/machine.js';

// rehearseMachine (machine.ts) exists to have run the takeover and the clean stop before a real
// vhost needs them: what can be checked is that it really goes through both, whatever the
// configuration.

const carp: MachineConfig = { rules: carpRules({ advbase: 1, advskew: 0, deadratio: 3 }), preempt: false, neutral: false, downScriptOnExit: false, srcAddress: 0xc6120002 };

describe('rehearseMachine', () => {
  it.each([
    ['CARP', carp],
    ['VRRPv2, priority 100', { ...carp, rules: vrrpRules({ version: 2, priority: 100, intervalCs: 100 }), preempt: true }],
    ['VRRPv3 at 0.1 s with a preempt delay and the down-script on exit', { ...carp, rules: vrrpRules({ version: 3, priority: 80, intervalCs: 10 }), preemptDelayMs: 30_000, downScriptOnExit: true }],
  ] as const)('%s: start, a takeover after a silent master-down interval, a clean stop', (_name, config) => {
    expect(rehearseMachine(config)).toEqual(['INIT->BACKUP', 'BACKUP->MASTER', 'MASTER->INIT']);
  });

  it("keepalived's state MASTER at priority 255: straight to MASTER, then the clean stop", () => {
    const config = { ...carp, rules: vrrpRules({ version: 2, priority: 255, intervalCs: 100 }), preempt: true, initialMaster: true };
    expect(rehearseMachine(config)).toEqual(['INIT->MASTER', 'MASTER->INIT']);
  });
});

// CarpMachine.fork: the vhost asks a copy what the master-down timer will do, and acts on the
// answer only while the real machine has seen nothing since; the copy must answer as the real
// machine will, and leave it untouched.
describe('CarpMachine.fork', () => {
  it('answers what the real machine will do at the deadline, and changes nothing in it', () => {
    const { m, clock } = newMachine({ rules: vrrpRules({ version: 3, priority: 80, intervalCs: 10 }), preempt: true });
    m.handle({ type: 'start', linkUp: true });
    const due = m.deadline('masterDownTimer')!;
    const foreseen = m.fork({ now: () => due }).handle({ type: 'timer', timer: 'masterDownTimer' });
    expect(types(foreseen)).toContain('addVip');
    // The original is as it was: BACKUP, its timer still armed.
    expect(m.currentState).toBe('BACKUP');
    expect(m.deadline('masterDownTimer')).toBe(due);
    clock.set(due);
    const real = m.handle({ type: 'timer', timer: 'masterDownTimer' });
    expect(types(real)).toEqual(types(foreseen));
    expect(m.currentState).toBe('MASTER');
  });

  it('sees what holds a takeover back (a first check result pending)', () => {
    const { m } = newMachine({ rules: vrrpRules({ version: 3, priority: 80, intervalCs: 10 }), preempt: true });
    m.handle({ type: 'start', linkUp: true });
    m.handle({ type: 'health', fault: false, demotion: 0, pending: true, reason: 'first check result pending' });
    const due = m.deadline('masterDownTimer')!;
    expect(types(m.fork({ now: () => due }).handle({ type: 'timer', timer: 'masterDownTimer' }))).not.toContain('addVip');
  });

  it("keeps its own timers: the fork's firing does not disarm the original's", () => {
    const { m } = newMachine({ rules: carpRules({ advbase: 1, advskew: 0, deadratio: 3 }), preempt: false });
    m.handle({ type: 'start', linkUp: true });
    const due = m.deadline('masterDownTimer')!;
    const fork = m.fork({ now: () => due });
    fork.handle({ type: 'timer', timer: 'masterDownTimer' });
    expect(fork.deadline('masterDownTimer')).toBeUndefined();
    expect(m.deadline('masterDownTimer')).toBe(due);
  });
});

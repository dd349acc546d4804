import { describe, expect, it } from 'vitest';
import { rehearseMachine, type MachineConfig } from '../../lib/state/machine.js';
import { carpRules, vrrpRules } from '../../lib/state/rules.js';

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

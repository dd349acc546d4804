// One CarpMachine under test, as test/state's CARP and VRRP suites build it: on a manual clock,
// as 198.18.0.2 between a lower (198.18.0.1) and a higher (198.18.0.3) peer.
import { expect } from 'vitest';
import { ManualClock } from '../../lib/state/clock.js';
import { CarpMachine, type Effect, type MachineConfig } from '../../lib/state/machine.js';

export const SELF = 0xc6120002; // 198.18.0.2
export const LOWER_PEER = { src: '198.18.0.1', srcAddress: 0xc6120001 };
export const HIGHER_PEER = { src: '198.18.0.3', srcAddress: 0xc6120003 };

export interface MachineUnderTest {
  m: CarpMachine;
  clock: ManualClock;
}

/** A machine at 1000 ms, not neutral, running the down-script on exit; `config` has the rest. */
export function newMachine(config: Pick<MachineConfig, 'rules' | 'preempt'> & Partial<MachineConfig>): MachineUnderTest {
  const clock = new ManualClock(1000);
  const m = new CarpMachine({ neutral: false, downScriptOnExit: true, srcAddress: SELF, ...config }, clock);
  return { m, clock };
}

/** Started and past its master-down interval: MASTER. */
export function startAsMaster<T extends MachineUnderTest>(t: T): T {
  t.m.handle({ type: 'start', linkUp: true });
  t.clock.set(t.m.deadline('masterDownTimer')!);
  t.m.handle({ type: 'timer', timer: 'masterDownTimer' });
  expect(t.m.currentState).toBe('MASTER');
  return t;
}

/** The effects' types, a script's effect with its script's name (`runScript:up`). */
export const types = (effects: Effect[]): string[] =>
  effects.map((e) => (e.type === 'runScript' ? `runScript:${e.script}` : e.type));

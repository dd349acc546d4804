import { describe, expect, it } from 'vitest';
import { describeCheckChange, FallRise, type CheckHealth } from '../../lib/state/check.js';

/** Feeds results ('+' ok, '-' failure) and returns the state after each one, '!' marking a change. */
function trace(fall: number, rise: number, results: string): string {
  const counter = new FallRise(fall, rise);
  const short: Record<CheckHealth, string> = { unknown: '?', healthy: 'H', failed: 'F' };
  return [...results].map((r) => {
    const step = counter.record(r === '+');
    return `${short[step.state]}${step.changed ? '!' : ''}`;
  }).join(' ');
}

describe('FallRise', () => {
  // Each row: fall, rise, the results in order, and the state after each (! = changed).
  const table: Array<{ fall: number; rise: number; results: string; states: string; why: string }> = [
    { fall: 3, rise: 3, results: '+', states: 'H!', why: 'a first success is healthy at once, not after rise successes' },
    { fall: 3, rise: 3, results: '-', states: 'F!', why: 'a first failure is failed at once, not after fall failures' },
    { fall: 2, rise: 2, results: '+-', states: 'H! H', why: 'one failure is not enough with fall=2' },
    { fall: 2, rise: 2, results: '+--', states: 'H! H F!', why: 'fall=2 needs 2 consecutive failures' },
    { fall: 2, rise: 2, results: '+-+-+-', states: 'H! H H H H H', why: 'a success resets the failure streak' },
    { fall: 2, rise: 2, results: '+-+--', states: 'H! H H H F!', why: 'the streak counts again from the reset' },
    { fall: 2, rise: 3, results: '-++', states: 'F! F F', why: 'rise=3: two successes are not enough' },
    { fall: 2, rise: 3, results: '-+++', states: 'F! F F H!', why: 'rise=3: three consecutive successes' },
    { fall: 2, rise: 3, results: '-++-+++', states: 'F! F F F F F H!', why: 'a failure resets the success streak' },
    { fall: 1, rise: 1, results: '+-+-', states: 'H! F! H! F!', why: 'fall=rise=1: every change of result counts' },
    { fall: 1, rise: 2, results: '+-++', states: 'H! F! F H!', why: 'fall=1 fails at once, rise=2 still waits' },
    { fall: 2, rise: 2, results: '+--------', states: 'H! H F! F F F F F F', why: 'more failures change nothing more' },
    { fall: 3, rise: 2, results: '---++---', states: 'F! F F F H! H H F!', why: 'healthy again, then fall counts from zero' },
  ];
  for (const row of table) {
    it(`fall=${row.fall} rise=${row.rise} ${row.results} -> ${row.states} (${row.why})`, () => {
      expect(trace(row.fall, row.rise, row.results)).toBe(row.states);
    });
  }

  it('starts unknown and reports the streak of the current kind', () => {
    const counter = new FallRise(3, 2);
    expect(counter.state).toBe('unknown');
    expect(counter.record(true)).toEqual({ changed: true, state: 'healthy', previous: 'unknown', streak: 1 });
    expect(counter.record(true)).toEqual({ changed: false, state: 'healthy', previous: 'healthy', streak: 2 });
    expect(counter.record(false)).toEqual({ changed: false, state: 'healthy', previous: 'healthy', streak: 1 });
    expect(counter.record(false)).toEqual({ changed: false, state: 'healthy', previous: 'healthy', streak: 2 });
    expect(counter.record(false)).toEqual({ changed: true, state: 'failed', previous: 'healthy', streak: 3 });
    expect(counter.record(false)).toEqual({ changed: false, state: 'failed', previous: 'failed', streak: 4 });
    expect(counter.record(true)).toEqual({ changed: false, state: 'failed', previous: 'failed', streak: 1 });
    expect(counter.record(true)).toEqual({ changed: true, state: 'healthy', previous: 'failed', streak: 2 });
    expect(counter.state).toBe('healthy');
  });

  it('takes fall and rise from 1 to 255 only, with one message naming the option', () => {
    expect(() => new FallRise(1, 1)).not.toThrow();
    expect(() => new FallRise(255, 255)).not.toThrow();
    expect(() => new FallRise(0, 1)).toThrow(new TypeError('fall must be an integer from 1 to 255, got 0'));
    expect(() => new FallRise(1, 256)).toThrow(new TypeError('rise must be an integer from 1 to 255, got 256'));
    expect(() => new FallRise(1.5, 1)).toThrow(new TypeError('fall must be an integer from 1 to 255, got 1.5'));
    expect(() => new FallRise(2, Number.NaN)).toThrow(new TypeError('rise must be an integer from 1 to 255, got NaN'));
  });
});

describe('describeCheckChange', () => {
  it('names the first result, whichever it is', () => {
    const ok = new FallRise(2, 2).record(true);
    expect(describeCheckChange('nginx', ok, 2, 2, 'exit 0 after 0.01 s')).toBe('check "nginx" first result: healthy (exit 0 after 0.01 s)');
    const bad = new FallRise(2, 2).record(false);
    expect(describeCheckChange('nginx', bad, 2, 2, 'exit 7 after 0.03 s')).toBe('check "nginx" first result: failed (exit 7 after 0.03 s)');
  });

  it('says how many failures it took, with the last one', () => {
    const counter = new FallRise(2, 2);
    counter.record(true);
    const first = counter.record(false);
    expect(describeCheckChange('nginx', first, 2, 2, 'exit 7 after 0.03 s')).toBeUndefined();
    const second = counter.record(false);
    expect(describeCheckChange('nginx', second, 2, 2, 'exit 7 after 0.03 s')).toBe('check "nginx" failed 2 of 2: exit 7 after 0.03 s');
  });

  it('says how many successes it took to be healthy again', () => {
    const counter = new FallRise(1, 2);
    counter.record(false);
    counter.record(true);
    const step = counter.record(true);
    expect(describeCheckChange('nginx', step, 1, 2, 'exit 0 after 0.01 s')).toBe('check "nginx" healthy again after 2 of 2 successes');
  });

  it('tells a rise of 1 from a first result (both are one success that changed the state)', () => {
    const counter = new FallRise(1, 1);
    const first = counter.record(true);
    counter.record(false);
    const again = counter.record(true);
    expect(first.streak).toBe(again.streak);
    expect(describeCheckChange('web', first, 1, 1, 'exit 0 after 0.01 s')).toBe('check "web" first result: healthy (exit 0 after 0.01 s)');
    expect(describeCheckChange('web', again, 1, 1, 'exit 0 after 0.01 s')).toBe('check "web" healthy again after 1 of 1 success');
  });

  it('quotes an odd name and leaves out an empty detail', () => {
    const step = new FallRise(1, 1).record(false);
    expect(describeCheckChange('a "b"\n', step, 1, 1, '')).toBe('check "a \\"b\\"\\n" first result: failed');
  });

  it('says nothing when the state did not change', () => {
    const counter = new FallRise(2, 2);
    counter.record(true);
    expect(describeCheckChange('nginx', counter.record(true), 2, 2, 'exit 0 after 0.01 s')).toBeUndefined();
  });
});

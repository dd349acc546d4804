// Link's arrivedAt (lib/daemon/link.ts): when a datagram came in, from the clock and the kernel's age.
import { describe, expect, it } from 'vitest';
import { arrivedAt } from '../../lib/daemon/link.js';

describe('arrivedAt', () => {
  it('takes the kernel\'s age off the clock reading', () => {
    expect(arrivedAt(1000, 0.25)).toBeCloseTo(999.75, 9);
    expect(arrivedAt(1000, 0)).toBe(1000);
    expect(arrivedAt(1000, 100)).toBe(900);
  });

  it('keeps the reading when the age is unknown or not believable (a wall clock stepped in between)', () => {
    expect(arrivedAt(1000, undefined)).toBe(1000);
    expect(arrivedAt(1000, Number.NaN)).toBe(1000);
    expect(arrivedAt(1000, -3)).toBe(1000);
    expect(arrivedAt(1000, 100.5)).toBe(1000);
    expect(arrivedAt(undefined, 2)).toBeUndefined();
  });
});

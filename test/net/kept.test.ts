// lib/net/kept.ts: built once per key, and bounded.
import { describe, expect, it } from 'vitest';
import { Kept } from '../../lib/net/kept.js';

describe('Kept', () => {
  it('builds a value on its key\'s first use only', () => {
    const kept = new Kept<{ n: number }>();
    let builds = 0;
    const a = kept.get('a', () => ({ n: ++builds }));
    expect(kept.get('a', () => ({ n: ++builds }))).toBe(a);
    expect(kept.get('b', () => ({ n: ++builds })).n).toBe(2);
    expect(builds).toBe(2);
  });

  it('past its bound, drops everything and builds again', () => {
    const kept = new Kept<number>(2);
    let builds = 0;
    kept.get('a', () => ++builds);
    kept.get('b', () => ++builds);
    kept.get('c', () => ++builds);
    expect(kept.get('c', () => ++builds)).toBe(3);
    expect(kept.get('a', () => ++builds)).toBe(4);
  });
});

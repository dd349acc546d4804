import { describe, it, expect } from 'vitest';
import { AdvertCounter } from '../../lib/protocol/counter.js';
import { decodeAdvertisement } from '../../lib/protocol/carp.js';
import { loadGolden } from './golden.js';

const MAX = (1n << 64n) - 1n;

describe('AdvertCounter', () => {
  it('sends the initial (random) value first, then counts up by one', () => {
    const c = new AdvertCounter(1000n);
    expect(c.value).toBe(1000n);
    expect(c.next()).toBe(1000n);
    expect(c.next()).toBe(1001n);
    expect(c.next()).toBe(1002n);
    expect(c.value).toBe(1002n);
  });

  it('wraps 2^64-1 to 0', () => {
    const c = new AdvertCounter(MAX - 1n);
    expect(c.next()).toBe(MAX - 1n);
    expect(c.next()).toBe(MAX);
    expect(c.next()).toBe(0n);
    expect(c.next()).toBe(1n);
  });

  it('adopts a received counter: the next advert sends received + 1', () => {
    const c = new AdvertCounter(5n);
    c.next();
    c.adopt(0xabcdn);
    expect(c.value).toBe(0xabcdn);
    expect(c.next()).toBe(0xabcen);
  });

  it('adopting before anything was sent also gives received + 1 (the initial value is dropped)', () => {
    const c = new AdvertCounter(5n);
    c.adopt(MAX);
    expect(c.next()).toBe(0n);
  });

  it('continues the old master\'s sequence the way ucarp did in the takeover capture', () => {
    // Frames 1-3: old master (198.18.0.1); frames 4-6: the backup that took over.
    const counters = [1, 2, 3, 4, 5, 6].map((i) => decodeAdvertisement(loadGolden(`ucarp-takeover-${i}.json`).ip, 20).counter);
    const c = new AdvertCounter(0n);
    c.adopt(counters[2]!);
    expect([c.next(), c.next(), c.next()]).toEqual(counters.slice(3));
  });

  it('rejects values outside 0..2^64-1', () => {
    expect(() => new AdvertCounter(-1n)).toThrow(RangeError);
    expect(() => new AdvertCounter(1n << 64n)).toThrow('initial counter must be a bigint 0..2^64-1, got 18446744073709551616');
    expect(() => new AdvertCounter(0n).adopt(-5n)).toThrow(RangeError);
  });
});

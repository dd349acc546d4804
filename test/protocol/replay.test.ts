import { describe, expect, it } from 'vitest';
import { ipv4 } from '../../lib/net/address.js';
import {
  counterSenderId,
  counterTimeMs,
  DEFAULT_MAX_SENDERS,
  ReplayGuard,
  senderIdOfIpv4,
  TimedCounter,
} from '../../lib/protocol/replay.js';

const A = ipv4('198.18.0.1').int;
const B = ipv4('198.18.1.2').int;
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const UINT64_MAX = (1n << 64n) - 1n;

/** A sender on a wall clock the test moves. */
function sender(address: number) {
  return new TimedCounter(senderIdOfIpv4(address));
}

describe('TimedCounter (the sending side)', () => {
  it('puts the wall clock in 1/16 ms above the sender id, the low 16 bits of the address', () => {
    const c = sender(A).next(T0);
    expect(c).toBe((BigInt(T0 * 16) << 16n) | 0x0001n);
    expect(counterSenderId(c)).toBe(0x0001);
    expect(counterTimeMs(c)).toBe(T0);
    expect(senderIdOfIpv4(B)).toBe(0x0102);
  });

  it('rises with every advert, also when the clock stands still', () => {
    const s = sender(A);
    const seen = [s.next(T0), s.next(T0), s.next(T0), s.next(T0 + 1000)];
    for (let k = 1; k < seen.length; k++) expect(seen[k]! > seen[k - 1]!).toBe(true);
    expect(seen[1]! - seen[0]!).toBe(1n << 16n); // +1 in the clock part, the id untouched
    expect(seen.every((c) => counterSenderId(c) === 1)).toBe(true);
  });

  it('keeps rising when the clock steps back (NTP) while it runs, and follows the clock again once it caught up', () => {
    const s = sender(A);
    const before = s.next(T0 + 60_000);
    const afterStep = s.next(T0); // the clock went back a minute
    expect(afterStep).toBe(before + (1n << 16n));
    expect(s.next(T0 + 1_000) > afterStep).toBe(true);
    expect(counterTimeMs(s.next(T0 + 120_000))).toBe(T0 + 120_000);
  });

  it('a restarted sender (a new counter, no state) starts above where the old one stopped', () => {
    const old = sender(A);
    let last = 0n;
    // A thousand adverts a second for a while: the sequence never outruns the clock.
    for (let ms = 0; ms < 2_000; ms++) last = old.next(T0 + ms);
    const restarted = sender(A).next(T0 + 2_001);
    expect(restarted > last).toBe(true);
  });

  it('never adopts anything: it has no adopt()', () => {
    expect('adopt' in sender(A)).toBe(false);
  });

  it('stays within 64 bits and refuses a bad sender id', () => {
    expect(sender(A).next(Number.MAX_SAFE_INTEGER) <= UINT64_MAX).toBe(true);
    expect(sender(A).next(-5)).toBe((1n << 16n) | 1n); // a clock before 1970 counts as 0
    expect(() => new TimedCounter(0x10000)).toThrow(RangeError);
    expect(() => new TimedCounter(-1)).toThrow(RangeError);
  });
});

describe('ReplayGuard (the receiving side)', () => {
  it('accepts a sender\'s rising counters and drops any it heard already or older', () => {
    const s = sender(A);
    const guard = new ReplayGuard();
    const recorded = [s.next(T0), s.next(T0 + 1000), s.next(T0 + 2000)];
    for (const c of recorded) expect(guard.admit(A, c)).toBeUndefined();
    // The master died; its recorded adverts come again, in order.
    for (const c of recorded) {
      const refused = guard.admit(A, c);
      expect(refused?.detail).toMatch(/^from 198\.18\.0\.1: counter \d+ \(2025-01-01T12:00:0\d\.000Z\) is not above the last one heard from it, \d+ \(2025-01-01T12:00:02\.000Z\): a replayed advert/);
    }
    expect(guard.admit(A, s.next(T0 + 3000))).toBeUndefined();
  });

  it('refuses a recorded advert sent again from another source (the source is not in the digest)', () => {
    const guard = new ReplayGuard();
    const c = sender(A).next(T0);
    expect(guard.admit(A, c)).toBeUndefined();
    for (const spoofed of ['198.18.0.77', '10.9.3.1', '198.19.0.2']) {
      expect(guard.admit(ipv4(spoofed).int, c)?.detail).toMatch(
        new RegExp(`^from ${spoofed.replaceAll('.', '\\.')}: counter \\d+ names sender x\\.x\\.0\\.1, not ${spoofed.replaceAll('.', '\\.')}: a replayed advert with a rewritten source, or a peer that does not run --replay-protect`),
      );
    }
    // Even one whose low 16 bits are the master's is the master's slot: old counters stay old.
    expect(guard.admit(ipv4('10.99.0.1').int, c)?.detail).toMatch(/is not above the last one/);
  });

  it('drops the adverts of a peer without --replay-protect (ucarp\'s random counters do not carry its address)', () => {
    const guard = new ReplayGuard();
    // ucarp draws a random 64-bit counter per advert while it hears no one (counter.ts).
    const ucarp = [0x9a4be0c1_77f3d2a8n, 0x1c3e5f70_2b4d6a19n, 0xe0f1a2b3_c4d5e6f7n];
    expect(ucarp.map((c) => guard.admit(A, c) !== undefined)).toEqual([true, true, true]);
  });

  it('keeps two senders apart, whatever their clocks say', () => {
    const guard = new ReplayGuard();
    const a = sender(A);
    const b = sender(B);
    // b's clock is an hour behind a's: its counters are far below a's, and still its own.
    expect(guard.admit(A, a.next(T0 + 3_600_000))).toBeUndefined();
    expect(guard.admit(B, b.next(T0))).toBeUndefined();
    expect(guard.admit(B, b.next(T0 + 1000))).toBeUndefined();
    expect(guard.admit(A, a.next(T0 + 3_601_000))).toBeUndefined();
    expect(guard.size).toBe(2);
  });

  it('accepts a restarted sender, and refuses one whose clock went back further than its restart took', () => {
    const guard = new ReplayGuard();
    expect(guard.admit(A, sender(A).next(T0 + 10_000))).toBeUndefined();
    expect(guard.admit(A, sender(A).next(T0 + 10_300))).toBeUndefined(); // restarted 300 ms later
    // The clock stepped back 5 s, then carpd restarted: refused until the clock passes T0 + 10.3 s.
    expect(guard.admit(A, sender(A).next(T0 + 5_400))?.detail).toMatch(/clock went back across a restart/);
    expect(guard.admit(A, sender(A).next(T0 + 10_301))).toBeUndefined();
  });

  it('remembers at most maxSenders, the least recently heard forgotten first', () => {
    expect(new ReplayGuard().maxSenders).toBe(DEFAULT_MAX_SENDERS);
    const guard = new ReplayGuard(3);
    const address = (k: number) => ipv4(`198.18.0.${k}`).int;
    const first = new Map<number, bigint>();
    for (const k of [1, 2, 3]) {
      first.set(k, sender(address(k)).next(T0));
      expect(guard.admit(address(k), first.get(k)!)).toBeUndefined();
    }
    expect(guard.admit(address(1), sender(address(1)).next(T0 + 1))).toBeUndefined(); // 1 heard again: 2 is now the oldest
    expect(guard.admit(address(4), sender(address(4)).next(T0))).toBeUndefined();
    expect(guard.size).toBe(3);
    // 2 was forgotten: its old counter passes again (the bound's price); 1 is still remembered.
    expect(guard.admit(address(2), first.get(2)!)).toBeUndefined();
    expect(guard.admit(address(1), first.get(1)!)).toBeDefined();
    expect(guard.size).toBe(3);
    for (let k = 10; k < 200; k++) guard.admit(address(k), sender(address(k)).next(T0));
    expect(guard.size).toBe(3);
    expect(() => new ReplayGuard(0)).toThrow(RangeError);
  });

  it('describes a counter that is no date at all without throwing', () => {
    const guard = new ReplayGuard();
    const top = (UINT64_MAX >> 16n << 16n) | 1n;
    expect(guard.admit(A, top)).toBeUndefined();
    expect(guard.admit(A, top)?.detail).toMatch(/is not above/);
  });
});

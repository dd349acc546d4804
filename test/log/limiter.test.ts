import { describe, expect, it } from 'vitest';
import { formatLine, SinkLogger, type LogLevel } from '../../lib/log.js';
import { MAX_DISTINCT_SOURCES, MAX_KEYS, RateLimitedLog, type LimiterTimers } from '../../lib/log/limiter.js';
import { ManualClock } from '../../lib/state/clock.js';

function capture() {
  const lines: string[] = [];
  const logger = new SinkLogger((level: LogLevel, msg: string) => lines.push(formatLine(level, msg)), false);
  return { lines, logger };
}

/** One-shot timers on a manual clock: advance() fires what falls due, in order of due time. */
class ManualTimers implements LimiterTimers {
  private pending: { at: number; seq: number; fire: () => void }[] = [];
  private seq = 0;
  constructor(readonly clock: ManualClock) {}
  set(delayMs: number, fire: () => void): unknown {
    const entry = { at: this.clock.now() + delayMs, seq: this.seq++, fire };
    this.pending.push(entry);
    return entry;
  }
  clear(handle: unknown): void {
    this.pending = this.pending.filter((p) => p !== handle);
  }
  get count(): number {
    return this.pending.length;
  }
  advance(ms: number): void {
    const end = this.clock.now() + ms;
    for (;;) {
      const due = this.pending.filter((p) => p.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.pending = this.pending.filter((p) => p !== due);
      this.clock.set(due.at);
      due.fire();
    }
    this.clock.set(end);
  }
}

const source = (n: number): string => `198.18.${(n >> 8) & 255}.${n & 255}`;

describe('rate-limited warnings (keys chosen by the code)', () => {
  it('logs the first of a burst, counts the rest, and reports the count after the window', () => {
    const { lines, logger } = capture();
    const clock = new ManualClock(0);
    const limited = new RateLimitedLog(logger, clock, { windowMs: 60_000 });
    // One failing send a second for two minutes, and one more after a quiet minute.
    for (let s = 0; s < 120; s++) {
      limited.warn('send-error', `cannot send advert on eth0: error ${s}`);
      clock.advance(1000);
    }
    clock.advance(60_000);
    limited.warn('send-error', 'cannot send advert on eth0: later');
    expect(lines).toEqual([
      '[WARNING] cannot send advert on eth0: error 0',
      '[WARNING] cannot send advert on eth0: error 59 (59 more like this in 60 s)',
      '[WARNING] cannot send advert on eth0: error 119 (60 more like this in 60 s)',
      '[WARNING] cannot send advert on eth0: later',
    ]);
  });

  it('keeps separate windows per key', () => {
    const { lines, logger } = capture();
    const limited = new RateLimitedLog(logger, new ManualClock(0));
    limited.warn('a', 'first a');
    limited.info('b', 'first b');
    limited.warn('a', 'second a');
    expect(lines).toEqual(['[WARNING] first a', '[INFO] first b']);
  });

  it('bounds its table even when keys vary: keys past the limit share one window', () => {
    const { lines, logger } = capture();
    const clock = new ManualClock(0);
    const limited = new RateLimitedLog(logger, clock, { windowMs: 60_000 });
    for (let k = 0; k < 100_000; k++) limited.warn(`machine:peer ${k}`, `peer ${k}`);
    expect(limited.size).toBe(MAX_KEYS + 1);
    // MAX_KEYS keys of their own, then one line for the first key that had to share.
    expect(lines).toHaveLength(MAX_KEYS + 1);
    clock.advance(60_000);
    limited.flush();
    expect(lines.at(-1)).toBe(`[WARNING] ${100_000 - MAX_KEYS - 1} more warnings of other kinds in 60 s`);
    expect(limited.size).toBe(0);
  });
});

describe('dropped packets: one line per reason per window', () => {
  it('ignores what the packets hold: one line per reason, then a summary with the count and examples', () => {
    const { lines, logger } = capture();
    const clock = new ManualClock(0);
    const timers = new ManualTimers(clock);
    const limited = new RateLimitedLog(logger, clock, { windowMs: 60_000, timers });
    // A flood: 1,000 bad checksums and 1,000 bad TTLs from random sources, every detail different.
    for (let n = 0; n < 1000; n++) {
      limited.drop('bad-checksum', source(n), `from ${source(n)}: CARP checksum 0x${n.toString(16)} does not verify`);
      limited.drop('bad-ttl', source(n + 5000), `from ${source(n + 5000)}: TTL ${n % 255}, expected 255`);
      timers.advance(10);
    }
    expect(lines).toEqual([
      '[WARNING] dropped advert: bad-checksum: from 198.18.0.0: CARP checksum 0x0 does not verify',
      '[WARNING] dropped advert: bad-ttl: from 198.18.19.136: TTL 0, expected 255',
    ]);
    timers.advance(50_000); // the window ends at 60 s: the summaries come without another drop
    expect(lines.slice(2)).toEqual([
      `[WARNING] dropped advert: bad-checksum: 999 more in 60 s, from ${MAX_DISTINCT_SOURCES} or more sources, e.g. 198.18.0.1, 198.18.0.2, 198.18.0.3`,
      `[WARNING] dropped advert: bad-ttl: 999 more in 60 s, from ${MAX_DISTINCT_SOURCES} or more sources, e.g. 198.18.19.137, 198.18.19.138, 198.18.19.139`,
    ]);
    // The next window held nothing: it ends without a line and the reasons are forgotten.
    timers.advance(60_000);
    expect(lines).toHaveLength(4);
    expect(limited.size).toBe(0);
    expect(timers.count).toBe(0);
  });

  it('names every source when there are few, and counts them when there are more', () => {
    const { lines, logger } = capture();
    const clock = new ManualClock(0);
    const timers = new ManualTimers(clock);
    const limited = new RateLimitedLog(logger, clock, { windowMs: 10_000, timers });
    // Window 1: one misconfigured peer, once a second. Window 2: two peers. Window 3: five.
    const peers = [['198.18.0.3'], ['198.18.0.3', '198.18.0.4'], ['198.18.0.3', '198.18.0.4', '198.18.0.5', '198.18.0.6', '198.18.0.7']];
    for (const group of peers) {
      for (let s = 0; s < 10; s++) {
        const peer = group[s % group.length]!;
        limited.drop('bad-digest', peer, `from ${peer} (vhid 42): bad digest`);
        timers.advance(1000);
      }
    }
    timers.advance(10_000);
    expect(lines).toEqual([
      '[WARNING] dropped advert: bad-digest: from 198.18.0.3 (vhid 42): bad digest',
      '[WARNING] dropped advert: bad-digest: 9 more in 10 s, from 198.18.0.3',
      '[WARNING] dropped advert: bad-digest: 10 more in 10 s, from 198.18.0.3 and 198.18.0.4',
      '[WARNING] dropped advert: bad-digest: 10 more in 10 s, from 5 sources, e.g. 198.18.0.3, 198.18.0.4, 198.18.0.5',
    ]);
  });

  it('a flood that lasts writes one line per reason per window, and no more', () => {
    const { lines, logger } = capture();
    const clock = new ManualClock(0);
    const timers = new ManualTimers(clock);
    const limited = new RateLimitedLog(logger, clock, { windowMs: 60_000, timers });
    const reasons = ['bad-ttl', 'bad-version', 'bad-checksum', 'bad-digest', 'too-long'];
    // Ten minutes at 100 drops a second (a sample of a faster flood: the count does not matter).
    for (let t = 0; t < 600_000; t += 10) {
      const reason = reasons[(t / 10) % reasons.length]!;
      limited.drop(reason, source(t % 65536), `detail ${t}`);
      timers.advance(10);
    }
    limited.flush();
    // 1 first line + 10 summaries per reason.
    expect(lines).toHaveLength(reasons.length * 11);
    for (const reason of reasons) {
      const summaries = lines.filter((l) => l.startsWith(`[WARNING] dropped advert: ${reason}: `) && l.includes(' more in 60 s'));
      expect(summaries).toHaveLength(10);
    }
    // Every drop is accounted for: first lines plus the summaries' counts.
    const counted = lines.reduce((sum, l) => sum + Number(/: (\d+) more in/.exec(l)?.[1] ?? 1), 0);
    expect(counted).toBe(60_000);
  });

  it('holds bounded memory under 10^5 distinct sources', () => {
    const { lines, logger } = capture();
    const clock = new ManualClock(0);
    const timers = new ManualTimers(clock);
    const limited = new RateLimitedLog(logger, clock, { windowMs: 60_000, timers });
    const reasons = ['bad-ttl', 'bad-version', 'bad-checksum', 'bad-digest'];
    let peak = 0;
    for (let n = 0; n < 100_000; n++) {
      limited.drop(reasons[n % reasons.length]!, source(n), `from ${source(n)}: detail ${n}`);
      if (n % 1000 === 0) {
        timers.advance(1000);
        peak = Math.max(peak, limited.heldSources);
      }
    }
    expect(limited.size).toBe(reasons.length);
    expect(peak).toBeLessThanOrEqual(reasons.length * MAX_DISTINCT_SOURCES);
    expect(timers.count).toBe(reasons.length);
    // 100 s of drops: the first lines and one summary per reason for the first window.
    expect(lines).toHaveLength(reasons.length * 2);
  });

  it('flush() writes what the open windows hold back, and forgets them', () => {
    const { lines, logger } = capture();
    const clock = new ManualClock(0);
    const timers = new ManualTimers(clock);
    const limited = new RateLimitedLog(logger, clock, { windowMs: 60_000, timers });
    limited.drop('bad-version', '198.18.0.9', 'from 198.18.0.9: CARP version 3, expected 2');
    limited.drop('bad-version', '198.18.0.10', 'from 198.18.0.10: CARP version 3, expected 2');
    limited.drop('too-short', undefined, 'IPv4 header truncated');
    timers.advance(9_400);
    limited.drop('too-short', undefined, 'IPv4 header truncated');
    limited.flush();
    expect(lines).toEqual([
      '[WARNING] dropped advert: bad-version: from 198.18.0.9: CARP version 3, expected 2',
      '[WARNING] dropped advert: too-short: IPv4 header truncated',
      '[WARNING] dropped advert: bad-version: 1 more in 9 s, from 198.18.0.10',
      '[WARNING] dropped advert: too-short: 1 more in 9 s',
    ]);
    expect(limited.size).toBe(0);
    expect(timers.count).toBe(0);
    // After a flush the next drop is news again.
    limited.drop('bad-version', '198.18.0.9', 'from 198.18.0.9: CARP version 3, expected 2');
    expect(lines).toHaveLength(5);
  });

  it('without timers, a window ends at the next event of its key', () => {
    const { lines, logger } = capture();
    const clock = new ManualClock(0);
    const limited = new RateLimitedLog(logger, clock, { windowMs: 60_000 });
    limited.drop('bad-ttl', '198.18.0.5', 'from 198.18.0.5: TTL 1, expected 255');
    clock.advance(30_000);
    limited.drop('bad-ttl', '198.18.0.6', 'from 198.18.0.6: TTL 1, expected 255');
    clock.advance(300_000);
    // The window with one held back is summarised; the one after it held nothing, so this drop is news.
    limited.drop('bad-ttl', '198.18.0.7', 'from 198.18.0.7: TTL 64, expected 255');
    expect(lines).toEqual([
      '[WARNING] dropped advert: bad-ttl: from 198.18.0.5: TTL 1, expected 255',
      '[WARNING] dropped advert: bad-ttl: 1 more in 60 s, from 198.18.0.6',
      '[WARNING] dropped advert: bad-ttl: from 198.18.0.7: TTL 64, expected 255',
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { RateLimitedLog, SinkLogger, formatLine, type LogLevel } from '../lib/log.js';
import { ManualClock } from '../lib/state/clock.js';

function capture(debug = false) {
  const lines: string[] = [];
  const logger = new SinkLogger((level: LogLevel, msg: string) => lines.push(formatLine(level, msg)), debug);
  return { lines, logger };
}

describe('logging', () => {
  it('prints ucarp-style level labels', () => {
    const { lines, logger } = capture();
    logger.warn('BACKUP -> MASTER (master down: no advert for 3.04 s)');
    logger.error('boom');
    logger.info('hello');
    expect(lines).toEqual([
      '[WARNING] BACKUP -> MASTER (master down: no advert for 3.04 s)',
      '[ERROR] boom',
      '[INFO] hello',
    ]);
  });

  it('drops debug lines unless --debug', () => {
    const quiet = capture(false);
    quiet.logger.debug('packet');
    expect(quiet.lines).toEqual([]);
    const loud = capture(true);
    loud.logger.debug('packet');
    expect(loud.lines).toEqual(['[DEBUG] packet']);
  });
});

describe('rate-limited warnings', () => {
  it('logs the first of a burst, counts the rest, and reports the count after the window', () => {
    const { lines, logger } = capture();
    const clock = new ManualClock(0);
    const limited = new RateLimitedLog(logger, clock, 60_000);
    // A peer with the wrong password: one bad advert a second for two minutes.
    for (let s = 0; s < 120; s++) {
      limited.warn('drop:bad-digest', 'dropped advert: bad-digest from 198.18.0.9');
      clock.advance(1000);
    }
    expect(lines).toEqual([
      '[WARNING] dropped advert: bad-digest from 198.18.0.9',
      '[WARNING] dropped advert: bad-digest from 198.18.0.9 (59 more like this in the last 60 s)',
    ]);
  });

  it('keeps separate windows per key', () => {
    const { lines, logger } = capture();
    const limited = new RateLimitedLog(logger, new ManualClock(0), 60_000);
    limited.warn('a', 'first a');
    limited.warn('b', 'first b');
    limited.warn('a', 'second a');
    expect(lines).toEqual(['[WARNING] first a', '[WARNING] first b']);
  });
});

import { describe, expect, it } from 'vitest';
import { SinkLogger, formatLine, type LogLevel } from '../lib/log.js';

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

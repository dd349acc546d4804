import type { Clock } from './state/clock.js';

/**
 * Logging: ucarp-style `[LEVEL] message` lines on stderr in the foreground, syslog when
 * daemonized. Sinks are pluggable so tests capture lines and the daemon can switch to syslog.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export type LogSink = (level: LogLevel, message: string) => void;

/** The label ucarp prints in front of its lines. */
const LABELS: Record<LogLevel, string> = {
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
};

export function formatLine(level: LogLevel, message: string): string {
  return `[${LABELS[level]}] ${message}`;
}

export function stderrSink(): LogSink {
  return (level, message) => {
    process.stderr.write(`${formatLine(level, message)}\n`);
  };
}

export class SinkLogger implements Logger {
  constructor(
    private sink: LogSink,
    private readonly debugEnabled: boolean,
  ) {}

  setSink(sink: LogSink): void {
    this.sink = sink;
  }

  debug(msg: string): void {
    if (this.debugEnabled) this.sink('debug', msg);
  }
  info(msg: string): void {
    this.sink('info', msg);
  }
  warn(msg: string): void {
    this.sink('warn', msg);
  }
  error(msg: string): void {
    this.sink('error', msg);
  }
}

interface Window {
  openedAt: number;
  suppressed: number;
}

/**
 * Rate limit for repeated warnings: a peer with the wrong password sends one bad advert per
 * second, forever. The first line for a key is logged; later ones within `windowMs` are only
 * counted, and the first line after the window says how many were held back.
 */
export class RateLimitedLog {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly windowMs = 60_000,
  ) {}

  warn(key: string, message: string): void {
    this.emit('warn', key, message);
  }

  info(key: string, message: string): void {
    this.emit('info', key, message);
  }

  private emit(level: 'warn' | 'info', key: string, message: string): void {
    const now = this.clock.now();
    const w = this.windows.get(key);
    if (w && now - w.openedAt < this.windowMs) {
      w.suppressed++;
      return;
    }
    const suffix = w && w.suppressed > 0 ? ` (${w.suppressed} more like this in the last ${Math.round((now - w.openedAt) / 1000)} s)` : '';
    this.windows.set(key, { openedAt: now, suppressed: 0 });
    this.log[level](message + suffix);
  }
}

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

// The rate limiter for repeated warnings and dropped packets lives in its own module.
export { RateLimitedLog, type RateLimitOptions } from './log/limiter.js';

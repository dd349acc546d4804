import { execa } from 'execa';
import { FACILITY_CODES } from '../facilities.js';
import type { LogLevel, LogSink } from '../log.js';

/**
 * Syslog through util-linux's `logger`, kept running with --prio-prefix so each line carries
 * its own priority. Node has no unix datagram sockets, and a native syslog addon would be a
 * second compiled dependency for a handful of lines an hour.
 */


const SEVERITIES: Readonly<Record<LogLevel, number>> = { error: 3, warn: 4, info: 6, debug: 7 };

export function syslogPriority(facility: string, level: LogLevel): number {
  const f = FACILITY_CODES[facility] ?? FACILITY_CODES.daemon!;
  return f * 8 + SEVERITIES[level];
}

export function openSyslog(
  facility: string,
  pid: number,
  /** Tests point logger at their own socket instead of /dev/log. */
  socketPath?: string,
): { sink: LogSink; close: () => Promise<void> } {
  const args = ['--prio-prefix', '-t', 'carpd', `--id=${pid}`, ...(socketPath !== undefined ? ['-u', socketPath] : [])];
  const child = execa('logger', args, {
    stdin: 'pipe',
    stdout: 'ignore',
    stderr: 'ignore',
    reject: false,
  });
  let open = true;
  void child.then(() => {
    open = false;
  });
  child.stdin?.on('error', () => {
    open = false;
  });
  return {
    sink: (level, message) => {
      if (open) child.stdin?.write(`<${syslogPriority(facility, level)}>${message.replace(/\n/g, ' ')}\n`);
    },
    close: async () => {
      open = false;
      child.stdin?.end();
      await child;
    },
  };
}

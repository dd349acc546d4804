import { execa } from 'execa';
import type { LogLevel, LogSink } from '../log.js';

/**
 * Syslog through util-linux's `logger`, kept running with --prio-prefix so each line carries
 * its own priority. Node has no unix datagram sockets, and a native syslog addon would be a
 * second compiled dependency for a handful of lines an hour.
 */

const FACILITIES: Readonly<Record<string, number>> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9,
  authpriv: 10, ftp: 11, local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21,
  local6: 22, local7: 23,
};

const SEVERITIES: Readonly<Record<LogLevel, number>> = { error: 3, warn: 4, info: 6, debug: 7 };

export function syslogPriority(facility: string, level: LogLevel): number {
  const f = FACILITIES[facility] ?? FACILITIES.daemon!;
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

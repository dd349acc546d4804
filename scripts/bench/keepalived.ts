// keepalived as the checks benchmark runs it: one per lab host, in the foreground, its files in a
// private temporary directory, never the machine's own.
//
//   keepalived -n -l -D -G -P -f <dir>/h1.conf -p <dir>/h1.pid -r <dir>/h1-vrrp.pid -c … -b …
//
// -n: no fork, so the pid the lab holds is keepalived's parent, and SIGTERM to it stops the VRRP
// child too (and the lab's teardown kills whatever is left in the namespace). -l -D: detailed log
// on stdout, where the bench reads its state changes. -G: no syslog. -P: the VRRP subsystem only
// (no IPVS checker, which would want the ip_vs module). -p/-r/-c/-b: pid files of the parent and
// of each child it could start, all in the private directory, so /run/keepalived.pid and
// /run/keepalived/ are never touched and a keepalived the machine may run is never seen as
// "already running".
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { LabHost, LabProcess } from '../lab/lab.js';

export function findExecutable(name: string): string | undefined {
  const dirs = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', ...(process.env.PATH ?? '').split(delimiter)];
  // Only absolute directories, and the system ones first: a pyenv or nvm shim is a shell script
  // that costs tens of milliseconds per run, and the check runs every interval.
  return dirs.filter((d) => d.startsWith('/')).map((d) => join(d, name)).find((p) => existsSync(p));
}

/** `Keepalived v2.2.7 (01/16,2022)` → '2.2.7', with the Debian package version if there is one. */
export function keepalivedVersion(path: string): string {
  // keepalived prints its version on stderr; read both.
  const output = (cmd: string, args: string[]): string => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5_000 });
    return r.error ? '' : `${r.stdout}${r.stderr}`;
  };
  const version = /Keepalived v(\S+)/.exec(output(path, ['--version']))?.[1] ?? 'unknown version';
  const debian = /^\S+$/.exec(output('dpkg-query', ['-W', '-f', '${Version}', 'keepalived']).trim())?.[0];
  return debian ? `${version} (Debian ${debian})` : version;
}

export function keepalivedArgs(dir: string, hostIndex: number): string[] {
  const file = (suffix: string) => join(dir, `h${hostIndex}${suffix}`);
  return [
    '-n', '-l', '-D', '-G', '-P',
    '-f', file('.conf'),
    '-p', file('.pid'),
    '-r', file('-vrrp.pid'),
    '-c', file('-checkers.pid'),
    '-b', file('-bfd.pid'),
  ];
}

/** Writes host's configuration into dir and starts keepalived in host's namespace. */
export function startKeepalived(path: string, host: LabHost, dir: string, config: string): LabProcess {
  writeFileSync(join(dir, `h${host.index}.conf`), config, { mode: 0o600 });
  return host.spawn(path, keepalivedArgs(dir, host.index));
}

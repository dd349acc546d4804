// Starting Debian's real keepalived (2.2.x) on a lab host, for the VRRP interoperability tests:
// its own config, pid files in a private directory, console logging, no syslog, VRRP only.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LabHost, LabProcess } from '../../scripts/lab/lab.js';

export const KEEPALIVED = '/usr/sbin/keepalived';

export interface InstanceOptions {
  name?: string;
  version?: 2 | 3;
  vrid?: number;
  priority: number;
  /** Seconds. */
  advertInt?: number;
  state?: 'MASTER' | 'BACKUP';
  /** VRRPv2 PASS. */
  pass?: string;
  nopreempt?: boolean;
  preemptDelay?: number;
  vips: readonly string[];
  unicastSrc?: string;
  peers?: readonly string[];
}

/** A keepalived.conf of the kind tutorials show: one vrrp_instance on eth0. */
export function keepalivedConf(o: InstanceOptions): string {
  const lines = [
    'global_defs {',
    `  router_id lab_${o.name ?? 'VI_1'}`,
    `  vrrp_version ${o.version ?? 2}`,
    '  enable_script_security',
    '}',
    '',
    `vrrp_instance ${o.name ?? 'VI_1'} {`,
    `  state ${o.state ?? 'BACKUP'}`,
    '  interface eth0',
    `  virtual_router_id ${o.vrid ?? 51}`,
    `  priority ${o.priority}`,
    `  advert_int ${o.advertInt ?? 1}`,
    ...(o.nopreempt ? ['  nopreempt'] : []),
    ...(o.preemptDelay !== undefined ? [`  preempt_delay ${o.preemptDelay}`] : []),
    ...(o.pass !== undefined ? ['  authentication {', '    auth_type PASS', `    auth_pass ${o.pass}`, '  }'] : []),
    ...(o.unicastSrc !== undefined ? [`  unicast_src_ip ${o.unicastSrc}`] : []),
    ...(o.peers !== undefined ? ['  unicast_peer {', ...o.peers.map((p) => `    ${p}`), '  }'] : []),
    '  virtual_ipaddress {',
    ...o.vips.map((v) => `    ${v}`),
    '  }',
    '}',
    '',
  ];
  return lines.join('\n');
}

export interface KeepalivedRun {
  readonly proc: LabProcess;
  readonly confPath: string;
  /** Removes the private directory (after the process has stopped). */
  cleanup(): void;
}

/** Writes `conf` to a private directory and starts keepalived on the host with it. */
export function startKeepalived(host: LabHost, conf: string): KeepalivedRun {
  if (!existsSync(KEEPALIVED)) {
    throw new Error(`${KEEPALIVED} not found: the VRRP interop tests need Debian's keepalived (scripts/bootstrap installs it)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'carpd-keepalived-'));
  const confPath = join(dir, 'keepalived.conf');
  writeFileSync(confPath, conf);
  const proc = host.spawn(KEEPALIVED, [
    '--dont-fork', '--log-console', '--log-detail', '--no-syslog', '--vrrp',
    '-f', confPath, '-p', join(dir, 'keepalived.pid'), '-r', join(dir, 'vrrp.pid'),
  ]);
  return { proc, confPath, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** keepalived's "(VI_1) Entering MASTER STATE" lines so far. */
export function keepalivedEntered(p: LabProcess, state: 'MASTER' | 'BACKUP' | 'FAULT'): number {
  return p.output().split('\n').filter((l) => l.includes(`Entering ${state} STATE`)).length;
}

// Starting the real carpd (bin/carpd, built into dist/ by the global setup) on a lab host.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { VhostSnapshot } from '../../lib/control/types.js';
import type { CommandResult, Lab, LabHost, LabProcess } from '../../scripts/lab/lab.js';

export const CARPD = fileURLToPath(new URL('../../bin/carpd', import.meta.url));

export interface CarpdOptions {
  vhid?: number;
  password?: string;
  advbase?: number;
  advskew?: number;
  extra?: string[];
  /** Added to carpd's environment (e.g. CARPD_HOST_IO=commands). */
  env?: Record<string, string>;
}

/** The ucarp-style command line for a host of the lab (VIP = lab.vip()). */
export function carpdArgs(lab: Lab, host: LabHost, o: CarpdOptions = {}): string[] {
  return [
    '--interface=eth0',
    `--srcip=${host.address}`,
    `--vhid=${o.vhid ?? 42}`,
    `--pass=${o.password ?? 'love'}`,
    `--addr=${lab.vip()}`,
    `--advbase=${o.advbase ?? 1}`,
    `--advskew=${o.advskew ?? 0}`,
    ...(o.extra ?? []),
  ];
}

export function startCarpd(lab: Lab, host: LabHost, o: CarpdOptions = {}): LabProcess {
  return host.spawn(process.execPath, [CARPD, ...carpdArgs(lab, host, o)], o.env !== undefined ? { env: o.env } : undefined);
}

export function vipHolders(lab: Lab): Promise<LabHost[]> {
  return lab.vipHolders();
}

/** See Lab.waitForSingleHolder. */
export function singleMaster(lab: Lab, timeoutMs: number, stableMs = 1_500): Promise<LabHost> {
  return lab.waitForSingleHolder(timeoutMs, stableMs);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- sectioned config files (one carpd carrying several [vhost NAME] sections) ----------------

/** One line per value: a number or string is `key = value`, true a bare switch, a list repeats the key. */
export type ConfigValue = string | number | true | readonly (string | number)[];

export interface SectionedConfig {
  /** The lines before the first section: defaults for every vhost, and the process settings. */
  defaults: Record<string, ConfigValue>;
  /** One `[vhost NAME]` section per entry, in insertion order. */
  vhosts: Record<string, Record<string, ConfigValue>>;
}

/** The text of a sectioned config file (see lib/cli/config-file.ts for the format). */
export function sectionedConfigText(c: SectionedConfig): string {
  const lines = (options: Record<string, ConfigValue>): string[] =>
    Object.entries(options).flatMap(([key, value]) =>
      value === true ? [key] : (Array.isArray(value) ? value : [value]).map((v) => `${key} = ${String(v)}`),
    );
  const sections = Object.entries(c.vhosts).flatMap(([name, options]) => ['', `[vhost ${name}]`, ...lines(options)]);
  return `${[...lines(c.defaults), ...sections].join('\n')}\n`;
}

/**
 * Writes a config file with mode 0600 (it holds the password; carpd warns when others can
 * read it) and returns its path. An existing file is replaced and keeps that mode.
 */
export function writeSectionedConfig(path: string, c: SectionedConfig | string): string {
  writeFileSync(path, typeof c === 'string' ? c : sectionedConfigText(c), { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

/** `carpd --config=FILE` on a lab host, with any extra options after it. */
export function startCarpdWithConfig(host: LabHost, configFile: string, extra: string[] = []): LabProcess {
  return host.spawn(process.execPath, [CARPD, `--config=${configFile}`, ...extra]);
}

/** `carpd <args>` run to completion inside a lab host's (or the client's) namespace. */
export function carpdCommand(member: Pick<LabHost, 'exec'>, args: string[]): Promise<CommandResult> {
  return member.exec(process.execPath, [CARPD, ...args]);
}

/** `carpd status --json` inside the host's namespace; throws (with its output) unless it exits 0. */
export async function carpdStatus(host: Pick<LabHost, 'exec'>): Promise<{ vhosts: VhostSnapshot[]; daemons: unknown[] }> {
  const r = await carpdCommand(host, ['status', '--json']);
  if (r.code !== 0) throw new Error(`carpd status --json exited ${r.code}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as { vhosts: VhostSnapshot[]; daemons: unknown[] };
}

/** One vhost of `carpd status --json`, by name; throws when it is not there. */
export function vhostNamed(status: { vhosts: readonly VhostSnapshot[] }, name: string): VhostSnapshot {
  const vhost = status.vhosts.find((v) => v.name === name);
  if (vhost === undefined) throw new Error(`no vhost ${name} in status (vhosts: ${status.vhosts.map((v) => v.name).join(', ')})`);
  return vhost;
}

/** The hosts of the lab that have `address` (any prefix) on eth0 right now. */
export async function addressHolders(lab: Lab, address: string): Promise<LabHost[]> {
  const has = await Promise.all(lab.hosts.map((h) => h.hasAddress(address)));
  return lab.hosts.filter((_, k) => has[k]);
}

// ---- the VIP guardian (lib/host/guardian.ts) ----------------------------------------------

/** The pids of a carpd's children that run the VIP guardian's script. */
export function guardianChildren(pid: number): number[] {
  let children: string;
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
  } catch {
    return [];
  }
  return children
    .split(/\s+/)
    .filter((p) => p !== '')
    .map(Number)
    .filter((child) => {
      try {
        return readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('carpd-guardian');
      } catch {
        return false;
      }
    });
}

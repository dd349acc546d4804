// What `npm run bench:vhosts` runs, as data (pure): which vhids and VIPs, the carpd config file
// and the ucarp command lines for each node, and the targets the figures are judged against.
// Nothing here starts a process; multi.ts does, from these values.
import { advertisementIntervalMs, masterDownIntervalMs, type AdvertTiming } from '../../lib/state/timing.js';
import { CLIENT_OCTET, validateSubnet } from '../lab/safety.js';

/**
 * VIPs live inside the lab's own /24, above the client: vhid k gets <subnet>.(100 + k). The lab
 * uses .1-.49 for hosts, .50-.99 for its own VIPs and .100 for the client, so .101-.254 is free,
 * and an on-link address needs no route on the client (a /32 in another range would).
 */
export const VHOST_VIP_OFFSET = CLIENT_OCTET;
export const MAX_VHOSTS = 254 - VHOST_VIP_OFFSET;

export const PASSWORD = 'secret';
/** ucarp and carpd both use deadratio 3 unless told otherwise; neither is told here. */
export const DEADRATIO = 3;

/** h1 is the faster node (it becomes MASTER), h2 the slower (it stays BACKUP until the cut). */
export const MASTER_TIMING: AdvertTiming = Object.freeze({ advbase: 1, advskew: 0 });
export const BACKUP_TIMING: AdvertTiming = Object.freeze({ advbase: 1, advskew: 100 });

/** Targets of issue 7 for carpd. */
export const TARGET_RSS_KB = 100 * 1024;
/** 1 % of one core: 600 ms of CPU per minute. */
export const TARGET_CPU_MS_PER_MINUTE = 600;
export const TARGET_JITTER_P99_MS = 10;
export const TARGET_FAILOVER_MARGIN_MS = 200;
/** The RSS and CPU targets are stated for this many vhosts in one process. */
export const TARGET_VHOSTS = 100;

export interface Vhost {
  readonly vhid: number;
  /** Without prefix length; always used as a /32. */
  readonly vip: string;
}

export interface NodeSpec {
  /** The node's own address (srcip), e.g. 198.18.0.1. */
  readonly address: string;
  readonly timing: AdvertTiming;
}

export function vhostVip(subnet: string, vhid: number): string {
  validateSubnet(subnet);
  if (!Number.isInteger(vhid) || vhid < 1 || vhid > MAX_VHOSTS) {
    throw new Error(`bench vhid must be an integer from 1 to ${MAX_VHOSTS}, received ${String(vhid)}`);
  }
  return `${subnet}.${VHOST_VIP_OFFSET + vhid}`;
}

/** vhids 1..count, one /32 VIP each. */
export function vhostPlan(subnet: string, count: number): Vhost[] {
  return Array.from({ length: count }, (_, k) => ({ vhid: k + 1, vip: vhostVip(subnet, k + 1) }));
}

/**
 * The sectioned config file for one carpd serving every vhost of a node: the defaults first,
 * then one `[vhost vK]` section per vhid, as specified for issue 7.
 */
export function carpdConfigText(node: NodeSpec, vhosts: readonly Vhost[]): string {
  const lines = [
    '# defaults for every vhost',
    'interface = eth0',
    `srcip = ${node.address}`,
    `pass = ${PASSWORD}`,
    `advbase = ${node.timing.advbase}`,
    `advskew = ${node.timing.advskew}`,
  ];
  for (const v of vhosts) lines.push(`[vhost v${v.vhid}]`, `vhid = ${v.vhid}`, `addr = ${v.vip}/32`);
  return `${lines.join('\n')}\n`;
}

/**
 * carpd for a single vhost with ucarp's option names, no config file: a smoke test of the
 * carpd half that works before the sectioned config exists (--flat-carpd, one vhost only).
 */
export function carpdFlatArgs(node: NodeSpec, vhost: Vhost): string[] {
  return [
    '-i', 'eth0', '-s', node.address, '-v', String(vhost.vhid), '-p', PASSWORD, '-a', vhost.vip,
    '-b', String(node.timing.advbase), '-k', String(node.timing.advskew),
  ];
}

export interface UcarpScriptPaths {
  readonly up: string;
  readonly down: string;
}

/**
 * One ucarp per vhost, as an operator runs ucarp for several VIPs. ucarp does not manage the VIP:
 * the up/down scripts do (`ip addr add|del <vip>/32 dev eth0`). `-f none` keeps a hundred ucarps
 * out of syslog (they log to stderr, where the bench reads their state changes); `-z` runs the
 * down-script when the bench stops them, as the failover bench does.
 */
export function ucarpArgs(node: NodeSpec, vhost: Vhost, scripts: UcarpScriptPaths): string[] {
  return [
    '-i', 'eth0', '-s', node.address, '-v', String(vhost.vhid), '-p', PASSWORD, '-a', vhost.vip,
    '-k', String(node.timing.advskew), '-b', String(node.timing.advbase),
    '-u', scripts.up, '-d', scripts.down, '-z', '-f', 'none',
  ];
}

/** The master's advert interval: what every advert of every vhid should be apart. */
export function nominalIntervalMs(): number {
  return advertisementIntervalMs(MASTER_TIMING);
}

/**
 * The backup's master-down interval as both daemons compute it (lib/state/timing.ts: ucarp's
 * advbase × deadratio + advskew/256, 3.39 s here), and the failover target built on it.
 */
export function failoverTargetMs(): { masterDownMs: number; targetMs: number } {
  const masterDownMs = masterDownIntervalMs(BACKUP_TIMING, DEADRATIO);
  return { masterDownMs, targetMs: masterDownMs + TARGET_FAILOVER_MARGIN_MS };
}

/** CPU time over a window, scaled to one minute. */
export function perMinute(cpuMs: number, windowMs: number): number | undefined {
  return windowMs > 0 ? (cpuMs * 60_000) / windowMs : undefined;
}

// What `npm run bench:checks` runs, as data (pure): the service and its health check, the carpd
// command lines, the keepalived configuration, and the arithmetic of the targets. Nothing here
// starts a process; checks.ts does, from these values.
//
// Both implementations watch the same service with the same command, fall 2 and rise 2, and
// weight 0 (a failing check faults the node; the faulting master resigns with a bow-out advert,
// priority 0 in VRRP). What differs is what each accepts as an interval: carpd any number of
// seconds down to 0.01, keepalived 2.2.x whole seconds only (`interval 0.5` is rejected with
// "invalid number" and becomes 1). Hence a third variant, carpd at keepalived's interval, which
// compares the two mechanisms with the same detection window.
import { bowOutDelayMs } from '../../lib/state/election.js';
import { VIP_BASE } from '../lab/safety.js';

export type Implementation = 'carpd' | 'keepalived';
export type VariantId = 'carpd' | 'carpd-1s' | 'keepalived';
export const VARIANT_IDS: readonly VariantId[] = ['carpd', 'carpd-1s', 'keepalived'];

export interface Variant {
  readonly id: VariantId;
  readonly implementation: Implementation;
  /** Seconds between two runs of the check, as configured. */
  readonly checkIntervalS: number;
  readonly fall: number;
  readonly rise: number;
  /** Column heading in the report. */
  readonly label: string;
}

export const FALL = 2;
export const RISE = 2;
/** The interval the brief asks of carpd. */
export const CARPD_CHECK_INTERVAL_S = 0.5;
/** keepalived 2.2.x reads `interval` as an unsigned integer; 1 is the smallest it keeps. */
export const KEEPALIVED_MIN_INTERVAL_S = 1;

/**
 * keepalived 2.2.7's reading of a vrrp_script interval (vrrp_parser.c): an unsigned integer, 0
 * raised to 1; anything else ("0.5") is refused and the default, 1 s, stays.
 */
export function keepalivedEffectiveInterval(requestedS: number): number {
  return Number.isInteger(requestedS) && requestedS >= KEEPALIVED_MIN_INTERVAL_S ? requestedS : KEEPALIVED_MIN_INTERVAL_S;
}

export const VARIANTS: Readonly<Record<VariantId, Variant>> = Object.freeze({
  carpd: { id: 'carpd', implementation: 'carpd', checkIntervalS: CARPD_CHECK_INTERVAL_S, fall: FALL, rise: RISE, label: 'carpd 0.5 s' },
  'carpd-1s': { id: 'carpd-1s', implementation: 'carpd', checkIntervalS: 1, fall: FALL, rise: RISE, label: 'carpd 1 s' },
  keepalived: {
    id: 'keepalived',
    implementation: 'keepalived',
    checkIntervalS: keepalivedEffectiveInterval(KEEPALIVED_MIN_INTERVAL_S),
    fall: FALL,
    rise: RISE,
    label: 'keepalived 1 s',
  },
});

/** Round k's order: the variants rotated by k − 1, so none always goes first (or last) on a drifting machine. */
export function roundOrder(variants: readonly VariantId[], round: number): VariantId[] {
  const k = (round - 1) % variants.length;
  return [...variants.slice(k), ...variants.slice(0, k)];
}

/** The service: `python3 -m http.server` on every address of the host's namespace. */
export const SERVICE_PORT = 8080;
/** Served as / on each host: the client's responses say which host answered. */
export function serviceBody(hostIndex: number): string {
  return `h${hostIndex}\n`;
}

export function serviceArgs(directory: string): string[] {
  // -u: unbuffered, so each request's log line (which checks.ts times the fault against) reaches
  // the bench as it happens. 0.0.0.0 inside the namespace: the host's own address, the VIP once
  // it has it, and 127.0.0.1 for the check.
  return ['-u', '-m', 'http.server', String(SERVICE_PORT), '--bind', '0.0.0.0', '--directory', directory];
}

/**
 * The health check, the same argument vector for both: carpd splits --check into words and runs
 * it without a shell, keepalived splits `script` the same way. curl -f fails on an HTTP error,
 * -m 1 bounds a hung service; a dead one refuses the connection at once.
 */
export function checkArgv(curlPath: string): string[] {
  return [curlPath, '-sf', '-m', '1', '-o', '/dev/null', `http://127.0.0.1:${SERVICE_PORT}/`];
}

export function checkCommandLine(curlPath: string): string {
  return checkArgv(curlPath).join(' ');
}

/** carpd and keepalived get different VIPs and group ids, so a leftover of one can never answer for the other. */
export const CARPD_VHID = 50;
export const KEEPALIVED_VRID = 51;
/** Index for lab.vip(): 198.18.0.50 for carpd, 198.18.0.60 for keepalived. */
export function vipIndex(implementation: Implementation): number {
  return implementation === 'carpd' ? 0 : 10;
}
export function vipAddress(subnet: string, implementation: Implementation): string {
  return `${subnet}.${VIP_BASE + vipIndex(implementation)}`;
}

export const PASSWORD = 'secret';
/** carpd: host 1 advskew 0 (the master), host 2 advskew 100. */
export const CARPD_ADVSKEW: Readonly<Record<1 | 2, number>> = Object.freeze({ 1: 0, 2: 100 });
/** keepalived: host 1 priority 150 (the master), host 2 priority 100. */
export const KEEPALIVED_PRIORITY: Readonly<Record<1 | 2, number>> = Object.freeze({ 1: 150, 2: 100 });
export const ADVERT_INTERVAL_S = 1;

export interface NodeSpec {
  readonly index: 1 | 2;
  /** The node's own address, e.g. 198.18.0.1. */
  readonly address: string;
  readonly vip: string;
}

export function carpdArgs(node: NodeSpec, variant: Variant, curlPath: string): string[] {
  return [
    '--interface=eth0',
    `--srcip=${node.address}`,
    `--vhid=${CARPD_VHID}`,
    `--pass=${PASSWORD}`,
    `--addr=${node.vip}`,
    `--advbase=${ADVERT_INTERVAL_S}`,
    `--advskew=${CARPD_ADVSKEW[node.index]}`,
    `--check=${checkCommandLine(curlPath)}`,
    `--check-interval=${variant.checkIntervalS}`,
    `--check-fall=${variant.fall}`,
    `--check-rise=${variant.rise}`,
  ];
}

/** A string for keepalived.conf: double-quoted, with the two characters that need it escaped. */
function quoted(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * keepalived.conf for one node. VRRPv2 (the default), both nodes `state BACKUP` so the election
 * decides (priority 150 wins), PASS authentication as the brief asks, the VIP as a /32 on eth0.
 *
 * - script_user root + enable_script_security: the check runs as root, as carpd's does, and
 *   keepalived checks that nobody else can write the script; without them 2.2.7 warns and
 *   looks for a `keepalived_script` user first.
 * - vrrp_garp_master_delay 0: no second burst of gratuitous ARP 5 s after becoming MASTER. It
 *   happens long after the measurement either way; 0 keeps the capture short. The first burst
 *   (5 GARPs at once, vrrp_garp_master_repeat's default) is untouched.
 * - Scheduling left at the default (no max_auto_priority, which 2.2.7 suggests at start-up):
 *   carpd also runs at normal priority.
 */
export function keepalivedConfig(node: NodeSpec, variant: Variant, curlPath: string): string {
  return `# Generated by scripts/bench/checks-plan.ts for host ${node.index}
global_defs {
  router_id h${node.index}
  script_user root
  enable_script_security
  vrrp_garp_master_delay 0
}

vrrp_script chk {
  script ${quoted(checkCommandLine(curlPath))}
  interval ${variant.checkIntervalS}
  fall ${variant.fall}
  rise ${variant.rise}
}

vrrp_instance VI {
  state BACKUP
  interface eth0
  virtual_router_id ${KEEPALIVED_VRID}
  priority ${KEEPALIVED_PRIORITY[node.index]}
  advert_int ${ADVERT_INTERVAL_S}
  authentication {
    auth_type PASS
    auth_pass ${PASSWORD}
  }
  virtual_ipaddress {
    ${node.vip}/32 dev eth0
  }
  track_script {
    chk
  }
}
`;
}

// ---- the arithmetic of the targets -----------------------------------------------------------

/** fall × interval: from the last good check to the one that declares the service failed. */
export function detectionWindowMs(v: Variant): number {
  return v.fall * v.checkIntervalS * 1000;
}

/** What the brief allows carpd on top of the detection window. */
export const TARGET_MARGIN_MS = 100;

export function targetMs(v: Variant): number {
  return detectionWindowMs(v) + TARGET_MARGIN_MS;
}

/** VRRP's Skew_Time, (256 − priority) / 256 × advert interval: how long a backup waits after priority 0. */
export function vrrpSkewMs(priority: number, advertIntervalS = ADVERT_INTERVAL_S): number {
  return ((256 - priority) / 256) * advertIntervalS * 1000;
}

/**
 * The protocol's part of a take-over, after the master has resigned: how long the backup waits
 * before it claims. carpd: advskew × 0.25 ms (lib/state/election.ts); keepalived: Skew_Time.
 */
export function resignWaitMs(implementation: Implementation): number {
  return implementation === 'carpd'
    ? bowOutDelayMs({ advbase: ADVERT_INTERVAL_S, advskew: CARPD_ADVSKEW[2] })
    : vrrpSkewMs(KEEPALIVED_PRIORITY[2]);
}

/**
 * When the VIP should reach host 2 if the service dies just after a check passed: the rest of
 * this interval and fall − 1 more (fall × interval in all), then the resign wait. Process
 * start-up of the check, netlink and ARP are what the measurement adds to it.
 */
export function expectedVipMs(v: Variant): number {
  return detectionWindowMs(v) + resignWaitMs(v.implementation);
}

import type { IpAddress, VipAddress } from './net/address.js';
import type { Protocol } from './state/rules.js';

/**
 * The daemon's configuration, as the CLI hands it over: parsed once, validated, frozen.
 * Nothing below lib/cli/ sees yargs or raw strings; everything receives this.
 *
 * One process carries many virtual hosts. A ucarp command line (or a flat --config file) is a
 * Config with one vhost; a sectioned file has one vhost per `[vhost NAME]` section.
 */
export interface Config {
  readonly process: ProcessConfig;
  readonly vhosts: readonly VhostConfig[];
  /** Every health check, once each: a check tracked by several vhosts runs once. */
  readonly checks: readonly CheckConfig[];
}

/** A health check, keepalived's vrrp_script: a command run every interval. */
export interface CheckConfig {
  /** The [check NAME] section's name, or derived from the command for --check. */
  readonly name: string;
  /** Argument vector, run without a shell. */
  readonly command: readonly string[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Consecutive failures before a healthy check counts as failed. */
  readonly fall: number;
  /** Consecutive successes before a failed check counts as healthy. */
  readonly rise: number;
  /** 0: failing faults the vhost; N: failing adds N to its advertised advskew. */
  readonly weight: number;
  /** Where it was defined, for messages. */
  readonly origin: string;
}

/** Another interface a vhost follows (--track-interface). */
export interface TrackedInterface {
  readonly name: string;
  /** 0: down faults the vhost; N: down adds N to its advertised advskew. */
  readonly weight: number;
}

/** What belongs to the process, not to any one vhost. */
export interface ProcessConfig {
  /** Packet-level logging (ucarp -D). */
  readonly debug: boolean;
  /** Syslog facility name, or 'none' (ucarp -f). */
  readonly facility: string;
  /** Detach and log to syslog (ucarp -B). */
  readonly daemonize: boolean;
  /** File to write our pid into, removed on exit. */
  readonly pidfile: string | undefined;
  /** Serve Prometheus metrics on this address and port (--metrics); undefined: off. */
  readonly metrics: { readonly host: string; readonly port: number } | undefined;
  /**
   * The --config file, absolute, when one was given: `carpd reload` reads it again. Undefined
   * for a pure command line.
   */
  readonly configFile: string | undefined;
  /** keepalived's script_user: every script and check runs as this user; undefined: as carpd. */
  readonly scriptUser: { readonly name: string; readonly uid: number; readonly gid: number } | undefined;
  /**
   * The file has `[vhost]` sections. Then log lines carry the vhost's name and SIGHUP reloads
   * (for a command line or a flat file SIGHUP stops, as in ucarp).
   */
  readonly sectioned: boolean;
}

/** One virtual host: a vhid on an interface with its VIPs. */
export interface VhostConfig {
  /** The section name, or `<interface>-vhid<vhid>` for a command line. */
  readonly name: string;
  /** Interface the VIPs live on and adverts are sent/received on (ucarp -i). */
  readonly interface: string;
  /** This host's real address on that interface (ucarp -s). */
  readonly srcip: IpAddress;
  /** Destination group of adverts (ucarp -m; default 224.0.0.18). */
  readonly mcast: IpAddress;
  /** Virtual host id, 1..255 (ucarp -v; VRRP's virtual_router_id); unique per interface. */
  readonly vhid: number;
  /** carp (default), vrrp2 or vrrp3 (--protocol). */
  readonly protocol: Protocol;
  /**
   * CARP: the HMAC key, 1..19 bytes. VRRPv2: the PASS password, 0..8 bytes (empty: no
   * authentication); VRRPv3: empty. Never logged.
   */
  readonly password: Buffer;
  /** VRRP: 1..255 (255: the address owner). Unused by CARP. */
  readonly priority: number;
  /** VRRP: the advert interval in centiseconds (v2: whole seconds × 100). Unused by CARP. */
  readonly advertIntCs: number;
  /** Unicast (--peer): adverts go to these addresses and only theirs are accepted; empty: multicast. */
  readonly peers: readonly IpAddress[];
  /** keepalived's `state MASTER`: claim at start without waiting (--initial-state=master). */
  readonly initialMaster: boolean;
  /** VRRPv3: send the checksum without the IPv4 pseudo-header (keepalived's v3_checksum_as_v2). */
  readonly v3ChecksumAsV2: boolean;
  /** Take over from a slower (VRRP: lower-priority) master at once (ucarp -P; on by default for VRRP). */
  readonly preempt: boolean;
  /** Do not run the down-script when entering BACKUP at start (ucarp -n). */
  readonly neutral: boolean;
  /**
   * The virtual addresses, in configuration order, at least one (ucarp -a: exactly one). The
   * first is the one the scripts get as their second argument, as with ucarp.
   */
  readonly vips: readonly VipAddress[];
  /** Optional `ip addr ... label` value. */
  readonly vipLabel: string | undefined;
  /** Whether carpd itself adds/removes the VIPs; false = ucarp behaviour (scripts own them). */
  readonly manageVip: boolean;
  /** Seconds part of the advert interval, 0..255 (ucarp -b). */
  readonly advbase: number;
  /** 1/256 s part of the advert interval, 0..254 (ucarp -k). */
  readonly advskew: number;
  /** Master-down multiplier, >= 1 (ucarp -r). */
  readonly deadratio: number;
  /** Script run on becoming MASTER (ucarp -u), absolute path, or undefined. */
  readonly upscript: string | undefined;
  /** Script run on becoming BACKUP (ucarp -d). */
  readonly downscript: string | undefined;
  /** Extra last argument to the scripts (ucarp -x). */
  readonly xparam: string | undefined;
  /** Run the down-script on exit when not BACKUP (ucarp -z). */
  readonly shutdown: boolean;
  /** Ignore carrier state (ucarp -S). */
  readonly ignoreIfState: boolean;
  /** Send adverts in link-layer broadcast frames (ucarp -M). */
  readonly noMcast: boolean;
  /** Milliseconds a script may run before it is killed. */
  readonly scriptTimeoutMs: number;
  /** The sync group this vhost changes state with (`group = NAME`), if any. */
  readonly group: string | undefined;
  /** The checks it follows (the same objects as Config.checks). */
  readonly checks: readonly CheckConfig[];
  readonly trackInterfaces: readonly TrackedInterface[];
  /** Files whose content faults or demotes it (--track-file), absolute paths. */
  readonly trackFiles: readonly string[];
  /** Run on every state change: <file> <STATE> <if> <vip> [xparam] (--notify). */
  readonly notify: string | undefined;
  /** After start and after FAULT, no preemption for this long. */
  readonly preemptDelayMs: number;
  /** keepalived's notify_master/backup/fault/stop: argv run as given on entering that state. */
  readonly stateNotify: Readonly<Partial<Record<'MASTER' | 'BACKUP' | 'FAULT' | 'STOP', readonly string[]>>>;
  /** keepalived's notify: argv, run with INSTANCE <name> <STATE> <priority> appended. */
  readonly keepalivedNotify: readonly string[] | undefined;
  /** Gratuitous ARPs per VIP per announcement (CARP 1, VRRP 5 by default). */
  readonly garpRepeat: number;
  /** The second announcement after becoming MASTER: undefined = two adverts later (ucarp); 0 = none. */
  readonly garpDelayMs: number | undefined;
  /** keepalived's virtual_ipaddress_excluded: moved with the VIPs, not listed in the adverts. */
  readonly excludedVips: readonly VipAddress[];
  /**
   * CARP only (--replay-protect): send counters a receiver can check (lib/protocol/replay.ts),
   * adopt nobody's, and drop adverts whose counter is not above the sender's last ('replayed').
   */
  readonly replayProtect: boolean;
  /**
   * One family of a dual-stack vhost (see splitByFamily): every address of the vhost as
   * configured, both families, which CARP's digest covers (lib/protocol/hmac.ts). Undefined:
   * `vips` and `excludedVips` are all there is.
   */
  readonly digestVips?: readonly VipAddress[];
}

/** The family of a vhost's addresses and adverts: one per vhost (a dual-stack one is split). */
export function vhostFamily(config: Pick<VhostConfig, 'vips'>): 4 | 6 {
  return config.vips[0]?.address.family ?? 4;
}

/** The link a vhost runs on: one per interface and family (lib/daemon/link.ts). */
export function linkKey(config: Pick<VhostConfig, 'interface' | 'vips'>): string {
  return vhostFamily(config) === 6 ? `${config.interface} ipv6` : config.interface;
}

/** What the instance lock of a vhost is taken on (lib/host/instance-lock.ts). */
export function lockOptions(config: Pick<VhostConfig, 'interface' | 'vhid' | 'vips'>): { interface: string; vhid: number; family?: 6 } {
  return { interface: config.interface, vhid: config.vhid, ...(vhostFamily(config) === 6 ? { family: 6 as const } : {}) };
}

/** lockOptions as a map key. */
export function lockKey(config: Pick<VhostConfig, 'interface' | 'vhid' | 'vips'>): string {
  return `${config.interface}/${config.vhid}/${vhostFamily(config)}`;
}

/**
 * An IPv6 vhost without --srcip sends from its interface's link-local address, which only the
 * running link knows; its `srcip` is then `::`.
 */
export function sourceFromLink(config: Pick<VhostConfig, 'srcip'>): boolean {
  return config.srcip.family === 6 && config.srcip.big === 0n;
}

/** The name a command-line vhost gets (status, metrics, log lines of a sectioned config). */
export function defaultVhostName(iface: string, vhid: number): string {
  return `${iface}-vhid${vhid}`;
}

/**
 * Whether two vhost configurations are the same in everything that matters at run time (reload
 * keeps such a vhost running untouched). Buffers and addresses compare by value.
 */
export function sameVhostConfig(a: VhostConfig, b: VhostConfig): boolean {
  return JSON.stringify(comparable(a)) === JSON.stringify(comparable(b));
}

function comparable(v: VhostConfig): unknown {
  return { ...v, password: v.password.toString('hex'), checks: v.checks.map(checkIdentity) };
}

/**
 * What makes two checks the same check: everything but where it was written, so a reload of a
 * file that only moved lines keeps its vhosts and check runners as they are.
 */
export function checkIdentity(c: CheckConfig): string {
  return JSON.stringify([c.name, c.command, c.intervalMs, c.timeoutMs, c.fall, c.rise, c.weight]);
}

import type { IpAddress, VipAddress } from './net/address.js';

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
  /** Virtual host id, 1..255 (ucarp -v); unique per interface. */
  readonly vhid: number;
  /** HMAC key: 1..19 bytes. Never logged. */
  readonly password: Buffer;
  /** Take over from a slower master at once (ucarp -P). */
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
  return { ...v, password: v.password.toString('hex') };
}

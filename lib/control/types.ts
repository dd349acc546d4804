/**
 * What the control socket (`carpd status`, `carpd reload`) and the metrics endpoint read from a
 * running daemon. The daemon's process layer implements ControlTarget; lib/control/ only
 * formats and serves. These snapshots are plain JSON-safe data: `carpd status --json` prints
 * them as they are, so a field added here is part of the documented output.
 */

export type VhostState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';

export interface TransitionRecord {
  readonly from: VhostState;
  readonly to: VhostState;
  readonly reason: string;
  /** Wall-clock time of the transition, ISO 8601 (for people and log correlation). */
  readonly at: string;
}

export interface VhostSnapshot {
  /** The section name (`[vhost NAME]`), or `<interface>-vhid<vhid>` for a command-line vhost. */
  readonly name: string;
  readonly interface: string;
  readonly vhid: number;
  /** The VIPs as `address/prefix`, in configuration order. */
  readonly vips: readonly string[];
  /** Source address of this vhost's adverts. */
  readonly srcip: string;
  readonly state: VhostState;
  /** Wall-clock time the current state was entered, ISO 8601. */
  readonly since: string;
  /** The current master: this vhost's own srcip when MASTER, else the master it last heard; null if none. */
  readonly master: string | null;
  /** The last transition, null before the first. */
  readonly lastTransition: TransitionRecord | null;
  /** The sync group (`group = NAME`), null when the vhost is in none. */
  readonly group: string | null;
  readonly linkUp: boolean;
  /** carp, vrrp2 or vrrp3. */
  readonly protocol: string;
  /** CARP's timing (VRRP vhosts report the defaults, unused). */
  readonly advbase: number;
  readonly advskew: number;
  /** VRRP: the configured priority and advert interval in seconds; null for CARP. */
  readonly priority: number | null;
  readonly advertInt: number | null;
  readonly advertsSent: number;
  readonly advertsReceived: number;
  readonly sendErrors: number;
  /** Adverts for this vhid that failed a per-vhost check, by drop reason (every reason listed). */
  readonly drops: Readonly<Record<string, number>>;
  /** Transitions by kind, keyed `FROM->TO` (e.g. `BACKUP->MASTER`). */
  readonly transitions: Readonly<Record<string, number>>;
  /** Script runs by outcome: `ok`, `failed` (non-zero exit or signal), `timeout`, `error` (could not start). */
  readonly scriptRuns: Readonly<Record<string, number>>;
  /** Adverts from another node claiming MASTER on this vhid while we were MASTER (split-brain evidence). */
  readonly otherMasterHeard: number;
  /**
   * What failing weights take off (CARP: advskew added; VRRP: priority subtracted; 0: none), and
   * the advskew (CARP) or priority (VRRP) advertised with it; the other one is null.
   */
  readonly demotion: number;
  readonly advertisedAdvskew: number | null;
  readonly advertisedPriority: number | null;
  /** Checks, tracked interfaces and track files this vhost follows, with their states. */
  readonly tracks: readonly TrackSnapshot[];
}

export interface TrackSnapshot {
  readonly kind: 'check' | 'interface' | 'file';
  /** The check's name, the interface, or the file's path. */
  readonly name: string;
  /** 0: failing faults the vhost; N: failing demotes it by N (a track file's own number). */
  readonly weight: number;
  readonly state: 'unknown' | 'healthy' | 'failed';
  /** The last result or reason ("exit 7 after 0.03 s"), null if none. */
  readonly detail: string | null;
}

/** A health check of the process (run once however many vhosts follow it). */
export interface CheckSnapshot {
  readonly name: string;
  readonly command: readonly string[];
  readonly state: 'unknown' | 'healthy' | 'failed';
  readonly intervalMs: number;
  readonly fall: number;
  readonly rise: number;
  readonly weight: number;
  readonly lastResult: { readonly ok: boolean; readonly outcome: string; readonly detail: string; readonly durationMs: number; readonly at: string } | null;
  /** Runs by outcome: ok, failed, timeout, error. */
  readonly runs: Readonly<Record<string, number>>;
}

export interface LinkSnapshot {
  readonly interface: string;
  /** 4 or 6: an interface with vhosts of both families has a link of each. */
  readonly family: 4 | 6;
  readonly up: boolean;
  /** Packets dropped before they could be matched to a vhost of ours (bad TTL, other vhid, ...), by reason. */
  readonly drops: Readonly<Record<string, number>>;
}

export interface DaemonSnapshot {
  readonly pid: number;
  readonly version: string;
  /** The config file the daemon was started with, null for a command line. */
  readonly configFile: string | null;
  readonly startedAt: string;
  readonly vhosts: readonly VhostSnapshot[];
  readonly links: readonly LinkSnapshot[];
  readonly checks: readonly CheckSnapshot[];
}

export type ReloadResult =
  | { readonly ok: true; readonly message: string }
  | { readonly ok: false; readonly message: string };

/** What the process layer offers to lib/control/. */
export interface ControlTarget {
  snapshot(): DaemonSnapshot;
  /** Re-reads the config file; `ok: false` with one line when nothing changed because of an error. */
  reload(): Promise<ReloadResult>;
}

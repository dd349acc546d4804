/**
 * The daemon's configuration, as the CLI hands it over: parsed once, validated, frozen.
 * Nothing below lib/cli/ sees yargs or raw strings; everything receives this.
 */
export interface Config {
  /** Interface the VIP lives on and adverts are sent/received on (ucarp -i). */
  readonly interface: string;
  /** This host's real address on that interface, dotted quad (ucarp -s). */
  readonly srcip: string;
  /** Destination group of adverts, dotted quad (ucarp -m; default 224.0.0.18). */
  readonly mcast: string;
  /** Virtual host id, 1..255 (ucarp -v). */
  readonly vhid: number;
  /** HMAC key: 1..19 bytes. Never logged. */
  readonly password: Buffer;
  /** Take over from a slower master at once (ucarp -P). */
  readonly preempt: boolean;
  /** Do not run the down-script when entering BACKUP at start (ucarp -n). */
  readonly neutral: boolean;
  /** The virtual address, dotted quad, without prefix (ucarp -a). */
  readonly vip: string;
  /** Prefix length used with `ip addr add` (32 unless --addr had one). */
  readonly vipPrefix: number;
  /** Optional `ip addr ... label` value. */
  readonly vipLabel: string | undefined;
  /** Whether carpd itself adds/removes the VIP; false = ucarp behaviour (scripts own it). */
  readonly manageVip: boolean;
  /** Seconds part of the advert interval, 0..255 (ucarp -b). */
  readonly advbase: number;
  /** 1/256 s part of the advert interval, 0..254 (ucarp -k). */
  readonly advskew: number;
  /** Master-down multiplier, >= 1 (ucarp -r). */
  readonly deadratio: number;
  /** Script run on becoming MASTER (ucarp -u), absolute or relative path, or undefined. */
  readonly upscript: string | undefined;
  /** Script run on becoming BACKUP (ucarp -d). */
  readonly downscript: string | undefined;
  /** Extra last argument to the scripts (ucarp -x). */
  readonly xparam: string | undefined;
  /** Run the down-script on exit when not BACKUP (ucarp -z). */
  readonly shutdown: boolean;
  /** Packet-level logging (ucarp -D). */
  readonly debug: boolean;
  /** Syslog facility name, or 'none' (ucarp -f). */
  readonly facility: string;
  /** Detach and log to syslog (ucarp -B). */
  readonly daemonize: boolean;
  /** Ignore carrier state (ucarp -S). */
  readonly ignoreIfState: boolean;
  /** Send adverts in link-layer broadcast frames (ucarp -M). */
  readonly noMcast: boolean;
  /** File to write our pid into, removed on exit. */
  readonly pidfile: string | undefined;
  /** Milliseconds a script may run before it is killed. */
  readonly scriptTimeoutMs: number;
}

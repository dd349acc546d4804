/**
 * carpd's command-line options: ucarp 1.5.2's, with the same names, letters and meanings, then
 * carpd's own (long form only, so they can never collide with a future ucarp letter).
 *
 * This table is the single source for the getopt-style tokenizer, the yargs definition and the
 * --help text. Value checking lives in parse.ts, next to the Config it produces.
 */

import { CARP_DEFAULT_GROUP, CARP_DEFAULT_GROUP6 } from '../protocol/constants.js';

export interface OptionSpec {
  /** Long name without dashes; also the key yargs stores the value under. */
  readonly name: string;
  /** ucarp's single-letter form, if it has one. */
  readonly short?: string;
  /** Other long names that mean the same option. */
  readonly aliases?: readonly string[];
  /** Present when the option takes a value; the placeholder is shown in --help. */
  readonly placeholder?: string;
  /** A boolean that also accepts `--no-<name>` (only --manage-vip). */
  readonly negatable?: boolean;
  /**
   * Default as the string the user would have typed, so defaults pass through the same checks
   * as given values. Flags default to false unless stated.
   */
  readonly default?: string | boolean;
  /**
   * What a value must look like, as the phrase after "must be" in messages (value options
   * only). Missing-value and missing-option messages reuse it; parse.ts states the check.
   */
  readonly expects?: string;
  /** The value is a secret: it is never echoed in any message. */
  readonly secret?: boolean;
  /** One line for --help. */
  readonly description: string;
}

export const DEFAULT_MCAST = CARP_DEFAULT_GROUP;
/** An IPv6 vhost's group unless --mcast names an IPv6 one. */
export const DEFAULT_MCAST6 = CARP_DEFAULT_GROUP6;

export const OPTIONS: readonly OptionSpec[] = [
  // ucarp's options, in the order of `ucarp --help`.
  {
    name: 'interface',
    short: 'i',
    placeholder: 'if',
    expects: 'a network interface name',
    description: 'network interface that carries the VIP and the adverts (required)',
  },
  {
    name: 'srcip',
    short: 's',
    placeholder: 'ip',
    expects: 'an IPv4 address of the interface, like 10.1.1.1',
    description:
      "this host's own address on <if>, the adverts' source (required for IPv4 CARP; IPv6 adverts leave from <if>'s link-local address unless an IPv6 --srcip is given)",
  },
  {
    name: 'mcast',
    short: 'm',
    // ucarp's getopt table spells it "mcastip"; "--mcast" only worked there as an abbreviation.
    aliases: ['mcastip'],
    placeholder: 'ip',
    default: DEFAULT_MCAST,
    expects: 'a multicast address, like 224.0.0.18 or ff02::12',
    description: `group the adverts are sent to (default ${DEFAULT_MCAST}, IPv6 ${DEFAULT_MCAST6})`,
  },
  {
    name: 'vhid',
    short: 'v',
    placeholder: 'id',
    expects: 'an integer from 1 to 255',
    description: 'virtual host id shared by the group, 1-255 (required)',
  },
  {
    name: 'pass',
    short: 'p',
    placeholder: 'pass',
    secret: true,
    expects: 'a password of 1 to 19 bytes',
    description: 'shared secret, 1-19 bytes (or use --passfile)',
  },
  {
    name: 'passfile',
    short: 'o',
    placeholder: 'file',
    expects: 'a readable file whose first line is the password',
    description: 'take the shared secret from the first line of <file>',
  },
  {
    name: 'preempt',
    short: 'P',
    negatable: true,
    description:
      'take over from a slower (VRRP: lower-priority) master instead of waiting for it to fail; on by default for VRRP, --no-preempt is keepalived\'s nopreempt',
  },
  {
    name: 'neutral',
    short: 'n',
    description: 'skip the down-script when starting as BACKUP',
  },
  {
    name: 'addr',
    short: 'a',
    placeholder: 'ip[/prefix]',
    expects: 'an IPv4 or IPv6 address with an optional /prefix, like 10.1.1.252/24 or 2001:db8::50/64',
    description: 'the virtual address, optionally with a prefix length (default /32, IPv6 /64) (required)',
  },
  {
    name: 'help',
    short: 'h',
    description: 'print this list and exit',
  },
  {
    name: 'advbase',
    short: 'b',
    placeholder: 'seconds',
    default: '1',
    expects: 'an integer from 0 to 255',
    description: 'whole seconds of the advert interval, 0-255 (default 1)',
  },
  {
    name: 'advskew',
    short: 'k',
    placeholder: 'skew',
    default: '0',
    expects: 'an integer from 0 to 254 (255 is reserved for the bow-out advert)',
    description: '1/256ths of a second added to the interval, 0-254 (default 0); lower wins',
  },
  {
    name: 'upscript',
    short: 'u',
    placeholder: 'file',
    expects: 'an executable file',
    description: 'program run as <file> <if> <vip> [xparam] on becoming MASTER',
  },
  {
    name: 'downscript',
    short: 'd',
    placeholder: 'file',
    expects: 'an executable file',
    description: 'program run as <file> <if> <vip> [xparam] on becoming BACKUP',
  },
  {
    name: 'deadratio',
    short: 'r',
    placeholder: 'ratio',
    default: '3',
    expects: 'an integer from 1 to 1000',
    description: 'adverts a backup may miss before it takes over, 1-1000 (default 3)',
  },
  {
    name: 'debug',
    short: 'D',
    description: 'log packet-level detail',
  },
  {
    name: 'shutdown',
    short: 'z',
    description: 'run the down-script when a MASTER exits',
  },
  {
    name: 'daemonize',
    short: 'B',
    description: 'detach, log to syslog, return once running',
  },
  {
    name: 'ignoreifstate',
    short: 'S',
    description: 'keep contending when the interface is down or has no carrier',
  },
  {
    name: 'nomcast',
    short: 'M',
    description: 'send adverts in link-layer broadcast frames (for switches that drop multicast)',
  },
  {
    name: 'facility',
    short: 'f',
    placeholder: 'facility',
    default: 'daemon',
    expects:
      'a syslog facility (auth, authpriv, cron, daemon, ftp, kern, lpr, mail, news, syslog, user, uucp, ' +
      'local0 to local7) or none',
    description: 'syslog facility for --daemonize, or none (default daemon)',
  },
  {
    name: 'xparam',
    short: 'x',
    placeholder: 'value',
    expects: 'a string',
    description: 'extra last argument for the up/down scripts',
  },

  // carpd's additions: long names only, so they never take a letter ucarp might use.
  {
    name: 'pidfile',
    placeholder: 'file',
    expects: 'a file path',
    description: 'write the process id to <file>, removed at exit',
  },
  {
    name: 'script-timeout',
    placeholder: 'seconds',
    default: '5',
    expects: 'a number of seconds greater than 0 and at most 3600',
    description: 'kill an up/down script still running after <seconds> (default 5, at most 3600)',
  },
  {
    name: 'manage-vip',
    negatable: true,
    default: true,
    description:
      'add/remove the virtual address itself (default); --no-manage-vip leaves it to the scripts, as ucarp does',
  },
  {
    name: 'vip-label',
    placeholder: 'label',
    expects: 'a label starting with the interface name, at most 15 characters',
    description: 'label for the virtual address (ip addr ... label <label>), e.g. eth0:carp',
  },
  {
    name: 'group',
    placeholder: 'name',
    expects: 'a group name (letters, digits, "-", "_" or ".", at most 32)',
    description: 'sync group: vhosts of one group change state together and keep their VIPs on one node',
  },
  {
    name: 'metrics',
    placeholder: 'addr:port',
    expects: 'an address and a port, like 127.0.0.1:9650 or [::1]:9650',
    description: 'serve Prometheus metrics on http://<addr:port>/metrics (default: off)',
  },
  {
    name: 'check',
    placeholder: 'command',
    expects: 'a command line, split into words and run without a shell (sh -c \'...\' for shell syntax)',
    description: 'health check (repeatable): the vhost leaves MASTER while it fails; exit 0 is healthy',
  },
  {
    name: 'check-interval',
    placeholder: 'seconds',
    default: '2',
    expects: 'a number of seconds from 0.01 to 3600',
    description: 'seconds between the starts of two runs of a check (default 2)',
  },
  {
    name: 'check-timeout',
    placeholder: 'seconds',
    expects: 'a number of seconds from 0.01 to 3600',
    description: 'a check still running after this fails and is killed with its process group (default: the interval)',
  },
  {
    name: 'check-fall',
    placeholder: 'n',
    default: '2',
    expects: 'an integer from 1 to 255',
    description: 'consecutive failures before a healthy check counts as failed (default 2)',
  },
  {
    name: 'check-rise',
    placeholder: 'n',
    default: '2',
    expects: 'an integer from 1 to 255',
    description: 'consecutive successes before a failed check counts as healthy (default 2)',
  },
  {
    name: 'check-weight',
    placeholder: 'n',
    default: '0',
    expects: 'an integer from 0 to 254',
    description: '0: a failed check puts the vhost in FAULT; N: it adds N to the advertised advskew (default 0)',
  },
  {
    name: 'track-check',
    placeholder: 'name',
    expects: 'the name of a [check NAME] section',
    description: 'in a config file: the vhost follows this [check NAME] section (repeatable)',
  },
  {
    name: 'track-interface',
    placeholder: 'if',
    expects: 'an interface name, optionally followed by "weight N" (N from 1 to 254)',
    description: 'carrier loss of this other interface faults the vhost, or demotes it by "weight N" (repeatable)',
  },
  {
    name: 'track-file',
    placeholder: 'file',
    expects: 'a file path',
    description: 'absent or 0: healthy; a number N: demote by N; the word fault: FAULT (repeatable)',
  },
  {
    name: 'notify',
    placeholder: 'file',
    expects: 'an executable file',
    description: 'program run on every state change as <file> <STATE> <if> <vip> [xparam]',
  },
  {
    name: 'preempt-delay',
    placeholder: 'seconds',
    default: '0',
    expects: 'a number of seconds from 0 to 3600',
    description: 'after start and after FAULT, wait this long before preempting a slower master (default 0)',
  },
  {
    name: 'protocol',
    placeholder: 'proto',
    default: 'carp',
    expects: 'carp, vrrp2 or vrrp3',
    description: 'election protocol: carp (ucarp\'s, default), vrrp2 (keepalived\'s default) or vrrp3',
  },
  {
    name: 'priority',
    placeholder: 'n',
    default: '100',
    expects: 'an integer from 1 to 255 (255: the address owner)',
    description: 'VRRP: this node\'s priority, the higher wins (default 100); CARP uses --advbase/--advskew',
  },
  {
    name: 'advert-int',
    placeholder: 'seconds',
    default: '1',
    expects: 'VRRPv2: whole seconds from 1 to 255; VRRPv3: 0.01 to 40.95 seconds',
    description: 'VRRP: seconds between adverts (default 1; VRRPv3 takes hundredths)',
  },
  {
    name: 'peer',
    placeholder: 'addr',
    expects: 'a unicast IPv4 or IPv6 address of another node, not our own',
    description: 'unicast (repeatable): send adverts to this node instead of the group and accept only the peers\' adverts',
  },
  {
    name: 'initial-state',
    placeholder: 'state',
    default: 'backup',
    expects: 'backup or master',
    description: "keepalived's state: with master, the address owner (priority 255) claims at start without waiting, as keepalived; other priorities start BACKUP either way",
  },
  {
    name: 'replay-protect',
    description:
      "CARP: drop replayed adverts (counter not above the sender's last); every node of the vhost must run it, so no ucarp peer (random counters)",
  },
  {
    name: 'v3-checksum-as-v2',
    description: 'VRRPv3: checksum without the IPv4 pseudo-header, as keepalived\'s v3_checksum_as_v2 (both are accepted)',
  },
  {
    name: 'notify-master',
    placeholder: 'command',
    expects: 'a command line whose first word is an executable file (run without a shell, nothing appended)',
    description: "keepalived's notify_master: run on becoming MASTER, with exactly the words given",
  },
  {
    name: 'notify-backup',
    placeholder: 'command',
    expects: 'a command line whose first word is an executable file (run without a shell, nothing appended)',
    description: "keepalived's notify_backup: run on becoming BACKUP",
  },
  {
    name: 'notify-fault',
    placeholder: 'command',
    expects: 'a command line whose first word is an executable file (run without a shell, nothing appended)',
    description: "keepalived's notify_fault: run on entering FAULT",
  },
  {
    name: 'notify-stop',
    placeholder: 'command',
    expects: 'a command line whose first word is an executable file (run without a shell, nothing appended)',
    description: "keepalived's notify_stop: run when the vhost stops",
  },
  {
    name: 'keepalived-notify',
    placeholder: 'command',
    expects: 'a command line whose first word is an executable file (run without a shell)',
    description: "keepalived's notify: run on every state change with INSTANCE <vhost> <STATE> <priority> appended",
  },
  {
    name: 'garp-master-repeat',
    placeholder: 'n',
    expects: 'an integer from 1 to 255',
    description: 'gratuitous ARPs per VIP each time it is announced (default: CARP 1, as ucarp; VRRP 5, as keepalived)',
  },
  {
    name: 'garp-master-delay',
    placeholder: 'seconds',
    expects: 'a number of seconds from 0 to 3600 (0: no second announcement)',
    description: 'announce the VIPs again this long after becoming MASTER (default: CARP two adverts later, as ucarp; VRRP 5 s, as keepalived)',
  },
  {
    name: 'addr-excluded',
    placeholder: 'ip[/prefix]',
    expects: 'an IPv4 or IPv6 address with an optional /prefix, optionally followed by "dev IF" and "label LABEL" (IPv4 only)',
    description: "keepalived's virtual_ipaddress_excluded (repeatable): a VIP moved with the others but not listed in the adverts",
  },
  {
    name: 'script-user',
    placeholder: 'user',
    expects: 'a user name from /etc/passwd',
    description: "run every script and check as this user (keepalived's script_user; default: carpd's own user)",
  },
  {
    name: 'keepalived-conf',
    placeholder: 'file',
    expects: 'a readable keepalived.conf',
    description: 'run the VRRP part of a keepalived configuration (vrrp_instance, vrrp_script, vrrp_sync_group, ...)',
  },
  {
    name: 'print-config',
    description: 'with --keepalived-conf: print the equivalent carpd config file and exit',
  },
  {
    name: 'config',
    placeholder: 'file',
    expects: 'a readable file of option lines (name=value, name value, or a bare switch name)',
    description:
      'read options from <file>, one per line (pass=secret), with optional [vhost NAME] sections; the command line overrides it',
  },
  {
    name: 'version',
    description: 'print the carpd version',
  },
];

/** Long name (or alias) → option, for exact lookups and abbreviation matching. */
export const OPTIONS_BY_LONG_NAME: ReadonlyMap<string, OptionSpec> = new Map(
  OPTIONS.flatMap((option) => [option.name, ...(option.aliases ?? [])].map((name) => [name, option] as const)),
);

/** Letter → option. */
export const OPTIONS_BY_SHORT_NAME: ReadonlyMap<string, OptionSpec> = new Map(
  OPTIONS.filter((option) => option.short !== undefined).map((option) => [option.short as string, option] as const),
);

export function takesValue(option: OptionSpec): boolean {
  return option.placeholder !== undefined;
}

/**
 * --keepalived-conf=FILE: the VRRP part of a keepalived configuration, read as keepalived 2.2
 * reads it, translated into carpd's sectioned config text (config-file.ts's format). Running
 * `carpd --keepalived-conf=FILE` is parsing that text as a --config file; `--print-config`
 * prints it, with a comment naming the keepalived line ("FILE line N") behind every setting, so
 * a site can migrate for good.
 *
 * Pure: the file reader and the glob for `include` are injected; nothing here touches the system.
 *
 * The reading follows keepalived's lexer (lib/parser.c), as facts, not as code:
 *  - `#` and `!` start a comment anywhere outside double quotes; `\#` and `\!` are literal;
 *  - `{` and `}` outside double quotes split a line, so `name {` may put its brace on the next
 *    line, and `virtual_ipaddress { 10.0.0.1/24 dev eth0 }` is a block on one line;
 *  - words are separated by blanks; a word that starts with `"` runs to the next `"`;
 *  - script and notify commands are read again with '...' and "..." quoting and backslash
 *    escapes (\n, \t, \xHH, octal...), and their first word is itself split into the argv;
 *  - `include PATTERN` (and includer/includem/includew/includeb/includea) takes a glob with
 *    braces, relative to the directory of the file that includes it (keepalived changes into
 *    that directory while reading it), matches read in sorted order.
 * keepalived's parameter features ($NAME=definitions, @config_id lines, ~SEQ/~LST) are refused.
 *
 * What keepalived does with a value it does not like is reproduced: where it repairs or falls
 * back (rounds a VRRPv2 advert_int, truncates auth_pass to 8 bytes, uses priority 100 for an
 * invalid one...) the translation does the same and says so in a warning; where it drops a piece
 * a failover depends on (a VIP, a peer, a track_script it cannot find, a whole instance) or where
 * carpd cannot do what keepalived would, the translation is refused with one line "FILE line N: ...".
 * Everything outside VRRP (LVS virtual_server, SMTP, SNMP, BFD, static addresses...) is ignored
 * with one warning, or refused when ignoring it would change when or how the addresses move.
 *
 * IPv6, as keepalived 2.2.7 takes it (vrrp_parser.c, vrrp_data.c, vrrp_complete_instance):
 *  - an instance has one family, set by the first of its virtual_ipaddress entries,
 *    unicast_src_ip/mcast_src_ip, mcast_dst_ip, unicast_peer or native_ipv6, in file order;
 *    a later VIP, source or peer of the other family is dropped by keepalived (refused here, as
 *    every dropped VIP or peer is), a later mcast_dst_ip of the other family ignored;
 *  - an IPv6 instance is VRRPv3 whatever global_defs' vrrp_version says; a `version 2` line
 *    after the family is known is ignored; one before it leaves keepalived sending VRRPv2 over
 *    IPv6 (no RFC defines it, carpd does not speak it: refused) unless strict mode sets 3;
 *  - native_ipv6 makes the instance IPv6 and VRRPv3 before any address says so;
 *  - an IPv6 VIP without a prefix is /128, a label on it is ignored, broadcast drops it;
 *  - virtual_ipaddress_excluded may hold either family (carpd moves an excluded address with
 *    the adverts of its family, so the vhost needs a VIP of that family: refused otherwise).
 */
import { dirname, isAbsolute, join } from 'node:path';
import { isLinkLocal, isMulticast, isUnicastHost, parseIpAddress, parseIpv4, parseIpv6, sameAddress, type IpAddress } from '../net/address.js';
import { isSectionName, lineOrigin, SECTION_NAME_RULE } from './config-file.js';
import { UsageError } from './errors.js';

export interface KeepalivedTranslation {
  /** carpd's sectioned config text, comments included. */
  readonly text: string;
  /** One line each, "FILE line N: ...", in file order. */
  readonly warnings: string[];
}

/**
 * Every key the translation can write, for the option table to carry: the [vhost] and process
 * keys, then the [check] section's. The lead's options.ts adds the ones it does not have yet.
 */
export const EMITTED_KEYS: readonly string[] = Object.freeze([
  'script-user',
  'interface', 'protocol', 'vhid', 'pass', 'advert-int', 'priority', 'initial-state', 'preempt', 'preempt-delay',
  'mcast', 'srcip', 'peer', 'addr', 'addr-excluded', 'track-interface', 'track-check',
  'notify-master', 'notify-backup', 'notify-fault', 'notify-stop', 'keepalived-notify',
  'garp-master-delay', 'garp-master-repeat', 'v3-checksum-as-v2', 'group',
  'command', 'interval', 'timeout', 'fall', 'rise', 'weight',
]);

/** keepalived's defaults (keepalived/include/vrrp.h, vrrp_track.h). */
const DEFAULT_PRIORITY = 100;
const OWNER_PRIORITY = 255;
/** The effective priority keepalived keeps a non-owner within (vrrp_set_effective_priority). */
const MAX_EFFECTIVE_PRIORITY = 254;
const AUTH_PASS_BYTES = 8;
const MAX_VIPS_PER_ADVERT = 255;
const MAX_PREEMPT_DELAY_SECONDS = 1000;
const MAX_INTERFACE_NAME_BYTES = 15;
/** keepalived reads timers with 6 decimal places: microseconds. */
const MICRO = 1_000_000;
const CENTI = 10_000;
const MAX_INCLUDE_DEPTH = 32;
const DEFAULT_MCAST_GROUP = '224.0.0.18';
const DEFAULT_MCAST_GROUP6 = 'ff02::12';
/**
 * keepalived moves the VIPs that do not fit an advert in the interface's MTU to the excluded
 * ones; for IPv6 at MTU 1500: (1500 - 14 Ethernet - 40 IPv6 - 8 VRRP) / 16 = 89 addresses.
 */
const MAX_IPV6_VIPS_AT_MTU_1500 = 89;

// ---------------------------------------------------------------------------------------------
// Lexer: files → logical lines (keepalived's read_line) → words (alloc_strvec).

interface LogicalLine {
  /** The piece of the line, comments removed, split at braces. */
  readonly text: string;
  readonly origin: string;
}

interface Statement {
  readonly words: readonly string[];
  /** The logical line as written (for commands, which are read again with quoting rules). */
  readonly text: string;
  readonly origin: string;
  /** The `{ ... }` block that follows it, if any. */
  readonly block?: readonly Statement[];
}

/** keepalived's decomment(): leading blanks, comments and trailing blanks go; `\#` means `#`. */
function decomment(line: string): string {
  let text = line.replace(/^[ \t]+/, '');
  let quoted = false;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      quoted = !quoted;
    } else if (c === '\\' && i + 1 < text.length) {
      const next = text[i + 1]!;
      if (!quoted && (next === '#' || next === '!')) {
        out += next;
      } else {
        out += c + next;
      }
      i++;
      continue;
    } else if (!quoted && (c === '#' || c === '!')) {
      break;
    }
    out += c;
  }
  text = out.replace(/[ \t]+$/, '');
  return text;
}

/** Splits at every `{` and `}` outside double quotes, as read_line() hands them out. */
function splitAtBraces(text: string): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest !== '') {
    if (rest[0] === '{' || rest[0] === '}') {
      pieces.push(rest[0]);
      rest = rest.slice(1).replace(/^[ \t]+/, '');
      continue;
    }
    let brace = -1;
    for (let i = 0; i < rest.length; i++) {
      const c = rest[i];
      if (c === '"') {
        const close = rest.indexOf('"', i + 1);
        if (close === -1) break;
        i = close;
      } else if (c === '{' || c === '}') {
        brace = i;
        break;
      }
    }
    if (brace === -1) {
      pieces.push(rest);
      break;
    }
    pieces.push(rest.slice(0, brace).replace(/[ \t]+$/, ''));
    rest = rest.slice(brace);
  }
  return pieces.filter((piece) => piece !== '');
}

const BLANKS = /[ \t\f\n\r\v]/;

/** alloc_strvec(): blank-separated words; a word starting with `"` runs to the next `"`. */
function words(text: string, origin: string): string[] {
  const result: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && BLANKS.test(text[i]!)) i++;
    if (i >= text.length) break;
    if (text[i] === '"') {
      const close = text.indexOf('"', i + 1);
      if (close === -1) throw new UsageError(`${origin}: a quote is not closed`);
      result.push(text.slice(i + 1, close));
      i = close + 1;
    } else {
      let end = i;
      while (end < text.length && !BLANKS.test(text[end]!) && text[end] !== '"') end++;
      result.push(text.slice(i, end));
      i = end;
    }
  }
  return result;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: '\x07', b: '\b', E: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v',
};

/**
 * alloc_strvec_quoted_escaped(): words where '...' and "..." quote (and may be glued to the
 * rest of a word) and a backslash escapes; undefined for an unclosed quote or a trailing `\`.
 */
function quotedEscapedWords(text: string): string[] | undefined {
  const result: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && BLANKS.test(text[i]!)) i++;
    if (i >= text.length) break;
    let word = '';
    let quote = '';
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (c === '\\') {
        i++;
        if (i >= text.length) return undefined;
        const e = text[i]!;
        if (e === 'x' && /[0-9a-fA-F]/.test(text[i + 1] ?? '')) {
          let value = 0;
          while (/[0-9a-fA-F]/.test(text[i + 1] ?? '')) value = ((value << 4) | parseInt(text[++i]!, 16)) & 0xff;
          word += String.fromCharCode(value);
        } else if (e === 'c' && i + 1 < text.length) {
          word += String.fromCharCode(text.charCodeAt(++i) & 0x1f);
        } else if (e >= '0' && e <= '7') {
          let value = e.charCodeAt(0) - 48;
          for (let n = 0; n < 2 && /[0-7]/.test(text[i + 1] ?? ''); n++) value = ((value << 3) + text.charCodeAt(++i) - 48) & 0xff;
          word += String.fromCharCode(value);
        } else {
          word += SIMPLE_ESCAPES[e] ?? e;
        }
      } else if (quote !== '') {
        if (c === quote) quote = '';
        else word += c;
      } else if (c === '"' || c === "'") {
        quote = c;
      } else if (BLANKS.test(c)) {
        break;
      } else {
        word += c;
      }
    }
    if (quote !== '') return undefined;
    result.push(word);
  }
  return result;
}

/** keepalived's is_include(): "include" or include[rmwba], then a blank. */
const INCLUDE = /^include[rmwba]?[ \t]+(.*)$/;
const WILDCARD = /[*?[{]/;

class Reader {
  readonly lines: LogicalLine[] = [];

  constructor(
    private readonly readFile: (path: string) => string,
    private readonly glob: ((pattern: string, relativeTo: string) => string[]) | undefined,
    private readonly warn: (origin: string, message: string) => void,
  ) {}

  readFileLines(path: string, includedFrom: string | undefined, stack: readonly string[]): void {
    if (stack.includes(path)) {
      throw new UsageError(`${includedFrom}: including ${path} again, which includes itself`);
    }
    if (stack.length >= MAX_INCLUDE_DEPTH) {
      throw new UsageError(`${includedFrom}: includes nested more than ${MAX_INCLUDE_DEPTH} deep`);
    }
    let content: string;
    try {
      content = this.readFile(path);
    } catch (error) {
      const where = includedFrom === undefined ? path : `${includedFrom}: include ${path}`;
      throw new UsageError(`${where} cannot be read (${(error as Error).message})`);
    }
    content.split('\n').forEach((physical, index) => {
      const origin = lineOrigin(path, index + 1);
      const text = decomment(physical.replace(/\r+$/, ''));
      if (text === '') return;
      const include = INCLUDE.exec(text);
      if (include !== null) {
        this.include(include[1]!.trim(), path, origin, [...stack, path]);
        return;
      }
      if (/^[$@~]/.test(text)) {
        throw new UsageError(
          `${origin}: keepalived's ${text[0] === '$' ? '$NAME definitions' : text[0] === '@' ? '@config_id lines' : '~SEQ/~LST lines'} are not supported: write the lines out`,
        );
      }
      for (const piece of splitAtBraces(text)) this.lines.push({ text: piece, origin });
    });
  }

  private include(pattern: string, includer: string, origin: string, stack: readonly string[]): void {
    if (pattern === '') throw new UsageError(`${origin}: include needs a file name`);
    const base = dirname(includer);
    let paths: string[];
    if (WILDCARD.test(pattern)) {
      if (this.glob === undefined) {
        throw new UsageError(`${origin}: include ${JSON.stringify(pattern)} has wildcards and no glob is available`);
      }
      paths = [...this.glob(pattern, base)].sort();
      if (paths.length === 0) {
        this.warn(origin, `include ${JSON.stringify(pattern)} matches no file (keepalived carries on without it)`);
        return;
      }
    } else {
      paths = [isAbsolute(pattern) ? pattern : join(base, pattern)];
    }
    for (const path of paths) this.readFileLines(path, origin, stack);
  }
}

/** Logical lines → statements, each `{ ... }` attached to the statement before it. */
function buildTree(lines: readonly LogicalLine[]): Statement[] {
  let index = 0;
  const readBlock = (opener: LogicalLine | undefined): Statement[] => {
    const statements: Statement[] = [];
    while (index < lines.length) {
      const line = lines[index++]!;
      if (line.text === '}') {
        if (opener === undefined) throw new UsageError(`${line.origin}: a '}' that closes no block`);
        return statements;
      }
      if (line.text === '{') {
        throw new UsageError(`${line.origin}: a '{' that follows no keyword`);
      }
      const statement: { words: string[]; text: string; origin: string; block?: Statement[] } = {
        words: words(line.text, line.origin),
        text: line.text,
        origin: line.origin,
      };
      if (lines[index]?.text === '{') {
        index++;
        statement.block = readBlock(line);
      }
      statements.push(statement);
    }
    if (opener !== undefined) {
      throw new UsageError(`${opener.origin}: the block of ${JSON.stringify(words(opener.text, opener.origin)[0] ?? '')} is not closed by a '}'`);
    }
    return statements;
  };
  return readBlock(undefined);
}

// ---------------------------------------------------------------------------------------------
// Values, as keepalived's read_* functions take them.

function unsignedValue(text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined || !/^[ \t]*\+?\d+$/.test(text)) return undefined;
  const value = Number(text.trim());
  return value >= min && value <= max ? value : undefined;
}

function intValue(text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined || !/^[+-]?\d+$/.test(text)) return undefined;
  const value = Number(text);
  return value >= min && value <= max ? value : undefined;
}

/**
 * read_decimal_unsigned: a number of seconds with up to 6 decimals, in microseconds; more
 * decimals are rounded on the 7th, with a warning, as keepalived does.
 */
function microseconds(
  text: string | undefined,
  minMicro: number,
  maxMicro: number,
  onRounded: () => void,
): number | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d*)(?:\.(\d*))?$/.exec(text);
  if (match === null || (match[1] === '' && (match[2] ?? '') === '')) return undefined;
  let decimals = match[2] ?? '';
  let roundUp = false;
  if (decimals.length > 6) {
    onRounded();
    roundUp = decimals[6]! >= '5';
    decimals = decimals.slice(0, 6);
  }
  const value = Number((match[1] ?? '') + decimals.padEnd(6, '0')) + (roundUp ? 1 : 0);
  return value >= minMicro && value <= maxMicro ? value : undefined;
}

function seconds(micro: number): string {
  return String(micro / MICRO);
}

function trueFalse(text: string | undefined): boolean | undefined {
  if (text === undefined) return true;
  if (['true', 'on', 'yes'].includes(text)) return true;
  if (['false', 'off', 'no'].includes(text)) return false;
  return undefined;
}

/** An argv in the words carpd's splitWords reads back: plain where safe, '...' otherwise. */
function commandLine(argv: readonly string[]): string {
  return argv.map((word) => (/^[A-Za-z0-9_/.,:=+@%^-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`)).join(' ');
}

// ---------------------------------------------------------------------------------------------
// What the configuration says, keyword by keyword.

interface At<T> {
  readonly value: T;
  readonly origin: string;
}

interface Script {
  readonly name: string;
  readonly origin: string;
  argv?: At<string[]>;
  intervalSeconds: At<number> | undefined;
  timeoutSeconds: At<number> | undefined;
  weight: At<number> | undefined;
  reverse: boolean;
  rise: At<number> | undefined;
  fall: At<number> | undefined;
  removed: boolean;
}

interface TrackUse {
  /** A script or an interface name. */
  readonly name: string;
  weight: number;
  readonly origin: string;
  readonly fromGroup: boolean;
}

interface Address {
  readonly text: string;
  readonly origin: string;
  readonly family: 4 | 6;
  readonly ip: IpAddress;
}

/** What decided an instance's address family, as keepalived decides it: the first that names one. */
interface FamilyOrigin {
  readonly family: 4 | 6;
  readonly origin: string;
  readonly keyword: string;
}

interface Notify {
  readonly argv: string[];
  readonly origin: string;
}

type NotifyKind = 'notify_master' | 'notify_backup' | 'notify_fault' | 'notify_stop' | 'notify';

interface Instance {
  readonly name: string;
  readonly origin: string;
  interface?: At<string>;
  state?: At<'master' | 'backup'>;
  priority?: At<number>;
  vrid?: At<number>;
  version?: At<2 | 3>;
  advertMicro?: At<number>;
  nopreempt?: At<boolean>;
  preemptDelayMicro?: At<number>;
  authType?: At<'PASS' | 'AH'>;
  authPass?: At<string>;
  vips: Address[];
  excluded: Address[];
  trackInterfaces: TrackUse[];
  trackScripts: TrackUse[];
  srcip?: At<string>;
  unicastConfigured?: string;
  peers: At<string>[];
  mcast?: At<string>;
  notify: Partial<Record<NotifyKind, Notify>>;
  garpDelay?: At<number>;
  garpRepeat?: At<number>;
  strict?: At<boolean>;
  checksumAsV2?: At<boolean>;
  group?: SyncGroup;
  family?: FamilyOrigin;
  /** Where native_ipv6 made the instance IPv6 and VRRPv3. */
  nativeIpv6?: string;
}

interface SyncGroup {
  readonly name: string;
  readonly origin: string;
  readonly members: At<string>[];
  readonly trackInterfaces: TrackUse[];
  readonly trackScripts: TrackUse[];
  trackingWeight: boolean;
  readonly notifyComments: At<string>[];
}

interface Globals {
  routerId?: At<string>;
  version?: At<2 | 3>;
  garpDelay?: At<number>;
  garpRepeat?: At<number>;
  scriptUser?: At<string>;
  scriptSecurity?: string;
  strict?: string;
  checksumAsV2?: string;
  mcast?: At<string>;
  mcast6?: At<string>;
  defaultInterface?: At<string>;
}

/** What a keyword carpd does not take means: a warning (ignored) or a refusal. */
type Disposition = { readonly refuse: false; readonly why: string } | { readonly refuse: true; readonly why: string };

const ignore = (why: string): Disposition => ({ refuse: false, why });
const refuse = (why: string): Disposition => ({ refuse: true, why });

const NOT_FAILOVER = 'it does not change when or how the addresses move';
const LVS = ignore('LVS/IPVS load balancing is not carpd\'s job; keep keepalived\'s checker or ipvsadm for it');

/** Top-level keywords other than the four carpd reads. */
const TOP_LEVEL: Readonly<Record<string, Disposition>> = {
  virtual_server: LVS,
  virtual_server_group: LVS,
  real_server: LVS,
  static_ipaddress: ignore('keepalived adds these addresses on every node at start; add them with ifupdown or systemd-networkd'),
  static_routes: ignore('keepalived adds these routes on every node at start; add them with your network configuration'),
  static_rules: ignore('keepalived adds these rules on every node at start; add them with your network configuration'),
  static_track_group: ignore(NOT_FAILOVER),
  track_group: ignore(NOT_FAILOVER),
  garp_group: ignore('carpd sends its gratuitous ARPs on its own schedule'),
  linkbeat_interfaces: ignore('carpd watches the link through netlink'),
  interface_up_down_delays: refuse('carpd follows the link at once: delays on it change when a vhost faults'),
  vrrp_track_process: ignore('it is ignored here, and refused where an instance tracks it'),
  vrrp_track_file: ignore('it is ignored here, and refused where an instance tracks it'),
  bfd_instance: ignore('BFD is not carpd\'s; it is refused where an instance tracks it'),
  net_namespace: refuse('carpd runs in the namespace it is started in: start it with ip netns exec instead'),
  net_namespace_ipvs: LVS,
  namespace_with_ipsets: ignore(NOT_FAILOVER),
  instance: ignore(NOT_FAILOVER),
  use_pid_dir: ignore('carpd has its own pid files'),
  child_wait_time: ignore(NOT_FAILOVER),
  linkbeat_use_polling: ignore('carpd watches the link through netlink'),
};

/** global_defs keywords carpd does not take (those it takes are handled below). */
function globalDisposition(keyword: string): Disposition {
  if (/^(notification_email|smtp_|no_email_faults)/.test(keyword)) return ignore('carpd sends no e-mail: use a notify script');
  if (/^(lvs_|checker_|nftables_ipvs|rs_init_notifies|no_checker_emails)/.test(keyword)) return LVS;
  if (/^(bfd_)/.test(keyword)) return ignore('BFD is not carpd\'s');
  if (/^(snmp_|enable_snmp|enable_traps)/.test(keyword)) return ignore('carpd has Prometheus metrics, not SNMP');
  if (/^(enable_dbus|dbus_)/.test(keyword)) return ignore('carpd has `carpd status`, not D-Bus');
  if (/^(vrrp_priority|vrrp_no_swap|vrrp_rt_priority|vrrp_cpu_affinity|vrrp_rlimit|vrrp_rx_bufs|vrrp_netlink|process_)/.test(keyword)) {
    return ignore('process tuning for keepalived\'s own daemon');
  }
  if (/^(vrrp_garp_|vrrp_gna_interval|vrrp_min_garp|vrrp_vmac_garp_intvl)/.test(keyword)) {
    return ignore('carpd sends its gratuitous ARPs on its own schedule');
  }
  if (/notify_fifo|fifo_write/.test(keyword)) return ignore('carpd has no notify FIFO: use a notify script');
  if (keyword === 'vrrp_down_timer_adverts') return refuse('it changes how long a backup waits for a silent master');
  if (keyword === 'vrrp_startup_delay') return refuse('carpd starts contending at once: delay its start with systemd instead');
  if (keyword === 'vrrp_iptables' || keyword === 'vrrp_ipsets' || keyword === 'nftables' || keyword.startsWith('nftables_')) {
    return ignore('carpd installs no firewall rules (keepalived uses them for no_accept and VMACs)');
  }
  return ignore(NOT_FAILOVER);
}

/** vrrp_instance keywords carpd does not take (those it takes are handled below). */
const INSTANCE_OTHER: Readonly<Record<string, Disposition>> = {
  use_vmac: ignore('carpd sends from the interface\'s own MAC address; the gratuitous ARPs move the address all the same'),
  use_vmac_addr: ignore('carpd sends from the interface\'s own MAC address'),
  vmac_xmit_base: ignore('carpd sends from the interface\'s own MAC address'),
  use_ipvlan: ignore('carpd sends from the interface\'s own address'),
  vrf: refuse('carpd runs in the VRF it is started in'),
  dont_track_primary: refuse('carpd always faults a vhost whose own interface loses its link'),
  track_src_ip: ignore(NOT_FAILOVER),
  promote_secondaries: ignore('it is the sysctl net.ipv4.conf.IF.promote_secondaries; set it there'),
  linkbeat_use_polling: ignore('carpd watches the link through netlink'),
  virtual_routes: refuse('carpd does not move routes with the addresses: add them from a notify-master script'),
  virtual_rules: refuse('carpd does not move rules with the addresses: add them from a notify-master script'),
  accept: ignore('carpd installs no firewall rules: the master always answers on its addresses'),
  no_accept: ignore('carpd installs no firewall rules: the master answers on its addresses anyway'),
  skip_check_adv_addr: ignore('carpd checks the address list of every advert and logs a mismatch once'),
  debug: ignore('keepalived does not implement it either'),
  smtp_alert: ignore('carpd sends no e-mail: use a notify script'),
  notify_priority_changes: ignore('carpd has no notify FIFO'),
  notify_deleted: ignore('carpd reports a removed vhost in its log'),
  notify_master_rx_lower_pri: ignore('carpd has no such notification'),
  lvs_sync_daemon_interface: LVS,
  garp_master_refresh: ignore('carpd sends no periodic gratuitous ARP'),
  garp_master_refresh_repeat: ignore('carpd sends no periodic gratuitous ARP'),
  garp_lower_prio_delay: ignore('carpd sends its gratuitous ARPs on its own schedule'),
  garp_lower_prio_repeat: ignore('carpd sends its gratuitous ARPs on its own schedule'),
  garp_extra_if: ignore('carpd sends its gratuitous ARPs on the vhost\'s interface only'),
  vmac_garp_intvl: ignore('carpd sends its gratuitous ARPs on the vhost\'s interface only'),
  lower_prio_no_advert: ignore('carpd answers a lower-priority advert as VRRP says'),
  higher_prio_send_advert: ignore('carpd answers a higher-priority advert as VRRP says'),
  kernel_rx_buf_size: ignore('carpd sizes its own socket buffer'),
  unicast_ttl: ignore('carpd sends unicast adverts with the TTL its documentation gives'),
  unicast_fault_no_peer: ignore('carpd needs no peers to run (without them it uses multicast)'),
  old_unicast_checksum: ignore('carpd sends the checksum keepalived 1.3.6 and later send'),
  track_file: refuse(
    "keepalived multiplies the file's number by a weight and adds it to the priority; carpd's track-file reads N as a demotion by N and the word fault as FAULT: write a check instead",
  ),
  track_process: refuse('carpd has no process tracking: write a check (for example pidof NAME) instead'),
  track_bfd: refuse('carpd has no BFD: write a check instead'),
};

const SYNC_GROUP_OTHER: Readonly<Record<string, Disposition>> = {
  smtp_alert: ignore('carpd sends no e-mail'),
  notify_priority_changes: ignore('carpd has no notify FIFO'),
  track_file: INSTANCE_OTHER.track_file!,
  track_process: INSTANCE_OTHER.track_process!,
  track_bfd: INSTANCE_OTHER.track_bfd!,
};

const VIP_OPTIONS_WITH_VALUE = new Set(['scope', 'broadcast', 'brd', 'peer', 'preferred_lft', 'track_group']);
const VIP_FLAGS = new Set(['home', '-nodad', 'mngtmpaddr', 'noprefixroute', 'autojoin', 'no_track', 'use_vmac']);

// ---------------------------------------------------------------------------------------------

class Translator {
  readonly warnings: string[] = [];
  readonly globals: Globals = {};
  readonly scripts = new Map<string, Script>();
  readonly instances: Instance[] = [];
  readonly groups: SyncGroup[] = [];
  /** Keywords ignored with a warning, for the output's closing comments. */
  readonly ignoredComments: string[] = [];
  /** Where the first script is named: keepalived's security warning points there. */
  private firstScript: string | undefined;

  warn = (origin: string, message: string): void => {
    this.warnings.push(`${origin}: ${message}`);
  };

  private other(statement: Statement, disposition: Disposition | undefined, where: string): void {
    const keyword = statement.words[0]!;
    if (disposition === undefined) {
      // keepalived: "Unknown keyword" and it carries on.
      this.warn(statement.origin, `unknown keyword ${JSON.stringify(keyword)} ${where}: keepalived ignores it too`);
      this.ignoredComments.push(`# ${statement.origin}: ${keyword} - unknown to keepalived, ignored`);
      return;
    }
    if (disposition.refuse) {
      throw new UsageError(`${statement.origin}: ${keyword} ${where} cannot be translated: ${disposition.why}`);
    }
    this.warn(statement.origin, `${keyword} ${where} is ignored: ${disposition.why}`);
    this.ignoredComments.push(`# ${statement.origin}: ${keyword} - ignored: ${disposition.why}`);
  }

  /**
   * A whole number that must be at least 1: keepalived ignores one it cannot read (so `ignored`
   * says what holds instead, if anything) and raises a 0 to 1, each with a warning naming `what`.
   */
  private atLeastOne(at: string, what: string, value: string | undefined, max: number, ignored = ''): number | undefined {
    const parsed = unsignedValue(value, 0, max);
    if (parsed === undefined) {
      this.warn(at, `${what} ${JSON.stringify(value ?? '')} is invalid: keepalived ignores it${ignored}`);
      return undefined;
    }
    if (parsed === 0) {
      this.warn(at, `${what} must be greater than 0: 1, as keepalived sets it`);
      return 1;
    }
    return parsed;
  }

  read(tree: readonly Statement[]): void {
    // Scripts first: keepalived finds a track_script's script after the whole file is read.
    for (const statement of tree) {
      const keyword = statement.words[0]!;
      switch (keyword) {
        case 'global_defs':
          this.readGlobals(statement);
          break;
        case 'vrrp_script':
          this.readScript(statement);
          break;
        case 'vrrp_instance':
          this.readInstance(statement);
          break;
        case 'vrrp_sync_group':
          this.readSyncGroup(statement);
          break;
        default:
          this.other(statement, Object.hasOwn(TOP_LEVEL, keyword) ? TOP_LEVEL[keyword] : undefined, 'at the top level');
      }
    }
  }

  // --- global_defs -------------------------------------------------------------------------

  private readGlobals(block: Statement): void {
    for (const statement of block.block ?? []) {
      const [keyword = '', value] = statement.words;
      const at = statement.origin;
      switch (keyword) {
        case 'router_id':
          if (value !== undefined) this.globals.routerId = { value, origin: at };
          break;
        case 'vrrp_version': {
          const version = intValue(value, 2, 3);
          if (version === undefined) this.warn(at, `vrrp_version must be 2 or 3, got ${JSON.stringify(value ?? '')}: keepalived ignores it (version 2)`);
          else this.globals.version = { value: version as 2 | 3, origin: at };
          break;
        }
        case 'vrrp_garp_master_delay': {
          const delay = unsignedValue(value, 0, 4294);
          if (delay === undefined) this.warn(at, `vrrp_garp_master_delay ${JSON.stringify(value ?? '')} is invalid: keepalived ignores it`);
          else this.globals.garpDelay = { value: delay, origin: at };
          break;
        }
        case 'vrrp_garp_master_repeat': {
          const repeat = this.atLeastOne(at, 'vrrp_garp_master_repeat', value, 0xffffffff);
          if (repeat !== undefined) this.globals.garpRepeat = { value: repeat, origin: at };
          break;
        }
        case 'script_user':
          if (value === undefined) {
            this.warn(at, 'script_user without a user name: keepalived ignores it');
            break;
          }
          this.globals.scriptUser = { value, origin: at };
          if (statement.words[2] !== undefined) {
            this.warn(at, `script_user's group ${JSON.stringify(statement.words[2])} is not carried over: carpd runs the scripts with ${value}'s own groups`);
          }
          break;
        case 'enable_script_security':
          this.globals.scriptSecurity = at;
          break;
        case 'vrrp_strict':
          this.globals.strict = at;
          break;
        case 'v3_checksum_as_v2':
          this.globals.checksumAsV2 = at;
          break;
        case 'vrrp_mcast_group4':
          if (value === undefined || parseIpv4(value) === undefined || !isMulticastText(value)) {
            this.warn(at, `vrrp_mcast_group4 ${JSON.stringify(value ?? '')} is not an IPv4 multicast address: keepalived ignores it`);
          } else {
            this.globals.mcast = { value, origin: at };
          }
          break;
        case 'vrrp_mcast_group6': {
          const group = value === undefined ? undefined : parseIpv6(value);
          if (group === undefined || !isMulticast(group)) {
            this.warn(at, `vrrp_mcast_group6 ${JSON.stringify(value ?? '')} is not an IPv6 multicast address: keepalived ignores it`);
          } else {
            if (!isLinkLocalMulticast(group)) this.warn(at, `vrrp_mcast_group6 ${value} should be link-local multicast (ff02::/16), as keepalived warns; used all the same`);
            this.globals.mcast6 = { value: value!, origin: at };
          }
          break;
        }
        case 'default_interface':
          if (value !== undefined) this.globals.defaultInterface = { value, origin: at };
          break;
        case 'vrrp_check_unicast_src':
          // carpd always accepts unicast adverts from the listed peers only.
          break;
        case 'vrrp_skip_check_adv_addr':
          this.other(statement, ignore('carpd checks the address list of every advert and logs a mismatch once'), 'in global_defs');
          break;
        default:
          this.other(statement, globalDisposition(keyword), 'in global_defs');
      }
    }
  }

  // --- vrrp_script -------------------------------------------------------------------------

  private readScript(block: Statement): void {
    const name = block.words[1];
    if (name === undefined || block.words.length !== 2) {
      throw new UsageError(`${block.origin}: vrrp_script needs one name, like vrrp_script chk_nginx`);
    }
    if (this.scripts.has(name)) {
      this.warn(block.origin, `a second vrrp_script ${name}: keepalived's track_script uses the first (${this.scripts.get(name)!.origin}), so does this translation`);
      return;
    }
    const script: Script = {
      name,
      origin: block.origin,
      intervalSeconds: undefined,
      timeoutSeconds: undefined,
      weight: undefined,
      reverse: false,
      rise: undefined,
      fall: undefined,
      removed: false,
    };
    for (const statement of block.block ?? []) {
      const [keyword = '', value] = statement.words;
      const at = statement.origin;
      switch (keyword) {
        case 'script': {
          const line = quotedEscapedWords(statement.text);
          const argv = line?.[1] === undefined ? undefined : quotedEscapedWords(line[1]);
          if (argv === undefined || argv.length === 0) {
            throw new UsageError(`${at}: vrrp_script ${name}'s script cannot be read (a quote is not closed, or it is empty)`);
          }
          if (line!.length > 2) {
            this.warn(at, `vrrp_script ${name}: keepalived runs ${JSON.stringify(line![1])} only and ignores the words after it; so does this translation (quote the whole command to pass arguments)`);
          }
          script.argv = { value: argv, origin: at };
          break;
        }
        case 'interval': {
          const interval = this.atLeastOne(at, `vrrp_script ${name}: interval`, value, 4294, ' (1 s)');
          if (interval !== undefined) script.intervalSeconds = { value: interval, origin: at };
          break;
        }
        case 'timeout': {
          const timeout = this.atLeastOne(at, `vrrp_script ${name}: timeout`, value, 4294);
          if (timeout !== undefined) script.timeoutSeconds = { value: timeout, origin: at };
          break;
        }
        case 'weight': {
          const weight = intValue(value, -253, 253);
          if (weight === undefined) {
            throw new UsageError(`${at}: vrrp_script ${name}'s weight must be an integer from -253 to 253, got ${JSON.stringify(value ?? '')}`);
          }
          script.weight = { value: weight, origin: at };
          const option = statement.words[2];
          if (option === 'reverse') script.reverse = true;
          else if (option !== undefined) this.warn(at, `vrrp_script ${name}: unknown weight option ${JSON.stringify(option)}: keepalived ignores it`);
          break;
        }
        case 'rise':
        case 'fall': {
          const count = unsignedValue(value, 1, 0x7fffffff);
          if (count === undefined) {
            this.warn(at, `vrrp_script ${name}: ${keyword} ${JSON.stringify(value ?? '')} is invalid: 1, as keepalived sets it`);
          }
          script[keyword] = { value: count ?? 1, origin: at };
          break;
        }
        case 'user':
          this.warn(at, `vrrp_script ${name}: its own user is not carried over: carpd runs checks as the script-user`);
          break;
        case 'init_fail':
          this.warn(at, `vrrp_script ${name}: init_fail is ignored: carpd counts a check as neither healthy nor failed until its first verdict`);
          break;
        default:
          this.other(statement, undefined, `in vrrp_script ${name}`);
      }
    }
    if (script.argv === undefined) {
      this.warn(block.origin, `vrrp_script ${name} has no script: keepalived removes it`);
      script.removed = true;
    }
    this.scripts.set(name, script);
  }

  // --- vrrp_instance -----------------------------------------------------------------------

  private readInstance(block: Statement): void {
    const name = block.words[1];
    if (name === undefined || block.words.length !== 2) {
      throw new UsageError(`${block.origin}: vrrp_instance needs one name, like vrrp_instance VI_1`);
    }
    if (!isSectionName(name)) {
      throw new UsageError(`${block.origin}: the vrrp_instance name becomes a [vhost NAME] and must be ${SECTION_NAME_RULE}, got ${JSON.stringify(name)}`);
    }
    const first = this.instances.find((instance) => instance.name === name);
    if (first !== undefined) {
      throw new UsageError(`${block.origin}: a second vrrp_instance ${name}; the first is at ${first.origin}`);
    }
    const instance: Instance = {
      name,
      origin: block.origin,
      vips: [],
      excluded: [],
      trackInterfaces: [],
      trackScripts: [],
      peers: [],
      notify: {},
    };
    const where = `in vrrp_instance ${name}`;
    for (const statement of block.block ?? []) {
      const [keyword = '', value] = statement.words;
      const at = statement.origin;
      const needValue = (): string => {
        if (value === undefined) throw new UsageError(`${at}: ${keyword} needs a value`);
        return value;
      };
      switch (keyword) {
        case 'state': {
          const state = needValue();
          if (state === 'MASTER') {
            instance.state = { value: 'master', origin: at };
          } else if (state === 'BACKUP') {
            if (instance.state?.value === 'master') this.warn(at, `state previously set as MASTER (${instance.state.origin}): keepalived ignores BACKUP`);
            else instance.state = { value: 'backup', origin: at };
          } else {
            this.warn(at, `unknown state ${JSON.stringify(state)}: BACKUP, as keepalived does`);
            instance.state = { value: 'backup', origin: at };
          }
          break;
        }
        case 'interface': {
          const ifname = needValue();
          if (Buffer.byteLength(ifname) > MAX_INTERFACE_NAME_BYTES) {
            throw new UsageError(`${at}: interface name ${JSON.stringify(ifname)} is longer than ${MAX_INTERFACE_NAME_BYTES} bytes`);
          }
          instance.interface = { value: ifname, origin: at };
          break;
        }
        case 'virtual_router_id': {
          const vrid = unsignedValue(needValue(), 1, 255);
          if (vrid === undefined) throw new UsageError(`${at}: virtual_router_id must be an integer from 1 to 255, got ${JSON.stringify(value)}`);
          instance.vrid = { value: vrid, origin: at };
          break;
        }
        case 'priority': {
          const priority = unsignedValue(needValue(), 1, OWNER_PRIORITY);
          if (priority === undefined) {
            this.warn(at, `priority must be from 1 to ${OWNER_PRIORITY}, got ${JSON.stringify(value)}: ${DEFAULT_PRIORITY}, as keepalived uses`);
          }
          instance.priority = { value: priority ?? DEFAULT_PRIORITY, origin: at };
          break;
        }
        case 'version': {
          const version = intValue(needValue(), 2, 3);
          if (version === undefined) {
            this.warn(at, `version must be 2 or 3, got ${JSON.stringify(value)}: keepalived ignores it`);
          } else if (instance.version !== undefined && instance.version.value !== version) {
            this.warn(at, `version ${version} conflicts with version ${instance.version.value} (${instance.version.origin}): keepalived ignores it`);
          } else if (version === 2 && instance.family?.family === 6) {
            this.warn(at, `version 2 conflicts with the IPv6 instance (${instance.family.origin}: ${instance.family.keyword}): keepalived ignores it, IPv6 is VRRPv3`);
          } else {
            instance.version = { value: version as 2 | 3, origin: at };
          }
          break;
        }
        case 'vrrp_version':
          // Not an instance keyword in keepalived (it is `version`): keepalived ignores it.
          this.warn(at, `vrrp_version is a global_defs keyword; inside vrrp_instance keepalived does not know it and ignores it (the instance keyword is "version")`);
          break;
        case 'advert_int': {
          const micro = microseconds(needValue(), CENTI, 255 * MICRO, () =>
            this.warn(at, `advert_int ${JSON.stringify(value)} has too many decimal places: rounded, as keepalived does`),
          );
          if (micro === undefined || micro === 0) {
            this.warn(at, `advert_int ${JSON.stringify(value)} is not valid (0.01 to 255 s): keepalived ignores it (1 s)`);
          } else {
            instance.advertMicro = { value: micro, origin: at };
          }
          break;
        }
        case 'nopreempt':
          instance.nopreempt = { value: true, origin: at };
          break;
        case 'preempt':
          instance.nopreempt = { value: false, origin: at };
          break;
        case 'preempt_delay': {
          const micro = microseconds(needValue(), 0, MAX_PREEMPT_DELAY_SECONDS * MICRO, () =>
            this.warn(at, `preempt_delay ${JSON.stringify(value)} has too many decimal places: rounded, as keepalived does`),
          );
          if (micro === undefined) {
            this.warn(at, `preempt_delay must be from 0 to ${MAX_PREEMPT_DELAY_SECONDS} s, got ${JSON.stringify(value)}: 0, as keepalived uses`);
          }
          instance.preemptDelayMicro = { value: micro ?? 0, origin: at };
          break;
        }
        case 'authentication':
          this.readAuthentication(statement, instance);
          break;
        case 'virtual_ipaddress':
          for (const entry of statement.block ?? []) this.readAddress(entry, instance, instance.vips, true);
          break;
        case 'virtual_ipaddress_excluded':
          for (const entry of statement.block ?? []) this.readAddress(entry, instance, instance.excluded, false);
          break;
        case 'track_interface':
          for (const entry of statement.block ?? []) this.readTrackInterface(entry, name, instance.trackInterfaces, false);
          break;
        case 'track_script':
          for (const entry of statement.block ?? []) this.readTrackScript(entry, name, instance.trackScripts, false);
          break;
        case 'mcast_src_ip':
        case 'unicast_src_ip': {
          const address = needValue();
          if (keyword === 'unicast_src_ip') instance.unicastConfigured ??= at;
          const ip = parseIpAddress(address);
          if (ip === undefined || !isUnicastHost(ip)) {
            throw new UsageError(`${at}: ${keyword} must be a unicast IPv4 or IPv6 address, got ${JSON.stringify(address)} (keepalived skips it)`);
          }
          this.claimFamily(instance, ip, at, keyword, `${keyword} ${address}`, 'keepalived skips it and sends from the interface\'s own address');
          instance.srcip = { value: ip.text, origin: at };
          break;
        }
        case 'native_ipv6':
          if (instance.family?.family === 4) {
            this.warn(at, `native_ipv6 in an IPv4 instance (${instance.family.origin}: ${instance.family.keyword}): keepalived ignores it`);
            break;
          }
          instance.family ??= { family: 6, origin: at, keyword };
          instance.nativeIpv6 = at;
          break;
        case 'unicast_peer':
          instance.unicastConfigured ??= at;
          for (const entry of statement.block ?? []) this.readPeer(entry, name, instance);
          break;
        case 'check_unicast_src':
          // carpd accepts unicast adverts from the listed peers only, always.
          instance.unicastConfigured ??= at;
          break;
        case 'unicast_fault_no_peer':
        case 'old_unicast_checksum':
          instance.unicastConfigured ??= at;
          this.other(statement, INSTANCE_OTHER[keyword], where);
          break;
        case 'mcast_dst_ip': {
          const group = needValue();
          const ip = parseIpAddress(group);
          if (ip === undefined) {
            this.warn(at, `mcast_dst_ip ${JSON.stringify(group)} is not an IP address: keepalived ignores it`);
            break;
          }
          // keepalived takes the family from it before it looks whether it is a multicast group.
          if (instance.family === undefined) {
            instance.family = { family: ip.family, origin: at, keyword };
          } else if (instance.family.family !== ip.family) {
            this.warn(at, `mcast_dst_ip ${group} is IPv${ip.family} but the instance is IPv${instance.family.family} (${instance.family.origin}: ${instance.family.keyword}): keepalived ignores it`);
            break;
          }
          if (ip.family === 4 ? !isMulticast(ip) : !isLinkLocalMulticast(ip)) {
            this.warn(at, `mcast_dst_ip ${JSON.stringify(group)} is not an IPv${ip.family} ${ip.family === 6 ? 'link-local multicast address (ff02::/16)' : 'multicast address'}: keepalived ignores it`);
          } else {
            instance.mcast = { value: ip.text, origin: at };
          }
          break;
        }
        case 'notify_master':
        case 'notify_backup':
        case 'notify_fault':
        case 'notify_stop':
        case 'notify': {
          const notify = this.readCommand(statement, `${keyword} of vrrp_instance ${name}`);
          const earlier = instance.notify[keyword];
          if (earlier !== undefined) {
            this.warn(at, `${keyword} is already set (${earlier.origin}): keepalived ignores this one`);
          } else {
            instance.notify[keyword] = notify;
          }
          break;
        }
        case 'garp_master_delay': {
          const delay = unsignedValue(needValue(), 0, 4294);
          if (delay === undefined) this.warn(at, `garp_master_delay ${JSON.stringify(value)} is invalid: keepalived ignores it`);
          else instance.garpDelay = { value: delay, origin: at };
          break;
        }
        case 'garp_master_repeat': {
          const repeat = this.atLeastOne(at, 'garp_master_repeat', needValue(), 0xffffffff);
          if (repeat !== undefined) instance.garpRepeat = { value: repeat, origin: at };
          break;
        }
        case 'strict_mode': {
          const on = trueFalse(value);
          if (on === undefined) this.warn(at, `invalid strict_mode ${JSON.stringify(value)}: keepalived ignores it`);
          else instance.strict = { value: on, origin: at };
          break;
        }
        case 'v3_checksum_as_v2': {
          const on = trueFalse(value);
          if (on === undefined) this.warn(at, `invalid v3_checksum_as_v2 ${JSON.stringify(value)}: ignored`);
          else instance.checksumAsV2 = { value: on, origin: at };
          break;
        }
        case 'down_timer_adverts':
          if (value === '3') break;
          throw new UsageError(`${at}: down_timer_adverts ${value ?? ''} cannot be translated: carpd's backups wait 3 adverts (plus the skew time), as VRRP says`);
        default:
          this.other(statement, Object.hasOwn(INSTANCE_OTHER, keyword) ? INSTANCE_OTHER[keyword] : undefined, where);
      }
    }
    this.instances.push(instance);
  }

  private readAuthentication(block: Statement, instance: Instance): void {
    for (const statement of block.block ?? []) {
      const [keyword = '', value] = statement.words;
      const at = statement.origin;
      if (keyword === 'auth_type') {
        if (value === 'PASS' || value === 'AH') instance.authType = { value, origin: at };
        else throw new UsageError(`${at}: auth_type must be PASS or AH, got ${JSON.stringify(value ?? '')}`);
      } else if (keyword === 'auth_pass') {
        if (value === undefined) throw new UsageError(`${at}: auth_pass needs a password`);
        let password = value;
        const bytes = new TextEncoder().encode(password);
        if (bytes.length > AUTH_PASS_BYTES) {
          password = new TextDecoder('utf-8', { fatal: false }).decode(bytes.slice(0, AUTH_PASS_BYTES));
          if (new TextEncoder().encode(password).length !== AUTH_PASS_BYTES) {
            throw new UsageError(`${at}: auth_pass is longer than ${AUTH_PASS_BYTES} bytes and its 8th byte falls inside a character`);
          }
          this.warn(at, `auth_pass is longer than ${AUTH_PASS_BYTES} bytes: truncated to its first ${AUTH_PASS_BYTES}, as keepalived does`);
        }
        if (/^\s|\s$|[\n\r]/.test(password)) {
          throw new UsageError(`${at}: auth_pass starts or ends with a blank, which a carpd config line cannot hold`);
        }
        instance.authPass = { value: password, origin: at };
      } else {
        this.other(statement, undefined, `in authentication of vrrp_instance ${instance.name}`);
      }
    }
  }

  /** One line of virtual_ipaddress(_excluded): IP[/PREFIX] [dev IF] [label L] [other options]. */
  private readAddress(entry: Statement, instance: Instance, into: Address[], advertised: boolean): void {
    const [address = '', ...options] = entry.words;
    const at = entry.origin;
    const list = advertised ? 'virtual_ipaddress' : 'virtual_ipaddress_excluded';
    const slash = address.indexOf('/');
    const ip = slash === -1 ? address : address.slice(0, slash);
    // keepalived: a ':' makes it IPv6, then inet_pton must read it.
    const ipv6 = ip.includes(':');
    const parsed = ipv6 ? parseIpv6(ip) : parseIpv4(ip);
    if (parsed === undefined) {
      throw new UsageError(`${at}: ${list} entry ${JSON.stringify(address)} is not an IP address`);
    }
    if (ipv6 && !isUnicastHost(parsed)) {
      throw new UsageError(`${at}: ${list} ${address} is not a unicast IPv6 address (::, ::1 and multicast cannot be a host's)`);
    }
    const maxPrefix = ipv6 ? 128 : 32;
    let prefix = maxPrefix;
    if (slash !== -1) {
      const given = unsignedValue(address.slice(slash + 1), 0, maxPrefix);
      if (given === undefined) this.warn(at, `invalid prefix length in ${address}: /${maxPrefix}, as keepalived uses`);
      else prefix = given;
    } else if (ipv6) {
      // keepalived gives such a /128 a preferred lifetime of 0 (deprecated: never picked as a source).
      this.warn(at, `${address} has no prefix: /128, as keepalived uses (keepalived adds it deprecated, so the kernel does not pick it as a source address; carpd adds it as a plain address)`);
    }
    if (ipv6 && prefix === 0) {
      throw new UsageError(`${at}: ${list} ${address}: carpd takes IPv6 prefixes of 1 to 128`);
    }
    if (advertised) {
      this.claimFamily(instance, parsed, at, list, `${list} ${address}`, 'keepalived ignores it ("address family must match VRRP instance")', true);
    }
    let text = `${ip}/${prefix}`;
    for (let i = 0; i < options.length; i++) {
      const option = options[i]!;
      const optionValue = options[i + 1];
      if (option === 'dev' || option === 'label') {
        if (optionValue === undefined) throw new UsageError(`${at}: ${option} in ${list} needs a value`);
        if (option === 'label' && Buffer.byteLength(optionValue) > MAX_INTERFACE_NAME_BYTES) {
          throw new UsageError(`${at}: label ${JSON.stringify(optionValue)} is longer than ${MAX_INTERFACE_NAME_BYTES} bytes (keepalived removes the address)`);
        }
        if (option === 'label' && ipv6) {
          this.warn(at, `label on the IPv6 address ${address}: ignored, as keepalived does`);
        } else {
          text += ` ${option} ${optionValue}`;
        }
        i++;
      } else if (ipv6 && (option === 'broadcast' || option === 'brd')) {
        throw new UsageError(`${at}: ${option} on the IPv6 address ${address}: keepalived skips the address (IPv6 has no broadcast); remove the ${option}`);
      } else if (VIP_OPTIONS_WITH_VALUE.has(option)) {
        this.warn(at, `${option} ${optionValue ?? ''} on ${address} is ignored: carpd adds the address with its prefix only`);
        i++;
      } else if (VIP_FLAGS.has(option)) {
        this.warn(at, `${option} on ${address} is ignored: carpd adds the address with its prefix only`);
      } else {
        this.warn(at, `unknown option ${JSON.stringify(option)} for ${address}: keepalived ignores it`);
      }
    }
    into.push({ text, origin: at, family: parsed.family, ip: parsed });
  }

  /**
   * The instance's family, set by the first address that names one; one of the other family is
   * dropped by keepalived (`what keepalived does`), which the translation refuses.
   */
  private claimFamily(instance: Instance, ip: IpAddress, at: string, keyword: string, what: string, keepalivedDoes: string, vip = false): void {
    if (instance.family === undefined) {
      instance.family = { family: ip.family, origin: at, keyword };
      return;
    }
    if (instance.family.family === ip.family) return;
    const advice = vip
      ? `write a second vrrp_instance for IPv${ip.family} (carpd's [vhost] can hold both families, but keepalived never moved this address), or remove the line`
      : `make it IPv${instance.family.family} or remove it`;
    throw new UsageError(
      `${at}: ${what} is IPv${ip.family} but vrrp_instance ${instance.name} is IPv${instance.family.family} (${instance.family.origin}: ${instance.family.keyword}): ${keepalivedDoes}; ${advice}`,
    );
  }

  private readTrackInterface(entry: Statement, owner: string, into: TrackUse[], fromGroup: boolean): void {
    const [name = '', option, value, reverse] = entry.words;
    const at = entry.origin;
    if (into.some((use) => use.name === name)) {
      this.warn(at, `duplicate track_interface ${name}: keepalived ignores it`);
      return;
    }
    let weight = 0;
    if (option !== undefined) {
      if (option !== 'weight') {
        this.warn(at, `unknown track_interface option ${JSON.stringify(option)} for ${name}: keepalived ignores the whole line`);
        return;
      }
      if (value === undefined) {
        this.warn(at, `weight without a value for track_interface ${name}: keepalived ignores the whole line`);
        return;
      }
      const given = intValue(value, -254, 254);
      if (given === undefined) {
        this.warn(at, `weight ${JSON.stringify(value)} for track_interface ${name} must be from -253 to 253: 0 (FAULT), as keepalived uses`);
      } else if (Math.abs(given) === 254) {
        this.warn(at, `weight for track_interface ${name} cannot be ${given}: ${given < 0 ? -253 : 253}, as keepalived sets it`);
        weight = given < 0 ? -253 : 253;
      } else {
        weight = given;
      }
      if (reverse === 'reverse') {
        throw new UsageError(`${at}: track_interface ${name} weight ${value} reverse cannot be translated: carpd has no reversed tracking`);
      } else if (reverse !== undefined) {
        this.warn(at, `unknown track_interface weight option ${JSON.stringify(reverse)}: keepalived ignores it`);
      }
    }
    void owner;
    into.push({ name, weight, origin: at, fromGroup });
  }

  private readTrackScript(entry: Statement, owner: string, into: TrackUse[], fromGroup: boolean): void {
    const [name = '', option, value, reverse] = entry.words;
    const at = entry.origin;
    const script = this.scripts.get(name);
    if (script === undefined || script.removed) {
      throw new UsageError(
        `${at}: track_script ${name} of ${owner} names no vrrp_script${script?.removed === true ? ' with a script' : ''} (keepalived would run without the check)`,
      );
    }
    if (into.some((use) => use.name === name)) {
      this.warn(at, `duplicate track_script ${name}: keepalived ignores it`);
      return;
    }
    let weight = script.weight?.value ?? 0;
    let reversed = script.reverse;
    if (option !== undefined) {
      if (option !== 'weight') {
        this.warn(at, `unknown track_script option ${JSON.stringify(option)}: keepalived ignores the whole line`);
        return;
      }
      if (value === undefined) {
        this.warn(at, `weight without a value for track_script ${name}: keepalived ignores the whole line`);
        return;
      }
      const given = intValue(value, -254, 254);
      if (given === undefined) {
        this.warn(at, `track_script ${name}: weight ${JSON.stringify(value)} must be from -253 to 253: the script's own weight, as keepalived uses`);
      } else if (Math.abs(given) === 254) {
        this.warn(at, `weight for track_script ${name} cannot be ${given}: ${given < 0 ? -253 : 253}, as keepalived sets it`);
        weight = given < 0 ? -253 : 253;
      } else {
        weight = given;
      }
      if (reverse === 'reverse') reversed = true;
      else if (reverse === 'noreverse') reversed = false;
      else if (reverse !== undefined) this.warn(at, `unknown track_script weight option ${JSON.stringify(reverse)}: keepalived ignores it`);
    }
    if (reversed) {
      throw new UsageError(`${at}: track_script ${name} with a reversed weight cannot be translated: carpd has no reversed checks (invert the script instead)`);
    }
    this.firstScript ??= at;
    into.push({ name, weight, origin: at, fromGroup });
  }

  private readPeer(entry: Statement, owner: string, instance: Instance): void {
    const [address = '', ...options] = entry.words;
    const at = entry.origin;
    const ip = parseIpAddress(address);
    if (ip === undefined || !isUnicastHost(ip)) {
      throw new UsageError(`${at}: unicast_peer of ${owner} must be a unicast IPv4 or IPv6 address, got ${JSON.stringify(address)} (keepalived skips it)`);
    }
    this.claimFamily(instance, ip, at, 'unicast_peer', `unicast_peer ${address}`, 'keepalived skips the peer');
    if (options.length > 0) {
      this.warn(at, `unicast_peer ${address}: ${options.join(' ')} is ignored: carpd checks the TTL of unicast adverts as its documentation says`);
    }
    instance.peers.push({ value: ip.text, origin: at });
  }

  /** A notify command: the first word after the keyword is the command, the next ones user and group. */
  private readCommand(statement: Statement, what: string): Notify {
    const line = quotedEscapedWords(statement.text);
    const argv = line?.[1] === undefined ? undefined : quotedEscapedWords(line[1]);
    if (argv === undefined || argv.length === 0) {
      throw new UsageError(`${statement.origin}: ${what} cannot be read (a quote is not closed, or it is empty)`);
    }
    if (line!.length > 2) {
      this.warn(statement.origin, `${what}: keepalived reads ${JSON.stringify(line!.slice(2).join(' '))} as the user (and group) to run it as; carpd runs it as the script-user`);
    }
    this.firstScript ??= statement.origin;
    return { argv, origin: statement.origin };
  }

  // --- vrrp_sync_group ---------------------------------------------------------------------

  private readSyncGroup(block: Statement): void {
    const name = block.words[1];
    if (name === undefined || block.words.length !== 2) {
      throw new UsageError(`${block.origin}: vrrp_sync_group needs one name, like vrrp_sync_group VG_1`);
    }
    if (!isSectionName(name)) {
      throw new UsageError(`${block.origin}: the vrrp_sync_group name becomes a carpd group and must be ${SECTION_NAME_RULE}, got ${JSON.stringify(name)}`);
    }
    if (this.groups.some((group) => group.name === name)) {
      throw new UsageError(`${block.origin}: vrrp sync group ${name} is already defined`);
    }
    const group: SyncGroup = {
      name,
      origin: block.origin,
      members: [],
      trackInterfaces: [],
      trackScripts: [],
      trackingWeight: false,
      notifyComments: [],
    };
    const where = `in vrrp_sync_group ${name}`;
    let membersSeen = false;
    for (const statement of block.block ?? []) {
      const keyword = statement.words[0]!;
      const at = statement.origin;
      switch (keyword) {
        case 'group':
          if (membersSeen) throw new UsageError(`${at}: a second group list for sync group ${name}`);
          membersSeen = true;
          for (const entry of statement.block ?? []) {
            for (const member of entry.words) group.members.push({ value: member, origin: entry.origin });
          }
          if (group.members.length === 0) this.warn(at, `sync group ${name} has an empty group block`);
          break;
        case 'track_interface':
          for (const entry of statement.block ?? []) this.readTrackInterface(entry, `vrrp_sync_group ${name}`, group.trackInterfaces, true);
          break;
        case 'track_script':
          for (const entry of statement.block ?? []) this.readTrackScript(entry, `vrrp_sync_group ${name}`, group.trackScripts, true);
          break;
        case 'notify_master':
        case 'notify_backup':
        case 'notify_fault':
        case 'notify_stop':
        case 'notify': {
          const notify = this.readCommand(statement, `${keyword} of vrrp_sync_group ${name}`);
          this.warn(at, `${keyword} of vrrp_sync_group ${name} is not translated: carpd has no per-group scripts; it is left as a comment (run it from one member's notify-master/notify-backup)`);
          group.notifyComments.push({ value: `${keyword} ${commandLine(notify.argv)}`, origin: at });
          break;
        }
        case 'sync_group_tracking_weight':
          group.trackingWeight = true;
          break;
        case 'global_tracking':
          this.warn(at, `global_tracking is deprecated in keepalived: read as sync_group_tracking_weight, as keepalived does`);
          group.trackingWeight = true;
          break;
        default:
          this.other(statement, Object.hasOwn(SYNC_GROUP_OTHER, keyword) ? SYNC_GROUP_OTHER[keyword] : undefined, where);
      }
    }
    this.groups.push(group);
  }

  // --- after the whole file: what keepalived's vrrp_complete_instance decides ---------------

  resolveGroups(): void {
    for (const group of this.groups) {
      const kept: At<string>[] = [];
      for (const member of group.members) {
        const instance = this.instances.find((candidate) => candidate.name === member.value);
        if (instance === undefined) {
          this.warn(member.origin, `sync group ${group.name}: virtual router ${member.value} does not exist: keepalived ignores it`);
        } else if (instance.group !== undefined) {
          this.warn(member.origin, `${member.value} is already in sync group ${instance.group.name}: keepalived ignores it in ${group.name}`);
        } else {
          instance.group = group;
          kept.push(member);
        }
      }
      if (kept.length === 0) {
        this.warn(group.origin, `sync group ${group.name} has no existing member: keepalived removes it`);
      } else if (kept.length === 1) {
        this.warn(group.origin, `sync group ${group.name} has only 1 member: keepalived warns this probably isn't what you want`);
      }
    }
  }

  get strictOrigin(): string | undefined {
    return this.globals.strict;
  }

  get scriptsUsed(): string | undefined {
    return this.firstScript;
  }
}

function isMulticastText(text: string): boolean {
  const first = Number(text.split('.')[0]);
  return first >= 224 && first <= 239;
}

/** keepalived's IN6_IS_ADDR_MC_LINKLOCAL: ff02::/16 (and ff12::, ff32:: ...: scope 2). */
function isLinkLocalMulticast(address: IpAddress): boolean {
  return address.family === 6 && address.big >> 120n === 0xffn && ((address.big >> 112n) & 0xfn) === 2n;
}

// ---------------------------------------------------------------------------------------------
// Output.

class Output {
  private readonly lines: string[] = [];

  comment(text: string): void {
    for (const line of text.split('\n')) this.lines.push(line === '' ? '#' : `# ${line}`);
  }

  blank(): void {
    if (this.lines.at(-1) !== '') this.lines.push('');
  }

  /** A setting, after a comment naming where it comes from. */
  set(key: string, value: string | undefined, from: string): void {
    this.lines.push(`# ${from}`);
    this.lines.push(value === undefined ? key : `${key} = ${value}`);
  }

  raw(line: string): void {
    this.lines.push(line);
  }

  text(): string {
    return `${this.lines.join('\n').replace(/\n+$/, '')}\n`;
  }
}

interface CheckSection {
  readonly name: string;
  readonly script: Script;
  readonly weight: number;
}

/** The translation of one instance, computed before anything is printed. */
interface VhostPlan {
  readonly instance: Instance;
  readonly lines: Array<{ key: string; value: string | undefined; from: string }>;
}

export function translateKeepalivedConf(
  path: string,
  readFile: (path: string) => string,
  glob?: (pattern: string, relativeTo: string) => string[],
): KeepalivedTranslation {
  const translator = new Translator();
  const reader = new Reader(readFile, glob, translator.warn);
  reader.readFileLines(path, undefined, []);
  translator.read(buildTree(reader.lines));
  translator.resolveGroups();
  if (translator.instances.length === 0) {
    throw new UsageError(`${path}: no vrrp_instance: there is nothing for carpd to run`);
  }

  const { globals } = translator;
  const warn = translator.warn;
  if (globals.strict !== undefined) {
    warn(
      globals.strict,
      'vrrp_strict: keepalived would refuse VIP-less instances and unicast peers, ignore authentication and preempt_delay, ' +
        'make state MASTER mean priority 255, send no gratuitous ARP repeats at lower priority, and drop traffic to the VIPs ' +
        'with a firewall (no_accept) unless the priority is 255; this translation applies the first four, carpd installs no firewall rules',
    );
  }
  if (translator.scriptsUsed !== undefined && globals.scriptSecurity === undefined) {
    warn(
      translator.scriptsUsed,
      'scripts are run but enable_script_security is not set: keepalived reports this as a SECURITY VIOLATION; carpd runs them as the script-user',
    );
  }

  /** (script, |weight|) → its [check] section; the plain script name for the script's own weight. */
  const checks = new Map<string, CheckSection>();
  const checkFor = (script: Script, weight: number): CheckSection => {
    const key = `${script.name}\0${weight}`;
    let check = checks.get(key);
    if (check === undefined) {
      const own = Math.abs(script.weight?.value ?? 0) === weight;
      let name = own ? script.name : `${script.name.slice(0, 32 - `.w${weight}`.length)}.w${weight}`;
      for (let n = 2; [...checks.values()].some((c) => c.name === name); n++) name = `${name.slice(0, 29)}.${n}`;
      check = { name, script, weight };
      checks.set(key, check);
    }
    return check;
  };

  const plans: VhostPlan[] = translator.instances.map((instance) => planVhost(instance, globals, translator, checkFor));
  refuseUnlikeGroups(translator.groups, plans);

  const out = new Output();
  out.comment(
    [
      `carpd configuration translated from keepalived's ${path} (carpd --keepalived-conf --print-config).`,
      'Every setting names the keepalived line it comes from. Install it as a --config file to migrate for good.',
      '',
      'Weights. keepalived: weight 0 (its default) = FAULT while the check fails or the interface is down;',
      'weight -N = priority - N while failing; weight +N = priority + N while succeeding.',
      'carpd: weight 0 = FAULT; weight N = priority - N while failing. A keepalived +N is written as',
      'priority + N with weight N, so every effective priority is the same; like keepalived, carpd keeps',
      'the effective priority of a non-owner within 1..254, and never changes an owner\'s (255).',
    ].join('\n'),
  );
  if (globals.routerId !== undefined) {
    out.comment(`${globals.routerId.origin}: router_id ${globals.routerId.value} - carpd has no router id (keepalived uses it in e-mails and SNMP)`);
  }
  out.blank();
  if (globals.scriptUser !== undefined) {
    out.set('script-user', globals.scriptUser.value, `${globals.scriptUser.origin}: script_user`);
  } else if (translator.scriptsUsed !== undefined) {
    out.comment('No script_user: keepalived runs the scripts as the user keepalived_script if it exists, else as root.');
  }
  if (globals.scriptSecurity !== undefined) {
    out.comment(
      `${globals.scriptSecurity}: enable_script_security - keepalived refuses to run a script whose path a non-root user\n` +
        'can write; carpd does not check the paths: keep them root-owned.',
    );
  }

  for (const check of checks.values()) {
    const { script } = check;
    out.blank();
    out.raw(`[check ${check.name}]`);
    out.comment(
      check.name === script.name ? `${script.origin}: vrrp_script ${script.name}` : `${script.origin}: vrrp_script ${script.name}, tracked with weight ±${check.weight}`,
    );
    out.set('command', commandLine(script.argv!.value), `${script.argv!.origin}: script`);
    out.set(
      'interval',
      String(script.intervalSeconds?.value ?? 1),
      script.intervalSeconds === undefined ? "keepalived's default interval" : `${script.intervalSeconds.origin}: interval`,
    );
    if (script.timeoutSeconds !== undefined) out.set('timeout', String(script.timeoutSeconds.value), `${script.timeoutSeconds.origin}: timeout`);
    out.set('fall', String(script.fall?.value ?? 1), script.fall === undefined ? "keepalived's default fall" : `${script.fall.origin}: fall`);
    out.set('rise', String(script.rise?.value ?? 1), script.rise === undefined ? "keepalived's default rise" : `${script.rise.origin}: rise`);
    out.set('weight', String(check.weight), check.weight === 0 ? 'weight 0: a failure means FAULT' : `weight ±${check.weight}: see Weights above`);
  }

  for (const plan of plans) {
    out.blank();
    out.raw(`[vhost ${plan.instance.name}]`);
    out.comment(`${plan.instance.origin}: vrrp_instance ${plan.instance.name}`);
    for (const line of plan.lines) {
      if (line.key === '#') out.comment(line.from);
      else out.set(line.key, line.value, line.from);
    }
  }
  if (translator.ignoredComments.length > 0) {
    out.blank();
    out.comment('keepalived settings this translation does not carry over:');
    for (const line of translator.ignoredComments) out.raw(line);
  }
  for (const check of checks.values()) {
    if (check.script.intervalSeconds !== undefined && check.script.intervalSeconds.value > 3600) {
      throw new UsageError(`${check.script.intervalSeconds.origin}: vrrp_script ${check.script.name}'s interval is over 3600 s, carpd's longest`);
    }
    if (check.script.timeoutSeconds !== undefined && check.script.timeoutSeconds.value > 3600) {
      throw new UsageError(`${check.script.timeoutSeconds.origin}: vrrp_script ${check.script.name}'s timeout is over 3600 s, carpd's longest`);
    }
    for (const count of [check.script.fall, check.script.rise]) {
      if (count !== undefined && count.value > 255) {
        throw new UsageError(`${count.origin}: vrrp_script ${check.script.name}'s fall and rise may be 255 at most in carpd, got ${count.value}`);
      }
    }
  }
  return { text: out.text(), warnings: translator.warnings };
}

/**
 * carpd refuses a group whose vhosts advertise differently (each could be preferred on another
 * node); keepalived syncs any members. Said here, with the keepalived lines, rather than by
 * carpd's parser about the translated text. The common case is a dual-stack sync group: IPv4
 * at keepalived's default VRRPv2 beside IPv6, which is always VRRPv3.
 */
function refuseUnlikeGroups(groups: readonly SyncGroup[], plans: readonly VhostPlan[]): void {
  const claim = (plan: VhostPlan): string => {
    const of = (key: string) => plan.lines.find((line) => line.key === key)?.value;
    return `${of('protocol')} priority ${of('priority')} advert-int ${of('advert-int')}`;
  };
  for (const group of groups) {
    const members = plans.filter((plan) => plan.instance.group === group);
    const leader = members[0];
    const other = members.find((plan) => claim(plan) !== claim(leader!));
    if (leader === undefined || other === undefined) continue;
    const protocols = (plan: VhostPlan) => plan.lines.find((line) => line.key === 'protocol')?.value;
    const hint =
      protocols(leader) !== protocols(other) && [leader, other].some((plan) => plan.instance.family?.family === 6)
        ? ': an IPv6 instance is always VRRPv3, so give the IPv4 ones version 3 too (vrrp_version 3 in global_defs)'
        : ': make them alike';
    throw new UsageError(
      `${group.origin}: vrrp_sync_group ${group.name} cannot be translated: a carpd group needs one protocol, priority and advert interval for all its vhosts, ` +
        `but ${leader.instance.name} (${leader.instance.origin}) has ${claim(leader)} and ${other.instance.name} (${other.instance.origin}) ${claim(other)}${hint}`,
    );
  }
}

/** keepalived's vrrp_complete_instance and its tracking rules, as carpd settings. */
function planVhost(
  instance: Instance,
  globals: Globals,
  translator: Translator,
  checkFor: (script: Script, weight: number) => CheckSection,
): VhostPlan {
  const warn = translator.warn;
  const lines: VhostPlan['lines'] = [];
  const set = (key: string, value: string | undefined, from: string) => lines.push({ key, value, from });
  const note = (text: string) => lines.push({ key: '#', value: undefined, from: text });
  const name = instance.name;

  const strict = instance.strict?.value ?? globals.strict !== undefined;
  const strictFrom = instance.strict?.origin ?? globals.strict ?? '';

  // Interface.
  const ifname = instance.interface ?? globals.defaultInterface;
  if (ifname === undefined) {
    throw new UsageError(`${instance.origin}: vrrp_instance ${name} has no interface (and global_defs no default_interface): carpd needs one`);
  }
  set('interface', ifname.value, instance.interface === undefined ? `${ifname.origin}: default_interface` : `${ifname.origin}: interface`);

  // Family and version: keepalived's instance is IPv4 unless an address, a peer or native_ipv6 says IPv6.
  const ipv6 = instance.family?.family === 6;
  let v3: boolean;
  if (ipv6) {
    const family = instance.family!;
    let from: string;
    if (instance.nativeIpv6 !== undefined) {
      from = `${instance.nativeIpv6}: native_ipv6 (IPv6, so VRRPv3)`;
    } else if (instance.version?.value === 2) {
      // `version 2` came before anything said IPv6: keepalived keeps it unless strict.
      if (!strict) {
        throw new UsageError(
          `${instance.version.origin}: version 2 with the IPv6 addresses of vrrp_instance ${name} (${family.origin}): keepalived would send VRRPv2 over IPv6, which no RFC defines and carpd does not speak; use version 3`,
        );
      }
      warn(instance.version.origin, `strict mode (${strictFrom}): IPv6 cannot use VRRP version 2: version 3, as keepalived sets it`);
      from = `${instance.version.origin}: version 2, set to 3 for IPv6 by strict mode`;
    } else {
      from = `${family.origin}: ${family.keyword} is IPv6: keepalived uses VRRPv3 for IPv6${globals.version?.value === 2 ? ` (vrrp_version 2 at ${globals.version.origin} is for IPv4 instances)` : ''}`;
    }
    set('protocol', 'vrrp3', from);
    v3 = true;
  } else {
    const version = instance.version ?? globals.version;
    set(
      'protocol',
      version?.value === 3 ? 'vrrp3' : 'vrrp2',
      version === undefined
        ? "keepalived's default VRRP version 2"
        : instance.version !== undefined
          ? `${version.origin}: version`
          : `${version.origin}: vrrp_version`,
    );
    v3 = version?.value === 3;
  }

  if (instance.vrid === undefined) throw new UsageError(`${instance.origin}: vrrp_instance ${name} has no virtual_router_id`);
  set('vhid', String(instance.vrid.value), `${instance.vrid.origin}: virtual_router_id`);

  // No VIP.
  if (instance.vips.length === 0) {
    if (v3 || strict) throw new UsageError(`${instance.origin}: vrrp_instance ${name} has no virtual_ipaddress; keepalived requires one${v3 ? ' with VRRPv3' : ' in strict mode'}`);
    throw new UsageError(`${instance.origin}: vrrp_instance ${name} has no virtual_ipaddress: carpd needs at least one`);
  }

  // Priority and state, each derived from the other when missing.
  let base = instance.priority?.value;
  let baseFrom = instance.priority === undefined ? '' : `${instance.priority.origin}: priority`;
  if (base === undefined) {
    base = instance.state?.value === 'master' ? OWNER_PRIORITY : DEFAULT_PRIORITY;
    baseFrom =
      instance.state?.value === 'master'
        ? `${instance.state.origin}: state MASTER without priority: keepalived takes priority 255 (address owner)`
        : "keepalived's default priority";
  }
  let state: 'master' | 'backup' = instance.state?.value ?? (base === OWNER_PRIORITY ? 'master' : 'backup');
  let stateFrom = instance.state === undefined ? `state derived from priority ${base}, as keepalived does` : `${instance.state.origin}: state`;
  if (strict && instance.state !== undefined && (state === 'master') !== (base === OWNER_PRIORITY)) {
    warn(instance.state.origin, `strict mode: state MASTER must go with priority 255: ${base === OWNER_PRIORITY ? 'MASTER' : 'BACKUP'}, as keepalived sets it`);
    state = base === OWNER_PRIORITY ? 'master' : 'backup';
    stateFrom = `${instance.state.origin}: state, corrected by strict mode (${strictFrom})`;
  }

  // Authentication (VRRPv2 only).
  if (instance.authType !== undefined || instance.authPass !== undefined) {
    const typeAt = instance.authType?.origin ?? instance.authPass!.origin;
    if (strict && instance.authType !== undefined) {
      warn(typeAt, `strict mode (${strictFrom}) does not support authentication: ignored, as keepalived does`);
    } else if (v3 && instance.authType !== undefined) {
      warn(typeAt, 'VRRP version 3 has no authentication: ignored, as keepalived does');
    } else if (instance.authType === undefined) {
      warn(instance.authPass!.origin, 'auth_pass without auth_type PASS: keepalived sends no authentication, nor does carpd');
    } else if (instance.authPass === undefined || instance.authPass.value === '') {
      warn(typeAt, 'authentication without a password: ignored, as keepalived does');
    } else if (instance.authType.value === 'AH') {
      throw new UsageError(`${instance.authType.origin}: auth_type AH cannot be translated: it sends VRRP inside IPsec AH (IP protocol 51), which carpd does not speak; use PASS or none`);
    } else {
      set('pass', instance.authPass.value, `${instance.authPass.origin}: auth_pass (auth_type PASS, ${instance.authType.origin})`);
    }
  }

  // Unicast.
  if (instance.peers.length > 0 && strict) {
    throw new UsageError(`${instance.peers[0]!.origin}: unicast peers are not supported in strict mode (${strictFrom}): keepalived disables the instance`);
  }
  if (instance.unicastConfigured !== undefined && instance.peers.length === 0) {
    warn(instance.unicastConfigured, 'a unicast keyword without any unicast_peer: multicast, as keepalived (deprecated) falls back to');
  }

  // Addresses: at most what an advert holds, the rest excluded, as keepalived moves them.
  const maxVips = ipv6 ? MAX_IPV6_VIPS_AT_MTU_1500 : MAX_VIPS_PER_ADVERT;
  const vips = instance.vips.slice(0, maxVips);
  const moved = instance.vips.slice(maxVips);
  if (moved.length > 0) {
    warn(
      moved[0]!.origin,
      ipv6
        ? `more than ${maxVips} IPv6 virtual addresses: keepalived does not advertise those that do not fit the interface's MTU (${maxVips} at 1500); the excess is excluded, as keepalived does at MTU 1500`
        : `more than ${maxVips} virtual addresses: the excess is not advertised (excluded), as keepalived does`,
    );
  }
  const family = ipv6 ? 6 : 4;
  const strayExcluded = instance.excluded.find((vip) => vip.family !== family);
  if (strayExcluded !== undefined) {
    throw new UsageError(
      `${strayExcluded.origin}: virtual_ipaddress_excluded ${strayExcluded.ip.text} is IPv${strayExcluded.family} in the IPv${family} vrrp_instance ${name}: keepalived adds it with the instance, but carpd moves an excluded address with the adverts of its own family, so it needs an IPv${strayExcluded.family} virtual_ipaddress beside it; move it to an IPv${strayExcluded.family} instance (in a sync group with this one)`,
    );
  }
  if (ipv6 && instance.peers.length === 0 && !isLinkLocal(vips[0]!.ip)) {
    warn(
      vips[0]!.origin,
      `the first IPv6 virtual_ipaddress is not link-local: keepalived says it ${strict ? 'must' : 'should'} be (RFC 5798 lists a link-local address first); carpd advertises the list as given, as keepalived does`,
    );
  }

  // Preemption.
  let nopreempt = instance.nopreempt?.value === true;
  let preemptDelay = instance.preemptDelayMicro?.value ?? 0;
  if (nopreempt && base === OWNER_PRIORITY) {
    warn(instance.nopreempt!.origin, 'nopreempt is incompatible with priority 255: cleared, as keepalived does');
    nopreempt = false;
  }
  if (state === 'master') {
    if (nopreempt) {
      warn(instance.nopreempt!.origin, 'nopreempt does not work with initial state MASTER: cleared, as keepalived does');
      nopreempt = false;
    }
    if (preemptDelay > 0) {
      warn(instance.preemptDelayMicro!.origin, 'preempt_delay does not work with initial state MASTER: cleared, as keepalived does');
      preemptDelay = 0;
    }
  }
  if (preemptDelay > 0 && strict) {
    warn(instance.preemptDelayMicro!.origin, `preempt_delay is incompatible with strict mode (${strictFrom}): reset, as keepalived does`);
    preemptDelay = 0;
  }
  if (preemptDelay > 0 && nopreempt) {
    warn(instance.preemptDelayMicro!.origin, 'preempt_delay is incompatible with nopreempt: reset, as keepalived does');
    preemptDelay = 0;
  }

  // Advert interval.
  let advert = instance.advertMicro?.value ?? MICRO;
  const advertAt = instance.advertMicro?.origin;
  if (!v3) {
    if (advert % MICRO !== 0) {
      const rounded = Math.max(MICRO, Math.floor((advert + MICRO / 2) / MICRO) * MICRO);
      warn(advertAt!, `a VRRPv2 advert_int must be whole seconds: ${seconds(advert)} rounded to ${seconds(rounded)}, as keepalived does`);
      advert = rounded;
    }
  } else if (advert >= 4096 * CENTI) {
    warn(advertAt!, `a VRRPv3 advert_int must be under 40.96 s: ${seconds(advert)} set to 40.95, as keepalived does`);
    advert = 4095 * CENTI;
  } else if (advert % CENTI !== 0) {
    const rounded = Math.max(CENTI, Math.floor((advert + CENTI / 2) / CENTI) * CENTI);
    warn(advertAt!, `a VRRPv3 advert_int is in units of 10 ms: ${seconds(advert)} rounded to ${seconds(rounded)}, as keepalived does`);
    advert = rounded;
  }
  set('advert-int', seconds(advert), advertAt === undefined ? "keepalived's default advert_int" : `${advertAt}: advert_int`);

  // Tracking, with keepalived's rules for address owners and sync groups.
  const group = instance.group;
  const groupHasOwner = group !== undefined && translator.instances.some((other) => other.group === group && (other.priority?.value ?? (other.state?.value === 'master' ? OWNER_PRIORITY : 0)) === OWNER_PRIORITY);
  const owner = base === OWNER_PRIORITY;
  const scriptUses: TrackUse[] = [];
  const interfaceUses: TrackUse[] = [];
  const mergeUse = (into: TrackUse[], use: TrackUse, kind: string) => {
    const existing = into.find((candidate) => candidate.name === use.name);
    if (existing === undefined) {
      into.push({ ...use });
      return;
    }
    warn(use.origin, `${kind} ${use.name} is configured on vrrp_instance ${name} (${existing.origin}) and on its sync group: the group's weight counts unless the instance's is 0, as in keepalived`);
    if (existing.weight !== 0) existing.weight = use.weight;
  };
  for (const use of instance.trackInterfaces) {
    if (use.name === ifname.value) {
      warn(use.origin, `track_interface ${use.name} is the instance's own interface: ignored, as keepalived does (carpd follows it anyway)`);
      continue;
    }
    if (use.weight !== 0 && group !== undefined && !group.trackingWeight) {
      warn(use.origin, `weight of tracked interface ${use.name} is ignored because ${name} is in sync group ${group.name}: its loss means FAULT, as in keepalived`);
      interfaceUses.push({ ...use, weight: 0 });
    } else if (use.weight !== 0 && owner) {
      warn(use.origin, `tracked interface ${use.name} with a weight is ignored because priority 255 (address owner) never changes, as in keepalived`);
    } else {
      interfaceUses.push({ ...use });
    }
  }
  for (const use of instance.trackScripts) {
    if (use.weight !== 0 && ((group !== undefined && !group.trackingWeight) || owner)) {
      const why = owner ? 'priority 255 (address owner) never changes' : `${name} is in sync group ${group!.name} without sync_group_tracking_weight`;
      warn(use.origin, `tracked script ${use.name} with a weight is ignored because ${why}, as in keepalived`);
      continue;
    }
    scriptUses.push({ ...use });
  }
  if (group !== undefined) {
    for (const use of group.trackInterfaces) {
      if (use.name === ifname.value) continue;
      if (use.weight !== 0 && owner) {
        warn(use.origin, `tracked interface ${use.name} with a weight has no effect on ${name}: priority 255 (address owner) never changes, as in keepalived`);
        continue;
      }
      mergeUse(interfaceUses, use, 'track_interface');
    }
    for (const use of group.trackScripts) {
      if (use.weight !== 0 && groupHasOwner) {
        warn(use.origin, `sync group ${group.name} has a member with priority 255: the weight of track_script ${use.name} is cleared (FAULT), as keepalived does`);
        mergeUse(scriptUses, { ...use, weight: 0 }, 'track_script');
      } else {
        mergeUse(scriptUses, use, 'track_script');
      }
    }
  }
  const positive = [...scriptUses, ...interfaceUses].filter((use) => use.weight > 0);
  const raise = positive.reduce((sum, use) => sum + use.weight, 0);
  let priority = base;
  if (raise > 0 && !owner) {
    priority = base + raise;
    if (priority > MAX_EFFECTIVE_PRIORITY) {
      throw new UsageError(
        `${positive[0]!.origin}: priority ${base} plus the positive weights (+${raise}) is ${priority}: carpd would need a base priority over ${MAX_EFFECTIVE_PRIORITY} to give keepalived's effective priorities; lower the priority or the weights`,
      );
    }
    baseFrom += `, plus +${raise} from ${positive.map((use) => `${use.name} (${use.origin})`).join(', ')}: see Weights above`;
  }
  set('priority', String(priority), baseFrom);
  set('initial-state', state, stateFrom);

  if (nopreempt) set('preempt', 'no', `${instance.nopreempt!.origin}: nopreempt`);
  if (preemptDelay > 0) set('preempt-delay', seconds(preemptDelay), `${instance.preemptDelayMicro!.origin}: preempt_delay`);

  const globalMcast = ipv6 ? globals.mcast6 : globals.mcast;
  const mcast = instance.mcast ?? globalMcast;
  const defaultGroup = parseIpAddress(ipv6 ? DEFAULT_MCAST_GROUP6 : DEFAULT_MCAST_GROUP)!;
  if (instance.peers.length === 0 && mcast !== undefined && !sameAddress(parseIpAddress(mcast.value)!, defaultGroup)) {
    set('mcast', mcast.value, instance.mcast !== undefined ? `${mcast.origin}: mcast_dst_ip` : `${mcast.origin}: vrrp_mcast_group${ipv6 ? 6 : 4}`);
  } else if (instance.peers.length > 0 && instance.mcast !== undefined) {
    warn(instance.mcast.origin, 'multicast destination given with unicast peers: ignored, as keepalived does');
  }
  if (instance.srcip !== undefined) {
    set('srcip', instance.srcip.value, `${instance.srcip.origin}: source address`);
  } else if (ipv6 && instance.peers.length > 0) {
    throw new UsageError(
      `${instance.peers[0]!.origin}: IPv6 unicast_peer without unicast_src_ip: keepalived sends from ${ifname.value}'s link-local address, carpd needs the IPv6 address of ${ifname.value} the peers send to: add unicast_src_ip`,
    );
  } else if (ipv6) {
    note(`srcip: not set, keepalived sends from the link-local address of ${ifname.value}, as carpd does`);
  } else {
    note(`srcip: not set, keepalived uses the first IPv4 address of ${ifname.value}`);
  }
  for (const peer of instance.peers) set('peer', peer.value, `${peer.origin}: unicast_peer`);

  for (const vip of vips) set('addr', vip.text, `${vip.origin}: virtual_ipaddress`);
  for (const vip of moved) set('addr-excluded', vip.text, `${vip.origin}: virtual_ipaddress beyond ${MAX_VIPS_PER_ADVERT}: not advertised`);
  for (const vip of instance.excluded) set('addr-excluded', vip.text, `${vip.origin}: virtual_ipaddress_excluded (not advertised)`);

  for (const use of interfaceUses) {
    const weight = Math.abs(use.weight);
    set('track-interface', weight === 0 ? use.name : `${use.name} weight ${weight}`, `${use.origin}: track_interface${use.fromGroup ? ` of sync group ${group!.name}` : ''}${use.weight === 0 ? '' : `, weight ${use.weight}`}`);
  }
  for (const use of scriptUses) {
    const check = checkFor(translator.scripts.get(use.name)!, Math.abs(use.weight));
    set('track-check', check.name, `${use.origin}: track_script${use.fromGroup ? ` of sync group ${group!.name}` : ''}, weight ${use.weight}`);
  }

  const notifyKeys: Array<[NotifyKind, string]> = [
    ['notify_master', 'notify-master'],
    ['notify_backup', 'notify-backup'],
    ['notify_fault', 'notify-fault'],
    ['notify_stop', 'notify-stop'],
    ['notify', 'keepalived-notify'],
  ];
  for (const [kind, key] of notifyKeys) {
    const notify = instance.notify[kind];
    if (notify === undefined) continue;
    const command = commandLine(notify.argv);
    if (/[\n\r]/.test(command)) throw new UsageError(`${notify.origin}: ${kind} holds a line break, which a carpd config line cannot hold`);
    set(key, command, `${notify.origin}: ${kind}${kind === 'notify' ? ' (called with INSTANCE NAME STATE PRIORITY)' : ''}`);
  }

  const garpDelay = instance.garpDelay ?? globals.garpDelay;
  if (garpDelay !== undefined) {
    set('garp-master-delay', String(garpDelay.value), `${garpDelay.origin}: ${instance.garpDelay !== undefined ? 'garp_master_delay' : 'vrrp_garp_master_delay'}`);
  }
  const garpRepeat = instance.garpRepeat ?? globals.garpRepeat;
  if (garpRepeat !== undefined) {
    set('garp-master-repeat', String(garpRepeat.value), `${garpRepeat.origin}: ${instance.garpRepeat !== undefined ? 'garp_master_repeat' : 'vrrp_garp_master_repeat'}`);
  }

  const checksum = instance.checksumAsV2 ?? (globals.checksumAsV2 === undefined ? undefined : { value: true, origin: globals.checksumAsV2 });
  if (checksum !== undefined && ipv6) {
    if (instance.checksumAsV2 !== undefined) {
      warn(checksum.origin, 'v3_checksum_as_v2 concerns IPv4 only: an IPv6 advert\'s checksum always covers the IPv6 pseudo-header; ignored');
    }
  } else if (checksum !== undefined && v3) {
    set('v3-checksum-as-v2', checksum.value ? undefined : 'no', `${checksum.origin}: v3_checksum_as_v2 (keepalived 2.2.8 and later; 2.2.7 does not know it)`);
  }

  if (group !== undefined) {
    set('group', group.name, `${group.origin}: vrrp_sync_group ${group.name}`);
    for (const comment of group.notifyComments) note(`${comment.origin}: sync group ${group.name}'s ${comment.value} - carpd has no per-group scripts`);
  }
  return { instance, lines };
}

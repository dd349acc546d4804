/**
 * argv → a validated, frozen Config (or the help or version text). The first problem found is
 * thrown as a UsageError with one line naming the option, what it accepts and what it got.
 *
 * Decisions that differ from ucarp, each because ucarp's behaviour hides a mistake:
 *  - numbers are plain decimal (ucarp's strtoul reads "010" as 8 and "1.5" as 1);
 *  - unknown options and stray arguments are errors (ucarp prints help and exits 0, or ignores);
 *  - an unknown facility is an error (ucarp logs and carries on with "daemon");
 *  - advskew 255 is refused (reserved for the bow-out advert);
 *  - --mcast must be a multicast group, with --nomcast too (ucarp takes any address there):
 *    --nomcast changes only the Ethernet destination, the adverts still go to the group and
 *    the socket still joins it, which the kernel refuses at run time for a unicast address;
 *    and carpd's --nomcast neighbour entry (group -> ff:ff:ff:ff:ff:ff) would send every
 *    datagram for that address, perhaps a real host's, as broadcast.
 * Kept from ucarp: a repeated option takes its last value (getopt semantics, and wrappers such
 * as Debian's if-up hook append options after defaults); no arguments at all prints the help.
 */
import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { defaultVhostName, vhostFamily, type CheckConfig, type Config, type ProcessConfig, type TrackedInterface, type VhostConfig } from '../config.js';
import {
  ipv4,
  ipv6,
  isLinkLocal,
  isMulticast,
  isUnicastHost,
  parseIpAddress,
  parseIpv4,
  parseIpv6,
  sameAddress,
  UNSPECIFIED_IPV6,
  type IpAddress,
  type VipAddress,
} from '../net/address.js';
import type { Protocol } from '../state/rules.js';
import { isValidInterfaceName, labelProblem } from '../net/names.js';
import { CARP_MAX_PASSWORD_LENGTH } from '../protocol/hmac.js';
import { invalidValue, missingOption, UsageError } from './errors.js';
import { isSectionName, parseConfigFile, type ConfigFileContent } from './config-file.js';
import { translateKeepalivedConf } from './keepalived-conf.js';
import { tokenize, type Occurrence } from './getopt.js';
import { helpText } from './help.js';
import { DEFAULT_MCAST, DEFAULT_MCAST6, OPTIONS_BY_LONG_NAME } from './options.js';
import { oncePerInterface, type SystemProbe } from './system.js';
import { parseDecimalInteger, parseFacility, parseSecondsToMs, splitWords } from './values.js';
import { overlay, readWithYargs, type RawOptions } from './yargs.js';

export type ParseOutcome =
  | {
      readonly kind: 'run';
      readonly config: Config;
      /** Not errors, but worth a line on stderr (a password in a file every user can read). */
      readonly warnings: readonly string[];
    }
  | { readonly kind: 'help'; readonly text: string }
  /** --keepalived-conf with --print-config: the equivalent carpd config, for stdout. */
  | { readonly kind: 'print'; readonly text: string; readonly warnings: readonly string[] }
  | { readonly kind: 'version'; readonly text: string };

/** ucarp's limit: the key buffer is 20 bytes including the terminating NUL ("Password too long"). */
const MAX_PASSWORD_BYTES = CARP_MAX_PASSWORD_LENGTH;
const MAX_SCRIPT_TIMEOUT_SECONDS = 3600;

export function parseCommandLine(argv: readonly string[], probe: SystemProbe): ParseOutcome {
  const system = oncePerInterface(probe);
  // As ucarp: run with nothing, it explains itself.
  if (argv.length === 0) {
    return { kind: 'help', text: helpText(system.carpdVersion()) };
  }
  const { occurrences, problems } = tokenize(argv);
  // --help and --version win over everything else on the line, even over mistakes in it.
  const names = new Set(occurrences.map((occurrence) => occurrence.option.name));
  if (names.has('help')) {
    return { kind: 'help', text: helpText(system.carpdVersion()) };
  }
  if (names.has('version')) {
    return { kind: 'version', text: `carpd ${system.carpdVersion()}\n` };
  }
  const [firstProblem] = problems;
  if (firstProblem !== undefined) {
    throw firstProblem;
  }
  const warnings: string[] = [];
  const fromCommandLine = occurrences.filter((occurrence) => !FILE_OPTIONS.has(occurrence.option.name));
  const keepalived = readKeepalivedOption(occurrences, system, warnings);
  if (keepalived?.print === true) {
    return { kind: 'print', text: keepalived.text, warnings };
  }
  const file = keepalived ?? readConfigOption(occurrences, system, warnings);
  if (file?.content.sectioned) {
    return { kind: 'run', config: buildSectionedConfig(file.path, file.content, fromCommandLine, system), warnings };
  }
  const all = [...(file?.content.occurrences ?? []), ...fromCommandLine];
  const build = (): Config => {
    const raw = readWithYargs(all);
    const process = buildProcessConfig(raw, system, file?.path, false);
    return freezeConfig(process, buildVhostConfig(raw, system, undefined, lastValues(all, 'addr'), all));
  };
  try {
    return { kind: 'run', config: build(), warnings };
  } catch (error) {
    throw error instanceof UsageError ? withOrigin(error, all) : error;
  }
}

/** Options that name a whole configuration, answered before the others are read. */
const FILE_OPTIONS = new Set(['config', 'keepalived-conf', 'print-config']);

/**
 * --keepalived-conf: the VRRP part of a keepalived configuration, translated into the carpd
 * config it is equivalent to (lib/cli/keepalived-conf.ts), then read like a --config file. With
 * --print-config only the translation is wanted.
 */
function readKeepalivedOption(
  occurrences: readonly Occurrence[],
  system: SystemProbe,
  warnings: string[],
): { path: string; content: ConfigFileContent; text: string; print: boolean } | undefined {
  const given = occurrences.filter((occurrence) => occurrence.option.name === 'keepalived-conf').at(-1)?.value;
  const print = occurrences.some((occurrence) => occurrence.option.name === 'print-config');
  if (given === undefined) {
    if (print) throw new UsageError('--print-config prints the carpd config a keepalived.conf is equivalent to: add --keepalived-conf=FILE');
    return undefined;
  }
  if (occurrences.some((occurrence) => occurrence.option.name === 'config')) {
    throw new UsageError('--keepalived-conf and --config cannot both be given: choose one configuration');
  }
  const path = resolve(system.cwd(), given);
  // The translator names the file (and the include line) when one cannot be read.
  const readFile = (file: string): string => system.readTextFile(file).text;
  const translation = translateKeepalivedConf(path, readFile, includeGlob);
  for (const warning of translation.warnings) warnings.push(`warning: ${warning}`);
  // Line numbers of messages about the result name the translation, which --print-config shows.
  const content = parseConfigFile(`${path} (as carpd config, see --print-config)`, translation.text);
  return { path, content, text: translation.text, print };
}

/**
 * keepalived's include takes glob(3) patterns, relative to the including file. Loaded only
 * when a pattern has wildcards: tinyglobby is a well-kept glob with brace expansion, as
 * keepalived's GLOB_BRACE.
 */
function includeGlob(pattern: string, relativeTo: string): string[] {
  const { globSync } = createRequire(import.meta.url)('tinyglobby') as typeof import('tinyglobby');
  return globSync(pattern, { cwd: relativeTo, absolute: true, onlyFiles: true, expandDirectories: false });
}

/**
 * The --config file (the last one given, as for any repeated option), read and parsed; its
 * options go before the command line's so that the command line overrides the file.
 */
function readConfigOption(
  occurrences: readonly Occurrence[],
  system: SystemProbe,
  warnings: string[],
): { path: string; content: ConfigFileContent } | undefined {
  const given = occurrences.filter((occurrence) => occurrence.option.name === 'config').at(-1)?.value;
  if (given === undefined) {
    return undefined;
  }
  const path = resolve(system.cwd(), given);
  let file: { text: string; mode: number };
  try {
    file = system.readTextFile(path);
  } catch (error) {
    throw invalidValue('--config', 'a readable file', given, (error as Error).message);
  }
  const content = parseConfigFile(path, file.text);
  if (content.holdsPassword && (file.mode & 0o004) !== 0) {
    warnings.push(`warning: ${path} holds the password and every user can read it: chmod 600 ${path}`);
  }
  return { path, content };
}

/** Options that give every vhost the same value, which no two vhosts may share. */
const UNIQUE_PER_VHOST = new Set(['vhid', 'addr']);

/**
 * A file with [vhost NAME] sections: the lines before the first section are defaults for every
 * vhost, a section's own lines override them, and the command line overrides both. A section's
 * `addr` lines replace the defaults' (several `addr` lines are several VIPs of that vhost).
 */
function buildSectionedConfig(
  path: string,
  content: ConfigFileContent,
  fromCommandLine: readonly Occurrence[],
  system: SystemProbe,
): Config {
  for (const occurrence of fromCommandLine) {
    if (UNIQUE_PER_VHOST.has(occurrence.option.name)) {
      throw new UsageError(
        `--${occurrence.option.name} cannot be given on the command line with a sectioned config (${path}): set it in each [vhost] section`,
      );
    }
  }
  const processOccurrences = [...content.defaults, ...fromCommandLine];
  let process: ProcessConfig;
  try {
    process = buildProcessConfig(readWithYargs(processOccurrences), system, path, true);
  } catch (error) {
    throw error instanceof UsageError ? withOrigin(error, processOccurrences) : error;
  }

  const named = new Map<string, CheckConfig>();
  for (const section of content.sections) {
    if (section.kind !== 'check') continue;
    try {
      named.set(section.name, buildCheck(readWithYargs(section.occurrences), section.name, section.origin));
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      const located = withOrigin(error, section.occurrences);
      throw located === error ? new UsageError(`${section.origin}: ${error.message}`) : located;
    }
  }
  const defaults = readWithYargs(content.defaults);
  const vhosts: VhostConfig[] = [];
  const origins = new Map<VhostConfig, string>();
  for (const section of content.sections) {
    if (section.kind !== 'vhost') continue;
    const sectionAddrs = section.occurrences.filter((o) => o.option.name === 'addr');
    const inherited = sectionAddrs.length > 0 ? content.defaults.filter((o) => o.option.name !== 'addr') : content.defaults;
    const all = [...inherited, ...section.occurrences, ...fromCommandLine];
    const addrs = all.filter((o) => o.option.name === 'addr').map((o) => o.value ?? '');
    try {
      if (addrs.length === 0) {
        throw new UsageError(`[vhost ${section.name}] has no addr: give it at least one addr = <ip>[/<prefix>] line`);
      }
      for (const vhost of buildVhostConfig(overlay(defaults, [...section.occurrences, ...fromCommandLine]), system, section.name, addrs, all, named)) {
        vhosts.push(vhost);
        origins.set(vhost, section.origin);
      }
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      const located = withOrigin(error, all);
      throw located === error && !error.message.includes('(set in ') ? new UsageError(`${section.origin}: ${error.message}`) : located;
    }
  }
  if (vhosts.length === 0) {
    throw new UsageError(`${path}: no [vhost NAME] section: a sectioned config needs at least one`);
  }
  checkAcrossVhosts(vhosts, origins);
  return freezeConfig(process, vhosts);
}

/** What no two vhosts of one process may share, and what the members of a group must share. */
function checkAcrossVhosts(vhosts: readonly VhostConfig[], origins: ReadonlyMap<VhostConfig, string>): void {
  const where = (v: VhostConfig) => `${origins.get(v) ?? v.name} [vhost ${v.name}]`;
  const byVhid = new Map<string, VhostConfig>();
  const byVip = new Map<string, VhostConfig>();
  const groups = new Map<string, VhostConfig>();
  for (const vhost of vhosts) {
    // CARP and VRRPv2 packets look alike (version 2, the id in the second byte), so the two
    // share one id space per interface; VRRPv3's version byte keeps its ids apart.
    // The IPv4 and IPv6 links are apart: the halves of a dual-stack vhost share its vhid.
    const key = `${vhost.interface}/${vhost.protocol === 'vrrp3' ? 'v3' : 'v2'}/${vhost.vhid}/${vhostFamily(vhost)}`;
    const first = byVhid.get(key);
    if (first !== undefined) {
      throw new UsageError(
        `${where(vhost)}: vhid ${vhost.vhid} is already used on ${vhost.interface} by [vhost ${first.name}] (${origins.get(first)}): a vhid is unique per interface` +
          (first.protocol !== vhost.protocol ? ' (CARP and VRRPv2 share the id space: their packets look alike)' : ''),
      );
    }
    byVhid.set(key, vhost);
    for (const vip of vhost.vips) {
      const owner = byVip.get(vip.address.text);
      if (owner !== undefined && owner !== vhost) {
        throw new UsageError(
          `${where(vhost)}: addr ${vip.address.text} is already a VIP of [vhost ${owner.name}] (${origins.get(owner)}): two vhosts cannot float one address`,
        );
      }
      byVip.set(vip.address.text, vhost);
    }
    if (vhost.group !== undefined) {
      const leader = groups.get(vhost.group);
      if (leader === undefined) {
        groups.set(vhost.group, vhost);
      } else if (groupClaim(leader) !== groupClaim(vhost)) {
        // Members that advertise differently can each be preferred on a different node: the
        // group would then be pulled to both sides in turn, forever.
        const what = vhost.protocol === 'carp' && leader.protocol === 'carp' ? 'advbase and advskew' : 'protocol, priority and advert interval';
        throw new UsageError(
          `${where(vhost)}: group ${vhost.group} needs one ${what} for all its vhosts: ` +
            `[vhost ${leader.name}] has ${groupClaim(leader)}, this one ${groupClaim(vhost)}`,
        );
      }
    }
  }
}

/** What the members of a group must advertise alike, in words. */
function groupClaim(v: VhostConfig): string {
  return v.protocol === 'carp'
    ? `advbase ${v.advbase} advskew ${v.advskew}`
    : `${v.protocol} priority ${v.priority} advert-int ${v.advertIntCs / 100}`;
}

function freezeConfig(process: ProcessConfig, vhosts: readonly VhostConfig[]): Config {
  const checks = [...new Set(vhosts.flatMap((v) => v.checks))];
  return Object.freeze({ process: Object.freeze(process), vhosts: Object.freeze([...vhosts]), checks: Object.freeze(checks) });
}

const MAX_CHECK_SECONDS = 3600;

/** One check from its options (a [check NAME] section, or the --check-* options of a vhost). */
function buildCheck(raw: RawOptions, name: string, origin: string, commandText?: string): CheckConfig {
  const text = commandText ?? raw.string('check');
  if (text === undefined) {
    throw new UsageError(`[check ${name}] has no command: give it a command = <program> [<argument>...] line`);
  }
  const command = splitWords(text);
  if (command === undefined || command.length === 0) {
    throw invalidValue('--check', expectsOf('check'), text, command === undefined ? 'a quote is not closed' : 'it is empty');
  }
  const seconds = (option: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const ms = parseSecondsToMs(text, MAX_CHECK_SECONDS);
    if (ms === undefined || ms < 10) throw invalidValue(`--${option}`, expectsOf(option), text);
    return ms;
  };
  const intervalMs = seconds('check-interval', required(raw, 'check-interval'))!;
  const timeoutMs = seconds('check-timeout', raw.string('check-timeout')) ?? intervalMs;
  return Object.freeze({
    name,
    command: Object.freeze(command),
    intervalMs,
    timeoutMs,
    fall: integerOption(raw, 'check-fall', 1, 255),
    rise: integerOption(raw, 'check-rise', 1, 255),
    weight: integerOption(raw, 'check-weight', 0, 254),
    origin,
  });
}

/** Every value an option was given, in order: checks and tracked things repeat. */
function allValues(occurrences: readonly Occurrence[], name: string): Array<{ value: string; origin: string | undefined }> {
  return occurrences
    .filter((o) => o.option.name === name && o.value !== undefined)
    .map((o) => ({ value: o.value!, origin: o.origin }));
}

/** What a vhost follows besides its own link: checks, other interfaces, files. */
function buildHealth(
  raw: RawOptions,
  system: SystemProbe,
  vhostName: string,
  iface: string,
  occurrences: readonly Occurrence[],
  named: ReadonlyMap<string, CheckConfig>,
): Pick<VhostConfig, 'checks' | 'trackInterfaces' | 'trackFiles' | 'notify' | 'preemptDelayMs'> {
  const at = (origin: string | undefined) => (origin === undefined ? '' : ` (set in ${origin})`);
  const checks: CheckConfig[] = [];
  const used = new Set<string>();
  for (const { value, origin } of allValues(occurrences, 'check')) {
    // --check's name: its program's, so the log says check "curl" failed.
    const program = (splitWords(value) ?? [])[0]?.split('/').pop() || 'check';
    const base = program.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 28) || 'check';
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}-${n}`;
    used.add(name);
    checks.push(buildCheck(raw, name, origin ?? `--check of ${vhostName}`, value));
  }
  for (const { value, origin } of allValues(occurrences, 'track-check')) {
    const check = named.get(value);
    if (check === undefined) {
      const known = [...named.keys()];
      throw new UsageError(
        `--track-check must name a [check NAME] section, got ${JSON.stringify(value)} (${known.length === 0 ? 'the file has none' : `the file has ${known.join(', ')}`})${at(origin)}`,
      );
    }
    if (!checks.includes(check)) checks.push(check);
  }
  const trackInterfaces: TrackedInterface[] = [];
  for (const { value, origin } of allValues(occurrences, 'track-interface')) {
    const match = /^(\S+)(?:\s+weight\s+([0-9]+))?$/.exec(value.trim());
    const weight = match?.[2] === undefined ? 0 : parseDecimalInteger(match[2], 1, 254);
    if (match === null || !isValidInterfaceName(match[1]!) || weight === undefined) {
      throw new UsageError(`${invalidValue('--track-interface', expectsOf('track-interface'), value).message}${at(origin)}`);
    }
    if (match[1] === iface) {
      throw new UsageError(`--track-interface ${match[1]} is the vhost's own interface, which it follows anyway${at(origin)}`);
    }
    if (!trackInterfaces.some((t) => t.name === match[1])) trackInterfaces.push(Object.freeze({ name: match[1]!, weight }));
  }
  const trackFiles = [...new Set(allValues(occurrences, 'track-file').map(({ value, origin }) => {
    if (value === '') throw new UsageError(`--track-file must be a file path${at(origin)}`);
    return resolve(system.cwd(), value);
  }))];
  const delayText = required(raw, 'preempt-delay');
  const preemptDelayMs = delayText === '0' ? 0 : parseSecondsToMs(delayText, MAX_CHECK_SECONDS);
  if (preemptDelayMs === undefined) throw invalidValue('--preempt-delay', expectsOf('preempt-delay'), delayText);
  return {
    checks: Object.freeze(checks),
    trackInterfaces: Object.freeze(trackInterfaces),
    trackFiles: Object.freeze(trackFiles),
    notify: scriptOption(raw, 'notify', system),
    preemptDelayMs,
  };
}

/** The values of every occurrence of an option; on a command line (ucarp's rules) only the last counts. */
function lastValues(occurrences: readonly Occurrence[], name: string): string[] {
  const last = occurrences.filter((o) => o.option.name === name).at(-1)?.value;
  return last === undefined ? [] : [last];
}

/**
 * A value that came from the config file is named there: "--vhid must be ..., got "300"" gains
 * "(set in /etc/carpd/a.conf line 3)", so the operator looks in the right place.
 */
function withOrigin(error: UsageError, occurrences: readonly Occurrence[]): UsageError {
  // A repeatable option's check names the very line itself (the last one may be another).
  if (error.message.includes('(set in ')) return error;
  const name = /^--([a-z][a-z-]*)/.exec(error.message)?.[1];
  const last = occurrences.filter((occurrence) => occurrence.option.name === name).at(-1);
  if (last?.origin === undefined) {
    return error;
  }
  return new UsageError(`${error.message} (set in ${last.origin})`);
}

/** The phrase after "must be" for an option, from the option table. */
function expectsOf(name: string): string {
  return OPTIONS_BY_LONG_NAME.get(name)?.expects ?? 'valid';
}

function required(raw: RawOptions, name: string): string {
  const value = raw.string(name);
  if (value === undefined) {
    throw missingOption(`--${name}`, expectsOf(name));
  }
  return value;
}

function integerOption(raw: RawOptions, name: string, min: number, max: number): number {
  const text = required(raw, name);
  const value = parseDecimalInteger(text, min, max);
  if (value === undefined) {
    throw invalidValue(`--${name}`, expectsOf(name), text);
  }
  return value;
}

function buildProcessConfig(raw: RawOptions, system: SystemProbe, configFile: string | undefined, sectioned: boolean): ProcessConfig {
  const facilityText = required(raw, 'facility');
  const facility = parseFacility(facilityText);
  if (facility === undefined) {
    throw invalidValue('--facility', expectsOf('facility'), facilityText);
  }

  const pidfileText = raw.string('pidfile');
  if (pidfileText === '') {
    throw invalidValue('--pidfile', 'a file path', pidfileText);
  }
  // Absolute, so removing it at exit works whatever the daemon's working directory is by then.
  const pidfile = pidfileText === undefined ? undefined : resolve(system.cwd(), pidfileText);

  const metricsText = raw.string('metrics');
  const metrics = metricsText === undefined ? undefined : parseListenAddress(metricsText);
  if (metricsText !== undefined && metrics === undefined) {
    throw invalidValue('--metrics', expectsOf('metrics'), metricsText);
  }

  const scriptUserText = raw.string('script-user');
  const scriptUser = scriptUserText === undefined ? undefined : lookupUser(scriptUserText, system);

  return {
    debug: raw.flag('debug'),
    facility,
    daemonize: raw.flag('daemonize'),
    pidfile,
    metrics,
    scriptUser,
    configFile,
    sectioned,
  };
}

/** A user of /etc/passwd, by name (keepalived's script_user). */
function lookupUser(name: string, system: SystemProbe): { name: string; uid: number; gid: number } {
  let text: string;
  try {
    text = system.readTextFile('/etc/passwd').text;
  } catch (error) {
    throw invalidValue('--script-user', expectsOf('script-user'), name, (error as Error).message);
  }
  for (const line of text.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined && /^[0-9]+$/.test(uid) && /^[0-9]+$/.test(gid)) {
      return { name, uid: Number(uid), gid: Number(gid) };
    }
  }
  throw invalidValue('--script-user', expectsOf('script-user'), name, 'no such user in /etc/passwd');
}

/** A keepalived-style command line: split as keepalived does (quotes group, no shell), first word executable. */
function commandOption(raw: RawOptions, name: string, system: SystemProbe): string[] | undefined {
  const text = raw.string(name);
  if (text === undefined) return undefined;
  const words = splitWords(text);
  if (words === undefined || words.length === 0) throw invalidValue(`--${name}`, expectsOf(name), text);
  const path = resolve(system.cwd(), words[0]!);
  if (!system.isExecutableFile(path)) throw invalidValue(`--${name}`, expectsOf(name), text, `${path} is not an executable file`);
  return [path, ...words.slice(1)];
}

/** "127.0.0.1:9650", "[::1]:9650", "localhost:9650"; port 1..65535. */
function parseListenAddress(text: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(text);
  if (match === null) return undefined;
  const port = parseDecimalInteger(match[3] ?? '', 1, 65535);
  const host = match[1] ?? match[2];
  if (port === undefined || host === undefined) return undefined;
  if (match[2] !== undefined && /^[0-9.]+$/.test(host) && parseIpv4(host) === undefined) return undefined;
  return { host, port };
}

/**
 * One vhost from its options. `addrs` are its --addr values (one on a command line, one or more
 * in a section); `name` is the section's, undefined for a command line.
 */
function buildVhostConfig(
  raw: RawOptions,
  system: SystemProbe,
  name: string | undefined,
  addrs: readonly string[],
  occurrences: readonly Occurrence[] = [],
  named: ReadonlyMap<string, CheckConfig> = new Map(),
): VhostConfig[] {
  const iface = required(raw, 'interface');
  if (!isValidInterfaceName(iface)) {
    throw invalidValue(
      '--interface',
      'a network interface name (1 to 15 characters, no "/", ":" or spaces)',
      iface,
      iface.includes(':') ? 'an alias such as eth0:1 is a label: use --interface=eth0 --vip-label=eth0:1' : undefined,
    );
  }
  const interfaceAddresses = system.interfaceIpv4Addresses(iface);
  if (interfaceAddresses === undefined) {
    throw invalidValue('--interface', 'an existing network interface', iface);
  }

  const protocolText = required(raw, 'protocol');
  if (protocolText !== 'carp' && protocolText !== 'vrrp2' && protocolText !== 'vrrp3') {
    throw invalidValue('--protocol', expectsOf('protocol'), protocolText);
  }
  const protocol: Protocol = protocolText;
  const vrrp = protocol !== 'carp';
  if (vrrp) {
    for (const carpOnly of ['advbase', 'advskew', 'deadratio', 'passfile'] as const) {
      if (raw.given(carpOnly)) {
        throw new UsageError(
          `--${carpOnly} is CARP's: a ${protocol} vhost takes --priority, --advert-int${carpOnly === 'passfile' ? ' and --pass (VRRPv2 PASS)' : ''} instead`,
        );
      }
    }
  } else {
    for (const vrrpOnly of ['priority', 'advert-int', 'initial-state', 'v3-checksum-as-v2'] as const) {
      if (raw.given(vrrpOnly)) {
        throw new UsageError(`--${vrrpOnly} is VRRP's: add --protocol=vrrp2 or vrrp3, or use --advbase/--advskew for CARP`);
      }
    }
  }

  // The addresses first: their families decide what --srcip and --mcast must be.
  if (addrs.length === 0) {
    throw missingOption('--addr', expectsOf('addr'));
  }
  const vips: VipAddress[] = [];
  for (const [index, addr] of addrs.entries()) {
    const vip = parseVip(addr, iface, system);
    const twice = vips.find((v) => sameAddress(v.address, vip.address));
    if (twice !== undefined) {
      const origin = occurrences.filter((o) => o.option.name === 'addr')[index]?.origin;
      throw new UsageError(`addr ${vip.address.text} is given twice${origin ? ` (again in ${origin})` : ''}`);
    }
    vips.push(vip);
  }
  const excludedVips = allValues(occurrences, 'addr-excluded').map(({ value }) => parseVip(value, iface, system, '--addr-excluded'));
  if (excludedVips.length === 0 && raw.given('addr-excluded') && !occurrences.some((o) => o.option.name === 'addr-excluded')) {
    excludedVips.push(parseVip(raw.string('addr-excluded')!, iface, system, '--addr-excluded'));
  }
  const has4 = vips.some((v) => v.address.family === 4);
  const has6 = vips.some((v) => v.address.family === 6);
  if (!has4 && excludedVips.some((v) => v.address.family === 4)) {
    throw new UsageError('--addr-excluded: an IPv4 address needs an IPv4 --addr beside it (it moves with the IPv4 adverts)');
  }
  if (!has6 && excludedVips.some((v) => v.address.family === 6)) {
    throw new UsageError('--addr-excluded: an IPv6 address needs an IPv6 --addr beside it (it moves with the IPv6 adverts)');
  }
  // keepalived lists a link-local VIP first, as RFC 5798 5.2.9 asks of VRRPv3; ip_carp.c leaves
  // link-local addresses out of the digest, so a CARP one would not be what the peer checks.
  const linkLocalVip = [...vips, ...excludedVips].find((v) => isLinkLocal(v.address));
  if (linkLocalVip !== undefined && protocol === 'carp') {
    throw invalidValue('--addr', 'a global or unique-local IPv6 address for CARP (link-local fe80::/10 addresses are for VRRPv3)', linkLocalVip.address.text);
  }
  if (has6 && protocol === 'vrrp2') {
    throw new UsageError('--protocol=vrrp2 is IPv4 only (RFC 3768): IPv6 addresses need --protocol=vrrp3 or carp');
  }

  // --srcip: IPv4, the IPv4 adverts' source (ucarp -s); IPv6, the IPv6 adverts' source instead
  // of the interface's link-local address (and a unicast peer's destination).
  const srcipGiven = raw.string('srcip');
  const givenSrcip = srcipGiven === undefined ? undefined : parseIpAddress(srcipGiven);
  if (srcipGiven !== undefined && givenSrcip === undefined) {
    throw invalidValue('--srcip', 'a dotted-quad IPv4 address like 10.1.1.1, or an IPv6 address of the interface', srcipGiven);
  }
  if (givenSrcip?.family === 6 && !has6) {
    throw invalidValue('--srcip', 'an IPv4 address: every --addr is IPv4', srcipGiven!);
  }
  let srcip4: IpAddress | undefined;
  if (has4) {
    // VRRP nodes rarely name their address (keepalived takes the interface's first): neither
    // need we. CARP keeps ucarp's rule, --srcip is required.
    const srcipText =
      givenSrcip?.family === 4 ? srcipGiven! : vrrp ? (interfaceAddresses[0] ?? required(raw, 'srcip')) : givenSrcip === undefined ? required(raw, 'srcip') : undefined;
    if (srcipText === undefined) {
      throw new UsageError(`--srcip ${srcipGiven} is IPv6: the IPv4 addresses need an IPv4 --srcip (the IPv6 adverts then leave from ${iface}'s link-local address)`);
    }
    const parsed = parseIpv4(srcipText);
    if (parsed === undefined) {
      throw invalidValue('--srcip', 'a dotted-quad IPv4 address, like 10.1.1.1', srcipText);
    }
    if (!interfaceAddresses.includes(srcipText)) {
      const has = interfaceAddresses.length === 0 ? 'it has none' : `it has ${interfaceAddresses.join(', ')}`;
      throw invalidValue('--srcip', `one of ${iface}'s IPv4 addresses (${has})`, srcipText);
    }
    srcip4 = parsed;
  }
  if (givenSrcip?.family === 6 && (isMulticast(givenSrcip) || !isUnicastHost(givenSrcip))) {
    throw invalidValue('--srcip', `a unicast IPv6 address of ${iface}`, srcipGiven!);
  }
  if (givenSrcip?.family === 6) {
    // The kernel refuses to send from an address the interface does not have: say so now.
    const own6 = system.interfaceIpv6Addresses?.(iface);
    if (own6 !== undefined && !own6.some((text) => parseIpv6(text)?.big === givenSrcip.big)) {
      const has = own6.length === 0 ? 'it has none' : `it has ${own6.join(', ')}`;
      throw invalidValue('--srcip', `one of ${iface}'s IPv6 addresses (${has})`, srcipGiven!);
    }
  }
  const srcip6 = has6 ? (givenSrcip?.family === 6 ? givenSrcip : UNSPECIFIED_IPV6) : undefined;

  const noMcast = raw.flag('nomcast');
  if (noMcast && has6) {
    throw new UsageError('--nomcast is for IPv4 (ucarp -M sends broadcast frames): IPv6 has no broadcast, its adverts go to ff02::12');
  }
  const mcastText = required(raw, 'mcast');
  const mcastGiven = parseIpAddress(mcastText);
  if (mcastGiven === undefined) {
    throw invalidValue('--mcast', 'a dotted-quad multicast group like 224.0.0.18, or an IPv6 one like ff02::12', mcastText);
  }
  if (!isMulticast(mcastGiven)) {
    // Even with --nomcast, see the header comment; for broadcast frames --nomcast is the
    // option, not a broadcast address here.
    const hint = noMcast ? ' (--nomcast already sends the adverts in broadcast frames)' : mcastGiven.family === 4 ? ' (for broadcast frames add --nomcast)' : '';
    throw invalidValue('--mcast', mcastGiven.family === 4 ? `a multicast group in 224.0.0.0/4${hint}` : 'an IPv6 multicast group in ff00::/8, like ff02::12', mcastText);
  }
  if (mcastGiven.family === 6 && !has6) throw invalidValue('--mcast', 'an IPv4 group: every --addr is IPv4', mcastText);
  // A group of the other family leaves this one at its default: --mcast names one group.
  const mcast4 = mcastGiven.family === 4 ? mcastGiven : ipv4(DEFAULT_MCAST);
  const mcast6 = mcastGiven.family === 6 ? mcastGiven : ipv6(DEFAULT_MCAST6);
  if (has6 && raw.flag('replay-protect')) {
    throw new UsageError('--replay-protect is for IPv4 vhosts: its counters name the sender by the low bits of its IPv4 --srcip');
  }

  const vhid = integerOption(raw, 'vhid', 1, 255);
  const password = vrrp ? readVrrpPassword(raw, protocol) : readPassword(raw, system);
  const priority = integerOption(raw, 'priority', 1, 255);
  const advertIntCs = readAdvertInterval(raw, protocol);
  const initialText = required(raw, 'initial-state');
  if (initialText !== 'backup' && initialText !== 'master') throw invalidValue('--initial-state', expectsOf('initial-state'), initialText);
  if (raw.given('v3-checksum-as-v2') && protocol !== 'vrrp3') {
    throw new UsageError('--v3-checksum-as-v2 is for --protocol=vrrp3: VRRPv2 always checksums the message alone');
  }
  if (vrrp && raw.flag('replay-protect')) {
    throw new UsageError(
      `--replay-protect is for CARP: ${protocol === 'vrrp3' ? 'VRRPv3 adverts carry no counter and no digest' : "VRRPv2 adverts carry no counter (PASS is a plain-text password, not a digest)"}, so a replayed one cannot be told from a fresh one`,
    );
  }
  const peers = readPeers(raw, occurrences, [srcip4, srcip6]);
  if (peers.some((p) => p.family === 6) && (srcip6 === undefined || srcip6 === UNSPECIFIED_IPV6)) {
    throw new UsageError(`--peer with an IPv6 address needs an IPv6 --srcip: the address of ${iface} the peers send their adverts to`);
  }
  if (peers.some((p) => p.family === 4) && !has4) {
    throw new UsageError('--peer with an IPv4 address needs an IPv4 --addr (the IPv4 adverts go to the IPv4 peers)');
  }
  // VRRP preempts unless told not to (RFC 5798, keepalived); CARP only when told to (ucarp -P).
  const preempt = raw.given('preempt') ? raw.flag('preempt') : vrrp;

  for (const vip of [...vips, ...excludedVips]) {
    if ((srcip4 !== undefined && sameAddress(vip.address, srcip4)) || (srcip6 !== undefined && sameAddress(vip.address, srcip6))) {
      throw invalidValue(vips.includes(vip) ? '--addr' : '--addr-excluded', "different from --srcip (the virtual address cannot be the host's own)", vip.address.text);
    }
  }

  const advbase = integerOption(raw, 'advbase', 0, 255);
  const advskew = integerOption(raw, 'advskew', 0, 254);
  if (!vrrp && advbase === 0 && advskew === 0) {
    throw new UsageError('--advbase and --advskew cannot both be 0: the advertisement interval would be zero');
  }
  const deadratio = integerOption(raw, 'deadratio', 1, 1000);

  const upscript = scriptOption(raw, 'upscript', system);
  const downscript = scriptOption(raw, 'downscript', system);

  const timeoutText = required(raw, 'script-timeout');
  const scriptTimeoutMs = parseSecondsToMs(timeoutText, MAX_SCRIPT_TIMEOUT_SECONDS);
  if (scriptTimeoutMs === undefined) {
    throw invalidValue('--script-timeout', expectsOf('script-timeout'), timeoutText);
  }

  const manageVip = raw.flag('manage-vip');
  const vipLabel = raw.string('vip-label');
  if (vipLabel !== undefined) {
    if (!manageVip) {
      throw new UsageError(
        '--vip-label cannot be used with --no-manage-vip: the scripts then own the address and its label',
      );
    }
    const problem = labelProblem(vipLabel, iface);
    if (problem !== undefined) {
      throw invalidValue('--vip-label', problem, vipLabel);
    }
  }

  const group = raw.string('group');
  if (group !== undefined && !isSectionName(group)) {
    throw invalidValue('--group', expectsOf('group'), group);
  }

  const vhostName = name ?? defaultVhostName(iface, vhid);
  const health = buildHealth(raw, system, vhostName, iface, occurrences, named);

  const stateNotify: Partial<Record<'MASTER' | 'BACKUP' | 'FAULT' | 'STOP', readonly string[]>> = {};
  for (const state of ['MASTER', 'BACKUP', 'FAULT', 'STOP'] as const) {
    const argv = commandOption(raw, `notify-${state.toLowerCase()}`, system);
    if (argv !== undefined) stateNotify[state] = Object.freeze(argv);
  }
  const keepalivedNotify = commandOption(raw, 'keepalived-notify', system);
  const garpRepeatText = raw.string('garp-master-repeat');
  const garpRepeat = garpRepeatText === undefined ? (vrrp ? 5 : 1) : parseDecimalInteger(garpRepeatText, 1, 255);
  if (garpRepeat === undefined) throw invalidValue('--garp-master-repeat', expectsOf('garp-master-repeat'), garpRepeatText!);
  const garpDelayText = raw.string('garp-master-delay');
  const garpDelayMs =
    garpDelayText === undefined ? (vrrp ? 5000 : undefined) : garpDelayText === '0' ? 0 : parseSecondsToMs(garpDelayText, MAX_CHECK_SECONDS);
  if (garpDelayText !== undefined && garpDelayMs === undefined) throw invalidValue('--garp-master-delay', expectsOf('garp-master-delay'), garpDelayText);
  const vhost: VhostConfig = {
    name: vhostName,
    interface: iface,
    srcip: (srcip4 ?? srcip6)!,
    mcast: has4 ? mcast4 : mcast6,
    vhid,
    protocol,
    password,
    priority,
    advertIntCs,
    peers,
    initialMaster: initialText === 'master',
    v3ChecksumAsV2: raw.flag('v3-checksum-as-v2'),
    preempt,
    neutral: raw.flag('neutral'),
    vips,
    vipLabel,
    manageVip,
    advbase,
    advskew,
    deadratio,
    upscript,
    downscript,
    xparam: raw.string('xparam'),
    shutdown: raw.flag('shutdown'),
    ignoreIfState: raw.flag('ignoreifstate'),
    noMcast,
    scriptTimeoutMs,
    group,
    ...health,
    stateNotify: Object.freeze(stateNotify),
    keepalivedNotify: keepalivedNotify === undefined ? undefined : Object.freeze(keepalivedNotify),
    garpRepeat,
    garpDelayMs,
    excludedVips: Object.freeze(excludedVips),
    replayProtect: raw.flag('replay-protect'),
  };
  // The object is frozen; the password Buffer cannot be (V8 refuses to freeze typed arrays).
  if (!(has4 && has6)) return [Object.freeze({ ...vhost, vips: Object.freeze(vips), peers: Object.freeze(peers) })];
  return splitByFamily(vhost, { srcip6: srcip6!, mcast6 });
}

/**
 * A vhost with IPv4 and IPv6 addresses runs as two, one per family, as OpenBSD's carp sends an
 * advert per family and keepalived needs a VRRPv3 instance per family: the IPv4 one keeps the
 * name, the IPv6 one is `<name>-ipv6`, both with the same vhid and in one group (the vhost's
 * own, or an implicit one named after it), so they change state together. CARP's digest
 * covers all the addresses in both (OpenBSD's carp_hmac_prepare_ctx). The scripts and the
 * notify programs run once, from the IPv4 half, as they would for the one vhost.
 */
function splitByFamily(vhost: VhostConfig, six: { srcip6: IpAddress; mcast6: IpAddress }): VhostConfig[] {
  const all = Object.freeze([...vhost.vips, ...vhost.excludedVips]);
  const group = vhost.group ?? `${vhost.name} (dual-stack)`;
  const half = (family: 4 | 6): VhostConfig => {
    const of = (list: readonly VipAddress[]) => Object.freeze(list.filter((v) => v.address.family === family));
    const base: VhostConfig = {
      ...vhost,
      vips: of(vhost.vips),
      excludedVips: of(vhost.excludedVips),
      peers: Object.freeze(vhost.peers.filter((p) => p.family === family)),
      group,
      digestVips: all,
    };
    if (family === 4) return Object.freeze(base);
    return Object.freeze({
      ...base,
      name: `${vhost.name}-ipv6`,
      srcip: six.srcip6,
      mcast: six.mcast6,
      upscript: undefined,
      downscript: undefined,
      notify: undefined,
      stateNotify: Object.freeze({}),
      keepalivedNotify: undefined,
    });
  };
  return [half(4), half(6)];
}

/** keepalived's auth_pass limit: the 8 bytes of VRRPv2's auth data. */
const MAX_VRRP_PASSWORD_BYTES = 8;

/** VRRPv2: PASS authentication when --pass is given (at most 8 bytes), none otherwise; VRRPv3 has none. */
function readVrrpPassword(raw: RawOptions, protocol: Protocol): Buffer {
  const pass = raw.string('pass');
  if (pass === undefined) return Buffer.alloc(0);
  if (protocol === 'vrrp3') {
    throw new UsageError('--pass cannot be used with --protocol=vrrp3: VRRPv3 has no authentication (RFC 5798)');
  }
  const password = Buffer.from(pass, 'utf8');
  if (password.length === 0 || password.length > MAX_VRRP_PASSWORD_BYTES || password.includes(0)) {
    throw new UsageError(
      `--pass must be a VRRPv2 PASS password of 1 to ${MAX_VRRP_PASSWORD_BYTES} bytes without NUL (keepalived's auth_pass), got ${password.length} bytes`,
    );
  }
  return password;
}

/** --advert-int in centiseconds: whole seconds 1..255 for VRRPv2, 0.01..40.95 s for VRRPv3. */
function readAdvertInterval(raw: RawOptions, protocol: Protocol): number {
  const text = required(raw, 'advert-int');
  if (protocol === 'vrrp2') {
    const seconds = parseDecimalInteger(text, 1, 255);
    if (seconds === undefined) throw invalidValue('--advert-int', 'whole seconds from 1 to 255 for VRRPv2 (VRRPv3 takes hundredths)', text);
    return seconds * 100;
  }
  const match = /^([0-9]{1,2})(?:\.([0-9]{1,2}))?$/.exec(text);
  const cs = match === null ? NaN : Number(match[1]) * 100 + Number((match[2] ?? '0').padEnd(2, '0'));
  if (!Number.isInteger(cs) || cs < 1 || cs > 4095) {
    throw invalidValue('--advert-int', protocol === 'vrrp3' ? 'a number of seconds from 0.01 to 40.95 for VRRPv3' : expectsOf('advert-int'), text);
  }
  return cs;
}

/** Every --peer: unicast addresses of other nodes, each once, none our own. */
function readPeers(raw: RawOptions, occurrences: readonly Occurrence[], own: readonly (IpAddress | undefined)[]): IpAddress[] {
  const given = occurrences.some((o) => o.option.name === 'peer')
    ? allValues(occurrences, 'peer').map(({ value }) => value)
    : raw.given('peer')
      ? [raw.string('peer')!]
      : [];
  const peers: IpAddress[] = [];
  for (const text of given) {
    const peer = parseIpAddress(text);
    if (peer === undefined || !isUnicastHost(peer)) throw invalidValue('--peer', expectsOf('peer'), text);
    if (own.some((o) => o !== undefined && sameAddress(o, peer))) throw invalidValue('--peer', "another node's address, not our own --srcip", text);
    if (peers.some((p) => sameAddress(p, peer))) throw new UsageError(`--peer ${text} is given twice`);
    peers.push(peer);
  }
  return peers;
}

/**
 * One --addr value: an IPv4 or IPv6 host address with an optional prefix, and optionally
 * keepalived's `dev IF` and `label LABEL` after it (virtual_ipaddress lines). IPv4's default
 * prefix is /32 (ucarp's scripts), IPv6's /64 (the one an IPv6 subnet has).
 */
function parseVip(addr: string, vhostInterface: string, system: SystemProbe, option = '--addr'): VipAddress {
  const [cidr = '', ...rest] = addr.trim().split(/\s+/);
  let iface: string | undefined;
  let label: string | undefined;
  for (let i = 0; i < rest.length; i += 2) {
    const [word, value] = [rest[i], rest[i + 1]];
    if (value === undefined || (word !== 'dev' && word !== 'label') || (word === 'dev' ? iface : label) !== undefined) {
      throw invalidValue(option, `${expectsOf('addr-excluded')} (each at most once)`, addr);
    }
    if (word === 'dev') iface = value;
    else label = value;
  }
  const [text = '', prefixText, ...extra] = cidr.split('/');
  const address = parseIpAddress(text);
  if (address?.family === 6) {
    const prefix6 = prefixText === undefined ? 64 : parseDecimalInteger(prefixText, 1, 128);
    if (prefix6 === undefined || extra.length > 0) {
      throw invalidValue(option, 'an IPv6 address with an optional /prefix of 1 to 128, like 2001:db8::50/64', addr);
    }
    if (!isUnicastHost(address)) {
      throw invalidValue(option, 'a unicast IPv6 address (not ::, ::1 or multicast)', addr);
    }
    if (label !== undefined) {
      throw invalidValue(option, 'no "label" on an IPv6 address (Linux keeps labels for IPv4 only)', addr);
    }
    if (iface !== undefined && iface !== vhostInterface && (!isValidInterfaceName(iface) || system.interfaceIpv4Addresses(iface) === undefined)) {
      throw invalidValue(option, `"dev" naming an existing network interface`, addr);
    }
    const own6 = iface !== undefined && iface !== vhostInterface ? iface : undefined;
    return Object.freeze({ address, prefix: prefix6, ...(own6 !== undefined ? { interface: own6 } : {}) });
  }
  const prefix = prefixText === undefined ? 32 : parseDecimalInteger(prefixText, 0, 32);
  if (address === undefined || prefix === undefined || extra.length > 0) {
    throw invalidValue(option, 'an IPv4 address with an optional /prefix of 0 to 32, like 10.1.1.252/24 (or IPv6, like 2001:db8::50/64)', addr);
  }
  // 0.0.0.0/8, multicast and the reserved 240.0.0.0/4 can never be a host's address.
  if (!isUnicastHost(address)) {
    throw invalidValue(option, 'a unicast IPv4 address (first number 1 to 223)', addr);
  }
  if (iface !== undefined && iface !== vhostInterface) {
    if (!isValidInterfaceName(iface) || system.interfaceIpv4Addresses(iface) === undefined) {
      throw invalidValue(option, `"dev" naming an existing network interface`, addr);
    }
  }
  const own = iface !== undefined && iface !== vhostInterface ? iface : undefined;
  if (label !== undefined) {
    const problem = labelProblem(label, own ?? vhostInterface);
    if (problem !== undefined) throw invalidValue(option, `a "label" that is ${problem}`, addr);
  }
  return Object.freeze({ address, prefix, ...(own !== undefined ? { interface: own } : {}), ...(label !== undefined ? { label } : {}) });
}

/**
 * The HMAC key, from --pass or from the first line of --passfile. Messages give the length or
 * the kind of problem, never the bytes.
 */
function readPassword(raw: RawOptions, system: SystemProbe): Buffer {
  const pass = raw.string('pass');
  const passfile = raw.string('passfile');
  if (pass !== undefined && passfile !== undefined) {
    throw new UsageError('--pass and --passfile cannot both be given: choose one source for the password');
  }
  if (pass === undefined && passfile === undefined) {
    throw missingOption('--pass or --passfile', 'a password of 1 to 19 bytes');
  }

  let text: string;
  let source: string;
  if (passfile !== undefined) {
    const path = resolve(system.cwd(), passfile);
    try {
      // As ucarp, only the '\n' is removed: a '\r' from a CRLF file stays in the key, so carpd
      // and ucarp reading the same file agree on the password.
      text = system.readFirstLine(path);
    } catch (error) {
      throw invalidValue('--passfile', 'a readable file', passfile, (error as Error).message);
    }
    source = `--passfile ${JSON.stringify(passfile)} (first line)`;
  } else {
    text = pass as string;
    source = '--pass';
  }

  const password = Buffer.from(text, 'utf8');
  // ucarp's key ends at the first NUL (it is a C string); a NUL usually means a UTF-16 file.
  if (password.includes(0)) {
    throw new UsageError(`${source} must not contain a NUL byte (is the file UTF-16?)`);
  }
  // Bytes that are not UTF-8 were replaced with U+FFFD when read; the key would then differ
  // from the one ucarp builds from the raw bytes.
  if (text.includes('\uFFFD')) {
    throw new UsageError(`${source} must be valid UTF-8 text (is the file UTF-16?)`);
  }
  const limit = `${source} must be a password of 1 to ${MAX_PASSWORD_BYTES} bytes (ucarp's limit)`;
  if (password.length === 0) {
    throw new UsageError(`${limit}, got an empty one`);
  }
  if (password.length > MAX_PASSWORD_BYTES) {
    throw new UsageError(`${limit}, got ${password.length} bytes`);
  }
  return password;
}

/**
 * An up/down script: must exist and be executable now. Relative paths are taken from the
 * current directory, as ucarp's execl() does, and stored absolute so that a later change of
 * directory (ucarp's --daemonize does chdir("/")) cannot make them point elsewhere.
 */
function scriptOption(raw: RawOptions, name: 'upscript' | 'downscript' | 'notify', system: SystemProbe): string | undefined {
  const given = raw.string(name);
  if (given === undefined) {
    return undefined;
  }
  const path = resolve(system.cwd(), given);
  if (given === '' || !system.isExecutableFile(path)) {
    const note = isAbsolute(given) ? undefined : `looked for ${path}`;
    throw invalidValue(`--${name}`, 'an existing executable file', given, note);
  }
  return path;
}

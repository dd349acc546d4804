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
import { isAbsolute, resolve } from 'node:path';
import type { Config } from '../config.js';
import { invalidValue, missingOption, UsageError } from './errors.js';
import { parseConfigFile } from './config-file.js';
import { tokenize, type Occurrence } from './getopt.js';
import { helpText } from './help.js';
import { OPTIONS_BY_LONG_NAME } from './options.js';
import type { SystemProbe } from './system.js';
import {
  isMulticast,
  isValidInterfaceName,
  parseDecimalInteger,
  parseFacility,
  parseIpv4,
  parseSecondsToMs,
} from './values.js';
import { readWithYargs, type RawOptions } from './yargs.js';

export type ParseOutcome =
  | {
      readonly kind: 'run';
      readonly config: Config;
      /** Not errors, but worth a line on stderr (a password in a file every user can read). */
      readonly warnings: readonly string[];
    }
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version'; readonly text: string };

/** ucarp's limit: the key buffer is 20 bytes including the terminating NUL ("Password too long"). */
const MAX_PASSWORD_BYTES = 19;
const MAX_SCRIPT_TIMEOUT_SECONDS = 3600;
/** IFNAMSIZ - 1: the kernel's limit for device names and address labels alike. */
const MAX_LABEL_BYTES = 15;

export function parseCommandLine(argv: readonly string[], system: SystemProbe): ParseOutcome {
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
  const fromCommandLine = occurrences.filter((occurrence) => occurrence.option.name !== 'config');
  const all = [...readConfigOption(occurrences, system, warnings), ...fromCommandLine];
  try {
    return { kind: 'run', config: buildConfig(readWithYargs(all), system), warnings };
  } catch (error) {
    throw error instanceof UsageError ? withOrigin(error, all) : error;
  }
}

/**
 * The options of the --config file (the last one given, as for any repeated option), to be
 * placed before the command line's so that the command line overrides the file.
 */
function readConfigOption(occurrences: readonly Occurrence[], system: SystemProbe, warnings: string[]): Occurrence[] {
  const given = occurrences.filter((occurrence) => occurrence.option.name === 'config').at(-1)?.value;
  if (given === undefined) {
    return [];
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
  return [...content.occurrences];
}

/**
 * A value that came from the config file is named there: "--vhid must be ..., got "300"" gains
 * "(set in /etc/carpd/a.conf line 3)", so the operator looks in the right place.
 */
function withOrigin(error: UsageError, occurrences: readonly Occurrence[]): UsageError {
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

function buildConfig(raw: RawOptions, system: SystemProbe): Config {
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

  const srcip = required(raw, 'srcip');
  if (parseIpv4(srcip) === undefined) {
    throw invalidValue('--srcip', 'a dotted-quad IPv4 address, like 10.1.1.1', srcip);
  }
  if (!interfaceAddresses.includes(srcip)) {
    const has = interfaceAddresses.length === 0 ? 'it has none' : `it has ${interfaceAddresses.join(', ')}`;
    throw invalidValue('--srcip', `one of ${iface}'s IPv4 addresses (${has})`, srcip);
  }

  const noMcast = raw.flag('nomcast');
  const mcast = required(raw, 'mcast');
  const mcastOctets = parseIpv4(mcast);
  if (mcastOctets === undefined) {
    throw invalidValue('--mcast', 'a dotted-quad IPv4 address, like 224.0.0.18', mcast);
  }
  if (!isMulticast(mcastOctets)) {
    // Even with --nomcast, see the header comment; for broadcast frames --nomcast is the
    // option, not a broadcast address here.
    const hint = noMcast ? ' (--nomcast already sends the adverts in broadcast frames)' : ' (for broadcast frames add --nomcast)';
    throw invalidValue('--mcast', `a multicast group in 224.0.0.0/4${hint}`, mcast);
  }

  const vhid = integerOption(raw, 'vhid', 1, 255);
  const password = readPassword(raw, system);

  const addr = required(raw, 'addr');
  const [vip = '', prefixText, ...extra] = addr.split('/');
  const vipOctets = parseIpv4(vip);
  const vipPrefix = prefixText === undefined ? 32 : parseDecimalInteger(prefixText, 0, 32);
  if (vipOctets === undefined || vipPrefix === undefined || extra.length > 0) {
    throw invalidValue('--addr', 'an IPv4 address with an optional /prefix of 0 to 32, like 10.1.1.252/24', addr);
  }
  // 0.0.0.0/8, multicast and the reserved 240.0.0.0/4 can never be a host's address.
  if (vipOctets[0] < 1 || vipOctets[0] > 223) {
    throw invalidValue('--addr', 'a unicast IPv4 address (first number 1 to 223)', addr);
  }
  if (vip === srcip) {
    throw invalidValue('--addr', "different from --srcip (the virtual address cannot be the host's own)", addr);
  }

  const advbase = integerOption(raw, 'advbase', 0, 255);
  const advskew = integerOption(raw, 'advskew', 0, 254);
  if (advbase === 0 && advskew === 0) {
    throw new UsageError('--advbase and --advskew cannot both be 0: the advertisement interval would be zero');
  }
  const deadratio = integerOption(raw, 'deadratio', 1, 1000);

  const upscript = scriptOption(raw, 'upscript', system);
  const downscript = scriptOption(raw, 'downscript', system);

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
    // iproute2 refuses a label that does not start with the device name, and the kernel stores
    // at most IFNAMSIZ - 1 bytes.
    if (!vipLabel.startsWith(iface) || Buffer.byteLength(vipLabel) > MAX_LABEL_BYTES || /[\s/]/.test(vipLabel)) {
      const expected = `a label starting with "${iface}", at most 15 characters, no spaces or "/"`;
      throw invalidValue('--vip-label', expected, vipLabel);
    }
  }

  const config: Config = {
    interface: iface,
    srcip,
    mcast,
    vhid,
    password,
    preempt: raw.flag('preempt'),
    neutral: raw.flag('neutral'),
    vip,
    vipPrefix,
    vipLabel,
    manageVip,
    advbase,
    advskew,
    deadratio,
    upscript,
    downscript,
    xparam: raw.string('xparam'),
    shutdown: raw.flag('shutdown'),
    debug: raw.flag('debug'),
    facility,
    daemonize: raw.flag('daemonize'),
    ignoreIfState: raw.flag('ignoreifstate'),
    noMcast,
    pidfile,
    scriptTimeoutMs,
  };
  // The object is frozen; the password Buffer cannot be (V8 refuses to freeze typed arrays).
  return Object.freeze(config);
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
function scriptOption(raw: RawOptions, name: 'upscript' | 'downscript', system: SystemProbe): string | undefined {
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

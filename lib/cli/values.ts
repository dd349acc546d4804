/**
 * Pure checks for the shapes of option values. Each returns the parsed value, or undefined
 * when the text is not of that shape; the caller owns the message.
 */

/**
 * A plain decimal integer: digits only, no sign, no leading zero. Stricter than ucarp on
 * purpose: ucarp reads numbers with strtoul(…, 0), so "010" is 8, "0x10" is 16, and "1.5" or
 * "abc" silently become 1 or 0. Rejecting all of these means no command line carpd accepts can
 * mean something different under ucarp.
 */
export function parseDecimalInteger(text: string, min: number, max: number): number | undefined {
  if (!/^(0|[1-9][0-9]{0,9})$/.test(text)) {
    return undefined;
  }
  const value = Number(text);
  return value >= min && value <= max ? value : undefined;
}

/**
 * Strict dotted quad, as inet_pton(AF_INET) takes it: four decimal parts 0..255, no leading
 * zeros (which some parsers read as octal), nothing else.
 */
export function parseIpv4(text: string): readonly [number, number, number, number] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) {
    return undefined;
  }
  const octets = parts.map((part) => parseDecimalInteger(part, 0, 255));
  if (octets.some((octet) => octet === undefined)) {
    return undefined;
  }
  return octets as unknown as readonly [number, number, number, number];
}

/** 224.0.0.0/4. */
export function isMulticast(octets: readonly number[]): boolean {
  const first = octets[0] ?? 0;
  return first >= 224 && first <= 239;
}

/**
 * Seconds with an optional decimal fraction ("5", "0.5", "2.25"), returned in whole
 * milliseconds; undefined for anything else, or when out of (0, max] once rounded.
 */
export function parseSecondsToMs(text: string, maxSeconds: number): number | undefined {
  if (!/^[0-9]{1,9}(\.[0-9]{1,9})?$/.test(text)) {
    return undefined;
  }
  const ms = Math.round(Number(text) * 1000);
  return ms >= 1 && ms <= maxSeconds * 1000 ? ms : undefined;
}

/**
 * What the Linux kernel accepts as a device name (dev_valid_name): 1..15 bytes (IFNAMSIZ - 1),
 * not "." or "..", no '/', ':' or whitespace.
 */
export function isValidInterfaceName(name: string): boolean {
  return (
    name !== '' &&
    Buffer.byteLength(name) <= 15 &&
    name !== '.' &&
    name !== '..' &&
    !/[/:\s]/.test(name)
  );
}

/**
 * syslog facility names as glibc's facilitynames table spells them, matched without regard to
 * case as ucarp does (strcasecmp). "security" is glibc's old name for auth. ("mark" is in that
 * table too, but it is syslogd's internal timestamp facility, not one to log under.)
 */
const FACILITIES: ReadonlyMap<string, string> = new Map([
  ...[
    'auth',
    'authpriv',
    'cron',
    'daemon',
    'ftp',
    'kern',
    'lpr',
    'mail',
    'news',
    'syslog',
    'user',
    'uucp',
    'local0',
    'local1',
    'local2',
    'local3',
    'local4',
    'local5',
    'local6',
    'local7',
    'none',
  ].map((name) => [name, name] as const),
  ['security', 'auth'],
]);

/** The canonical lower-case facility name, or undefined. */
export function parseFacility(text: string): string | undefined {
  return FACILITIES.get(text.toLowerCase());
}

/** Every facility name --facility accepts, for the man page and shell completion. */
export const FACILITY_NAMES: readonly string[] = [...FACILITIES.keys()];

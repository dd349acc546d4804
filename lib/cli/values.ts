/**
 * Pure checks for the shapes of option values. Each returns the parsed value, or undefined
 * when the text is not of that shape; the caller owns the message. Addresses are parsed in
 * lib/net/address.ts, interface names and labels checked in lib/net/names.ts.
 */
import { FACILITY_ALIASES, FACILITY_CODES, NO_SYSLOG } from '../facilities.js';


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

/** Accepted --facility spellings (matched without regard to case, as ucarp's strcasecmp) → canonical name. */
const FACILITIES: ReadonlyMap<string, string> = new Map([
  ...[...Object.keys(FACILITY_CODES), NO_SYSLOG].map((name) => [name, name] as const),
  ...Object.entries(FACILITY_ALIASES),
]);

/** The canonical lower-case facility name, or undefined. */
export function parseFacility(text: string): string | undefined {
  return FACILITIES.get(text.toLowerCase());
}

/** Every facility name --facility accepts, for the man page and shell completion. */
export const FACILITY_NAMES: readonly string[] = [...FACILITIES.keys()];

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

/**
 * A command line split into words as a POSIX shell would split a simple command, without any
 * expansion: blanks separate words; '...' is literal; "..." keeps blanks and takes \\, \", \$
 * and \` escaped; a backslash outside quotes escapes the next character. undefined for an
 * unterminated quote or a trailing backslash. Nothing is run through a shell: `sh -c '...'` is
 * how a check gets pipes or variables, as with keepalived's vrrp_script.
 */
export function splitWords(text: string): string[] | undefined {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end === -1) return undefined;
      word += text.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      inWord = true;
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && j + 1 < text.length && '\\"$`'.includes(text[j + 1]!)) j++;
        word += text[j];
      }
      if (j >= text.length) return undefined;
      i = j;
    } else if (c === '\\') {
      if (i + 1 >= text.length) return undefined;
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

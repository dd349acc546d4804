/**
 * --config=<file>: the same options as the command line, one per line, for systemd's
 * carpd@.service (/etc/carpd/<instance>.conf) and anyone who would rather not put a password
 * on a command line, where every user can read it in `ps`.
 *
 *   # comment (only at the start of a line: a password may contain '#')
 *   interface=eth0        name=value
 *   vhid 42               name value
 *   preempt               a bare switch; "preempt yes|no" (true/false, on/off, 1/0) also works
 *   no-manage-vip         the negated form of a negatable switch
 *
 * Names are the long option names (or their aliases) without dashes, spelled out in full: a
 * file read months later should not depend on which abbreviations are unique today. A value
 * runs to the end of the line with the blanks around it removed; quotes are kept as typed.
 * The file's options come before the command line's, and a repeated option keeps its last
 * value, so the command line overrides the file.
 */
import { UsageError } from './errors.js';
import { LONG_SPELLINGS, type Occurrence } from './getopt.js';
import { takesValue } from './options.js';

/** Options that make no sense inside a config file. */
const NOT_IN_FILE = new Set(['help', 'version', 'config']);

const TRUE_WORDS = new Set(['yes', 'true', 'on', '1']);
const FALSE_WORDS = new Set(['no', 'false', 'off', '0']);

/** `name`, then `=` (blanks around it allowed) or blanks or the end of the line, then the value. */
const LINE = /^(?:--)?([A-Za-z0-9][A-Za-z0-9-]*)(?:\s*=\s*|\s+|$)(.*)$/s;

export interface ConfigFileContent {
  readonly occurrences: readonly Occurrence[];
  /** The file sets pass= (the caller warns when other users can read it). */
  readonly holdsPassword: boolean;
}

/** Parses a config file's text; `path` is used in messages only. Throws one-line UsageErrors. */
export function parseConfigFile(path: string, text: string): ConfigFileContent {
  const occurrences: Occurrence[] = [];
  let holdsPassword = false;
  text.split('\n').forEach((rawLine, index) => {
    const origin = `${path} line ${index + 1}`;
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) {
      return;
    }
    const match = LINE.exec(line);
    const name = match?.[1];
    if (match === null || name === undefined) {
      // The line is not echoed: it may be a password that lost its "pass=".
      throw new UsageError(`${origin}: expected "name=value", "name value" or a switch name (line not shown)`);
    }
    const value = (match[2] ?? '').trim();
    const spelling = LONG_SPELLINGS.get(name);
    if (spelling === undefined) {
      // A lone unknown word may be a password whose "pass=" went missing: it is not echoed.
      const shown = line === name || line === `--${name}` ? 'a word (not shown: it may be a password)' : `"${name}"`;
      throw new UsageError(
        `${origin}: unknown option ${shown}; the file takes carpd's long option names in full, like interface=eth0`,
      );
    }
    const { option, negated } = spelling;
    if (NOT_IN_FILE.has(option.name)) {
      throw new UsageError(`${origin}: "${name}" cannot be used in a config file`);
    }
    if (takesValue(option)) {
      if (value === '') {
        throw new UsageError(`${origin}: ${name} needs a value: ${option.expects ?? `<${option.placeholder}>`}`);
      }
      occurrences.push({ option, negated: false, value, origin });
      holdsPassword ||= option.secret === true;
      return;
    }
    let on = true;
    if (value !== '') {
      const word = value.toLowerCase();
      if (!TRUE_WORDS.has(word) && !FALSE_WORDS.has(word)) {
        throw new UsageError(
          `${origin}: ${name} is a switch: write it alone or with yes or no, got ${JSON.stringify(value)}`,
        );
      }
      on = TRUE_WORDS.has(word);
    }
    // "preempt no" after "preempt" turns it off again (yargs reads it as --no-preempt), and
    // "no-manage-vip no" means "manage-vip".
    occurrences.push({ option, negated: on ? negated : !negated, value: undefined, origin });
  });
  return { occurrences, holdsPassword };
}

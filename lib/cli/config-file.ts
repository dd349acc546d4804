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
 *
 * Sections. One process can carry several virtual hosts, as one ip_carp.c interface carries a
 * list of them. A line `[vhost NAME]` starts a virtual host's section (blanks inside the
 * brackets are allowed: `[ vhost web ]`); NAME is 1 to 32 letters, digits, "-", "_" or ".",
 * and no two [vhost] sections share one. The lines before the first section are defaults for
 * every vhost, and the only place for the process settings (PROCESS_OPTIONS: debug, daemonize,
 * facility, pidfile, metrics), which belong to the process, not to one vhost.
 *
 *   interface=eth0        defaults: every vhost below starts from these
 *   pass=love
 *   addr=10.1.1.250/24
 *   pidfile=/run/carpd/a.pid
 *
 *   [vhost web]
 *   vhid=42
 *   addr=10.1.1.252/24    a section's addr lines replace the defaults' addr lines,
 *   addr=10.1.1.253/24    and several addr lines are several VIPs of the one vhost
 *
 *   [vhost db]            this one keeps the defaults' addr
 *   vhid=43
 *   advskew=100
 *
 * This file only reads the lines: every occurrence is kept in order, in the defaults or in its
 * section, each with its origin ("<path> line N"); what they add up to (which addr lines win,
 * a vhost without addr) is for the validation that builds the config. A file without sections
 * reads exactly as before: its lines are the defaults, and `occurrences` holds them.
 *
 * A new section kind is one entry in SECTION_KINDS: the keys it takes and how to name them.
 */
import { UsageError } from './errors.js';
import { LONG_SPELLINGS, type LongMatch, type Occurrence } from './getopt.js';
import { takesValue } from './options.js';

/** Options that make no sense inside a config file. */
const NOT_IN_FILE = new Set(['help', 'version', 'config', 'keepalived-conf', 'print-config']);

/**
 * Options that set up the process rather than one virtual host: allowed before the first
 * section only. parse.ts can apply the same rule to the command line.
 */
export const PROCESS_OPTIONS: ReadonlySet<string> = new Set(['debug', 'daemonize', 'facility', 'pidfile', 'metrics', 'script-user']);

const TRUE_WORDS = new Set(['yes', 'true', 'on', '1']);
const FALSE_WORDS = new Set(['no', 'false', 'off', '0']);

/** `name`, then `=` (blanks around it allowed) or blanks or the end of the line, then the value. */
const LINE = /^(?:--)?([A-Za-z0-9][A-Za-z0-9-]*)(?:\s*=\s*|\s+|$)(.*)$/s;

/** What a section's name (and a group's) may be, in the words the messages use. */
export const SECTION_NAME_RULE = 'letters, digits, "-", "_" or ".", at most 32';

/** A section's name: 1..32 of [A-Za-z0-9_.-]. */
export function isSectionName(text: string): boolean {
  return /^[A-Za-z0-9_.-]{1,32}$/.test(text);
}

/** The origin of a line of a config file, as every message and Occurrence names it. */
export function lineOrigin(path: string, lineNumber: number): string {
  return `${path} line ${lineNumber}`;
}

interface SectionKind {
  /** The keys its lines may set, by every spelling. */
  readonly keys: ReadonlyMap<string, LongMatch>;
  /** Ends the message for an unknown key: what the section takes instead. */
  readonly keysHint: string;
}

/** Every spelling of the options a file takes before its first section. */
const DEFAULTS_KEYS = LONG_SPELLINGS;

/** "interface=eth0" is what the file takes wherever options are read. */
const OPTIONS_HINT = "the file takes carpd's long option names in full, like interface=eth0";

/** A [check NAME] section's keys, keepalived's vrrp_script words, and the options they set. */
export const CHECK_SECTION_KEYS: Readonly<Record<string, string>> = Object.freeze({
  command: 'check',
  interval: 'check-interval',
  timeout: 'check-timeout',
  fall: 'check-fall',
  rise: 'check-rise',
  weight: 'check-weight',
});

/** The section kinds: `[<kind> NAME]`. */
const SECTION_KINDS = {
  vhost: {
    keys: new Map([...LONG_SPELLINGS].filter(([, { option }]) => !PROCESS_OPTIONS.has(option.name))),
    keysHint: OPTIONS_HINT,
  },
  check: {
    keys: new Map(
      Object.entries(CHECK_SECTION_KEYS).map(([key, name]): [string, LongMatch] => [key, LONG_SPELLINGS.get(name)!]),
    ),
    keysHint: `a [check] section takes ${Object.keys(CHECK_SECTION_KEYS).join(', ')}`,
  },
} as const satisfies Record<string, SectionKind>;

export type SectionKindName = keyof typeof SECTION_KINDS;

function isSectionKind(word: string): word is SectionKindName {
  return Object.hasOwn(SECTION_KINDS, word);
}

/** "[vhost NAME]" (later "[vhost NAME] or [check NAME]"), for the unknown-kind message. */
const KINDS_ACCEPTED = Object.keys(SECTION_KINDS)
  .map((kind) => `[${kind} NAME]`)
  .join(' or ');

export interface ConfigSection {
  readonly kind: SectionKindName;
  readonly name: string;
  /** Where its header is ("/etc/carpd/a.conf line 7"). */
  readonly origin: string;
  /** Its lines in order; empty for a section with a header only. */
  readonly occurrences: readonly Occurrence[];
}

export interface ConfigFileContent {
  /** The lines before the first section (all of a flat file's): what old callers read. */
  readonly occurrences: readonly Occurrence[];
  /** Some line anywhere sets pass= (the caller warns when other users can read it). */
  readonly holdsPassword: boolean;
  /** The file has at least one section. */
  readonly sectioned: boolean;
  /** The lines before the first section: the same list as `occurrences`. */
  readonly defaults: readonly Occurrence[];
  /** The sections in file order. */
  readonly sections: readonly ConfigSection[];
}

/** A section being filled while the file is read. */
interface OpenSection {
  readonly kind: SectionKindName;
  readonly name: string;
  readonly origin: string;
  readonly occurrences: Occurrence[];
}

/** Parses a config file's text; `path` is used in messages only. Throws one-line UsageErrors. */
export function parseConfigFile(path: string, text: string): ConfigFileContent {
  const defaults: Occurrence[] = [];
  const sections: OpenSection[] = [];
  /** "vhost web" → the header's line number, to name the first of two. */
  const headerLines = new Map<string, number>();
  let holdsPassword = false;
  text.split('\n').forEach((rawLine, index) => {
    const origin = lineOrigin(path, index + 1);
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) {
      return;
    }
    if (line.startsWith('[')) {
      const section = readHeader(line, origin);
      const key = `${section.kind} ${section.name}`;
      const firstLine = headerLines.get(key);
      if (firstLine !== undefined) {
        throw new UsageError(
          `${origin}: a second [${section.kind} ${section.name}] section; the first is at line ${firstLine}`,
        );
      }
      headerLines.set(key, index + 1);
      sections.push(section);
      return;
    }
    const current = sections.at(-1);
    const occurrence = readOption(line, origin, current, sections[0]?.kind);
    holdsPassword ||= occurrence.option.secret === true;
    (current?.occurrences ?? defaults).push(occurrence);
  });
  const frozenDefaults = Object.freeze(defaults);
  return {
    occurrences: frozenDefaults,
    holdsPassword,
    sectioned: sections.length > 0,
    defaults: frozenDefaults,
    sections: Object.freeze(
      sections.map(({ kind, name, origin, occurrences }) =>
        Object.freeze({ kind, name, origin, occurrences: Object.freeze(occurrences) }),
      ),
    ),
  };
}

/** `[ kind NAME ]` → an empty section, or the one-line reason it is not a header. */
function readHeader(line: string, origin: string): OpenSection {
  if (!line.endsWith(']')) {
    // Not echoed, like any line that is not "name=value": it may be a password.
    throw new UsageError(`${origin}: expected a section header like [vhost web] (line not shown)`);
  }
  const words = line.slice(1, -1).trim().split(/\s+/);
  const [kind = '', ...nameWords] = words;
  if (kind === '') {
    throw new UsageError(`${origin}: empty section header "[]"; sections are ${KINDS_ACCEPTED}`);
  }
  if (!isSectionKind(kind)) {
    // A lone "[word]" may be a password with brackets: it is not echoed.
    const shown = nameWords.length === 0 ? 'a word (not shown: it may be a password)' : `"${kind}"`;
    throw new UsageError(`${origin}: unknown section kind ${shown}; sections are ${KINDS_ACCEPTED}`);
  }
  if (nameWords.length === 0) {
    throw new UsageError(`${origin}: [${kind}] needs a name, like [${kind} web]: ${SECTION_NAME_RULE}`);
  }
  const name = nameWords.join(' ');
  if (!isSectionName(name)) {
    throw new UsageError(`${origin}: the ${kind} name must be ${SECTION_NAME_RULE}, got ${JSON.stringify(name)}`);
  }
  return { kind, name, origin, occurrences: [] };
}

/**
 * One "name=value" line, read against the keys of the section it is in (`section` undefined:
 * before the first section, where `firstKind` is the kind of the section that will end it).
 */
function readOption(
  line: string,
  origin: string,
  section: OpenSection | undefined,
  firstKind: SectionKindName | undefined,
): Occurrence {
  const match = LINE.exec(line);
  const name = match?.[1];
  if (match === null || name === undefined) {
    // The line is not echoed: it may be a password that lost its "pass=".
    throw new UsageError(`${origin}: expected "name=value", "name value" or a switch name (line not shown)`);
  }
  const value = (match[2] ?? '').trim();
  const kind = section === undefined ? undefined : SECTION_KINDS[section.kind];
  const spelling = (kind?.keys ?? DEFAULTS_KEYS).get(name);
  if (spelling === undefined) {
    const processOption = LONG_SPELLINGS.get(name)?.option.name;
    if (section !== undefined && processOption !== undefined && PROCESS_OPTIONS.has(processOption)) {
      throw new UsageError(
        `${origin}: "${name}" is a process setting: put it before the first [${firstKind ?? section.kind}] section`,
      );
    }
    // A lone unknown word may be a password whose "pass=" went missing: it is not echoed.
    const shown = line === name || line === `--${name}` ? 'a word (not shown: it may be a password)' : `"${name}"`;
    throw new UsageError(`${origin}: unknown option ${shown}; ${kind?.keysHint ?? OPTIONS_HINT}`);
  }
  const { option, negated } = spelling;
  if (NOT_IN_FILE.has(option.name)) {
    throw new UsageError(`${origin}: "${name}" cannot be used in a config file`);
  }
  if (takesValue(option)) {
    if (value === '') {
      throw new UsageError(`${origin}: ${name} needs a value: ${option.expects ?? `<${option.placeholder}>`}`);
    }
    return { option, negated: false, value, origin };
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
  return { option, negated: on ? negated : !negated, value: undefined, origin };
}

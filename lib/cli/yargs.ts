/**
 * The only file that imports yargs. getopt.ts has already split argv the way ucarp does;
 * the occurrences are rewritten as unambiguous `--name=value` / `--name` / `--no-name`
 * arguments and yargs applies the option table: types, defaults, negation, last-value-wins
 * for repeats, and strict checking as a second net behind the tokenizer.
 *
 * yargs is kept from printing or exiting: no built-in --help/--version, exitProcess(false),
 * and every complaint becomes a thrown UsageError.
 */
import yargs from 'yargs';
import { UsageError } from './errors.js';
import type { Occurrence } from './getopt.js';
import { OPTIONS, takesValue } from './options.js';

/** Typed read access to what yargs produced; values are still unchecked strings. */
export interface RawOptions {
  /** The last value given, else the table default, else undefined. */
  string(name: string): string | undefined;
  flag(name: string): boolean;
  /** Whether the option was given at all (not just defaulted). */
  given(name: string): boolean;
}

/**
 * yargs-parser strips one pair of surrounding quotes from every value ('"secret"' → secret), with
 * no setting to stop it; that would silently change a password ucarp takes byte for byte. Each
 * value therefore travels with this character in front, which yargs leaves alone, and loses it
 * on the way out.
 */
const VALUE_GUARD = '\u{E000}';

/** Options yargs must not know: they are answered before yargs runs (see parse.ts). */
const ANSWERED_EARLIER = new Set(['help', 'version', 'config', 'keepalived-conf', 'print-config']);

export function readWithYargs(occurrences: readonly Occurrence[]): RawOptions {
  const givenNames = new Set(occurrences.map((o) => o.option.name));
  const args = occurrences.map(({ option, negated, value }) => {
    if (value !== undefined) {
      return `--${option.name}=${VALUE_GUARD}${value}`;
    }
    return negated ? `--no-${option.name}` : `--${option.name}`;
  });

  const definitions = Object.fromEntries(
    OPTIONS.filter((option) => !ANSWERED_EARLIER.has(option.name)).map((option) => [
      option.name,
      takesValue(option)
        ? // Strings, always: yargs would turn "0x10" into 16 and "1.5" into 1.5 before we look.
          {
            type: 'string' as const,
            ...(option.default !== undefined ? { default: `${VALUE_GUARD}${String(option.default)}` } : {}),
          }
        : { type: 'boolean' as const, default: option.default ?? false },
    ]),
  );

  const parsed = yargs(args)
    .parserConfiguration({
      'camel-case-expansion': false,
      'dot-notation': false,
      'parse-numbers': false,
      'parse-positional-numbers': false,
      // getopt semantics: a repeated option keeps its last value.
      'duplicate-arguments-array': false,
      'boolean-negation': true,
      'short-option-groups': false,
      'greedy-arrays': false,
    })
    .options(definitions)
    .strict()
    .help(false)
    .version(false)
    .locale('en')
    .exitProcess(false)
    .fail((message, error) => {
      throw new UsageError(message ?? error.message);
    })
    .parseSync() as Record<string, unknown>;

  return {
    string(name) {
      const value = parsed[name];
      if (typeof value !== 'string') {
        return undefined;
      }
      if (!value.startsWith(VALUE_GUARD)) {
        throw new Error(`internal: yargs returned an unguarded value for --${name}`);
      }
      return value.slice(VALUE_GUARD.length);
    },
    flag(name) {
      return parsed[name] === true;
    },
    given: (name) => givenNames.has(name),
  };
}

/**
 * `base` with later occurrences laid over it, as if they came after base's on one line (the
 * last value wins, `no-x` turns a switch off). A sectioned config reads its defaults through
 * yargs once and lays each section over them: a hundred vhosts do not cost a hundred yargs runs.
 * The occurrences come from the option table already (tokenizer or config-file parser).
 */
export function overlay(base: RawOptions, occurrences: readonly Occurrence[]): RawOptions {
  const values = new Map<string, string>();
  const flags = new Map<string, boolean>();
  for (const occurrence of occurrences) {
    if (occurrence.value !== undefined) values.set(occurrence.option.name, occurrence.value);
    else flags.set(occurrence.option.name, !occurrence.negated);
  }
  return {
    string: (name) => (values.has(name) ? values.get(name) : base.string(name)),
    flag: (name) => flags.get(name) ?? base.flag(name),
    given: (name) => values.has(name) || flags.has(name) || base.given(name),
  };
}

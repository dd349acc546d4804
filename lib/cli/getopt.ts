/**
 * Splits argv the way ucarp's getopt_long does, so every command line ucarp accepts means the
 * same thing here. yargs cannot do this alone: it reads `-ieth0` as the flags -i -e -t -h -0,
 * and it will not take `-p -secret` (a password starting with a dash) as a value.
 *
 * getopt_long rules reproduced:
 *  - `-i eth0` and `-ieth0`; flags bundle (`-PzB`), and a value letter ends the bundle (`-Pieth0`);
 *  - `--interface eth0` and `--interface=eth0`;
 *  - an option that takes a value takes the next argument whatever it looks like (`-p --x`);
 *  - a long name may be abbreviated to any unique prefix (ucarp users write `--mcast`, which
 *    only ever worked as an abbreviation of ucarp's `--mcastip`);
 *  - options and other arguments may be mixed; `--` ends the options.
 * Departures: ucarp prints its help and exits 0 on an unknown option, and ignores stray
 * arguments; carpd reports both as usage errors.
 *
 * The result is a list of occurrences in order; nothing here judges values.
 */
import { UsageError } from './errors.js';
import { OPTIONS_BY_LONG_NAME, OPTIONS_BY_SHORT_NAME, takesValue, type OptionSpec } from './options.js';

export interface Occurrence {
  readonly option: OptionSpec;
  /** `--no-<name>` was used (negatable flags only). */
  readonly negated: boolean;
  /** The value, for options that take one. */
  readonly value: string | undefined;
  /** Where a config file set it ("/etc/carpd/a.conf line 3"); absent for the command line. */
  readonly origin?: string;
}

export interface TokenizedArgs {
  readonly occurrences: readonly Occurrence[];
  /** Every syntax problem, in argv order; the caller reports the first (help still wins). */
  readonly problems: readonly UsageError[];
}

export interface LongMatch {
  readonly option: OptionSpec;
  readonly negated: boolean;
}

/** Every spelling a long option can be matched by, including `no-<name>` for negatable ones. */
export const LONG_SPELLINGS: ReadonlyMap<string, LongMatch> = new Map<string, LongMatch>([
  ...[...OPTIONS_BY_LONG_NAME].map(([name, option]): [string, LongMatch] => [name, { option, negated: false }]),
  ...[...OPTIONS_BY_LONG_NAME.values()]
    .filter((option) => option.negatable === true)
    .map((option): [string, LongMatch] => [`no-${option.name}`, { option, negated: true }]),
]);

export function tokenize(argv: readonly string[]): TokenizedArgs {
  const occurrences: Occurrence[] = [];
  const problems: UsageError[] = [];
  // True from a password value until the next option: a stray argument there is most likely
  // the rest of an unquoted password with a space in it, so it must not be echoed.
  let afterPassword = false;
  let onlyPositionals = false;

  const positional = (arg: string): void => {
    problems.push(
      afterPassword
        ? new UsageError(
            'unexpected argument after the --pass value (not shown: it may be part of the password); ' +
              'quote a password that contains spaces',
          )
        : new UsageError(`unexpected argument ${JSON.stringify(arg)}: carpd takes options only`),
    );
  };

  const record = (option: OptionSpec, negated: boolean, value: string | undefined): void => {
    occurrences.push({ option, negated, value });
    afterPassword = option.secret === true;
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;

    if (onlyPositionals || arg === '-' || !arg.startsWith('-')) {
      positional(arg);
      continue;
    }
    if (arg === '--') {
      onlyPositionals = true;
      continue;
    }

    if (arg.startsWith('--')) {
      const equals = arg.indexOf('=');
      const spelled = equals === -1 ? arg.slice(2) : arg.slice(2, equals);
      const inlineValue = equals === -1 ? undefined : arg.slice(equals + 1);
      const match = matchLongOption(spelled);
      if (match instanceof UsageError) {
        problems.push(match);
        afterPassword = false;
        continue;
      }
      const { option, negated } = match;
      if (!takesValue(option)) {
        if (inlineValue !== undefined) {
          // The value is not echoed: `--pre=x` may well be a password meant for --pass.
          const hint = option.negatable === true ? `: use --${option.name} or --no-${option.name}` : ': it is a switch';
          problems.push(new UsageError(`--${option.name} takes no value${hint}`));
          afterPassword = false;
          continue;
        }
        record(option, negated, undefined);
        continue;
      }
      if (inlineValue !== undefined) {
        record(option, false, inlineValue);
      } else if (i + 1 < argv.length) {
        record(option, false, argv[++i]);
      } else {
        problems.push(missingValue(option));
      }
      continue;
    }

    // A bundle of short options: flags, then at most one letter that takes a value.
    for (let j = 1; j < arg.length; j++) {
      const letter = arg[j] as string;
      const option = OPTIONS_BY_SHORT_NAME.get(letter);
      if (option === undefined) {
        // Only the letter is named: the rest of the bundle could be a value such as a password.
        problems.push(new UsageError(`unknown option -${letter}; run carpd --help for the list`));
        afterPassword = false;
        break;
      }
      if (!takesValue(option)) {
        record(option, false, undefined);
        continue;
      }
      const attached = arg.slice(j + 1);
      if (attached !== '') {
        record(option, false, attached);
      } else if (i + 1 < argv.length) {
        record(option, false, argv[++i]);
      } else {
        problems.push(missingValue(option));
      }
      break;
    }
  }
  return { occurrences, problems };
}

/** Exact name first, then a unique prefix, as getopt_long resolves long options. */
function matchLongOption(spelled: string): LongMatch | UsageError {
  const exact = LONG_SPELLINGS.get(spelled);
  if (exact !== undefined) {
    return exact;
  }
  const candidates = [...LONG_SPELLINGS].filter(([name]) => spelled !== '' && name.startsWith(spelled));
  // Two spellings of one option (--mcast and --mcastip) are not an ambiguity.
  const distinct = new Map(
    candidates.map(([name, match]) => [`${match.option.name}/${match.negated}`, { name, match }]),
  );
  const [only] = distinct.values();
  if (distinct.size === 1 && only !== undefined) {
    return only.match;
  }
  // A prefix that names exactly one of ucarp's own options (those with a letter) means that
  // option, as it did under ucarp: carpd's additions (--preempt-delay, --check-*) must not turn
  // a ucarp command line's --pre or --nomc into an error.
  const ucarp = new Map([...distinct].filter(([, { match }]) => match.option.short !== undefined));
  const [onlyUcarp] = ucarp.values();
  if (ucarp.size === 1 && onlyUcarp !== undefined) {
    return onlyUcarp.match;
  }
  if (distinct.size > 1) {
    const names = [...distinct.values()].map(({ name }) => `--${name}`).join(', ');
    return new UsageError(`option --${spelled} is ambiguous: it could be ${names}`);
  }
  return new UsageError(`unknown option --${spelled}; run carpd --help for the list`);
}

function missingValue(option: OptionSpec): UsageError {
  return new UsageError(`--${option.name} needs a value: ${option.expects ?? `<${option.placeholder}>`}`);
}

/**
 * Generates carpd(8) and the bash completion from the one option table (lib/cli/options.ts),
 * so the man page, the completion, --help and the parser cannot disagree about an option.
 * The man page's prose lives in man/carpd.8.in; its @OPTIONS@ and @CONFIG_NAMES@ are filled
 * in here.
 *
 *   node dist/scripts/gen-man.js --man OUT.8 --completion OUT.bash [--version V] [--date YYYY-MM-DD]
 *
 * Version and date default to package.json's version and the date of debian/changelog's top
 * entry, so the output depends on the checkout only (reproducible builds).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { OPTIONS, takesValue, type OptionSpec } from '../lib/cli/options.js';
import { FACILITY_NAMES } from '../lib/cli/values.js';

/** Options that cannot appear in a config file (see lib/cli/config-file.ts). */
const NOT_IN_CONFIG_FILE = new Set(['help', 'version', 'config']);

/** roff-escapes plain text: backslashes, dashes (so they stay ASCII hyphen-minus), leading dots. */
export function roffEscape(text: string): string {
  const escaped = text.replaceAll('\\', '\\e').replaceAll('-', '\\-');
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

/** Description text: `<file>` placeholders become italic words. */
function roffDescription(text: string): string {
  return roffEscape(text).replace(/<([^>]+)>/g, '\\fI$1\\fR');
}

function optionTag(option: OptionSpec): string {
  const value = takesValue(option) ? `=\\fI${roffEscape(option.placeholder ?? '')}\\fR` : '';
  const shortValue = takesValue(option) ? ` \\fI${roffEscape(option.placeholder ?? '')}\\fR` : '';
  const forms = [
    ...(option.short !== undefined ? [`\\fB\\-${option.short}\\fR${shortValue}`] : []),
    `\\fB\\-\\-${roffEscape(option.name)}\\fR${value}`,
    ...(option.aliases ?? []).map((alias) => `\\fB\\-\\-${roffEscape(alias)}\\fR${value}`),
    ...(option.negatable === true ? [`\\fB\\-\\-no\\-${roffEscape(option.name)}\\fR`] : []),
  ];
  return forms.join(', ');
}

export function renderOptions(): string {
  return OPTIONS.map((option) => {
    const lines = ['.TP', optionTag(option), roffDescription(option.description)];
    if (takesValue(option) && option.expects !== undefined) {
      lines.push('.br', `Accepted: ${roffEscape(option.expects)}.`);
    }
    if (option.secret === true) {
      lines.push(
        '.br',
        'Any user can read a command line with ps(1): prefer \\fB\\-\\-passfile\\fR or \\fB\\-\\-config\\fR.',
      );
    }
    return lines.join('\n');
  }).join('\n');
}

export function renderConfigNames(): string {
  return OPTIONS.filter((option) => !NOT_IN_CONFIG_FILE.has(option.name))
    .map((option) => `\\fB${roffEscape(option.name)}\\fR`)
    .join(', ');
}

export interface PageInfo {
  readonly version: string;
  readonly date: string;
}

export function renderManPage(template: string, info: PageInfo): string {
  const fill: Record<string, string> = {
    '@OPTIONS@': renderOptions(),
    '@CONFIG_NAMES@': renderConfigNames(),
    '@VERSION@': roffEscape(info.version),
    '@DATE@': info.date,
    '@GENERATED@': 'Do not edit.',
  };
  const page = template.replace(/@[A-Z_]+@/g, (marker) => {
    const value = fill[marker];
    if (value === undefined) throw new Error(`man/carpd.8.in: unknown marker ${marker}`);
    return value;
  });
  return page.endsWith('\n') ? page : `${page}\n`;
}

export interface ControlCommand {
  /** The first word: `carpd status`, `carpd reload`. */
  readonly name: string;
  /** What may follow it; a spelling ending in "=" takes a value after the "=". */
  readonly options: readonly string[];
}

/**
 * The words that make carpd a client of the running daemons instead of a daemon (CONTROL_COMMANDS
 * in lib/cli/main.ts) and the options each takes (parseArguments in lib/control/client.ts). The
 * client keeps its own parser, so this table is checked against it in
 * test/package/gen-man.test.ts rather than imported.
 */
export const CONTROL_COMMANDS: readonly ControlCommand[] = [
  { name: 'status', options: ['--json', '--pid='] },
  { name: 'reload', options: ['--pid='] },
];

/**
 * bash completion: option names from the table; file, interface and facility values completed;
 * `status` and `reload` as the first word, and their own options after them.
 */
export function renderBashCompletion(): string {
  const spellings = OPTIONS.flatMap((option) => {
    const suffix = takesValue(option) ? '=' : '';
    return [
      ...(option.short !== undefined ? [`-${option.short}`] : []),
      `--${option.name}${suffix}`,
      ...(option.aliases ?? []).map((alias) => `--${alias}${suffix}`),
      ...(option.negatable === true ? [`--no-${option.name}`] : []),
    ];
  });
  const valueForms = (pick: (option: OptionSpec) => boolean): string =>
    OPTIONS.filter((option) => takesValue(option) && pick(option))
      .flatMap((option) => [
        ...(option.short !== undefined ? [`-${option.short}`] : []),
        `--${option.name}`,
        ...(option.aliases ?? []).map((alias) => `--${alias}`),
      ])
      .join('|');
  const isFile = (option: OptionSpec) => option.placeholder === 'file';
  const isInterface = (option: OptionSpec) => option.placeholder === 'if';
  const isFacility = (option: OptionSpec) => option.name === 'facility';
  const other = (option: OptionSpec) => !isFile(option) && !isInterface(option) && !isFacility(option);
  const commandCases = CONTROL_COMMANDS.map(
    (command) => `            ${command.name}) offer='${command.options.join(' ')}' ;;`,
  ).join('\n');
  return `# bash completion for carpd(8). Generated by scripts/gen-man.ts from lib/cli/options.ts: do not edit.
_carpd()
{
    local cur prev words cword split
    _init_completion -s || return

    # carpd status, carpd reload: a client of the running daemons, with options of its own.
    if ((cword > 1)); then
        local offer=
        case \${words[1]} in
${commandCases}
        esac
        if [[ -n $offer ]]; then
            # --pid=<TAB>: a process id, nothing to offer
            $split && return
            local option given left=
            for option in $offer; do
                for given in "\${words[@]:2:cword-2}"; do
                    [[ $given == "\${option%=}" || $given == "\${option%=}="* ]] && continue 2
                done
                left+=" $option"
            done
            COMPREPLY=($(compgen -W "$left" -- "$cur"))
            [[ \${COMPREPLY-} == *= ]] && compopt -o nospace
            return
        fi
    fi

    case $prev in
        ${valueForms(isFile)})
            _filedir
            return
            ;;
        ${valueForms(isInterface)})
            _available_interfaces
            return
            ;;
        ${valueForms(isFacility)})
            COMPREPLY=($(compgen -W '${FACILITY_NAMES.join(' ')}' -- "$cur"))
            return
            ;;
        ${valueForms(other)})
            # an address, a number or free text: nothing to offer
            return
            ;;
    esac

    $split && return

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W '${spellings.join(' ')}' -- "$cur"))
        [[ \${COMPREPLY-} == *= ]] && compopt -o nospace
    elif ((cword == 1)); then
        COMPREPLY=($(compgen -W '${CONTROL_COMMANDS.map((command) => command.name).join(' ')}' -- "$cur"))
    fi
} &&
    complete -F _carpd carpd

# ex: filetype=sh
`;
}

/** The date of the newest debian/changelog entry, as YYYY-MM-DD. */
export function changelogDate(changelog: string): string {
  const trailer = /^ -- .+?> {2}(.+)$/m.exec(changelog)?.[1];
  const date = trailer === undefined ? undefined : new Date(trailer);
  if (date === undefined || Number.isNaN(date.getTime())) {
    throw new Error('debian/changelog: no dated entry');
  }
  return date.toISOString().slice(0, 10);
}

function repoRoot(): string {
  // dist/scripts/gen-man.js when built, scripts/gen-man.ts under vitest.
  const here = dirname(fileURLToPath(import.meta.url));
  return here.endsWith(join('dist', 'scripts')) ? join(here, '..', '..') : join(here, '..');
}

function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      man: { type: 'string' },
      completion: { type: 'string' },
      version: { type: 'string' },
      date: { type: 'string' },
    },
    strict: true,
  });
  const root = repoRoot();
  const version =
    values.version ?? (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const date = values.date ?? changelogDate(readFileSync(join(root, 'debian', 'changelog'), 'utf8'));
  if (values.man !== undefined) {
    const template = readFileSync(join(root, 'man', 'carpd.8.in'), 'utf8');
    writeOutput(values.man, renderManPage(template, { version, date }));
  }
  if (values.completion !== undefined) {
    writeOutput(values.completion, renderBashCompletion());
  }
}

/** Writes a generated file, making its directory first (`npm run man` writes into build/, which a fresh clone lacks). */
function writeOutput(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  process.stdout.write(`gen-man: wrote ${path}\n`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2));
}

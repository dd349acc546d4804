// carpd(8) and the bash completion come from the option table (lib/cli/options.ts) through
// scripts/gen-man.ts: every option must reach both, and both must be valid for their readers
// (groff, bash with bash-completion).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CHECK_SECTION_KEYS, PROCESS_OPTIONS } from '../../lib/cli/config-file.js';
import { main } from '../../lib/cli/main.js';
import { OPTIONS } from '../../lib/cli/options.js';
import { parseCommandLine } from '../../lib/cli/parse.js';
import { FACILITY_NAMES } from '../../lib/cli/values.js';
import { formatVip } from '../../lib/net/address.js';
import { mergeSnapshots, runControlCommand } from '../../lib/control/client.js';
import type { DaemonSnapshot } from '../../lib/control/types.js';
import { CONTROL_COMMANDS, changelogDate, renderBashCompletion, renderManPage, roffEscape } from '../../scripts/gen-man.js';
import { fakeSystem } from '../helpers/fake-system.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const template = readFileSync(join(repo, 'man/carpd.8.in'), 'utf8');
const page = renderManPage(template, { version: '1.2.3', date: '2025-11-22' });
const work = mkdtempSync(join(tmpdir(), 'carpd-gen-man-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The roff source of one `.SH` section (or `.SS` subsection), up to the next heading of its level. */
function section(title: string, level: 'SH' | 'SS' = 'SH'): string {
  const lines = page.split('\n');
  const start = lines.findIndex((line) => line === `.${level} ${title}` || line === `.${level} "${title}"`);
  expect(start, `.${level} ${title}`).toBeGreaterThanOrEqual(0);
  const stop = lines.findIndex((line, index) => index > start && (line.startsWith('.SH ') || (level === 'SS' && line.startsWith('.SS '))));
  return lines.slice(start + 1, stop === -1 ? undefined : stop).join('\n');
}

/** A source file of the project, for facts the code keeps in no exported value. */
function source(path: string): string {
  return readFileSync(join(repo, path), 'utf8');
}

describe('carpd(8)', () => {
  it('fills every marker', () => {
    expect(page).not.toMatch(/@[A-Z_]+@/);
    expect(page).toContain('.TH CARPD 8 "2025-11-22" "carpd 1.2.3"');
  });

  it('documents every option of the table, with its letter, alias and accepted values', () => {
    for (const option of OPTIONS) {
      expect(page).toContain(`\\fB\\-\\-${roffEscape(option.name)}\\fR`);
      if (option.short !== undefined) expect(page).toContain(`\\fB\\-${option.short}\\fR`);
      for (const alias of option.aliases ?? []) expect(page).toContain(`\\-\\-${alias}`);
      if (option.expects !== undefined) expect(page).toContain(`Accepted: ${roffEscape(option.expects)}.`);
    }
    expect(page).toContain('\\fB\\-\\-no\\-manage\\-vip\\fR');
  });

  it('has the sections an operator looks for', () => {
    for (const section of ['SYNOPSIS', 'OPTIONS', 'CONFIGURATION FILE', 'SYNC GROUPS', 'HEALTH CHECKS', 'SCRIPTS', 'STATUS AND RELOAD', 'METRICS', 'SIGNALS', 'EXIT STATUS', 'ENVIRONMENT', 'IFUPDOWN', 'SYSTEMD', 'FILES', 'DIFFERENCES FROM UCARP']) {
      expect(page).toMatch(new RegExp(`^\\.SH ${section}$`, 'm'));
    }
    expect(page).toMatch(/^\.SS Virtual host sections$/m);
    expect(page).toMatch(/^\.SS Check sections$/m);
  });

  it('shows every form of the command in the SYNOPSIS, status and reload with their options', () => {
    const synopsis = section('SYNOPSIS');
    expect(synopsis).toContain('.BI \\-\\-config= file');
    for (const command of CONTROL_COMMANDS) {
      const line = synopsis.split('\n').findIndex((text) => text === `.B carpd ${command.name}`);
      expect(line, `carpd ${command.name}`).toBeGreaterThanOrEqual(0);
      // Its options are the lines after it, up to the next form (.br).
      const rest = synopsis.split('\n').slice(line + 1);
      const form = rest.slice(0, rest.includes('.br') ? rest.indexOf('.br') : undefined).join('\n');
      expect(form.match(/\\-\\-[a-z]+=?/g)?.map((spelling) => spelling.replaceAll('\\-', '-'))).toEqual(command.options);
    }
  });

  it('gives the sectioned file\'s rules: process settings before the first section', () => {
    const sections = section('Virtual host sections', 'SS');
    const settings = /The process settings\n\.BR (.+)\n/.exec(sections)?.[1];
    const words = settings?.replace(/\\-/g, '-').match(/[a-z][a-z-]*/g)?.filter((word) => word !== 'and');
    expect(words?.sort()).toEqual([...PROCESS_OPTIONS].sort());
    expect(sections).toContain('[vhost \\fIname\\fB]');
    expect(sections).toMatch(/digest covers every VIP of the vhost, in ascending order/);
  });

  it('has an example of a sectioned file that carpd reads as two vhosts', () => {
    const example = /^\.nf\n([\s\S]*?)^\.fi$/m.exec(section('Virtual host sections', 'SS'))?.[1];
    expect(example).toBeDefined();
    const text = (example ?? '').replaceAll('\\-', '-');
    const system = fakeSystem({ interfaces: { eth0: ['10.1.1.1'] }, files: { '/etc/carpd/web.conf': text } });
    const outcome = parseCommandLine(['--config=/etc/carpd/web.conf'], system);
    expect(outcome.kind).toBe('run');
    if (outcome.kind !== 'run') return;
    expect(outcome.config.process.sectioned).toBe(true);
    expect(outcome.config.vhosts.map((vhost) => [vhost.name, vhost.vhid, vhost.vips.map(formatVip)])).toEqual([
      ['web', 42, ['10.1.1.252/24', '10.1.1.253/24']],
      ['db', 43, ['10.1.1.254/24']],
    ]);
  });

  it('gives every key of a [check NAME] section, and an example of one check that two vhosts follow', () => {
    const checks = section('Check sections', 'SS');
    const keys = [...checks.matchAll(/^\.B ([a-z]+)$/gm)].map((match) => match[1]);
    for (const key of Object.keys(CHECK_SECTION_KEYS)) expect(keys, key).toContain(key);
    const example = /^\.nf\n([\s\S]*?)^\.fi$/m.exec(checks)?.[1];
    expect(example).toBeDefined();
    const text = (example ?? '').replaceAll('\\-', '-');
    const system = fakeSystem({
      interfaces: { eth0: ['10.1.1.1'], eth1: [] },
      executables: ['/etc/carpd/notify.sh'],
      files: { '/etc/carpd/web.conf': text },
    });
    const outcome = parseCommandLine(['--config=/etc/carpd/web.conf'], system);
    expect(outcome.kind).toBe('run');
    if (outcome.kind !== 'run') return;
    const [web, api] = outcome.config.vhosts;
    expect(outcome.config.checks.map((check) => check.name)).toEqual(['nginx']);
    // One check object for both vhosts: it runs once.
    expect(web?.checks[0]).toBe(api?.checks[0]);
    expect(api?.trackInterfaces).toEqual([{ name: 'eth1', weight: 100 }]);
    expect(web?.trackFiles).toEqual(['/run/carpd/maint']);
  });

  it('lists every field of carpd status --json', () => {
    const status = section('STATUS AND RELOAD');
    const documented = new Set([...status.matchAll(/^\.B ([A-Za-z]+)$/gm)].map((match) => match[1]));
    // VhostSnapshot is a type only: its fields come from its declaration.
    const declaration = /export interface VhostSnapshot \{([\s\S]*?)\n\}/.exec(source('lib/control/types.ts'))?.[1] ?? '';
    const vhostFields = [...declaration.matchAll(/^ {2}readonly (\w+)/gm)].map((match) => match[1]);
    expect(vhostFields.length).toBeGreaterThan(10);
    const daemon: DaemonSnapshot = { pid: 1, version: 'v', configFile: null, startedAt: 't', vhosts: [], links: [], checks: [] };
    const merged = mergeSnapshots([daemon]);
    for (const field of [...Object.keys(merged), ...vhostFields, ...Object.keys(merged.daemons[0]!)]) {
      expect(documented, field).toContain(field);
    }
    expect(status).toContain('.BI /run/carpd/control/ netns \\- pid .sock');
    // The objects in tracks[] and daemons[].checks[], from their declarations too.
    for (const type of ['TrackSnapshot', 'CheckSnapshot']) {
      const body = new RegExp(`export interface ${type} \\{([\\s\\S]*?)\\n\\}`).exec(source('lib/control/types.ts'))?.[1] ?? '';
      const fields = [...body.matchAll(/^ {2}readonly (\w+)/gm)].map((match) => match[1]);
      expect(fields.length, type).toBeGreaterThan(3);
      for (const field of fields) expect(documented, `${type}.${field}`).toContain(field);
    }
  });

  it('lists every metric', () => {
    const metrics = section('METRICS');
    const names = [...source('lib/control/metrics.ts').matchAll(/(?:gauge|counter)\(\s*'(\w+)'/g)].map((match) => match[1]);
    expect(names).toContain('carpd_vhost_state');
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) expect(metrics).toMatch(new RegExp(`^\\.B ${name}$`, 'm'));
    expect(metrics).toContain('.BI \\-\\-metrics= addr : port');
  });

  it('lists every CARPD_ variable the scripts get, and the ones carpd itself reads', () => {
    const environment = section('ENVIRONMENT');
    // Every script's (host.ts) and the notify program's own (vhost.ts).
    const names = [...new Set([...(source('lib/daemon/host.ts') + source('lib/daemon/vhost.ts')).matchAll(/\b(CARPD_[A-Z_]+):/g)].map((match) => match[1]))];
    expect(names).toContain('CARPD_VIPS');
    // What the daemon reads from its own environment (process.ts).
    const own = [...source('lib/daemon/process.ts').matchAll(/process\.env\.(CARPD_[A-Z_]+)/g)].map((match) => match[1]);
    expect(own).toContain('CARPD_HOST_IO');
    names.push(...own.filter((name) => !names.includes(name)));
    const documented = [...environment.matchAll(/^\.B (CARPD_[A-Z_]+)$/gm)].map((match) => match[1]);
    expect(documented.sort()).toEqual(names.sort());
  });

  it('formats without a groff warning', () => {
    const file = join(work, 'carpd.8');
    writeFileSync(file, page);
    const groff = spawnSync('groff', ['-man', '-ww', '-z', '-K', 'utf8', file], { encoding: 'utf8' });
    expect(groff.error, 'groff is missing: apt-get install groff-base').toBeUndefined();
    expect(groff.stderr).toBe('');
    expect(groff.status).toBe(0);
  });

  it('takes its date from debian/changelog\'s newest entry', () => {
    expect(changelogDate(readFileSync(join(repo, 'debian/changelog'), 'utf8'))).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(changelogDate(' -- A <a@b.c>  Sat, 22 Nov 2025 04:00:00 +0000\n')).toBe('2025-11-22');
    expect(() => changelogDate('no trailer')).toThrow('debian/changelog: no dated entry');
  });
});

describe('bash completion', () => {
  const file = join(work, 'carpd.bash');
  writeFileSync(file, renderBashCompletion());
  const BASH_COMPLETION = '/usr/share/bash-completion/bash_completion';

  /** COMPREPLY for the words typed so far (the last one is being completed). */
  function complete(...words: string[]): string[] {
    expect(existsSync(BASH_COMPLETION), 'bash-completion is missing: apt-get install bash-completion').toBe(true);
    const script = [
      `source ${BASH_COMPLETION}`,
      `source ${file}`,
      'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}',
      '_carpd 2>/dev/null; printf "%s\\n" "${COMPREPLY[@]}"',
    ].join('\n');
    const result = spawnSync('bash', ['-c', script, 'bash', 'carpd', ...words], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    return result.stdout.split('\n').filter(Boolean);
  }

  it('is valid bash', () => {
    expect(spawnSync('bash', ['-n', file]).status).toBe(0);
  });

  it('completes every long option from the table', () => {
    const all = complete('--');
    for (const option of OPTIONS) {
      expect(all.some((word) => word.startsWith(`--${option.name}`))).toBe(true);
    }
    expect(complete('--inter')).toEqual(['--interface=']);
    expect(complete('--no-')).toEqual(['--no-preempt', '--no-manage-vip']);
  });

  it('completes facilities, in both the --name=value and the -f value forms', () => {
    expect(complete('--facility=loc')).toEqual(FACILITY_NAMES.filter((name) => name.startsWith('loc')));
    expect(complete('-f', 'da')).toEqual(['daemon']);
  });

  it('completes interface names and offers nothing for numbers', () => {
    expect(complete('-i', 'l')).toContain('lo');
    expect(complete('--vhid', '4')).toEqual([]);
  });

  it('completes status and reload as the first word only', () => {
    expect(complete('')).toEqual(CONTROL_COMMANDS.map((command) => command.name));
    expect(complete('')).toEqual(['status', 'reload']);
    expect(complete('st')).toEqual(['status']);
    expect(complete('re')).toEqual(['reload']);
    // Past the first word it is a daemon's command line, where "status" means nothing.
    expect(complete('--config=/etc/carpd/web.conf', 's')).toEqual([]);
    expect(complete('--config=/etc/carpd/web.conf', 'status', '--')).toContain('--interface=');
  });

  it('completes the options of status and reload, each once, and no value for --pid', () => {
    expect(complete('status', '')).toEqual(['--json', '--pid=']);
    expect(complete('status', '--')).toEqual(['--json', '--pid=']);
    expect(complete('status', '--j')).toEqual(['--json']);
    expect(complete('reload', '')).toEqual(['--pid=']);
    expect(complete('reload', '--j')).toEqual([]);
    expect(complete('status', '--json', '')).toEqual(['--pid=']);
    expect(complete('status', '--pid=42', '')).toEqual(['--json']);
    expect(complete('status', '--json', '--pid=42', '')).toEqual([]);
    expect(complete('status', '--pid=')).toEqual([]);
    // Not the daemon's options.
    expect(complete('status', '--inter')).toEqual([]);
  });
});

describe('the status and reload table', () => {
  /** carpd's exit status and stderr for a control command, with no daemon running. */
  async function run(...argv: string[]): Promise<{ code: number; stderr: string }> {
    let stderr = '';
    const code = await runControlCommand(argv, {
      stdout: { write: () => true },
      stderr: { write: (text: string) => (stderr += text) },
      runDir: join(work, 'run'),
      netnsId: '4026531840',
    });
    return { code, stderr };
  }

  it('names the commands that carpd hands to the control client', async () => {
    for (const command of CONTROL_COMMANDS) {
      const seen: string[][] = [];
      const code = await main([command.name, '--pid=9'], {
        runControlCommand: async (argv) => (seen.push(argv), 0),
        runDaemon: () => Promise.reject(new Error('not a daemon')),
      });
      expect(code).toBe(0);
      expect(seen).toEqual([[command.name, '--pid=9']]);
    }
  });

  it('offers exactly the options the client accepts', async () => {
    const every = [...new Set(CONTROL_COMMANDS.flatMap((command) => command.options))];
    for (const command of CONTROL_COMMANDS) {
      // Accepted: no daemon runs, so 1, not a usage error.
      const given = command.options.map((option) => (option.endsWith('=') ? `${option}1` : option));
      expect(await run(command.name, ...given)).toMatchObject({ code: 1, stderr: expect.stringMatching(/^carpd: no carpd/) });
      for (const option of every.filter((spelling) => !command.options.includes(spelling))) {
        expect((await run(command.name, option.endsWith('=') ? `${option}1` : option)).code).toBe(64);
      }
    }
  });
});

describe('npm run man', () => {
  it('runs on a fresh clone: it makes the output directory (build/ does not exist yet)', () => {
    // The command package.json's "man" script runs, with paths under a directory that does not exist.
    const out = join(work, 'fresh-clone', 'build');
    const result = spawnSync(
      process.execPath,
      [join(repo, 'dist/scripts/gen-man.js'), '--man', join(out, 'carpd.8'), '--completion', join(out, 'carpd.bash')],
      { encoding: 'utf8' },
    );
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(join(out, 'carpd.8'), 'utf8')).toMatch(/^\.TH CARPD 8/m);
    expect(readFileSync(join(out, 'carpd.bash'), 'utf8')).toContain('complete -F _carpd carpd');
    expect(result.stdout).toBe(`gen-man: wrote ${join(out, 'carpd.8')}\ngen-man: wrote ${join(out, 'carpd.bash')}\n`);
  });
});

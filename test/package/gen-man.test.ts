// carpd(8) and the bash completion come from the option table (lib/cli/options.ts) through
// scripts/gen-man.ts: every option must reach both, and both must be valid for their readers
// (groff, bash with bash-completion).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { OPTIONS } from '../../lib/cli/options.js';
import { FACILITY_NAMES } from '../../lib/cli/values.js';
import { changelogDate, renderBashCompletion, renderManPage, roffEscape } from '../../scripts/gen-man.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const template = readFileSync(join(repo, 'man/carpd.8.in'), 'utf8');
const page = renderManPage(template, { version: '1.2.3', date: '2025-11-22' });
const work = mkdtempSync(join(tmpdir(), 'carpd-gen-man-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

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
    for (const section of ['SYNOPSIS', 'OPTIONS', 'CONFIGURATION FILE', 'SCRIPTS', 'SIGNALS', 'EXIT STATUS', 'IFUPDOWN', 'SYSTEMD', 'FILES', 'DIFFERENCES FROM UCARP']) {
      expect(page).toMatch(new RegExp(`^\\.SH ${section}$`, 'm'));
    }
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
    expect(complete('--no-')).toEqual(['--no-manage-vip']);
  });

  it('completes facilities, in both the --name=value and the -f value forms', () => {
    expect(complete('--facility=loc')).toEqual(FACILITY_NAMES.filter((name) => name.startsWith('loc')));
    expect(complete('-f', 'da')).toEqual(['daemon']);
  });

  it('completes interface names and offers nothing for numbers', () => {
    expect(complete('-i', 'l')).toContain('lo');
    expect(complete('--vhid', '4')).toEqual([]);
  });
});

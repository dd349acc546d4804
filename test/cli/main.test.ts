import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../lib/config.js';
import { main, type MainDependencies } from '../../lib/cli/main.js';
import { fakeSystem } from '../helpers/fake-system.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));

/** Runs main() against the fake host, capturing what it writes and what it hands the daemon. */
async function runMain(argv: string[], runDaemon?: MainDependencies['runDaemon']) {
  let stdout = '';
  let stderr = '';
  const daemonConfigs: Config[] = [];
  const code = await main(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    system: fakeSystem(),
    runDaemon:
      runDaemon ??
      (async (config) => {
        daemonConfigs.push(config);
        return 0;
      }),
  });
  return { code, stdout, stderr, daemonConfigs };
}

describe('main()', () => {
  it('prints a usage error as one "carpd:" line on stderr and returns 64', async () => {
    const result = await runMain(['-i', 'eth0', '-s', '10.1.1.1', '-p', 'love', '-a', '10.1.1.252', '--vhid=300']);
    expect(result.code).toBe(64);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('carpd: --vhid must be an integer from 1 to 255, got "300"\n');
  });

  it('refuses a unicast --mcast with --nomcast at parse time (64), not at socket open (1)', async () => {
    const result = await runMain(['-i', 'eth0', '-s', '10.1.1.1', '-v', '7', '-p', 'love', '-a', '10.1.1.252', '-M', '-m', '10.1.1.255']);
    expect(result.code).toBe(64);
    expect(result.daemonConfigs).toEqual([]);
    expect(result.stderr).toBe(
      'carpd: --mcast must be a multicast group in 224.0.0.0/4 (--nomcast already sends the adverts in broadcast frames), got "10.1.1.255"\n',
    );
  });

  it('prints help on stdout and returns 0', async () => {
    const result = await runMain(['--help']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('--interface=<if> (-i <if>)');
  });

  it('prints the version on stdout and returns 0', async () => {
    const result = await runMain(['--version']);
    expect([result.code, result.stdout, result.stderr]).toEqual([0, 'carpd 9.8.7\n', '']);
  });

  it('hands the config to the daemon and returns its exit code', async () => {
    const result = await runMain(['-i', 'eth0', '-s', '10.1.1.1', '-v', '7', '-p', 'love', '-a', '10.1.1.252'], async () => 3);
    expect(result.code).toBe(3);
    const ok = await runMain(['-i', 'eth0', '-s', '10.1.1.1', '-v', '7', '-p', 'love', '-a', '10.1.1.252']);
    expect(ok.daemonConfigs).toHaveLength(1);
    expect(ok.daemonConfigs[0]?.vhosts[0]?.vhid).toBe(7);
  });
});

describe('bin/carpd', () => {
  beforeAll(() => {
    // bin/carpd runs the compiled dist/. tsc exits non-zero while other folders have type
    // errors but still emits, so only the output file is checked.
    spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { cwd: repo });
    expect(existsSync(`${repo}dist/lib/cli/main.js`)).toBe(true);
    // And the bundle it prefers, with its code cache (scripts/bundle.ts).
    const bundled = spawnSync(process.execPath, ['dist/scripts/bundle.js'], { cwd: repo, encoding: 'utf8' });
    expect(bundled.stderr).toBe('');
    expect(bundled.status).toBe(0);
  }, 60_000);

  it('runs the bundle through a code cache V8 accepts with the flags bin/carpd sets', () => {
    // The same wrapper and flags as bin/carpd; a cache made with other flags or from another
    // bundle would be rejected, and every start would compile from source again.
    const probe = `
      const { readFileSync } = require('node:fs');
      for (const flag of ['--lite-mode', '--no-lazy', '--no-flush-bytecode']) require('node:v8').setFlagsFromString(flag);
      const file = ${JSON.stringify(`${repo}dist/carpd.cjs`)};
      const source = '(function (exports, require, module, __filename, __dirname) {' + readFileSync(file, 'utf8') + '\\n})';
      const script = new (require('node:vm').Script)(source, { filename: file, cachedData: readFileSync(file + '.cache') });
      process.stdout.write(String(script.cachedDataRejected));`;
    expect(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' })).toBe('false');
  });

  it('falls back to dist/lib/ without the bundle, with the same behaviour', () => {
    const copy = mkdtempSync(join(tmpdir(), 'carpd-bin-'));
    try {
      // bin/ and a dist/ with the modules only, next to carpd's package.json (for its version).
      cpSync(`${repo}bin`, join(copy, 'bin'), { recursive: true });
      cpSync(`${repo}dist/lib`, join(copy, 'dist', 'lib'), { recursive: true });
      cpSync(`${repo}package.json`, join(copy, 'package.json'));
      symlinkSync(`${repo}node_modules`, join(copy, 'node_modules'));
      const result = spawnSync(process.execPath, [join(copy, 'bin', 'carpd'), '--no-such-option'], { encoding: 'utf8' });
      expect(result.stderr).toBe('carpd: unknown option --no-such-option; run carpd --help for the list\n');
      expect(result.status).toBe(64);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('exits 64 with one stderr line on an unknown option', () => {
    const result = spawnSync(process.execPath, ['bin/carpd', '--no-such-option'], { cwd: repo, encoding: 'utf8' });
    expect(result.status).toBe(64);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('carpd: unknown option --no-such-option; run carpd --help for the list\n');
  });

  it('is executable and prints the package version', () => {
    const { version } = JSON.parse(readFileSync(`${repo}package.json`, 'utf8')) as { version: string };
    expect(execFileSync(`${repo}bin/carpd`, ['--version'], { encoding: 'utf8' })).toBe(`carpd ${version}\n`);
  });
});

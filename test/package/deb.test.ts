// The Debian package, end to end: scripts/build-deb builds it from this checkout, dpkg-deb and
// lintian inspect it, `dpkg -i` installs it on this (test) machine, and then, inside lab network
// namespaces only, ifupdown brings eth0 up from an unchanged Debian ucarp stanza: carpd must run
// without showing its password, the VIP must follow the election, ifdown must stop carpd and take
// the VIP away. `dpkg -r`/`-P` removes the package, and a ucarp package that carpd's
// Conflicts/Replaces removed is put back.
//
// ifupdown never reads the machine's /etc/network/interfaces nor its state: every ifup/ifdown runs
// inside `ip netns exec`, with `-i <file>` and `--state-dir=<dir>` of this test, and the default
// vip-up/vip-down scripts reuse those (see debian/ifupdown/common.sh).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lab, LabHost } from '../../scripts/lab/lab.js';
import { requireRoot, waitFor } from '../helpers/lab.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const VHID = 42;
// Distinct from the lab's default subnet so a leftover of another test cannot answer.
const SUBNET = '198.18.42';
const PASSWORD = 'pkg-Secret-42';

interface Sh {
  status: number;
  stdout: string;
  stderr: string;
}

function sh(cmd: string, args: string[], timeoutMs = 120_000): Sh {
  const result = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status ?? -1, stdout: result.stdout ?? '', stderr: result.stderr ?? String(result.error ?? '') };
}

function mustSh(cmd: string, args: string[], timeoutMs?: number): string {
  const result = sh(cmd, args, timeoutMs);
  if (result.status !== 0) {
    throw new Error(`${[cmd, ...args].join(' ')} exited ${result.status}\n${result.stdout}${result.stderr}`);
  }
  return result.stdout;
}

/**
 * dpkg, waiting for its lock: another apt/dpkg run on the machine (an unattended upgrade, a
 * bootstrap) makes dpkg fail at once rather than wait.
 */
function dpkg(args: string[]): Sh {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const result = sh('dpkg', args);
    if (result.status === 0 || !/lock/i.test(result.stderr) || Date.now() > deadline) return result;
    spawnSync('sleep', ['1']);
  }
}

function mustDpkg(args: string[]): string {
  const result = dpkg(args);
  if (result.status !== 0) throw new Error(`dpkg ${args.join(' ')} exited ${result.status}\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

function installedVersion(pkg: string): string | undefined {
  const result = sh('dpkg-query', ['-W', '-f=${Status} ${Version}', pkg]);
  const match = /^install ok installed (\S+)$/.exec(result.stdout.trim());
  return match?.[1];
}

/** Processes in a namespace whose command line matches, as { pid, args }. */
function processesIn(ns: string, pattern: RegExp): { pid: number; args: string[] }[] {
  const pids = sh('ip', ['netns', 'pids', ns]).stdout.split('\n').filter(Boolean);
  return pids.flatMap((pid) => {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      return args.some((arg) => pattern.test(arg)) ? [{ pid: Number(pid), args }] : [];
    } catch {
      return [];
    }
  });
}

function carpdIn(ns: string) {
  return processesIn(ns, /carpd/).filter((p) => p.args.some((a) => a === '/usr/sbin/carpd'));
}

const stanza = (host: LabHost, vip: string, extra: string[]) =>
  [
    '# Debian ucarp stanza, unchanged (as in ucarp\'s README.Debian)',
    'iface eth0 inet static',
    `    address ${host.address}`,
    '    netmask 255.255.255.0',
    `    ucarp-vid ${VHID}`,
    `    ucarp-vip ${vip}`,
    `    ucarp-password ${PASSWORD}`,
    ...extra.map((line) => `    ${line}`),
    '',
    'iface eth0:ucarp inet static',
    `    address ${vip}`,
    '    netmask 255.255.255.255',
    '',
  ].join('\n');

describe('the .deb: build, inspect, install, ifupdown drop-in for ucarp, remove', () => {
  let work: string;
  let deb: string;
  let lab: Lab | undefined;
  let ucarpBefore: string | undefined;
  let installed = false;

  beforeAll(() => {
    requireRoot();
    work = mkdtempSync(join(tmpdir(), 'carpd-pkg-'));
    ucarpBefore = installedVersion('ucarp');
    // build-deb packs dist/: compile it (tsc emits even when other folders have type errors).
    spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { cwd: repo });
  }, 60_000);

  afterAll(async () => {
    // Whatever happened: no daemon, no namespace, no package left, ucarp as it was.
    await lab?.destroy();
    if (installed || installedVersion('carpd') !== undefined) dpkg(['-P', 'carpd']);
    if (ucarpBefore !== undefined && installedVersion('ucarp') === undefined) {
      const cached = `/var/cache/apt/archives/ucarp_${ucarpBefore.replace(/^\d+:/, '')}_${mustSh('dpkg', ['--print-architecture']).trim()}.deb`;
      const restored = existsSync(cached)
        ? dpkg(['-i', cached])
        : sh('apt-get', ['-o', 'DPkg::Lock::Timeout=120', 'install', '-y', '-qq', 'ucarp']);
      if (restored.status !== 0) console.error(`could not reinstall ucarp ${ucarpBefore}:\n${restored.stderr}`);
    }
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('builds carpd_<version>_<arch>.deb with scripts/build-deb', () => {
    const out = join(work, 'out');
    mustSh(join(repo, 'scripts/build-deb'), [out], 300_000);
    const { version } = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string };
    const arch = mustSh('dpkg', ['--print-architecture']).trim();
    deb = join(out, `carpd_${version}_${arch}.deb`);
    expect(readdirSync(out)).toEqual([`carpd_${version}_${arch}.deb`]);
  }, 300_000);

  it('declares its dependencies, its relation to ucarp and its conffiles', () => {
    const field = (name: string) => mustSh('dpkg-deb', ['-f', deb, name]).trim();
    expect(field('Package')).toBe('carpd');
    expect(field('Depends')).toMatch(/^nodejs \(>= 20\.10\), nodejs \(<< \d+~\), iproute2, iputils-arping, libc6/);
    expect(field('Recommends')).toBe('ifupdown | ifupdown2');
    expect(field('Conflicts')).toBe('ucarp');
    expect(field('Replaces')).toBe('ucarp');
    expect(mustSh('dpkg-deb', ['-I', deb, 'conffiles']).trim().split('\n')).toEqual([
      '/etc/network/if-up.d/carpd',
      '/etc/network/if-down.d/carpd',
    ]);
  });

  it('holds the program, hooks, unit, man page and completion, and no build leftovers', () => {
    const listing = mustSh('dpkg-deb', ['-c', deb]);
    const paths = listing.split('\n').filter(Boolean).map((line) => line.split(/\s+/).slice(5).join(' '));
    for (const path of [
      './usr/sbin/carpd -> ../lib/carpd/bin/carpd',
      './usr/lib/carpd/dist/lib/cli/main.js',
      './usr/lib/carpd/dist/lib/daemon/process.js',
      './usr/lib/carpd/node_modules/raw-socket/build/Release/raw.node',
      './usr/lib/carpd/build/Release/carpd_native.node',
      './usr/lib/carpd/node_modules/tinyglobby/package.json',
      './usr/lib/carpd/node_modules/yargs/package.json',
      './usr/lib/carpd/node_modules/execa/package.json',
      './etc/network/if-up.d/carpd',
      './etc/network/if-down.d/carpd',
      './usr/share/carpd/vip-up',
      './usr/share/carpd/vip-down',
      './lib/systemd/system/carpd@.service',
      './usr/share/man/man8/carpd.8.gz',
      './usr/share/bash-completion/completions/carpd',
      './usr/share/doc/carpd/copyright',
      './usr/share/doc/carpd/changelog.gz',
      './usr/share/doc/carpd/examples/carpd.conf',
    ]) {
      expect(paths).toContain(path);
    }
    const junk = paths.filter((p) =>
      /node_modules\/(typescript|vitest|@types|@vitest|vite|nan)\/|obj\.target|\.map$|\.d\.ts$|\/test\/|\.gyp|Makefile/.test(p),
    );
    expect(junk).toEqual([]);
  });

  it('passes lintian (Debian\'s package checker) without errors or warnings', () => {
    const lintian = sh('lintian', ['--fail-on', 'error,warning', '--pedantic', deb], 300_000);
    if (lintian.status === -1 && /ENOENT/.test(lintian.stderr)) {
      throw new Error('lintian is not installed: apt-get install lintian');
    }
    const findings = lintian.stdout.split('\n').filter((line) => /^[EWIP]: /.test(line));
    expect(findings).toEqual([]);
    expect(lintian.status).toBe(0);
  }, 300_000);

  it('installs with dpkg -i (twice: the maintainer scripts are idempotent), replacing ucarp', () => {
    mustDpkg(['-i', deb]);
    installed = true;
    mustDpkg(['-i', deb]);
    expect(installedVersion('carpd')).toBeDefined();
    // Conflicts + Replaces: dpkg removed ucarp in carpd's favour; its hook stays behind as a
    // conffile but does nothing without /usr/sbin/ucarp.
    expect(installedVersion('ucarp')).toBeUndefined();
    expect(existsSync('/usr/sbin/ucarp')).toBe(false);
    expect(mustSh('/usr/sbin/carpd', ['--version'])).toMatch(/^carpd \d+\.\d+\.\d+/);
    // The postinst started nothing.
    expect(existsSync('/run/carpd/ifupdown') ? readdirSync('/run/carpd/ifupdown') : []).toEqual([]);
  });

  it('documents every option in carpd(8)', () => {
    const page = mustSh('man', ['--warnings', '-E', 'UTF-8', '-l', '/usr/share/man/man8/carpd.8.gz']);
    for (const name of ['--interface', '--srcip', '--mcast', '--passfile', '--config', '--no-manage-vip', '--pidfile']) {
      expect(page).toContain(name);
    }
    for (const section of ['SIGNALS', 'EXIT STATUS', 'FILES', 'IFUPDOWN', 'DIFFERENCES FROM UCARP']) {
      expect(page).toMatch(new RegExp(`^${section}$`, 'm'));
    }
  });

  it('checks the unit with systemd-analyze verify', () => {
    // A template verifies as an instance: a copy named carpd@<instance>.service.
    const dir = join(work, 'units');
    mustSh('mkdir', ['-p', dir]);
    writeFileSync(join(dir, 'carpd@pkgtest.service'), readFileSync('/lib/systemd/system/carpd@.service'));
    const verify = sh('systemd-analyze', ['verify', join(dir, 'carpd@pkgtest.service')]);
    if (verify.status === -1 && /ENOENT/.test(verify.stderr)) {
      throw new Error('systemd-analyze is not installed: apt-get install systemd');
    }
    const complaints = `${verify.stdout}${verify.stderr}`
      .split('\n')
      .filter((line) => line.includes('carpd@'));
    expect(complaints).toEqual([]);
    expect(verify.status).toBe(0);
  });

  describe('ifupdown in lab namespaces, with an unchanged ucarp stanza', () => {
    let h1: LabHost;
    let h2: LabHost;
    let vip: string;
    const files = (host: LabHost) => ({
      interfaces: join(work, `h${host.index}`, 'interfaces'),
      state: join(work, `h${host.index}`, 'state'),
    });
    const ifupdown = (host: LabHost, cmd: 'ifup' | 'ifdown') =>
      host.exec(cmd, ['-i', files(host).interfaces, `--state-dir=${files(host).state}`, 'eth0']);

    beforeAll(async () => {
      const { Lab } = await import('../../scripts/lab/lab.js');
      lab = await Lab.create({ hosts: 2, subnet: SUBNET });
      [h1, h2] = lab.hosts as [LabHost, LabHost];
      vip = lab.vip(0);
      // h1: preferred (advskew 0) and preempting; h2: slower. As ucarp's README.Debian shows them.
      for (const [host, extra] of [
        [h1, ['ucarp-advskew 0', 'ucarp-advbase 1', 'ucarp-master yes']],
        [h2, ['ucarp-advskew 100', 'ucarp-advbase 1', 'ucarp-master no']],
      ] as const) {
        mustSh('mkdir', ['-p', files(host).state]);
        writeFileSync(files(host).interfaces, stanza(host, vip, [...extra]));
        // ifup configures eth0's address itself: the lab's own goes first.
        mustSh('ip', ['-n', host.ns, 'addr', 'flush', 'dev', 'eth0']);
      }
    }, 60_000);

    it('ifup starts one carpd per host, with the password in neither ps nor its environment', async () => {
      for (const host of [h2, h1]) {
        const up = await ifupdown(host, 'ifup');
        expect(up.stderr).not.toContain(PASSWORD);
        expect(up.code, `ifup on h${host.index}: ${up.stderr}`).toBe(0);
        expect(carpdIn(host.ns)).toHaveLength(1);
        expect(processesIn(host.ns, /ucarp$/)).toEqual([]);
      }
      const ps = mustSh('ps', ['-eo', 'pid,args', '--cols', '10000']);
      expect(ps).toContain('/usr/sbin/carpd');
      expect(ps).not.toContain(PASSWORD);
      for (const host of [h1, h2]) {
        const [daemon] = carpdIn(host.ns);
        const environ = readFileSync(`/proc/${daemon?.pid}/environ`, 'utf8');
        expect(environ).not.toContain(PASSWORD);
        expect(environ).not.toContain('IF_UCARP');
        expect(environ).toContain(`CARPD_IFUPDOWN_INTERFACES=${files(host).interfaces}`);
        expect(daemon?.args).toContain('--no-manage-vip');
        // The password file lived only until carpd had read it.
        expect(readdirSync('/run/carpd/ifupdown').filter((f) => f.endsWith('.pass'))).toEqual([]);
      }
    }, 60_000);

    it('the VIP (the eth0:ucarp stanza) goes to the preferred host only', async () => {
      await waitFor(async () => (await h1.hasAddress(vip)) && !(await h2.hasAddress(vip)), 10_000, 100, 'h1 MASTER');
      // Brought up by vip-up as the logical interface, from this test's interfaces file.
      const labelled = await h1.exec('ip', ['-4', 'addr', 'show', 'label', 'eth0:ucarp']);
      expect(labelled.stdout).toContain(`${vip}/32`);
      expect(readFileSync(join(files(h1).state, 'ifstate'), 'utf8')).toContain('eth0:ucarp');
    }, 20_000);

    it('carpd status reaches the daemons ifupdown started, in each host namespace', async () => {
      for (const [host, state] of [
        [h1, 'MASTER'],
        [h2, 'BACKUP'],
      ] as const) {
        const status = await host.exec('/usr/sbin/carpd', ['status', '--json']);
        expect(status.code, status.stderr).toBe(0);
        const vhosts = (JSON.parse(status.stdout) as { vhosts: Array<{ interface: string; state: string; vips: string[] }> }).vhosts;
        expect(vhosts.map((v) => [v.interface, v.state])).toEqual([['eth0', state]]);
        expect(vhosts[0]!.vips[0]).toMatch(new RegExp(`^${vip.replace(/\./g, '\\.')}/`));
      }
    }, 20_000);

    it('ifdown stops exactly that carpd at once: the backup takes over without waiting', async () => {
      const [daemon] = carpdIn(h1.ns);
      // h2 would declare h1 dead 3 x 1 s + 100/256 s after h1's last advert; adverts leave every
      // second, so without the bow-out h2 could not hold the VIP sooner than 2.39 s from now.
      const started = Date.now();
      const takeover = waitFor(() => h2.hasAddress(vip), 5_000, 20, 'h2 MASTER after the bow-out').then(() => Date.now());
      const down = await ifupdown(h1, 'ifdown');
      console.log(`ifdown on h1 (carpd's clean stop included) took ${Date.now() - started} ms`);
      expect(down.code, down.stderr).toBe(0);
      expect(carpdIn(h1.ns)).toEqual([]);
      expect(existsSync(`/proc/${daemon?.pid}`)).toBe(false);
      expect(await h1.hasAddress(vip)).toBe(false);
      const tookOverAfterMs = (await takeover) - started;
      console.log(`h2 took the VIP over ${tookOverAfterMs} ms after ifdown started on h1`);
      expect(tookOverAfterMs).toBeLessThan(2_000);
      expect(carpdIn(h2.ns)).toHaveLength(1);
    }, 20_000);

    it('ifup again: the preempting host takes the VIP back', async () => {
      const up = await ifupdown(h1, 'ifup');
      expect(up.code, up.stderr).toBe(0);
      await waitFor(async () => (await h1.hasAddress(vip)) && !(await h2.hasAddress(vip)), 10_000, 100, 'h1 MASTER again');
    }, 20_000);

    it('ifdown on both leaves no daemon, no VIP and no pidfile', async () => {
      for (const host of [h1, h2]) {
        const down = await ifupdown(host, 'ifdown');
        expect(down.code, down.stderr).toBe(0);
        expect(carpdIn(host.ns)).toEqual([]);
        expect(await host.hasAddress(vip)).toBe(false);
      }
      expect(readdirSync('/run/carpd/ifupdown')).toEqual([]);
    }, 60_000);
  });

  it('dpkg -r removes everything but the conffiles, which are then inert; dpkg -P removes those too', () => {
    mustDpkg(['-r', 'carpd']);
    for (const path of ['/usr/sbin/carpd', '/usr/lib/carpd', '/usr/share/carpd', '/lib/systemd/system/carpd@.service',
      '/usr/share/man/man8/carpd.8.gz', '/usr/share/bash-completion/completions/carpd']) {
      expect(existsSync(path), path).toBe(false);
    }
    // Debian keeps conffiles until purge; without /usr/sbin/carpd the hook exits 0 at once.
    const hook = sh('/etc/network/if-up.d/carpd', []);
    expect(hook.status).toBe(0);
    mustDpkg(['-P', 'carpd']);
    installed = false;
    for (const path of ['/etc/network/if-up.d/carpd', '/etc/network/if-down.d/carpd', '/etc/carpd']) {
      expect(existsSync(path), path).toBe(false);
    }
    expect(sh('dpkg', ['-L', 'carpd']).status).not.toBe(0);
  }, 60_000);
});

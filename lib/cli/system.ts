/**
 * The few facts about the host that checking a command line needs. parseCommandLine takes them
 * through this interface so its tests run against a fake host (test/helpers/fake-system.ts).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SystemProbe {
  /** The interface's IPv4 addresses, or undefined when there is no such interface. */
  interfaceIpv4Addresses(name: string): string[] | undefined;
  /**
   * The interface's IPv6 addresses as `ip` writes them (link-local ones included), or undefined
   * when there is no such interface or they cannot be read. Optional: a probe without it does
   * not check an IPv6 --srcip.
   */
  interfaceIpv6Addresses?(name: string): string[] | undefined;
  /** Whether `path` (absolute) is a regular file this process may execute. */
  isExecutableFile(path: string): boolean;
  /**
   * The file's first line, without its '\n' (any '\r' is kept: the caller decides); '' for an
   * empty file. Throws an Error with a one-line message naming the file when it is unreadable.
   */
  readFirstLine(path: string): string;
  /**
   * The whole file as UTF-8 and its permission bits (for the config file). Throws an Error with
   * a one-line message naming the file when it is unreadable.
   */
  readTextFile(path: string): { readonly text: string; readonly mode: number };
  /** The directory relative script and pidfile paths are resolved against. */
  cwd(): string;
  /** carpd's version, from its package.json. */
  carpdVersion(): string;
}

export const realSystemProbe: SystemProbe = {
  interfaceIpv4Addresses(name) {
    // Asked of `ip`, not os.networkInterfaces(): Node leaves out every interface without
    // carrier, even one that is up with its addresses (a cut cable at boot, a peer down), and
    // carpd must start — and reload — on such an interface: it waits for the link as BACKUP.
    // `ip` also follows our network namespace, where /sys may show another one.
    const result = spawnSync('ip', ['-j', '-4', 'addr', 'show', 'dev', name], { encoding: 'utf8', timeout: 5000, env: { LC_ALL: 'C' } });
    if (result.status !== 0) {
      if (/does not exist/i.test(result.stderr ?? '')) return undefined;
      // No `ip` at all, or it failed for another reason: fall back to what Node sees.
      if (!existsSync(join('/sys/class/net', name))) return undefined;
      return (networkInterfaces()[name] ?? [])
        .filter((address) => address.family === 'IPv4' || (address.family as unknown) === 4)
        .map((address) => address.address);
    }
    try {
      const links = JSON.parse(result.stdout === '' ? '[]' : result.stdout) as Array<{ addr_info?: Array<{ family?: string; local?: string }> }>;
      return links.flatMap((link) => link.addr_info ?? []).filter((a) => a.family === 'inet' && typeof a.local === 'string').map((a) => a.local!);
    } catch {
      return [];
    }
  },

  interfaceIpv6Addresses(name) {
    const result = spawnSync('ip', ['-j', '-6', 'addr', 'show', 'dev', name], { encoding: 'utf8', timeout: 5000, env: { LC_ALL: 'C' } });
    if (result.status !== 0) return undefined;
    try {
      const links = JSON.parse(result.stdout === '' ? '[]' : result.stdout) as Array<{ addr_info?: Array<{ family?: string; local?: string }> }>;
      return links.flatMap((link) => link.addr_info ?? []).filter((a) => a.family === 'inet6' && typeof a.local === 'string').map((a) => a.local!);
    } catch {
      return undefined;
    }
  },

  isExecutableFile(path) {
    try {
      accessSync(path, constants.X_OK);
      return statSync(path).isFile();
    } catch {
      return false;
    }
  },

  readFirstLine(path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      // Node says "ENOENT: no such file or directory, open '/x'"; the part before the comma
      // is the reason, the path we print ourselves.
      const reason = (error as Error).message.split(',')[0] ?? 'unreadable';
      throw new Error(`cannot read ${path}: ${reason}`);
    }
    const newline = text.indexOf('\n');
    return newline === -1 ? text : text.slice(0, newline);
  },

  readTextFile(path) {
    try {
      const text = readFileSync(path, 'utf8');
      return { text, mode: statSync(path).mode & 0o7777 };
    } catch (error) {
      const reason = (error as Error).message.split(',')[0] ?? 'unreadable';
      throw new Error(`cannot read ${path}: ${reason}`);
    }
  },

  cwd() {
    return process.cwd();
  },

  carpdVersion() {
    // dist/lib/cli/system.js at run time, lib/cli/system.ts under vitest: walk up to carpd's
    // package.json rather than hard-coding a depth that differs between the two.
    let directory = dirname(fileURLToPath(import.meta.url));
    for (;;) {
      const candidate = join(directory, 'package.json');
      if (existsSync(candidate)) {
        const manifest = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
        if (manifest.name === 'carpd' && typeof manifest.version === 'string') {
          return manifest.version;
        }
      }
      const parent = dirname(directory);
      if (parent === directory) {
        return 'unknown';
      }
      directory = parent;
    }
  },
};

/**
 * The probe with each interface looked up once: a config of 100 vhosts on eth0 asks about eth0
 * 100 times within one parse. Made anew for every parse, so a reload sees today's addresses.
 */
export function oncePerInterface(system: SystemProbe): SystemProbe {
  const seen = new Map<string, string[] | undefined>();
  return {
    ...system,
    interfaceIpv4Addresses(name) {
      if (!seen.has(name)) seen.set(name, system.interfaceIpv4Addresses(name));
      const found = seen.get(name);
      return found === undefined ? undefined : [...found];
    },
  };
}

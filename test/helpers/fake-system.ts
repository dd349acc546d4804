/**
 * A host described in memory, for tests of code that takes a SystemProbe (lib/cli/system.ts).
 * Paths are compared as given: parseCommandLine resolves them against cwd() before asking.
 */
import type { SystemProbe } from '../../lib/cli/system.js';

export interface FakeSystemOptions {
  /** Interface name → its IPv4 addresses. An interface with [] exists but has no address. */
  readonly interfaces?: Readonly<Record<string, readonly string[]>>;
  /** Interface name → its IPv6 addresses; an interface not listed here is not asked about. */
  readonly interfaces6?: Readonly<Record<string, readonly string[]>>;
  /** Absolute paths of executable files. */
  readonly executables?: readonly string[];
  /** Absolute path → whole file content; readFirstLine cuts the first line out of it. */
  readonly files?: Readonly<Record<string, string>>;
  /** Absolute path → permission bits for readTextFile (default 0o600). */
  readonly modes?: Readonly<Record<string, number>>;
  readonly cwd?: string;
  readonly version?: string;
}

/** A machine with eth0 (10.1.1.1 and 10.1.1.2), a down interface, two scripts and a passfile. */
export const DEFAULT_FAKE_SYSTEM: Required<FakeSystemOptions> = {
  interfaces: { eth0: ['10.1.1.1', '10.1.1.2'], lo: ['127.0.0.1'], eth1: [] },
  interfaces6: {},
  executables: ['/etc/vip-up.sh', '/etc/vip-down.sh', '/home/op/up.sh'],
  files: { '/etc/carp.pass': 'love\nsecond line ignored\n' },
  modes: {},
  cwd: '/home/op',
  version: '9.8.7',
};

export function fakeSystem(options: FakeSystemOptions = {}): SystemProbe & { readonly reads: string[] } {
  const settings = { ...DEFAULT_FAKE_SYSTEM, ...options };
  const reads: string[] = [];
  return {
    reads,
    interfaceIpv4Addresses(name) {
      const addresses = settings.interfaces[name];
      return addresses === undefined ? undefined : [...addresses];
    },
    interfaceIpv6Addresses(name) {
      const addresses = settings.interfaces6[name];
      return addresses === undefined ? undefined : [...addresses];
    },
    isExecutableFile(path) {
      return settings.executables.includes(path);
    },
    readFirstLine(path) {
      reads.push(path);
      const content = settings.files[path];
      if (content === undefined) {
        throw new Error(`cannot read ${path}: ENOENT: no such file or directory`);
      }
      const newline = content.indexOf('\n');
      return newline === -1 ? content : content.slice(0, newline);
    },
    readTextFile(path) {
      reads.push(path);
      const text = settings.files[path];
      if (text === undefined) {
        throw new Error(`cannot read ${path}: ENOENT: no such file or directory`);
      }
      return { text, mode: settings.modes[path] ?? 0o600 };
    },
    cwd() {
      return settings.cwd;
    },
    carpdVersion() {
      return settings.version;
    },
  };
}

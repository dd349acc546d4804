/**
 * carpd's entry: parse the command line, then hand the frozen Config to the daemon. Returns the
 * exit code instead of calling process.exit, so pending output is flushed and tests can call it.
 */
import type { Config } from '../config.js';
import type { ReloadParse, RunOptions } from '../daemon/process.js';
import { UsageError } from './errors.js';
import { parseCommandLine } from './parse.js';
import { realSystemProbe, type SystemProbe } from './system.js';

/** What main() touches, replaceable in tests. */
export interface MainDependencies {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly system: SystemProbe;
  readonly runDaemon: (config: Config, options: RunOptions) => Promise<number>;
  /** `carpd cleanup <options>`: remove the VIPs a carpd with these options left behind. */
  readonly runCleanup: (config: Config, stderr: { write(text: string): unknown }) => Promise<number>;
  /** `carpd status [--json]` and `carpd reload`: talk to the running daemons. */
  readonly runControlCommand: (argv: string[], io: { stdout: { write(text: string): unknown }; stderr: { write(text: string): unknown } }) => Promise<number>;
}

/** The words that make carpd a client of a running daemon instead of a daemon. */
const CONTROL_COMMANDS = new Set(['status', 'reload']);

const defaults: MainDependencies = {
  stdout: process.stdout,
  stderr: process.stderr,
  system: realSystemProbe,
  // Loaded only when there is a daemon to run, so --help never pulls in raw sockets.
  runDaemon: async (config, options) => {
    const { runDaemon } = await import('../daemon/process.js');
    return runDaemon(config, options);
  },
  runCleanup: async (config, stderr) => {
    const { runCleanup } = await import('../daemon/cleanup.js');
    const line = (text: string) => stderr.write(`carpd cleanup: ${text}\n`);
    return runCleanup(config, { log: { debug: () => {}, info: line, warn: line, error: line } });
  },
  runControlCommand: async (argv, io) => {
    const { runControlCommand } = await import('../control/client.js');
    return runControlCommand(argv, io);
  },
};

export async function main(argv: string[], dependencies: Partial<MainDependencies> = {}): Promise<number> {
  const { stdout, stderr, system, runDaemon, runControlCommand, runCleanup } = { ...defaults, ...dependencies };
  if (argv[0] !== undefined && CONTROL_COMMANDS.has(argv[0])) {
    return runControlCommand(argv, { stdout, stderr });
  }
  // `carpd cleanup` reads the daemon's own options, for their interfaces and VIPs.
  const cleanup = argv[0] === CLEANUP_COMMAND;
  let outcome;
  try {
    outcome = cleanup ? parseCommandLine(argv.slice(1), cleanupProbe(system)) : parseCommandLine(argv, system);
  } catch (error) {
    if (error instanceof UsageError) {
      stderr.write(`carpd: ${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  }
  switch (outcome.kind) {
    case 'help':
    case 'version':
      stdout.write(outcome.text);
      return 0;
    case 'print':
      for (const warning of outcome.warnings) stderr.write(`carpd: ${warning}\n`);
      stdout.write(outcome.text);
      return 0;
    case 'run':
      if (cleanup) return runCleanup(outcome.config, stderr);
      for (const warning of outcome.warnings) {
        stderr.write(`carpd: ${warning}\n`);
      }
      return runDaemon(outcome.config, { version: system.carpdVersion(), reloadConfig: () => reparse(argv, system) });
  }
}

const CLEANUP_COMMAND = 'cleanup';

/**
 * The host as `carpd cleanup` checks a command line against: every script counts as present (one
 * removed since must not keep a VIP up). The interface and --srcip are still checked: when they
 * are gone, so are the addresses this would remove.
 */
function cleanupProbe(system: SystemProbe): SystemProbe {
  return { ...system, isExecutableFile: () => true };
}

/** The same command line read again: the config file it names is what changed. */
function reparse(argv: string[], system: SystemProbe): ReloadParse {
  try {
    const outcome = parseCommandLine(argv, system);
    if (outcome.kind === 'run') return { ok: true, config: outcome.config };
    return { ok: false, message: 'the command line no longer describes a daemon' };
  } catch (error) {
    if (error instanceof UsageError) return { ok: false, message: error.message };
    throw error;
  }
}

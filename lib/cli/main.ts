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
  runControlCommand: async (argv, io) => {
    const { runControlCommand } = await import('../control/client.js');
    return runControlCommand(argv, io);
  },
};

export async function main(argv: string[], dependencies: Partial<MainDependencies> = {}): Promise<number> {
  const { stdout, stderr, system, runDaemon, runControlCommand } = { ...defaults, ...dependencies };
  if (argv[0] !== undefined && CONTROL_COMMANDS.has(argv[0])) {
    return runControlCommand(argv, { stdout, stderr });
  }
  let outcome;
  try {
    outcome = parseCommandLine(argv, system);
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
      for (const warning of outcome.warnings) {
        stderr.write(`carpd: ${warning}\n`);
      }
      return runDaemon(outcome.config, { version: system.carpdVersion(), reloadConfig: () => reparse(argv, system) });
  }
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

/**
 * carpd's entry: parse the command line, then hand the frozen Config to the daemon. Returns the
 * exit code instead of calling process.exit, so pending output is flushed and tests can call it.
 */
import type { Config } from '../config.js';
import { UsageError } from './errors.js';
import { parseCommandLine } from './parse.js';
import { realSystemProbe, type SystemProbe } from './system.js';

/** What main() touches, replaceable in tests. */
export interface MainDependencies {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly system: SystemProbe;
  readonly runDaemon: (config: Config) => Promise<number>;
}

const defaults: MainDependencies = {
  stdout: process.stdout,
  stderr: process.stderr,
  system: realSystemProbe,
  // Loaded only when there is a daemon to run, so --help never pulls in raw sockets.
  runDaemon: async (config) => {
    const { runDaemon } = await import('../daemon.js');
    return runDaemon(config);
  },
};

export async function main(argv: string[], dependencies: Partial<MainDependencies> = {}): Promise<number> {
  const { stdout, stderr, system, runDaemon } = { ...defaults, ...dependencies };
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
    case 'run':
      for (const warning of outcome.warnings) {
        stderr.write(`carpd: ${warning}\n`);
      }
      return runDaemon(outcome.config);
  }
}

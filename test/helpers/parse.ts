// The command-line parser run against the fake host (fake-system.ts), as test/cli uses it:
// the config it accepts, or the one UsageError it refuses with.
import { expect } from 'vitest';
import type { Config } from '../../lib/config.js';
import { UsageError } from '../../lib/cli/errors.js';
import { parseCommandLine } from '../../lib/cli/parse.js';
import { fakeSystem, type FakeSystemOptions } from './fake-system.js';

/** The config `argv` runs with; throws if the parser answers anything else (--help, --version). */
export function configOf(argv: readonly string[], system: FakeSystemOptions = {}): Config {
  const outcome = parseCommandLine(argv, fakeSystem(system));
  if (outcome.kind !== 'run') throw new Error(`expected a config, got ${outcome.kind}`);
  return outcome.config;
}

/** The UsageError `argv` is refused with; fails the test if it is accepted or throws another error. */
export function usageErrorOf(argv: readonly string[], system: FakeSystemOptions = {}): UsageError {
  try {
    parseCommandLine(argv, fakeSystem(system));
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error(`expected a UsageError for ${JSON.stringify(argv)}`);
}

/**
 * A bad command line. main() prints `carpd: <message>` as one line on stderr and exits 64
 * (EX_USAGE from sysexits.h), so every message here is a single line without the prefix.
 */
export class UsageError extends Error {
  readonly exitCode = 64;

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * The one template for a rejected value, in the manner of execa's option checks: name the
 * option, say what is accepted, quote what was given. `given` goes through JSON.stringify so
 * control characters or a stray newline cannot break the one-line rule.
 *
 * `note` adds a parenthesis after the value, for what the value turned out to mean.
 *
 * Never pass a password here: password errors describe its length, not its content.
 */
export function invalidValue(option: string, expected: string, given: string, note?: string): UsageError {
  const suffix = note === undefined ? '' : ` (${note})`;
  return new UsageError(`${option} must be ${expected}, got ${JSON.stringify(given)}${suffix}`);
}

/** A required option that is absent; `expected` is the same phrase invalidValue would use. */
export function missingOption(option: string, expected: string): UsageError {
  return new UsageError(`${option} is required: ${expected}`);
}

/** The message of anything thrown, for one-line log entries. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

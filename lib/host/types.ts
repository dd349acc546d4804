/**
 * What the host layer needs from a logger. lib/log.ts's Logger satisfies it; tests pass a
 * recorder. Kept this small so lib/host/ depends on nothing else in the project.
 */
export interface HostLogger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  debug(msg: string): void;
}

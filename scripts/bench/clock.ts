// The wall clock to the microsecond, for the one bench timestamp that is not a tool's: when the
// bench applied a fault. tcpdump -tt, ip -ts and ping -D stamp their lines with the wall clock in
// µs; Date.now() counts whole milliseconds, so a fault timed with it read up to 1 ms early, more
// than the differences bench:vrrp compares.

/**
 * A wall clock (ms since the epoch, fractional) read as performance.now() plus an offset taken
 * at the moment Date.now() turns to its next millisecond (a spin of at most 1 ms), so the
 * offset is exact to the spin's step. Take one per round: between calibrations only the wall
 * clock's own adjustments (NTP slewing, some µs per second) can move it.
 */
export function preciseWallClock(wall: () => number = Date.now, monotonic: () => number = () => performance.now()): () => number {
  const start = wall();
  let edge: number;
  let at: number;
  do {
    at = monotonic();
    edge = wall();
  } while (edge === start);
  const offset = edge - at;
  return () => monotonic() + offset;
}

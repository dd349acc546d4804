/**
 * Time as the state machine sees it: milliseconds on a monotonic scale. The daemon injects
 * `performance.now()`; tests inject a hand-driven clock. Wall-clock time never enters the
 * election, so an NTP step cannot fire or delay a timer (ucarp compares gettimeofday()).
 */
export interface Clock {
  now(): number;
}

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private current = 0) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): number {
    this.current += ms;
    return this.current;
  }
  set(ms: number): void {
    this.current = ms;
  }
}

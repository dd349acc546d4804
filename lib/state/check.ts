/**
 * Fall/rise counting for health checks, as keepalived's vrrp_script does it: a healthy check is
 * declared failed only after `fall` consecutive failures, a failed one healthy again only after
 * `rise` consecutive successes, so one slow answer does not move a VIP. Any result of the other
 * kind resets the streak.
 *
 * The first result decides at once, either way, as in keepalived 2.x (a script starts in
 * SCRIPT_INIT_STATE_INIT and its first failure, or its first success, is taken as the state):
 * until then the state is 'unknown'. So carpd neither starts in a false FAULT at boot for a
 * service that is fine, nor claims MASTER `fall` intervals long on behalf of a service that has
 * never answered. keepalived's `init_fail` (start in the failed state) is not reproduced.
 *
 * Pure: no timers, no clock, no I/O. The runner in lib/host/check-runner.ts produces results.
 */

export type CheckHealth = 'unknown' | 'healthy' | 'failed';

export interface CheckStep {
  /** The state moved with this result (always true for the first result). */
  readonly changed: boolean;
  readonly state: CheckHealth;
  /** The state before this result: 'unknown' only for the first one. */
  readonly previous: CheckHealth;
  /** Consecutive results of the current kind (successes if this one was ok, else failures). */
  readonly streak: number;
}

/** keepalived's range for fall and rise. */
export const MIN_FALL_RISE = 1;
export const MAX_FALL_RISE = 255;

export class FallRise {
  private current: CheckHealth = 'unknown';
  private lastOk: boolean | undefined;
  private streakLength = 0;

  constructor(
    readonly fall: number,
    readonly rise: number,
  ) {
    checkCount('fall', fall);
    checkCount('rise', rise);
  }

  get state(): CheckHealth {
    return this.current;
  }

  /** Counts one check result and says where the state stands after it. */
  record(ok: boolean): CheckStep {
    if (typeof ok !== 'boolean') throw new TypeError(`ok must be a boolean, got ${JSON.stringify(ok)}`);
    this.streakLength = ok === this.lastOk ? this.streakLength + 1 : 1;
    this.lastOk = ok;
    const previous = this.current;
    if (previous === 'unknown') {
      this.current = ok ? 'healthy' : 'failed';
    } else if (previous === 'healthy' && !ok && this.streakLength >= this.fall) {
      this.current = 'failed';
    } else if (previous === 'failed' && ok && this.streakLength >= this.rise) {
      this.current = 'healthy';
    }
    return { changed: this.current !== previous, state: this.current, previous, streak: this.streakLength };
  }
}

/**
 * The one line logged when a check changes state, undefined when it did not:
 *   check "nginx" first result: healthy (exit 0 after 0.01 s)
 *   check "nginx" failed 2 of 2: exit 7 after 0.03 s
 *   check "nginx" healthy again after 2 of 2 successes
 * `lastDetail` is the detail of the result just recorded (CheckRun.detail).
 */
export function describeCheckChange(name: string, step: CheckStep, fall: number, rise: number, lastDetail: string): string | undefined {
  if (!step.changed) return undefined;
  const check = `check ${JSON.stringify(name)}`;
  if (step.previous === 'unknown') {
    return `${check} first result: ${step.state}${lastDetail !== '' ? ` (${lastDetail})` : ''}`;
  }
  if (step.state === 'failed') {
    return `${check} failed ${step.streak} of ${fall}${lastDetail !== '' ? `: ${lastDetail}` : ''}`;
  }
  return `${check} healthy again after ${step.streak} of ${rise} success${rise === 1 ? '' : 'es'}`;
}

function checkCount(option: string, value: number): void {
  if (!Number.isInteger(value) || value < MIN_FALL_RISE || value > MAX_FALL_RISE) {
    throw new TypeError(`${option} must be an integer from ${MIN_FALL_RISE} to ${MAX_FALL_RISE}, got ${String(value)}`);
  }
}

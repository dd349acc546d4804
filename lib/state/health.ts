/**
 * A vhost's health from everything it tracks, as one verdict for its machine: checks
 * (keepalived's vrrp_script), other interfaces (track_interface) and files (track_file).
 *
 *  - weight 0: a failed check or a tracked interface that is down puts the vhost in FAULT, and
 *    so does a track file that says `fault`;
 *  - weight N: it demotes the vhost by N instead (the machine adds the sum to its advertised
 *    advskew, capped at 240); a track file holding a number N demotes by N;
 *  - an item that has not reported yet and would fault the vhost keeps it `pending`: it does not
 *    claim until the item's first report, so neither a false FAULT nor a blind claim happens
 *    at boot. (Weighted items that have not reported demote by nothing.)
 *
 * Pure: the daemon's health hub feeds it the items' states and passes the verdict on.
 */
export type TrackKind = 'check' | 'interface' | 'file';
export type TrackState = 'unknown' | 'healthy' | 'failed';

export interface TrackStatus {
  readonly kind: TrackKind;
  readonly name: string;
  /** 0: failing faults; N: failing demotes by N. For a file, its own number decides (see demotion). */
  readonly weight: number;
  readonly state: TrackState;
  /** A track file's demotion when it holds a number (state 'failed', weight 0 then means fault). */
  readonly demotion?: number;
  /** What the item last said, for the reason ("exit 7 after 0.03 s", "carrier lost"). */
  readonly detail?: string;
}

export interface Health {
  readonly fault: boolean;
  readonly demotion: number;
  readonly pending: boolean;
  /** One phrase for the transition or log line. */
  readonly reason: string;
}

export function describeTrack(t: TrackStatus): string {
  const what = t.kind === 'check' ? `check "${t.name}"` : t.kind === 'interface' ? `tracked interface ${t.name}` : `track file ${t.name}`;
  const state = t.kind === 'interface' ? (t.state === 'failed' ? 'down' : t.state === 'healthy' ? 'up' : 'not read yet') : t.state;
  return `${what} ${state}${t.detail ? ` (${t.detail})` : ''}`;
}

/** Whether a failing item faults (rather than demotes). */
function faults(t: TrackStatus): boolean {
  return t.kind === 'file' ? t.demotion === undefined : t.weight === 0;
}

export function assessHealth(items: readonly TrackStatus[]): Health {
  const faulting = items.filter((t) => t.state === 'failed' && faults(t));
  const demoting = items.filter((t) => t.state === 'failed' && !faults(t));
  const waiting = items.filter((t) => t.state === 'unknown' && faults(t));
  const demotion = demoting.reduce((sum, t) => sum + (t.kind === 'file' ? (t.demotion ?? 0) : t.weight), 0);
  const first = faulting[0];
  if (first !== undefined) {
    const more = faulting.length > 1 ? ` and ${faulting.length - 1} more` : '';
    return { fault: true, demotion, pending: waiting.length > 0, reason: `${describeTrack(first)}${more}` };
  }
  if (waiting.length > 0) {
    return { fault: false, demotion, pending: true, reason: `waiting for ${waiting.map((t) => describeTrack(t)).join(', ')}` };
  }
  if (demotion > 0) {
    return { fault: false, demotion, pending: false, reason: `demoted by ${demotion}: ${demoting.map((t) => describeTrack(t)).join(', ')}` };
  }
  return { fault: false, demotion: 0, pending: false, reason: items.length === 0 ? 'nothing tracked' : 'everything tracked is healthy' };
}

export function sameHealth(a: Health, b: Health): boolean {
  return a.fault === b.fault && a.demotion === b.demotion && a.pending === b.pending;
}

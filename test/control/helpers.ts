import type { ControlTarget, DaemonSnapshot, ReloadResult, VhostSnapshot } from '../../lib/control/types.js';

/**
 * Stand-ins for the daemon's process layer: a ControlTarget serving fixed snapshots. Every
 * field has the value a test would least expect by accident, so a wrong field shows.
 */

export function vhostSnapshot(overrides: Partial<VhostSnapshot> = {}): VhostSnapshot {
  return {
    name: 'web',
    interface: 'eth0',
    vhid: 10,
    vips: ['198.18.0.10/24'],
    srcip: '198.18.0.1',
    state: 'MASTER',
    since: '2025-03-01T10:00:00.000Z',
    master: null,
    lastTransition: { from: 'BACKUP', to: 'MASTER', reason: 'master down: no advert for 3.04 s', at: '2025-03-01T10:00:00.000Z' },
    group: null,
    linkUp: true,
    protocol: 'carp',
    advbase: 1,
    advskew: 0,
    priority: null,
    advertInt: null,
    advertsSent: 7530,
    advertsReceived: 12,
    sendErrors: 0,
    drops: { 'bad-ttl': 0, 'bad-auth': 3, 'bad-version': 0 },
    transitions: { 'INIT->BACKUP': 1, 'BACKUP->MASTER': 1 },
    scriptRuns: { ok: 2, failed: 0, timeout: 0, error: 0 },
    otherMasterHeard: 0,
    demotion: 0,
    advertisedAdvskew: 0,
    advertisedPriority: null,
    tracks: [],
    ...overrides,
  };
}

export function daemonSnapshot(overrides: Partial<DaemonSnapshot> = {}): DaemonSnapshot {
  return {
    pid: 4242,
    version: '0.1.0',
    configFile: '/etc/carpd/carpd.conf',
    startedAt: '2025-03-01T09:59:56.000Z',
    vhosts: [vhostSnapshot()],
    links: [{ interface: 'eth0', family: 4, up: true, drops: { 'bad-ttl': 5, 'unknown-vhid': 0 } }],
    checks: [],
    ...overrides,
  };
}

export class FakeTarget implements ControlTarget {
  reloads = 0;

  constructor(
    public snapshotValue: DaemonSnapshot = daemonSnapshot(),
    public reloadResult: ReloadResult | (() => Promise<ReloadResult>) = { ok: true, message: 'reloaded: 1 vhost, nothing changed' },
  ) {}

  snapshot(): DaemonSnapshot {
    return this.snapshotValue;
  }

  async reload(): Promise<ReloadResult> {
    this.reloads++;
    return typeof this.reloadResult === 'function' ? this.reloadResult() : this.reloadResult;
  }
}

/** Collects what a command writes, for assertions. */
export class Output {
  text = '';
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

export { RecordingLogger } from '../host/helpers.js';

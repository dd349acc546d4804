/**
 * What the vhosts of a process track besides their own link, run once each whatever number of
 * vhosts follow it: check runners (a check tracked by three vhosts runs once), monitors of other
 * interfaces, watchers of track files. Every change is turned into each following vhost's health
 * (lib/state/health.ts) and handed to its machine as a 'health' event when the verdict changed.
 * A check's state change is logged once, here, with its reason; never one line per run.
 */
import { checkIdentity, type CheckConfig, type VhostConfig } from '../config.js';
import type { CheckSnapshot, TrackSnapshot } from '../control/types.js';
import { CheckRunner, type CheckRun } from '../host/check-runner.js';
import { LinkMonitor } from '../host/link-monitor.js';
import { describeVerdict, TrackFile, type FileVerdict } from '../host/track-file.js';
import type { Logger } from '../log.js';
import { describeCheckChange, FallRise } from '../state/check.js';
import { assessHealth, sameHealth, type Health, type TrackStatus } from '../state/health.js';
import type { VirtualHost } from './vhost.js';

interface Followed<T> {
  readonly item: T;
  readonly followers: Set<VirtualHost>;
  /** Its first state has been read (until then it counts as unknown: pending if it can fault). */
  known: boolean;
}

interface CheckEntry {
  readonly runner: CheckRunner;
  readonly counter: FallRise;
  last: CheckRun | undefined;
}

export class HealthHub {
  /** By checkIdentity: the same check from a kept vhost and a reloaded one runs once. */
  private readonly checks = new Map<string, Followed<CheckEntry> & { readonly check: CheckConfig }>();
  private readonly interfaces = new Map<string, Followed<LinkMonitor>>();
  private readonly files = new Map<string, Followed<TrackFile>>();
  private readonly verdicts = new Map<VirtualHost, Health>();
  private stopped = false;

  constructor(
    private readonly log: Logger,
    /** keepalived's script_user: checks run as this user. */
    private readonly user?: { readonly uid: number; readonly gid: number },
  ) {}

  /** Whether the vhost tracks anything: if not, the hub never talks to it. */
  static tracksAnything(c: VhostConfig): boolean {
    return c.checks.length > 0 || c.trackInterfaces.length > 0 || c.trackFiles.length > 0;
  }

  /**
   * Starts following for a vhost that has just started: its first verdict goes to its machine
   * at once (normally `pending` until the first check results arrive, a few ms later).
   */
  follow(vhost: VirtualHost): void {
    const c = vhost.config;
    if (!HealthHub.tracksAnything(c)) return;
    for (const check of c.checks) this.checkEntry(check).followers.add(vhost);
    for (const tracked of c.trackInterfaces) this.interfaceEntry(tracked.name).followers.add(vhost);
    for (const path of c.trackFiles) this.fileEntry(path).followers.add(vhost);
    this.update(vhost, true);
  }

  /** Stops following for a vhost (reload removed it, or it stops); unused items stop. */
  async unfollow(vhost: VirtualHost): Promise<void> {
    this.verdicts.delete(vhost);
    const stops: Promise<void>[] = [];
    for (const [key, entry] of this.checks) {
      if (entry.followers.delete(vhost) && entry.followers.size === 0) {
        this.checks.delete(key);
        stops.push(entry.item.runner.stop());
      }
    }
    for (const [name, entry] of this.interfaces) {
      if (entry.followers.delete(vhost) && entry.followers.size === 0) {
        this.interfaces.delete(name);
        entry.item.stop();
      }
    }
    for (const [path, entry] of this.files) {
      if (entry.followers.delete(vhost) && entry.followers.size === 0) {
        this.files.delete(path);
        entry.item.stop();
      }
    }
    await Promise.all(stops);
  }

  /** Everything stops: running checks are killed with their process groups. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.checks.values()].map((e) => e.item.runner.stop()));
    for (const e of this.interfaces.values()) e.item.stop();
    for (const e of this.files.values()) e.item.stop();
    this.checks.clear();
    this.interfaces.clear();
    this.files.clear();
  }

  /** What a vhost tracks and how each item stands, for status and metrics. */
  tracksOf(vhost: VirtualHost): TrackSnapshot[] {
    const c = vhost.config;
    return this.statuses(c).map((t) => ({ kind: t.kind, name: t.name, weight: t.weight, state: t.state, detail: t.detail ?? null }));
  }

  /** Every check of the process, once each. */
  checkSnapshots(): CheckSnapshot[] {
    return [...this.checks.values()].map(({ check, item }) => ({
      name: check.name,
      command: [...check.command],
      state: item.counter.state,
      intervalMs: check.intervalMs,
      fall: check.fall,
      rise: check.rise,
      weight: check.weight,
      lastResult: item.last === undefined ? null : { ok: item.last.ok, outcome: item.last.outcome, detail: item.last.detail, durationMs: item.last.durationMs, at: new Date(item.last.at).toISOString() },
      runs: { ...item.runner.runs },
    }));
  }

  // ---- the items -------------------------------------------------------------------------

  private checkEntry(check: CheckConfig): Followed<CheckEntry> {
    const key = checkIdentity(check);
    let entry = this.checks.get(key);
    if (entry !== undefined) return entry;
    const runner = new CheckRunner(
      { name: check.name, command: check.command, intervalMs: check.intervalMs, timeoutMs: check.timeoutMs },
      { log: this.log, ...(this.user !== undefined ? { user: this.user } : {}) },
    );
    const item: CheckEntry = { runner, counter: new FallRise(check.fall, check.rise), last: undefined };
    entry = { item, followers: new Set(), known: true, check };
    this.checks.set(key, entry);
    runner.on('result', (run) => {
      item.last = run;
      const step = item.counter.record(run.ok);
      const line = describeCheckChange(check.name, step, check.fall, check.rise, run.detail);
      if (line !== undefined) (step.state === 'failed' ? this.log.warn : this.log.info).call(this.log, line);
      if (step.changed) this.updateAll(entry!.followers);
    });
    runner.start();
    return entry;
  }

  private interfaceEntry(name: string): Followed<LinkMonitor> {
    let entry = this.interfaces.get(name);
    if (entry !== undefined) return entry;
    const monitor = new LinkMonitor({ interface: name, log: this.log });
    const followed: Followed<LinkMonitor> = { item: monitor, followers: new Set(), known: false };
    entry = followed;
    this.interfaces.set(name, entry);
    const followers = entry.followers;
    monitor.on('change', (up) => {
      this.log.warn(`tracked interface ${name} ${up ? 'up' : 'down'}`);
      this.updateAll(followers);
    });
    monitor.on('error', (error) => this.log.error(`tracked interface ${name}: ${error.message}`));
    void monitor.start().then((up) => {
      followed.known = true;
      if (!up) this.log.warn(`tracked interface ${name} is down`);
      this.updateAll(followers);
    });
    return entry;
  }

  private fileEntry(path: string): Followed<TrackFile> {
    let entry = this.files.get(path);
    if (entry !== undefined) return entry;
    const watcher = new TrackFile({ path, log: this.log });
    const followed: Followed<TrackFile> = { item: watcher, followers: new Set(), known: false };
    entry = followed;
    this.files.set(path, entry);
    const followers = entry.followers;
    watcher.on('change', (verdict) => {
      this.log.warn(`track file ${path}: ${describeVerdict(verdict)}`);
      this.updateAll(followers);
    });
    void watcher.start().then((verdict) => {
      followed.known = true;
      if (verdict.kind !== 'healthy') this.log.warn(`track file ${path}: ${describeVerdict(verdict)}`);
      this.updateAll(followers);
    });
    return entry;
  }

  // ---- verdicts --------------------------------------------------------------------------

  private statuses(c: VhostConfig): TrackStatus[] {
    const out: TrackStatus[] = [];
    for (const check of c.checks) {
      const entry = this.checks.get(checkIdentity(check))?.item;
      out.push({ kind: 'check', name: check.name, weight: check.weight, state: entry?.counter.state ?? 'unknown', ...(entry?.last ? { detail: entry.last.detail } : {}) });
    }
    for (const tracked of c.trackInterfaces) {
      const entry = this.interfaces.get(tracked.name);
      const state = entry === undefined || !entry.known ? 'unknown' : entry.item.up ? 'healthy' : 'failed';
      out.push({ kind: 'interface', name: tracked.name, weight: tracked.weight, state });
    }
    for (const path of c.trackFiles) {
      const entry = this.files.get(path);
      const known = entry?.known === true;
      const verdict: FileVerdict = entry?.item.verdict ?? { kind: 'healthy' };
      out.push({
        kind: 'file',
        name: path,
        weight: verdict.kind === 'demote' ? verdict.weight : 0,
        state: !known ? 'unknown' : verdict.kind === 'healthy' ? 'healthy' : 'failed',
        ...(verdict.kind === 'demote' ? { demotion: verdict.weight } : {}),
        ...(verdict.kind === 'fault' ? { detail: verdict.reason } : {}),
      });
    }
    return out;
  }

  private updateAll(followers: Iterable<VirtualHost>): void {
    for (const vhost of followers) this.update(vhost, false);
  }

  private update(vhost: VirtualHost, first: boolean): void {
    if (this.stopped) return;
    const health = assessHealth(this.statuses(vhost.config));
    const before = this.verdicts.get(vhost);
    if (!first && before !== undefined && sameHealth(before, health)) return;
    this.verdicts.set(vhost, health);
    vhost.dispatch({ type: 'health', fault: health.fault, demotion: health.demotion, pending: health.pending, reason: health.reason });
  }
}

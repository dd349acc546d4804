import { EventEmitter } from 'node:events';
import { constants, statSync, watch, type FSWatcher } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute } from 'node:path';
import type { HostLogger } from './types.js';
import { checkInteger } from './validate.js';

/**
 * keepalived's track_file: a file that an operator or a tool writes and carpd reads.
 *
 *   absent, empty, `0`          healthy
 *   1..254                      demote by that weight
 *   `fault` (any case)          fault
 *   anything else               fault, with one warning line saying what the file contains
 *
 * Surrounding whitespace is ignored everywhere. Anything else — garbage, a negative number, 255
 * or more, a file that cannot be read (a directory, a FIFO, permission denied), more than 4 KiB —
 * counts as a fault, not as healthy: a maintenance file that is there at all most likely means
 * someone meant to drain the node, and stepping aside wrongly is visible and undone by fixing
 * the file, while staying MASTER wrongly is what the file exists to prevent. An empty file is
 * healthy like an absent one (`: > f` is a way to clear it), and is the one state that is
 * also seen in passing, since `echo fault > f` truncates before it writes: see below.
 *
 * Event-driven: `echo fault > /run/carpd/maint` is seen within ~10 ms. The watch is on the
 * file's *parent directory* (filtered by name), because the file may not exist yet and editors
 * and tools replace it by rename, which a watch on the file itself would lose. If the directory
 * does not exist (yet), the nearest existing ancestor is watched for the missing component, so
 * `mkdir -p /run/carpd && echo fault > /run/carpd/maint` is seen just as fast; a directory that
 * is deleted and re-created is noticed (its inode changed) and watched again. A slow poll
 * (pollMs, default 1 s) is the safety net for what inotify does not report: a symlinked file
 * changed in another directory, events lost to an overflowing queue, no inotify watches left.
 *
 * Fail fast, recover carefully: a read that gives a *worse* verdict (a fault, a higher weight)
 * takes effect at once; one that gives a *better* verdict (healthy, a lower weight) only once
 * the file has been quiet for SETTLE_MS and a second read agrees. Without that, every
 * `echo fault > f` on a drained node could read the truncated, empty file for a moment and
 * flap fault -> healthy -> fault, and an editor that renames the old file away before writing the new
 * one would flap through "absent". Removing the file therefore takes effect after ~35 ms.
 *
 * Never throws once constructed: read and watch errors are verdicts or log lines (one per
 * distinct problem, not one per read), an fs.watch 'error' falls back to the poll until the
 * next tick re-installs the watch. stop() closes the watch and clears every timer.
 */

export type FileVerdict =
  | { readonly kind: 'healthy' }
  | { readonly kind: 'demote'; readonly weight: number }
  | { readonly kind: 'fault'; readonly reason: string };

export interface TrackFileOptions {
  /** Absolute path of the file; it and its directory need not exist. */
  path: string;
  log: HostLogger;
  /** Safety-net re-read interval in ms (default 1000): how late a change inotify did not report is seen. */
  pollMs?: number;
}

export type TrackFileEvents = {
  change: [verdict: FileVerdict];
};

/** The largest weight a file may ask for: one less than a CARP/VRRP priority range. */
export const MAX_TRACK_FILE_WEIGHT = 254;
/** Bigger than any track file: a path pointing at a log or a binary is refused, not slurped. */
export const MAX_TRACK_FILE_BYTES = 4096;
const DEFAULT_POLL_MS = 1000;
/** Events within this window share one read; the first event is read at most this late. */
const COALESCE_MS = 10;
/** How long the file must stay quiet before a better verdict is believed. */
const SETTLE_MS = 20;
/** How much of unparsable content a warning quotes. */
const QUOTE_CHARS = 64;

const HEALTHY: FileVerdict = Object.freeze({ kind: 'healthy' });
/** The reason of a fault the file asks for, as opposed to one it causes by being unreadable. */
const REQUESTED_FAULT = 'fault requested';

/** Pure: the verdict for the file's content (undefined = the file does not exist). */
export function parseTrackFile(content: string | undefined): FileVerdict {
  if (content === undefined) return HEALTHY;
  const text = content.trim();
  if (text === '') return HEALTHY;
  if (/^fault$/i.test(text)) return fault(REQUESTED_FAULT);
  if (/^\d+$/.test(text)) {
    const weight = Number(text);
    if (weight === 0) return HEALTHY;
    if (weight <= MAX_TRACK_FILE_WEIGHT) return Object.freeze({ kind: 'demote', weight });
    return fault(`weight ${quote(text)} is out of range (1-${MAX_TRACK_FILE_WEIGHT})`);
  }
  if (/^-\d+$/.test(text)) return fault(`negative weight ${quote(text)} (expected 0-${MAX_TRACK_FILE_WEIGHT})`);
  return fault(`unparsable content ${quote(text)} (expected nothing, 0-${MAX_TRACK_FILE_WEIGHT} or "fault")`);
}

/** Same kind and weight. A fault's reason is description, not verdict: a new reason is no change. */
export function sameVerdict(a: FileVerdict, b: FileVerdict): boolean {
  if (a.kind !== b.kind) return false;
  return a.kind !== 'demote' || b.kind !== 'demote' || a.weight === b.weight;
}

/** healthy 0 < demote 1..254 < fault: which way a change goes. */
function severity(verdict: FileVerdict): number {
  if (verdict.kind === 'healthy') return 0;
  if (verdict.kind === 'demote') return verdict.weight;
  return MAX_TRACK_FILE_WEIGHT + 1;
}

export function describeVerdict(verdict: FileVerdict): string {
  if (verdict.kind === 'healthy') return 'healthy';
  if (verdict.kind === 'demote') return `demote by ${verdict.weight}`;
  return `fault (${verdict.reason})`;
}

function fault(reason: string): FileVerdict {
  return Object.freeze({ kind: 'fault', reason });
}

function quote(text: string): string {
  return JSON.stringify(text.length > QUOTE_CHARS ? `${text.slice(0, QUOTE_CHARS)}...` : text);
}

/** A fault the operator did not write: garbage, out of range, unreadable. Worth a warning. */
function isProblem(verdict: FileVerdict): verdict is { kind: 'fault'; reason: string } {
  return verdict.kind === 'fault' && verdict.reason !== REQUESTED_FAULT;
}

function errorCode(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'EUNKNOWN';
}

/** "EACCES: permission denied" out of "EACCES: permission denied, open '/x'". */
function errorSummary(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split(', ')[0] ?? message;
}

/**
 * Reads the file and returns its verdict. Opened non-blocking so that a FIFO at the path does
 * not hang the read (and a libuv thread) until someone writes to it.
 */
export async function readTrackFile(path: string): Promise<FileVerdict> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    const code = errorCode(error);
    // ENOTDIR: a component of the path is a file, so this file cannot exist.
    if (code === 'ENOENT' || code === 'ENOTDIR') return parseTrackFile(undefined);
    return fault(`cannot read it (${errorSummary(error)})`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return fault('not a regular file');
    const buffer = Buffer.alloc(MAX_TRACK_FILE_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > MAX_TRACK_FILE_BYTES) return fault(`larger than ${MAX_TRACK_FILE_BYTES} bytes: not a track file`);
    return parseTrackFile(buffer.toString('utf8', 0, length));
  } catch (error) {
    return fault(`cannot read it (${errorSummary(error)})`);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** What is being watched: the file's directory, or while that is missing an ancestor of it. */
interface Watched {
  watcher: FSWatcher;
  dir: string;
  /** The name in dir whose events matter: the file's, or the next missing path component. */
  name: string;
  dev: number;
  ino: number;
}

export class TrackFile extends EventEmitter<TrackFileEvents> {
  private readonly path: string;
  private readonly dir: string;
  private readonly name: string;
  private readonly log: HostLogger;
  private readonly pollMs: number;
  private current: FileVerdict = HEALTHY;
  /** A better verdict waiting for the file to stay quiet for SETTLE_MS. */
  private candidate: FileVerdict | undefined;
  private starting: Promise<FileVerdict> | undefined;
  /** Counts start()s, so a start that stop() overtook does not finish over a newer one. */
  private runs = 0;
  /** Set once start() has its initial verdict: from then on changes are events. */
  private started = false;
  private stopped = true;
  private watched: Watched | undefined;
  private coalesceTimer: NodeJS.Timeout | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  /** Bumped by every relevant fs event: a confirming read after one proves nothing. */
  private generation = 0;
  /** The generation when the settle timer was armed. */
  private settleGeneration = 0;
  /** One read at a time; a request during a read runs after it (a confirm only if still valid). */
  private reading = false;
  private readQueued: 'plain' | 'confirm' | undefined;
  /** The last problem warned about, so a garbled file polled every second warns once. */
  private lastProblem: string | undefined;
  private lastWatchProblem: string | undefined;

  constructor(o: TrackFileOptions) {
    super();
    if (typeof o.path !== 'string' || !isAbsolute(o.path) || o.path.endsWith('/') || o.path.includes('\0')) {
      throw new TypeError(`path must be an absolute path to a file (not ending in '/'), got ${JSON.stringify(o.path)}`);
    }
    const pollMs = o.pollMs ?? DEFAULT_POLL_MS;
    checkInteger('pollMs', pollMs, 10, 3_600_000);
    this.path = o.path;
    this.dir = dirname(o.path);
    this.name = basename(o.path);
    this.log = o.log;
    this.pollMs = pollMs;
  }

  /** The verdict in force (healthy before start()). */
  get verdict(): FileVerdict {
    return this.current;
  }

  /** Reads the file once and starts watching; resolves with the initial verdict. 'change' fires only on later changes. */
  start(): Promise<FileVerdict> {
    this.starting ??= this.startWatching();
    return this.starting;
  }

  private async startWatching(): Promise<FileVerdict> {
    this.stopped = false;
    const run = ++this.runs;
    // Watch first, then read: a change after the read is then reported by the watch. The
    // initial read counts as a read in progress, so an event during it is read again after
    // it, once start() has its baseline, and becomes a 'change'.
    this.ensureWatch();
    this.pollTimer = setInterval(() => this.requestRead('plain'), this.pollMs);
    this.reading = true;
    const initial = await readTrackFile(this.path);
    if (this.stopped || run !== this.runs) return this.current; // stopped (and maybe restarted) meanwhile
    this.warnOnProblem(initial);
    this.current = initial;
    this.started = true;
    this.log.debug(`track file ${this.path}: ${describeVerdict(initial)}${this.watched === undefined ? ' (not watched: polling)' : ''}`);
    this.readDone();
    return this.current;
  }

  /** Idempotent. No events after it; no watch or timer is left. */
  stop(): void {
    this.stopped = true;
    this.started = false;
    this.starting = undefined;
    this.candidate = undefined;
    this.reading = false;
    this.readQueued = undefined;
    clearTimeout(this.coalesceTimer);
    clearTimeout(this.settleTimer);
    clearInterval(this.pollTimer);
    this.coalesceTimer = undefined;
    this.settleTimer = undefined;
    this.pollTimer = undefined;
    this.unwatch();
  }

  /**
   * Watches the file's directory, or the nearest ancestor that exists for the next missing
   * component. Synchronous (fs.watch is); a failure other than "does not exist" leaves the
   * poll alone to notice changes, and is retried on every poll tick.
   */
  private ensureWatch(): void {
    if (this.stopped) return;
    let dir = this.dir;
    let name = this.name;
    for (;;) {
      let watcher: FSWatcher;
      try {
        watcher = watch(dir, { persistent: true }, (_event, filename) => this.onFsEvent(watcher, filename));
      } catch (error) {
        const code = errorCode(error);
        const parent = dirname(dir);
        if ((code === 'ENOENT' || code === 'ENOTDIR') && parent !== dir) {
          name = basename(dir);
          dir = parent;
          continue;
        }
        this.warnWatchProblem(`cannot watch ${dir} (${errorSummary(error)}): changes to ${this.path} are seen by polling every ${this.pollMs} ms`);
        return;
      }
      watcher.on('error', (error) => this.onWatchError(watcher, error));
      // Identify the directory watched, to notice when it is deleted and created again: the
      // watch stays on the old inode and would never report another event.
      let info;
      try {
        info = statSync(dir);
      } catch {
        watcher.close(); // gone again already: as if it had not been there
        const parent = dirname(dir);
        if (parent === dir) return;
        name = basename(dir);
        dir = parent;
        continue;
      }
      this.watched = { watcher, dir, name, dev: info.dev, ino: info.ino };
      if (this.lastWatchProblem !== undefined) {
        this.lastWatchProblem = undefined;
        this.log.info(`track file ${this.path}: watching ${dir} again`);
      }
      return;
    }
  }

  private unwatch(): void {
    const watched = this.watched;
    this.watched = undefined;
    try {
      watched?.watcher.close();
    } catch {
      // Closing a watcher whose directory is gone may fail; it is released either way.
    }
  }

  private onFsEvent(watcher: FSWatcher, filename: string | Buffer | null): void {
    const watched = this.watched;
    if (this.stopped || watched?.watcher !== watcher) return;
    // null: the platform did not say which entry changed. The watched directory's own name:
    // it was deleted or renamed (inotify's IN_DELETE_SELF / IN_MOVE_SELF).
    const name = filename === null ? undefined : filename.toString();
    if (name !== undefined && name !== watched.name && name !== basename(watched.dir)) return;
    this.generation++;
    // The file changed again: a better verdict waits for quiet from now on.
    clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
    // Throttle, not debounce: a steady stream of events still gets a read every COALESCE_MS.
    this.coalesceTimer ??= setTimeout(() => {
      this.coalesceTimer = undefined;
      this.requestRead('plain');
    }, COALESCE_MS);
  }

  private onWatchError(watcher: FSWatcher, error: Error): void {
    if (this.watched?.watcher !== watcher) return;
    this.warnWatchProblem(`watching ${this.watched.dir} failed (${errorSummary(error)}): changes to ${this.path} are seen by polling every ${this.pollMs} ms until the watch is back`);
    this.unwatch();
    // Not re-watched here, so a watch that fails at once cannot spin: the next poll tick retries.
  }

  private requestRead(kind: 'plain' | 'confirm'): void {
    if (this.stopped) return;
    if (this.reading) {
      // A plain read after this one settles everything; a confirm is kept only if nothing else is asked.
      this.readQueued = this.readQueued === 'plain' || kind === 'plain' ? 'plain' : 'confirm';
      return;
    }
    void this.refresh(kind);
  }

  private async refresh(kind: 'plain' | 'confirm'): Promise<void> {
    const run = this.runs;
    this.reading = true;
    try {
      await this.checkWatch();
      if (this.stopped || run !== this.runs) return;
      const verdict = await readTrackFile(this.path);
      if (this.stopped || run !== this.runs) return;
      // Confirmed: no fs event since the settle timer was armed, i.e. quiet for SETTLE_MS and
      // through this read.
      this.consider(verdict, kind === 'confirm' && this.settleGeneration === this.generation);
    } catch (error) {
      // Only a 'change' listener can throw here; it must not take the daemon down.
      this.log.error(`track file ${this.path}: a 'change' listener threw: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      // A stop() (and maybe a new start()) during the read owns the state now.
      if (run === this.runs && !this.stopped) this.readDone();
    }
  }

  private readDone(): void {
    this.reading = false;
    const queued = this.readQueued;
    this.readQueued = undefined;
    if (queued !== undefined) this.requestRead(queued);
  }

  /**
   * Re-installs the watch when there is none, when the directory watched is gone or is another
   * directory by now (deleted and created again), or when an ancestor is watched and the
   * directory may have appeared.
   */
  private async checkWatch(): Promise<void> {
    const watched = this.watched;
    if (watched !== undefined && watched.dir === this.dir) {
      const info = await stat(watched.dir).catch(() => undefined);
      if (this.stopped || this.watched !== watched) return;
      if (info !== undefined && info.dev === watched.dev && info.ino === watched.ino) return;
    }
    this.unwatch();
    this.ensureWatch();
  }

  /** Worse verdicts now, better ones after the file stayed quiet and a second read agreed. */
  private consider(verdict: FileVerdict, confirmed: boolean): void {
    this.warnOnProblem(verdict);
    if (sameVerdict(verdict, this.current)) {
      this.current = verdict; // a fault's reason may have changed
      this.dropCandidate();
      return;
    }
    if (severity(verdict) > severity(this.current)) {
      this.commit(verdict);
      return;
    }
    if (confirmed && this.candidate !== undefined && sameVerdict(verdict, this.candidate)) {
      this.commit(verdict);
      return;
    }
    const unchanged = this.candidate !== undefined && sameVerdict(verdict, this.candidate);
    this.candidate = verdict;
    // A poll that agrees with a waiting candidate leaves its timer alone; anything else restarts it.
    if (unchanged && this.settleTimer !== undefined && !confirmed) return;
    clearTimeout(this.settleTimer);
    this.settleGeneration = this.generation;
    this.settleTimer = setTimeout(() => {
      this.settleTimer = undefined;
      this.requestRead('confirm');
    }, SETTLE_MS);
  }

  private dropCandidate(): void {
    this.candidate = undefined;
    clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
  }

  /** The one place the verdict changes. */
  private commit(verdict: FileVerdict): void {
    const before = this.current;
    this.current = verdict;
    this.dropCandidate();
    if (!this.started) return; // before start() resolved: its result is the baseline, no event
    this.log.debug(`track file ${this.path}: ${describeVerdict(before)} -> ${describeVerdict(verdict)}`);
    this.emit('change', verdict);
  }

  private warnOnProblem(verdict: FileVerdict): void {
    if (!isProblem(verdict)) {
      this.lastProblem = undefined;
      return;
    }
    if (verdict.reason === this.lastProblem) return;
    this.lastProblem = verdict.reason;
    this.log.warn(`track file ${this.path}: ${verdict.reason}; counting it as a fault (write nothing or 0 for healthy, 1-${MAX_TRACK_FILE_WEIGHT} to demote, "fault" to drain)`);
  }

  private warnWatchProblem(message: string): void {
    if (message === this.lastWatchProblem) return;
    this.lastWatchProblem = message;
    this.log.warn(`track file ${this.path}: ${message}`);
  }
}

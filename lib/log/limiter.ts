/**
 * Rate limiting of repeated warnings, with memory and output bounded whatever the input.
 *
 * A segment can carry anything: a misconfigured peer sends one bad advert a second for ever,
 * and anyone on the link can send thousands of forged protocol-112 frames a second from random
 * sources. Neither may decide how much carpd logs or how much memory it holds, so:
 *
 * - A window is keyed by a name the code chooses (a drop reason, 'send-error'), never by what
 *   a packet holds: no checksum, size or source ever enters a key.
 * - The first event of a key is logged at once, in full. Later ones within `windowMs` are only
 *   counted, with a few example sources and a capped count of distinct sources; when the window
 *   ends, one summary line says how many there were. A window that counted anything is followed
 *   by another, so a flood that lasts gives one summary line per window and nothing else; a quiet
 *   window forgets its key, and the next event is logged in full again.
 * - At most MAX_KEYS keys are held. Past that, new keys share one overflow window, so even a
 *   caller that does put varying text in its keys cannot grow the table or the log.
 * - `flush()` (at stop, or when a vhost is removed) writes what open windows still hold back.
 *
 * So a key writes at most 1 + (windows it spans) lines, and the limiter holds at most
 * (MAX_KEYS + 1) × (MAX_EXAMPLES + MAX_DISTINCT_SOURCES) short strings.
 *
 * Summaries are written when the window ends when timers are given (the daemon), otherwise at
 * the next event of the key or at flush() (the same windows, written later).
 */
import type { Logger } from '../log.js';
import type { Clock } from '../state/clock.js';

/** One-shot timers (the shape of lib/daemon/ports.ts's TimerPort). */
export interface LimiterTimers {
  set(delayMs: number, fire: () => void): unknown;
  clear(handle: unknown): void;
}

export interface RateLimitOptions {
  /** Length of a window, ms. */
  readonly windowMs?: number;
  /** Without timers a summary waits for the key's next event or for flush(). */
  readonly timers?: LimiterTimers;
}

export const DEFAULT_WINDOW_MS = 60_000;
/** Distinct sources named in a summary. */
export const MAX_EXAMPLES = 3;
/** Distinct sources counted per window; beyond this a summary says "N or more". */
export const MAX_DISTINCT_SOURCES = 32;
/** Keys with a window of their own; more share the overflow window. */
export const MAX_KEYS = 64;

const OVERFLOW_KEY = '\0overflow';

type Level = 'warn' | 'info';

interface Window {
  level: Level;
  openedAt: number;
  /** Events held back in this window (the one logged in full is not counted). */
  held: number;
  /** Drops: `dropped advert: <reason>`, the start of the summary line. Other keys: undefined. */
  label: string | undefined;
  /** Other keys: the latest message held back, which their summary repeats. */
  last: string | undefined;
  /** Distinct sources of the events held back, at most MAX_DISTINCT_SOURCES; the first few are the examples. */
  sources: Set<string>;
  /** More distinct sources arrived than `sources` holds. */
  moreSources: boolean;
  /** The window shared by keys past MAX_KEYS. */
  overflow: boolean;
  timer: unknown;
}

export class RateLimitedLog {
  private readonly windows = new Map<string, Window>();
  private readonly windowMs: number;
  private readonly timers: LimiterTimers | undefined;

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
    options: RateLimitOptions = {},
  ) {
    this.windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
    this.timers = options.timers;
  }

  warn(key: string, message: string): void {
    this.event('warn', key, message, undefined, undefined);
  }

  info(key: string, message: string): void {
    this.event('info', key, message, undefined, undefined);
  }

  /**
   * One dropped packet. `reason` alone picks the window; `source` (the packet's source address,
   * undefined when it has none) feeds the examples; `detail` is logged only for the first drop of
   * a window. Every drop reason, CARP's and any other protocol's, goes through here.
   */
  drop(reason: string, source: string | undefined, detail: string): void {
    const label = `dropped advert: ${reason}`;
    this.event('warn', `drop:${reason}`, `${label}: ${detail}`, label, source);
  }

  /** Writes the summaries of every open window that held something back, and forgets them all. */
  flush(): void {
    const now = this.clock.now();
    for (const w of this.windows.values()) {
      this.timers?.clear(w.timer);
      if (w.held > 0) this.summarise(w, Math.min(now, w.openedAt + this.windowMs));
    }
    this.windows.clear();
  }

  /** Windows held now (for tests: bounded whatever the input). */
  get size(): number {
    return this.windows.size;
  }

  /** Source strings held now, over every window (for tests: bounded whatever the input). */
  get heldSources(): number {
    let n = 0;
    for (const w of this.windows.values()) n += w.sources.size;
    return n;
  }

  private event(level: Level, key: string, message: string, label: string | undefined, source: string | undefined): void {
    const now = this.clock.now();
    let w = this.current(key, now);
    if (w === undefined && !this.windows.has(key) && this.windows.size >= MAX_KEYS) {
      key = OVERFLOW_KEY;
      label = undefined;
      w = this.current(key, now);
    }
    if (w === undefined) {
      this.open(level, key, label, now);
      this.log[level](message);
      return;
    }
    w.held++;
    if (w.label === undefined && !w.overflow) w.last = message;
    if (source !== undefined && !w.sources.has(source)) {
      if (w.sources.size < MAX_DISTINCT_SOURCES) w.sources.add(source);
      else w.moreSources = true;
    }
  }

  /** The key's window as of `now`: windows that ended are summarised and followed or forgotten. */
  private current(key: string, now: number): Window | undefined {
    const w = this.windows.get(key);
    if (w === undefined) return undefined;
    while (now >= w.openedAt + this.windowMs) {
      if (!this.roll(key, w, now)) return undefined;
    }
    return w;
  }

  /**
   * Ends a window: with something held back, writes its summary and starts the next one at
   * once (true); a quiet window is forgotten (false).
   */
  private roll(key: string, w: Window, now: number): boolean {
    this.timers?.clear(w.timer);
    if (w.held === 0) {
      this.windows.delete(key);
      return false;
    }
    const end = w.openedAt + this.windowMs;
    this.summarise(w, end);
    w.openedAt = end;
    w.held = 0;
    w.last = undefined;
    w.sources.clear();
    w.moreSources = false;
    this.arm(key, w, end + this.windowMs - now);
    return true;
  }

  private open(level: Level, key: string, label: string | undefined, now: number): void {
    const w: Window = {
      level,
      openedAt: now,
      held: 0,
      label,
      last: undefined,
      sources: new Set(),
      moreSources: false,
      overflow: key === OVERFLOW_KEY,
      timer: undefined,
    };
    this.windows.set(key, w);
    this.arm(key, w, this.windowMs);
  }

  private arm(key: string, w: Window, delayMs: number): void {
    if (this.timers === undefined) return;
    w.timer = this.timers.set(Math.max(0, delayMs), () => {
      if (this.windows.get(key) !== w) return;
      // A clock read a hair before the timer's due time must not skip the summary: the timer
      // ends the window it was armed for, whatever the clock says.
      this.roll(key, w, Math.max(this.clock.now(), w.openedAt + this.windowMs));
    });
  }

  private summarise(w: Window, end: number): void {
    const seconds = Math.max(1, Math.round((end - w.openedAt) / 1000));
    let line: string;
    if (w.overflow) {
      line = `${w.held} more warnings of other kinds in ${seconds} s`;
    } else if (w.label !== undefined) {
      line = `${w.label}: ${w.held} more in ${seconds} s${sourcesPhrase(w)}`;
    } else {
      line = `${w.last ?? ''} (${w.held} more like this in ${seconds} s)`;
    }
    this.log[w.level](line);
  }
}

function sourcesPhrase(w: Window): string {
  const all = [...w.sources];
  if (all.length === 0) return '';
  const examples = all.slice(0, MAX_EXAMPLES);
  if (all.length <= MAX_EXAMPLES && !w.moreSources) {
    const last = examples.pop() as string;
    return `, from ${examples.length > 0 ? `${examples.join(', ')} and ${last}` : last}`;
  }
  const count = w.moreSources ? `${MAX_DISTINCT_SOURCES} or more` : String(all.length);
  return `, from ${count} sources, e.g. ${examples.join(', ')}`;
}

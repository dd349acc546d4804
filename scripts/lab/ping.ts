// The client's view of failover: ping the VIP every few milliseconds and measure the longest
// silence between two replies. `-D` stamps every line with the wall-clock time at which ping
// handled the reply (the same clock as Date.now(), so tests can relate replies to the moment they
// broke something), `-O` reports a request as unanswered as soon as the next one goes out, and
// `-n` avoids DNS lookups in the namespace. Measured in the lab: replies every 5.0 ms (p99
// 5.06 ms); while replies are missing iputils ping backs off to one probe every ~10 ms, so the
// end of a gap is known to within about 10 ms.
import { spawnInNamespace, type LabProcess } from './process.js';

export interface PingGap {
  /** Wall-clock time (ms since the epoch, as Date.now()) of the last reply before the gap. */
  startMs: number;
  /** Wall-clock time of the first reply after the gap. */
  endMs: number;
  ms: number;
}

export interface PingReport {
  /** Echo requests sent (from ping's summary line). */
  sent: number;
  /** Distinct echo replies (duplicates excluded). */
  received: number;
  duplicates: number;
  /** Requests that ping reported as unanswered (`no answer yet`), thanks to -O. */
  missed: number;
  /** Longest interval between consecutive replies; the whole run if fewer than two replies came back. */
  largestGapMs: number;
  /** Every interval between consecutive replies longer than gapThresholdMs, in time order. */
  gaps: PingGap[];
  gapThresholdMs: number;
  /** Reply times, ms since the epoch, ascending. */
  replyTimesMs: number[];
  startedMs: number;
  stoppedMs: number;
  /** Time of the first reply at or after `t` (ms since the epoch), or undefined if none came. */
  firstReplyAfter(t: number): number | undefined;
  /** ping's raw output, for failure messages. */
  raw: string;
}

export interface PingMonitor {
  readonly target: string;
  readonly process: LabProcess;
  /** Resolves once at least one reply has arrived (useful before breaking anything). */
  waitForReply(timeoutMs: number): Promise<void>;
  /** Stops ping with SIGINT (so it prints its summary), waits for it and analyses everything. */
  stop(): Promise<PingReport>;
}

export interface ParsedReply {
  timeMs: number;
  seq: number;
  duplicate: boolean;
}

export interface ParsedPing {
  replies: ParsedReply[];
  missedSeqs: number[];
  transmitted: number | undefined;
}

// [1795317916.632356] 64 bytes from 198.18.0.50: icmp_seq=1 ttl=64 time=0.079 ms
// [1795317916.632356] 64 bytes from 2001:db8:cafe::50: icmp_seq=1 ttl=64 time=0.079 ms (IPv6: colons in the address)
const REPLY_LINE = /^\[(\d+\.\d+)\] \d+ bytes from \S+: icmp_seq=(\d+) .*?(\(DUP!\))?$/;
// [1795317916.637330] no answer yet for icmp_seq=7
const MISSED_LINE = /^\[\d+\.\d+\] no answer yet for icmp_seq=(\d+)/;
// 1234 packets transmitted, 1200 received, +5 duplicates, 2.8% packet loss, time 6000ms
const SUMMARY_LINE = /^(\d+) packets transmitted, (\d+) received/;

/** Pure parser for `ping -D -O -n` output. */
export function parsePingOutput(text: string): ParsedPing {
  const replies: ParsedReply[] = [];
  const missedSeqs: number[] = [];
  let transmitted: number | undefined;
  for (const line of text.split('\n')) {
    const reply = REPLY_LINE.exec(line);
    if (reply) {
      // Seconds with microseconds; keep sub-millisecond precision in the float.
      replies.push({ timeMs: Number(reply[1]) * 1000, seq: Number(reply[2]), duplicate: reply[3] !== undefined });
      continue;
    }
    const missed = MISSED_LINE.exec(line);
    if (missed) {
      missedSeqs.push(Number(missed[1]));
      continue;
    }
    const summary = SUMMARY_LINE.exec(line);
    if (summary) transmitted = Number(summary[1]);
  }
  return { replies, missedSeqs, transmitted };
}

/** Pure analysis of parsed replies over the window [startedMs, stoppedMs]. */
export function analysePing(
  parsed: ParsedPing,
  window: { startedMs: number; stoppedMs: number; gapThresholdMs: number; raw?: string },
): PingReport {
  const distinct = parsed.replies.filter((r) => !r.duplicate);
  const times = distinct.map((r) => r.timeMs).sort((a, b) => a - b);
  const gaps: PingGap[] = [];
  let largestGapMs = 0;
  for (let i = 1; i < times.length; i++) {
    const startMs = times[i - 1]!;
    const endMs = times[i]!;
    const ms = endMs - startMs;
    largestGapMs = Math.max(largestGapMs, ms);
    if (ms > window.gapThresholdMs) gaps.push({ startMs, endMs, ms });
  }
  // With fewer than two replies there is no interval to measure: report the whole run as one
  // silence, so a check like `largestGapMs < 5000` can never pass on a ping that never worked.
  if (times.length < 2) largestGapMs = window.stoppedMs - window.startedMs;
  const highestSeq = parsed.replies.reduce((max, r) => Math.max(max, r.seq), 0);
  return {
    sent: parsed.transmitted ?? Math.max(highestSeq, ...parsed.missedSeqs, 0),
    received: distinct.length,
    duplicates: parsed.replies.length - distinct.length,
    missed: parsed.missedSeqs.length,
    largestGapMs,
    gaps,
    gapThresholdMs: window.gapThresholdMs,
    replyTimesMs: times,
    startedMs: window.startedMs,
    stoppedMs: window.stoppedMs,
    firstReplyAfter: (t: number) => times.find((x) => x >= t),
    raw: window.raw ?? '',
  };
}

export function startPing(ns: string, target: string, intervalMs = 5): PingMonitor {
  if (!Number.isFinite(intervalMs) || intervalMs < 1) {
    throw new Error(`ping interval must be at least 1 ms, received ${String(intervalMs)}`);
  }
  // Gaps are listed when a reply is more than 10 intervals late (and never under 50 ms, which
  // a busy two-core machine can produce by scheduling alone); largestGapMs ignores the threshold.
  const gapThresholdMs = Math.max(50, 10 * intervalMs);
  const startedMs = Date.now();
  const proc = spawnInNamespace(ns, 'ping', ['-i', String(intervalMs / 1000), '-n', '-D', '-O', target]);
  let report: Promise<PingReport> | undefined;
  return {
    target,
    process: proc,
    async waitForReply(timeoutMs: number): Promise<void> {
      await proc.waitForOutput(/bytes from/, timeoutMs);
    },
    stop(): Promise<PingReport> {
      report ??= (async () => {
        const stoppedMs = Date.now();
        // SIGINT, not SIGTERM: ping then prints its summary, and its stdout is line-buffered so
        // every reply line has already been flushed. SIGKILL only if it ignores us.
        proc.signal('SIGINT');
        const killer = setTimeout(() => proc.signal('SIGKILL'), 3_000);
        await proc.exited;
        clearTimeout(killer);
        const raw = proc.output();
        return analysePing(parsePingOutput(raw), { startedMs, stoppedMs, gapThresholdMs, raw });
      })();
      return report;
    },
  };
}

// From what a checks round recorded to its figures (pure): the parsers for `ip -ts monitor
// address`, the HTTP poller's lines, keepalived's VRRP adverts in tcpdump's text and the
// service's access log, and the arithmetic that turns them into times after the fault.
import type { CapturedPacket } from '../lab/capture.js';
import type { Implementation } from './checks-plan.js';

// ---- ip -ts monitor address ------------------------------------------------------------------

export interface AddressEvent {
  /** ip's own timestamp (its local time, read back as local time), ms since the epoch. */
  timeMs: number;
  deleted: boolean;
  ifname: string;
  address: string;
  prefixLength: number;
}

// [2026-12-01T20:39:15.509892] Deleted 2: eth0    inet 198.18.0.60/32 scope global eth0
const ADDRESS_LINE = /^\[(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{1,6})\] (Deleted )?\d+: (\S+)\s+inet (\d+\.\d+\.\d+\.\d+)\/(\d+)/;

/** Pure parser for `ip -ts monitor address` (IPv4 lines; the `valid_lft` continuation lines are skipped). */
export function parseAddressMonitor(text: string): AddressEvent[] {
  const events: AddressEvent[] = [];
  for (const line of text.split('\n')) {
    const m = ADDRESS_LINE.exec(line);
    if (!m) continue;
    const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
    const fraction = m[7]!.padEnd(6, '0');
    // ip prints localtime(); the Date constructor with parts reads them as local time too.
    const timeMs = new Date(y, mo - 1, d, h, mi, s).getTime() + Number(fraction) / 1000;
    events.push({ timeMs, deleted: m[8] !== undefined, ifname: m[9]!, address: m[10]!, prefixLength: Number(m[11]) });
  }
  return events;
}

/** The first time at or after `fromMs` that `address` was added (deleted = false) or removed. */
export function firstAddressEvent(events: readonly AddressEvent[], address: string, deleted: boolean, fromMs: number): number | undefined {
  return events.find((e) => e.address === address && e.deleted === deleted && e.timeMs >= fromMs)?.timeMs;
}

// ---- the HTTP poller (http-poll.ts) ------------------------------------------------------------

export interface HttpAttempt {
  /** Date.now() in the poller when the request was started and when it ended. */
  startMs: number;
  endMs: number;
  ok: boolean;
  status?: number;
  /** The response body, trimmed: which host answered ("h1", "h2"). */
  body?: string;
  /** Why it failed: ECONNREFUSED, timeout, … */
  error?: string;
}

/** One line per request: `http <start> <end> ok <status> <body>` or `http <start> <end> error <reason>`. */
export function formatHttpAttempt(a: HttpAttempt): string {
  const times = `http ${a.startMs} ${a.endMs}`;
  return a.ok ? `${times} ok ${a.status ?? 0} ${a.body ?? ''}` : `${times} error ${a.error ?? 'unknown'}`;
}

const HTTP_LINE = /^http (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (?:ok (\d+) ?(.*)|error (.*))$/;

export function parseHttpPoll(text: string): HttpAttempt[] {
  const attempts: HttpAttempt[] = [];
  for (const line of text.split('\n')) {
    const m = HTTP_LINE.exec(line.trimEnd());
    if (!m) continue;
    const base = { startMs: Number(m[1]), endMs: Number(m[2]) };
    attempts.push(m[3] !== undefined ? { ...base, ok: true, status: Number(m[3]), body: (m[4] ?? '').trim() } : { ...base, ok: false, error: m[5]! });
  }
  return attempts;
}

/** A request that succeeded (2xx) and was answered by the host whose body is `body`. */
export function servedBy(a: HttpAttempt, body: string): boolean {
  return a.ok && a.status !== undefined && a.status >= 200 && a.status < 300 && a.body === body;
}

// ---- the service's access log -----------------------------------------------------------------

// python3 -m http.server, one line per request on stderr:
//   127.0.0.1 - - [01/Dec/2026 20:39:14] "GET / HTTP/1.1" 200 -
const CHECK_REQUEST = /^127\.0\.0\.1 - - \[[^\]]*\] "GET \/ /gm;

/** How many requests from 127.0.0.1 (the health check; the client is 198.18.0.100) the service logged. */
export function countCheckRequests(serviceLog: string): number {
  return serviceLog.match(CHECK_REQUEST)?.length ?? 0;
}

// ---- adverts ------------------------------------------------------------------------------------

// 198.18.0.1 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 0, authtype simple, intvl 1s, …
const VRRP = /VRRPv(\d), Advertisement, vrid (\d+), prio (\d+)/;

export interface VrrpFields {
  version: number;
  vrid: number;
  priority: number;
}

/** keepalived's advert in tcpdump's default decoding (no `-T carp`), from the packet's text. */
export function vrrpOf(p: CapturedPacket): VrrpFields | undefined {
  if (p.kind !== 'ipv4') return undefined;
  const m = VRRP.exec(p.line);
  return m ? { version: Number(m[1]), vrid: Number(m[2]), priority: Number(m[3]) } : undefined;
}

/**
 * A resignation: keepalived's priority-0 advert; carpd's bow-out, an advert with advbase 255
 * and advskew 255 (only the advbase is tested, as the failover bench does).
 */
export function isResignation(p: CapturedPacket, implementation: Implementation): boolean {
  if (implementation === 'carpd') return p.kind === 'carp' && p.carp?.advbase === 255;
  return vrrpOf(p)?.priority === 0;
}

/** An ordinary advert (not a resignation) of either protocol. */
export function isAdvert(p: CapturedPacket, implementation: Implementation): boolean {
  if (implementation === 'carpd') return p.kind === 'carp' && p.carp?.advbase !== 255;
  const v = vrrpOf(p);
  return v !== undefined && v.priority > 0;
}

// ---- the daemons' own words ----------------------------------------------------------------------

/** Each implementation's log line for a state change, one per line. */
export const STATE_LINE: Readonly<Record<Implementation, Readonly<Record<'backup' | 'master' | 'fault', RegExp>>>> = Object.freeze({
  // `[WARNING] BACKUP -> MASTER (no master heard for 3.04 s)`
  carpd: { backup: /-> BACKUP \(/g, master: /-> MASTER \(/g, fault: /-> FAULT\b/g },
  // `Tue Dec  1 20:39:11 2026: (VI) Entering MASTER STATE`
  keepalived: { backup: /Entering BACKUP STATE/g, master: /Entering MASTER STATE/g, fault: /Entering FAULT STATE/g },
});

export function countStateLines(implementation: Implementation, state: 'backup' | 'master' | 'fault', logText: string): number {
  return logText.match(STATE_LINE[implementation][state])?.length ?? 0;
}

/** Lines of keepalived's log that point at a configuration it did not take as written. */
export function keepalivedConfigComplaints(logText: string): string[] {
  return logText
    .split('\n')
    .filter((l) => /\bWARNING\b|\berror\b|invalid|unknown keyword|SECURITY VIOLATION/i.test(l))
    .map((l) => l.replace(/^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}: /, '').trim());
}

// ---- a round's figures --------------------------------------------------------------------------

export interface Endpoint {
  address: string;
  mac: string;
}

export interface RoundRecord {
  implementation: Implementation;
  vip: string;
  /** Date.now() just before the service on the master was killed. */
  faultAtMs: number;
  master: Endpoint;
  backup: Endpoint;
  /** `ip -ts monitor address` on each host. */
  masterAddresses: readonly AddressEvent[];
  backupAddresses: readonly AddressEvent[];
  /** The client's HTTP requests to the VIP. */
  http: readonly HttpAttempt[];
  /** The client's capture: adverts and ARP. */
  packets: readonly CapturedPacket[];
  /** Body the master's and the backup's service answer with ("h1", "h2"). */
  masterBody: string;
  backupBody: string;
}

export interface RoundFigures {
  /** Fault → the VIP on the backup (netlink, on the backup): figure (a). */
  vipOnBackupMs: number | undefined;
  /** Fault → the end of the first request the backup answered, as the client saw it: figure (b). */
  firstBackupResponseMs: number | undefined;
  /** Fault → when that request was sent (it may have waited on a stale ARP entry). */
  firstBackupRequestSentMs: number | undefined;
  /** Fault → the VIP gone from the master. */
  vipOffMasterMs: number | undefined;
  /** Fault → the master's resignation on the wire (priority 0 / bow-out): detection. */
  resignMs: number | undefined;
  /** The resignation → the VIP on the backup: the take-over itself. */
  resignToVipMs: number | undefined;
  /** Fault → the backup's gratuitous ARP for the VIP, at the client. */
  garpMs: number | undefined;
  /** Fault → the backup's first advert. */
  backupAdvertMs: number | undefined;
  /** Requests that failed between the fault and the first answer from the backup. */
  failedRequests: number;
  /** Requests the master still answered after the fault (before the service died under them). */
  masterAnswersAfterFault: number;
}

const since = (t: number | undefined, t0: number): number | undefined => (t === undefined ? undefined : t - t0);

export function roundFigures(r: RoundRecord): RoundFigures {
  const t0 = r.faultAtMs;
  const vipOn = firstAddressEvent(r.backupAddresses, r.vip, false, t0);
  const vipOff = firstAddressEvent(r.masterAddresses, r.vip, true, t0);
  const after = r.packets.filter((p) => p.timeMs >= t0);
  const resign = after.find((p) => p.srcIp === r.master.address && isResignation(p, r.implementation));
  const advert = after.find((p) => p.srcIp === r.backup.address && isAdvert(p, r.implementation));
  const garp = after.find((p) => p.arp?.gratuitous === true && p.arp.senderIp === r.vip && p.srcMac === r.backup.mac);
  // Requests in the order they ended: the first the backup answered after the fault.
  const ended = [...r.http].filter((a) => a.endMs >= t0).sort((a, b) => a.endMs - b.endMs);
  const first = ended.find((a) => servedBy(a, r.backupBody));
  const beforeFirst = first ? ended.filter((a) => a.endMs < first.endMs) : ended;
  return {
    vipOnBackupMs: since(vipOn, t0),
    firstBackupResponseMs: since(first?.endMs, t0),
    firstBackupRequestSentMs: since(first?.startMs, t0),
    vipOffMasterMs: since(vipOff, t0),
    resignMs: since(resign?.timeMs, t0),
    resignToVipMs: vipOn !== undefined && resign !== undefined ? vipOn - resign.timeMs : undefined,
    garpMs: since(garp?.timeMs, t0),
    backupAdvertMs: since(advert?.timeMs, t0),
    failedRequests: beforeFirst.filter((a) => !a.ok).length,
    masterAnswersAfterFault: beforeFirst.filter((a) => servedBy(a, r.masterBody)).length,
  };
}

// One round of the checks benchmark, in a lab of its own: an HTTP service on both hosts, carpd
// or keepalived on both checking it, the client polling the VIP over HTTP every 20 ms and
// pinging it every 5 ms; then the service on the master is killed, just after one of its checks
// passed, and the round records when the VIP reached the other host and when the client was
// first answered by it.
//
// Why just after a check: the time to notice a dead service depends on where in the check
// interval it died, by up to one whole interval. Killing it ~25 ms after a check passed puts
// every round, and both implementations, at the same (the slowest) phase: the next fall checks
// all fail, so detection takes fall × interval, and what is left is the implementation's own.
//
// The lab (and with it every process of the round: services, daemons, keepalived's children,
// ip monitor, tcpdump, ping, the poller) is destroyed in `finally`; the lab registry does the same
// on exit or a signal.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTcpdump, Lab, type LabHost, type LabProcess, type PingReport } from '../lab/lab.js';
import {
  countCheckRequests,
  countStateLines,
  keepalivedConfigComplaints,
  parseAddressMonitor,
  parseHttpPoll,
  roundFigures,
  servedBy,
  STATE_LINE,
  type RoundFigures,
} from './checks-figures.js';
import {
  carpdArgs,
  checkArgv,
  detectionWindowMs,
  keepalivedConfig,
  serviceArgs,
  serviceBody,
  SERVICE_PORT,
  vipAddress,
  vipIndex,
  type NodeSpec,
  type Variant,
  type VariantId,
} from './checks-plan.js';
import { outageAfter } from './failover.js';
import { startKeepalived } from './keepalived.js';
import { poll, sleep } from './poll.js';

export interface Tools {
  /** bin/carpd, run with this node (process.execPath). */
  carpd: string;
  keepalived: string | undefined;
  curl: string;
  python: string;
  /** dist/scripts/bench/http-poll.js */
  httpPoll: string;
}

/** The client's HTTP poll: a request every 20 ms, given up after 250 ms (a SYN to a host that no longer has the VIP is never answered). */
export const HTTP_INTERVAL_MS = 20;
export const HTTP_TIMEOUT_MS = 250;
/** After the check's request shows in the service's log, wait this long before the kill, so that check has certainly passed. */
export const AFTER_CHECK_MS = 25;
const SETTLE_STABLE_MS = 1_500;
const SETTLE_TIMEOUT_MS = 15_000;

export interface ChecksRoundResult {
  variant: VariantId;
  round: number;
  labId: string;
  /** Things that went wrong or were unexpected; empty for a clean round. */
  problems: string[];
  settled: boolean;
  /** Daemons started → one host alone held the VIP for 1.5 s. */
  settleMs: number | undefined;
  masterHost: number | undefined;
  /** Per host: spawn → the first BACKUP log line. */
  readyMs: { host: number; ms: number | undefined }[];
  /** Epoch ms just before SIGKILL to the master's service. */
  faultAtMs: number;
  /** The master's last check request (as its log line reached the bench) → the fault. */
  sinceLastCheckMs: number;
  figures: RoundFigures;
  /** Longest gap between ping replies that ends after the fault. */
  pingOutageMs: number | undefined;
  pingRecovered: boolean;
  http: { requests: number; failed: number };
  /** FAULT lines in the master's log after the fault (1 expected). */
  masterFaults: number;
  /** MASTER lines after the fault: on the backup (1 expected) and on the old master (0 expected). */
  backupTakeovers: number;
  masterRetakes: number;
  logs: { host: number; text: string }[];
}

/** Each round's private directory (configs, pid files, the served pages): `<tmp>/carpd-bench-checks-<pid>-XXXXXX`. */
const RUN_DIR_PREFIX = 'carpd-bench-checks-';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the directories of earlier runs that died without cleaning up (Ctrl-C: the lab's signal
 * handler kills the processes and deletes the namespaces, then re-raises the signal, so no
 * `finally` runs). Only names with this bench's prefix and the pid of a process that is gone.
 */
export function removeStaleRunDirs(): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(tmpdir())) {
    const m = new RegExp(`^${RUN_DIR_PREFIX}(\\d+)-`).exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

function firstOf(re: RegExp): RegExp {
  // The STATE_LINE patterns are global (for counting); waitForOutput calls exec repeatedly and
  // must not carry lastIndex from one call to the next.
  return new RegExp(re.source, re.flags.replace('g', ''));
}

function startDaemon(variant: Variant, tools: Tools, host: LabHost, node: NodeSpec, dir: string): LabProcess {
  if (variant.implementation === 'carpd') {
    // ip netns exec execs node, so the pid the lab holds is carpd's.
    return host.spawn(process.execPath, [tools.carpd, ...carpdArgs(node, variant, tools.curl)]);
  }
  return startKeepalived(tools.keepalived!, host, dir, keepalivedConfig(node, variant, tools.curl));
}

/** The command line as an operator would type it, for the report. */
export function displayCommand(variant: Variant, tools: Pick<Tools, 'curl'>, node: NodeSpec): string {
  if (variant.implementation === 'keepalived') return `keepalived -n -l -D -G -P -f h${node.index}.conf -p … -r … -c … -b …`;
  return `carpd ${carpdArgs(node, variant, tools.curl).map((a) => (/\s/.test(a) ? a.replace(/=(.*)$/, '="$1"') : a)).join(' ')}`;
}

export async function runChecksRound(variant: Variant, tools: Tools, round: number, seq: number): Promise<ChecksRoundResult> {
  const impl = variant.implementation;
  const lab = await Lab.create({ hosts: 2, name: `chk-${process.pid}-${seq}` });
  const dir = mkdtempSync(join(tmpdir(), `${RUN_DIR_PREFIX}${process.pid}-`));
  const problems: string[] = [];
  const daemons = new Map<LabHost, LabProcess>();
  try {
    const [h1, h2] = lab.hosts as [LabHost, LabHost];
    const vip = vipAddress(lab.subnet, impl);
    const nodes = new Map<LabHost, NodeSpec>([
      [h1, { index: 1, address: h1.address, vip }],
      [h2, { index: 2, address: h2.address, vip }],
    ]);

    // The service on both hosts, each answering with its own name; healthy before any daemon starts.
    const services = new Map<LabHost, LabProcess>();
    for (const h of lab.hosts) {
      const www = join(dir, `www-h${h.index}`);
      mkdirSync(www);
      writeFileSync(join(www, 'index.html'), serviceBody(h.index));
      services.set(h, h.spawn(tools.python, serviceArgs(www)));
    }
    for (const h of lab.hosts) {
      const up = await poll(async () => ((await h.exec(checkArgv(tools.curl)[0]!, checkArgv(tools.curl).slice(1))).code === 0 ? true : undefined), 5_000, 50);
      if (!up) throw new Error(`the service on host ${h.index} did not pass its check within 5 s:\n${services.get(h)!.output().slice(-2000)}`);
    }

    // Host 1 first, host 2 once host 1 is listening, as the failover bench does: the election
    // then never depends on which of the two happened to start faster.
    const startedAt = Date.now();
    const readyMs: { host: number; ms: number | undefined }[] = [];
    for (const h of [h1, h2]) {
      const t = Date.now();
      const p = startDaemon(variant, tools, h, nodes.get(h)!, dir);
      daemons.set(h, p);
      const ready = await p.waitForOutput(firstOf(STATE_LINE[impl].backup), 10_000).then(
        () => Date.now() - t,
        () => undefined,
      );
      if (ready === undefined) problems.push(`host ${h.index}: no BACKUP log line within 10 s of the start`);
      readyMs.push({ host: h.index, ms: ready });
    }
    const settledOn = await lab.waitForSingleHolder(SETTLE_TIMEOUT_MS, SETTLE_STABLE_MS, vipIndex(impl)).catch(() => undefined);
    const settleMs = settledOn ? Date.now() - startedAt : undefined;
    if (!settledOn) problems.push(`never settled: no single host held ${vip} for 1.5 s within ${SETTLE_TIMEOUT_MS / 1000} s`);
    if (settledOn && settledOn !== h1) problems.push(`host ${settledOn.index} won the election, not host 1`);
    const master = settledOn ?? h1;
    const backup = master === h1 ? h2 : h1;

    // The observers: netlink on both hosts, the wire and the two probes at the client.
    const monitors = new Map(lab.hosts.map((h) => [h, h.spawn('ip', ['-ts', 'monitor', 'address'])]));
    const capture = lab.client.spawn('tcpdump', [
      '-i', 'eth0', '-e', '-n', '-tt', '-l', '-v',
      // carpd speaks CARP on protocol 112; tcpdump decodes it as VRRP unless told. keepalived speaks VRRP.
      ...(impl === 'carpd' ? ['-T', 'carp'] : []),
      'ip proto 112 or arp',
    ]);
    await capture.waitForOutput(/listening on /, 5_000);
    const ping = lab.client.startPing(vip, 5);
    const poller = lab.client.spawn(process.execPath, [tools.httpPoll, `http://${vip}:${SERVICE_PORT}/`, String(HTTP_INTERVAL_MS), String(HTTP_TIMEOUT_MS)]);
    const masterBody = serviceBody(master.index).trim();
    const backupBody = serviceBody(backup.index).trim();
    const answeredBy = (body: string, fromMs: number) =>
      parseHttpPoll(poller.stdout()).find((a) => a.endMs >= fromMs && servedBy(a, body));
    if (!(await poll(() => answeredBy(masterBody, 0), 3_000, 20))) problems.push(`the client got no HTTP answer from host ${master.index} before the fault`);
    await ping.waitForReply(3_000).catch(() => problems.push('the client got no ping reply from the VIP before the fault'));

    // Kill the master's service just after one of its checks (see the top of the file).
    const service = services.get(master)!;
    const checksSeen = countCheckRequests(service.output());
    const checkSeenAt = await poll(() => (countCheckRequests(service.output()) > checksSeen ? Date.now() : undefined), detectionWindowMs(variant) + 2_000, 2);
    if (checkSeenAt === undefined) {
      // Nothing to measure: without checks the VIP never moves, and waiting for it would only
      // make the run longer. The daemon's last words say why.
      const tail = daemons.get(master)!.output().trimEnd().split('\n').slice(-5).join('\n      ');
      throw new Error(`no check request reached the service on host ${master.index} within ${detectionWindowMs(variant) + 2_000} ms: ` +
        `${impl} is not running the check; its log ends:\n      ${tail}`);
    }
    await sleep(AFTER_CHECK_MS);
    const logsFrom = new Map([...daemons].map(([h, p]) => [h, p.output().length]));
    const faultAtMs = Date.now();
    service.signal('SIGKILL');

    // Wait for both figures, each with a deadline: the VIP on the backup, then an answer from it.
    const takeoverTimeoutMs = detectionWindowMs(variant) + 5_000;
    const vipMoved = await poll(
      () => parseAddressMonitor(monitors.get(backup)!.stdout()).find((e) => e.address === vip && !e.deleted && e.timeMs >= faultAtMs),
      takeoverTimeoutMs,
      10,
    );
    if (!vipMoved) problems.push(`the VIP did not reach host ${backup.index} within ${takeoverTimeoutMs} ms of the fault`);
    const answered = await poll(() => answeredBy(backupBody, faultAtMs), vipMoved ? 3_000 : 500, 10);
    if (!answered) problems.push(`the client got no HTTP answer from host ${backup.index} after the fault`);
    // Let both probes run on a little, so the end of the outage is in the record.
    await sleep(300);

    const report: PingReport = await ping.stop();
    poller.signal('SIGTERM');
    capture.signal('SIGINT');
    for (const m of monitors.values()) m.signal('SIGTERM');
    await Promise.all([poller.exited, capture.exited, ...[...monitors.values()].map((m) => m.exited)].map((e) => Promise.race([e, sleep(3_000)])));

    const http = parseHttpPoll(poller.stdout());
    const figures = roundFigures({
      implementation: impl,
      vip,
      faultAtMs,
      master: { address: master.address, mac: master.mac },
      backup: { address: backup.address, mac: backup.mac },
      masterAddresses: parseAddressMonitor(monitors.get(master)!.stdout()),
      backupAddresses: parseAddressMonitor(monitors.get(backup)!.stdout()),
      http,
      packets: parseTcpdump(capture.stdout()),
      masterBody,
      backupBody,
    });
    const { outageMs, recovered } = outageAfter(report, faultAtMs);

    const afterFault = (h: LabHost) => daemons.get(h)!.output().slice(logsFrom.get(h));
    const masterFaults = countStateLines(impl, 'fault', afterFault(master));
    const backupTakeovers = countStateLines(impl, 'master', afterFault(backup));
    const masterRetakes = countStateLines(impl, 'master', afterFault(master));
    if (masterFaults !== 1) problems.push(`host ${master.index} logged ${masterFaults} FAULT transitions after the fault (1 expected)`);
    if (backupTakeovers !== 1) problems.push(`host ${backup.index} logged ${backupTakeovers} MASTER transitions after the fault (1 expected)`);
    if (masterRetakes !== 0) problems.push(`host ${master.index} became MASTER again ${masterRetakes} time(s) with its service dead`);
    if (impl === 'keepalived') {
      const complaints = [...new Set(lab.hosts.flatMap((h) => keepalivedConfigComplaints(daemons.get(h)!.output())))];
      for (const c of complaints.slice(0, 5)) problems.push(`keepalived: ${c}`);
    }

    return {
      variant: variant.id,
      round,
      labId: lab.id,
      problems,
      settled: settledOn !== undefined,
      settleMs,
      masterHost: settledOn?.index,
      readyMs,
      faultAtMs,
      sinceLastCheckMs: faultAtMs - checkSeenAt,
      figures,
      pingOutageMs: outageMs,
      pingRecovered: recovered,
      http: { requests: http.length, failed: http.filter((a) => !a.ok).length },
      masterFaults,
      backupTakeovers,
      masterRetakes,
      logs: [...daemons].map(([h, p]) => ({ host: h.index, text: p.output() })),
    };
  } finally {
    // SIGTERM first, so keepalived and carpd stop as they would (keepalived's parent takes its
    // VRRP child with it); destroy() then kills anything left in the namespaces and deletes them.
    await Promise.all([...daemons.values()].map((p) => p.stop(3_000)));
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

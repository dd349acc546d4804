// One failover round: start a fresh pair (host 1 the intended master, host 2 the backup), wait
// until the group has settled, let the client ping the VIP every 5 ms, break the master, and
// measure what the client saw and when the new master announced itself on the wire.
//
// Every round starts from scratch (new processes, VIP removed, link up, client ARP flushed), so
// rounds are independent samples and a daemon that misbehaved in one cannot skew the next.
import { PacketCapture, type CapturedPacket, type Lab, type LabHost, type LabProcess, type PingReport } from '../lab/lab.js';
import { countMasterTransitions, READY_LINE, startDaemon, type Daemon, type Timing, type UcarpScripts } from './daemons.js';
import { poll, sleep } from './poll.js';

export type ScenarioId = 'a' | 'b' | 'c';

export interface Scenario {
  id: ScenarioId;
  title: string;
  fault: 'link-cut' | 'sigterm';
  master: Timing;
  backup: Timing;
  /** Settled pair watched for spurious MASTER transitions before the fault. */
  quietMs: number;
  /** Give up waiting for a single settled master after this long (and break the pair anyway). */
  settleTimeoutMs: number;
  /** Give up on the new master announcing itself after this long. */
  takeoverTimeoutMs: number;
}

export function scenarios(quietSeconds: number): Scenario[] {
  return [
    {
      id: 'a',
      title: 'link cut, advbase 1',
      fault: 'link-cut',
      // The backup's advskew makes its interval longer, so the election never depends on who
      // happened to start first.
      master: { advbase: 1, advskew: 0 },
      backup: { advbase: 1, advskew: 10 },
      quietMs: 1_000,
      settleTimeoutMs: 15_000,
      takeoverTimeoutMs: 10_000,
    },
    {
      id: 'b',
      title: 'clean stop (SIGTERM), advbase 1',
      fault: 'sigterm',
      master: { advbase: 1, advskew: 0 },
      backup: { advbase: 1, advskew: 10 },
      quietMs: 1_000,
      settleTimeoutMs: 15_000,
      takeoverTimeoutMs: 10_000,
    },
    {
      id: 'c',
      title: 'link cut, advbase 0 (~100 ms adverts)',
      fault: 'link-cut',
      // 26/256 s = 101.6 ms for the master, 30/256 s = 117.2 ms for the backup.
      master: { advbase: 0, advskew: 26 },
      backup: { advbase: 0, advskew: 30 },
      quietMs: quietSeconds * 1_000,
      // A sound pair settles within ~2 s here (3 × 117 ms, then 1.5 s stable); a flapping one
      // never does, and waiting longer for it would only make the run longer.
      settleTimeoutMs: 6_000,
      takeoverTimeoutMs: 5_000,
    },
  ];
}

export interface RoundResult {
  scenario: ScenarioId;
  daemon: Daemon;
  round: number;
  /** Things that went wrong or were unexpected in this round; empty for a clean round. */
  problems: string[];
  /** One host alone held the VIP for 1.5 s before the fault. */
  settled: boolean;
  /** Spawn → the group settled (includes the 3 × interval master-down wait at start). */
  settleMs: number | undefined;
  masterHost: number | undefined;
  newMasterHost: number | undefined;
  /** Per host: spawn → the daemon's first BACKUP log line (start-up cost). */
  readyMs: { host: number; ms: number | undefined }[];
  /** Epoch ms just before the fault was applied. */
  faultAtMs: number;
  /** How long applying the fault took (`ip link set down` in the bridge namespace, or kill()). */
  faultCommandMs: number;
  /** Longest interval between two ping replies that ends after the fault: the client's outage. */
  outageMs: number | undefined;
  /** False when the pings never came back before the round ended (outageMs is then a lower bound). */
  recovered: boolean;
  largestGapMs: number;
  ping: { sent: number; received: number; missed: number };
  /** Fault → first advert from the new master (capture on the client, kernel timestamps). */
  advertMs: number | undefined;
  /** Fault → first gratuitous ARP for the VIP from the new master: the VIP is on it by then. */
  garpMs: number | undefined;
  /** Fault → the old master's bow-out advert, if it sent one. */
  bowOutMs: number | undefined;
  /** The old master's last advert before the fault → the fault (the phase the fault hit). */
  faultPhaseMs: number | undefined;
  /**
   * The old master's last advert (before the new master's first) → the new master's GARP:
   * failure detection plus take-over, independent of where in the interval the fault fell.
   */
  lastAdvertToGarpMs: number | undefined;
  vipOnNewMaster: boolean;
  /** MASTER transitions during the quiet period before the fault (all should be 0). */
  spuriousBefore: number;
  /** MASTER transitions after the fault beyond the one expected takeover. */
  spuriousAfter: number;
  quietMs: number;
  logs: { host: number; text: string }[];
}

export interface RoundContext {
  lab: Lab;
  scripts: UcarpScripts;
}



/** The lab's single-holder wait, with "never settled" as a result rather than an error. */
function singleHolder(lab: Lab, timeoutMs: number, stableMs: number): Promise<LabHost | undefined> {
  return lab.waitForSingleHolder(timeoutMs, stableMs).catch(() => undefined);
}

/** Links up, no VIP anywhere, client ARP empty: the state every round starts from. */
export async function resetLab(lab: Lab): Promise<void> {
  for (const h of lab.hosts) {
    await h.restoreLink();
    if (await h.hasAddress(lab.vip())) await h.exec('ip', ['addr', 'del', `${lab.vip()}/32`, 'dev', h.ifname]);
  }
  await lab.client.flushArp();
}

/** An ordinary advert from host (not a bow-out, which carries advbase 255). */
function isAdvertFrom(p: CapturedPacket, host: LabHost): boolean {
  return p.kind === 'carp' && p.srcIp === host.address && p.carp?.advbase !== 255;
}

function isGarpFrom(p: CapturedPacket, vip: string, host: LabHost): boolean {
  return p.arp?.gratuitous === true && p.arp.senderIp === vip && p.srcMac === host.mac;
}

/**
 * The client's outage: the longest silence between two replies that ends after the fault.
 * Replies already in flight at the fault arrive just after it, so the gap that matters starts at
 * the last reply before the silence, not at the fault. Silences wholly before the fault (a
 * flapping pair) belong to the quiet period and are counted as spurious transitions instead.
 */
export function outageAfter(report: PingReport, faultAtMs: number): { outageMs: number | undefined; recovered: boolean } {
  const t = report.replyTimesMs;
  let outage: number | undefined;
  for (let i = 1; i < t.length; i++) {
    if (t[i]! > faultAtMs) outage = Math.max(outage ?? 0, t[i]! - t[i - 1]!);
  }
  const last = t[t.length - 1];
  // No reply after the fault at all: the outage lasted at least until ping was stopped.
  if (last === undefined || last <= faultAtMs) {
    return { outageMs: report.stoppedMs - (last ?? faultAtMs), recovered: false };
  }
  return { outageMs: outage, recovered: true };
}

export async function runRound(ctx: RoundContext, sc: Scenario, daemon: Daemon, round: number): Promise<RoundResult> {
  const { lab, scripts } = ctx;
  const vip = lab.vip();
  const problems: string[] = [];
  await resetLab(lab);
  const capture = await PacketCapture.start(lab.client.ns, lab.client.ifname, 'ip proto 112 or arp');
  const daemons = new Map<LabHost, LabProcess>();
  let ping: ReturnType<Lab['client']['startPing']> | undefined;
  let result: RoundResult | undefined;
  try {
    const [h1, h2] = lab.hosts as [LabHost, LabHost];
    const spawnedAt = Date.now();
    const readyMs: { host: number; ms: number | undefined }[] = [];
    // The intended master first, and the backup only once the master is listening: otherwise a
    // slow start of node (hundreds of ms on a busy machine) can let the backup's shorter
    // master-down wait run out first, and it wins, correctly but not as intended (no --preempt).
    for (const [host, timing] of [[h1, sc.master], [h2, sc.backup]] as const) {
      const t0 = Date.now();
      const p = startDaemon(daemon, lab, host, timing, scripts);
      daemons.set(host, p);
      const ready = await p.waitForOutput(READY_LINE[daemon], 10_000).then(
        () => Date.now() - t0,
        () => undefined,
      );
      if (ready === undefined) problems.push(`host ${host.index}: no BACKUP log line within 10 s of the start`);
      readyMs.push({ host: host.index, ms: ready });
    }

    const settledOn = await singleHolder(lab, sc.settleTimeoutMs, 1_500);
    const settleMs = settledOn ? Date.now() - spawnedAt : undefined;
    if (!settledOn) problems.push(`never settled: no single host held the VIP for 1.5 s within ${sc.settleTimeoutMs / 1000} s`);
    // Unsettled (a flapping pair): break the intended master anyway and report what happens.
    const master = settledOn ?? h1;
    const backup = master === h1 ? h2 : h1;
    if (settledOn && settledOn !== h1) problems.push(`host ${settledOn.index} won the election, not host 1`);

    ping = lab.client.startPing(vip, 5);
    await ping.waitForReply(3_000).catch(() => problems.push('the client got no ping reply from the VIP before the fault'));
    const arpOk = await poll(async () => ((await lab.client.arpEntry(vip))?.mac === master.mac ? true : undefined), 3_000, 20);
    if (!arpOk) problems.push(`the client's ARP entry for the VIP never pointed at host ${master.index} before the fault`);

    // The quiet period: a settled pair should not change state at all.
    const quietFrom = new Map([...daemons].map(([h, p]) => [h, p.output().length]));
    const quietStart = Date.now();
    await sleep(sc.quietMs);
    const quietMs = Date.now() - quietStart;
    const faultFrom = new Map([...daemons].map(([h, p]) => [h, p.output().length]));
    const spuriousBefore = [...daemons].reduce(
      (n, [h, p]) => n + countMasterTransitions(daemon, p.output().slice(quietFrom.get(h), faultFrom.get(h))),
      0,
    );

    // Break the master just after one of its adverts (as soon as the capture shows it, which
    // tcpdump's buffering delays by ~60-90 ms), so every round and both daemons start from about
    // the same phase; otherwise the take-over time varies by up to one whole interval.
    const advertsFrom = (h: LabHost, packets: CapturedPacket[]) => packets.filter((p) => isAdvertFrom(p, h));
    const seen = advertsFrom(master, capture.snapshot()).length;
    const synced = await poll(() => (advertsFrom(master, capture.snapshot()).length > seen ? true : undefined), 3_000, 2);
    if (!synced) problems.push(`no advert from host ${master.index} to time the fault against`);

    const faultAtMs = Date.now();
    if (sc.fault === 'link-cut') await master.cutLink();
    else daemons.get(master)!.signal('SIGTERM');
    const faultCommandMs = Date.now() - faultAtMs;

    // The new master's gratuitous ARP, read from the capture as it happens (no `ip` polling,
    // which would load the CPU just when timing matters).
    const garp = await poll(
      () => capture.snapshot().find((p) => p.timeMs >= faultAtMs && isGarpFrom(p, vip, backup)),
      sc.takeoverTimeoutMs,
      10,
    );
    if (!garp) problems.push(`no gratuitous ARP from host ${backup.index} within ${sc.takeoverTimeoutMs} ms of the fault`);
    const arpMoved = await poll(async () => ((await lab.client.arpEntry(vip))?.mac === backup.mac ? true : undefined), 3_000, 20);
    if (!arpMoved) problems.push(`the client's ARP entry never moved to host ${backup.index}`);
    // Let the pings resume for a while, so the end of the outage is in the record.
    await sleep(300);
    const report = await ping.stop();
    const packets = await capture.stop();
    const vipOnNewMaster = await backup.hasAddress(vip);
    if (!vipOnNewMaster) problems.push(`the VIP is not on host ${backup.index} at the end of the round`);

    const advert = packets.find((p) => isAdvertFrom(p, backup) && p.timeMs >= faultAtMs);
    const advertBeforeFault = advertsFrom(master, packets).filter((p) => p.timeMs < faultAtMs).pop();
    // The master may still get one advert out while `ip link set down` runs (a fault that lands
    // just before an advert is due): the backup's master-down timer starts from that one.
    const takeoverAtMs = Math.min(advert?.timeMs ?? Infinity, packets.find((p) => p.timeMs >= faultAtMs && isGarpFrom(p, vip, backup))?.timeMs ?? Infinity);
    const lastAdvert = advertsFrom(master, packets).filter((p) => p.timeMs < takeoverAtMs).pop();
    // carpd's clean stop sends a bow-out advert (advbase 255, advskew 255); ucarp sends none.
    const bowOut = packets.find((p) => p.kind === 'carp' && p.srcIp === master.address && p.carp?.advbase === 255 && p.timeMs >= faultAtMs);
    const garpPacket = packets.find((p) => p.timeMs >= faultAtMs && isGarpFrom(p, vip, backup));
    const { outageMs, recovered } = outageAfter(report, faultAtMs);
    if (!recovered) problems.push('the pings had not resumed when the round ended');

    // After the fault exactly one MASTER transition is expected, on the backup.
    const afterFault = [...daemons].map(([h, p]) => ({ h, n: countMasterTransitions(daemon, p.output().slice(faultFrom.get(h))) }));
    const takeovers = afterFault.find((x) => x.h === backup)?.n ?? 0;
    const spuriousAfter = afterFault.reduce((n, x) => n + x.n, 0) - Math.min(takeovers, 1);

    result = {
      scenario: sc.id,
      daemon,
      round,
      problems,
      settled: settledOn !== undefined,
      settleMs,
      masterHost: settledOn?.index,
      newMasterHost: vipOnNewMaster ? backup.index : undefined,
      readyMs,
      faultAtMs,
      faultCommandMs,
      outageMs,
      recovered,
      largestGapMs: report.largestGapMs,
      ping: { sent: report.sent, received: report.received, missed: report.missed },
      advertMs: advert ? advert.timeMs - faultAtMs : undefined,
      bowOutMs: bowOut ? bowOut.timeMs - faultAtMs : undefined,
      faultPhaseMs: advertBeforeFault ? faultAtMs - advertBeforeFault.timeMs : undefined,
      lastAdvertToGarpMs: lastAdvert && garpPacket ? garpPacket.timeMs - lastAdvert.timeMs : undefined,
      garpMs: garpPacket ? garpPacket.timeMs - faultAtMs : undefined,
      vipOnNewMaster,
      spuriousBefore,
      spuriousAfter,
      quietMs,
      logs: [],
    };
    return result;
  } finally {
    await ping?.stop();
    await capture.stop();
    await Promise.all([...daemons.values()].map((p) => p.stop(3_000)));
    for (const h of lab.hosts) await h.restoreLink();
    // Read after the stop, so the JSON has each daemon's whole account, shutdown included.
    if (result) result.logs = [...daemons].map(([h, p]) => ({ host: h.index, text: p.output() }));
  }
}

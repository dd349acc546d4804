// One round of the VRRP benchmark: a fresh pair on the lab's two hosts (host 1 priority 100, the
// intended master; host 2 priority 80), settled, the client pinging the VIP every 5 ms; then the
// master is stopped with SIGTERM or its link is cut at the bridge, just after one of its adverts
// reached the client, and the round records when the VIP reached host 2 and when the client was
// answered again.
//
// Why just after an advert: after a link cut the backup waits 3 × interval + skew from the
// master's LAST advert, so where in the interval the cut falls moves the figure by up to one
// interval. Cutting just after an advert puts every round, and both implementations, at the
// same phase. tcpdump runs with --immediate-mode, so the advert reaches the bench within a few
// milliseconds instead of a buffer timeout later.
//
// Observers, all on the machine's one clock: `ip -ts monitor address` on both hosts (netlink:
// when the VIP came and went), tcpdump on the client (kernel timestamps: adverts, the priority-0
// advert, gratuitous ARP), ping -D on the client. Every process is stopped in `finally`; the lab
// kills whatever is left in its namespaces when it is destroyed.
import { parsePingOutput, parseTcpdump, type Lab, type LabHost, type LabProcess } from '../lab/lab.js';
import { exec } from '../lab/command.js';
import { countStateLines, keepalivedConfigComplaints, parseAddressMonitor } from './checks-figures.js';
import { startKeepalived } from './keepalived.js';
import { preciseWallClock } from './clock.js';
import { poll, sleep } from './poll.js';
import { isVrrpFrom, vrrpRoundFigures, type VrrpFigures } from './vrrp-figures.js';
import { carpdArgs, keepalivedConfig, pairOf, SETTLE_STABLE_MS, TAIL_MS, type Implementation, type NodeSpec, type PairId, type Row, type RowId } from './vrrp-plan.js';

export interface VrrpTools {
  /** bin/carpd, run with this node (process.execPath). */
  carpd: string;
  keepalived: string;
}

export interface VrrpRoundContext {
  lab: Lab;
  tools: VrrpTools;
  /** Private directory for keepalived's configurations and pid files. */
  dir: string;
}

export interface VrrpRoundResult {
  row: RowId;
  pair: PairId;
  round: number;
  /** Things that went wrong or were unexpected; empty for a clean round. */
  problems: string[];
  /** Host 1 alone held the VIP for SETTLE_STABLE_MS before the fault. */
  settled: boolean;
  /** Host 1's daemon started → the group settled (includes the start-up wait of 3 × interval + skew). */
  settleMs: number | undefined;
  /** Per host: spawn → its first BACKUP log line. */
  readyMs: { host: number; ms: number | undefined }[];
  faultAtMs: number;
  /** How long applying the fault took: `ip link set down` in the bridge namespace, or kill(). */
  faultCommandMs: number;
  figures: VrrpFigures;
  /** MASTER transitions on host 2 after the fault (1 expected). */
  backupTakeovers: number;
  /** MASTER transitions anywhere before the fault beyond host 1's one, or after it beyond host 2's one. */
  spurious: number;
  ping: { sent: number; received: number };
  logs: { host: number; implementation: Implementation; text: string }[];
}

const READY: Readonly<Record<Implementation, RegExp>> = Object.freeze({
  carpd: /-> BACKUP \(start\)/,
  keepalived: /Entering BACKUP STATE/,
});

function nodeOf(lab: Lab, host: LabHost): NodeSpec {
  return { index: host.index as 1 | 2, vip: `${lab.vip()}/24` };
}

function startNode(ctx: VrrpRoundContext, implementation: Implementation, host: LabHost, row: Row): LabProcess {
  const node = nodeOf(ctx.lab, host);
  // ip netns exec execs node, so the pid the lab holds is carpd's own.
  if (implementation === 'carpd') return host.spawn(process.execPath, [ctx.tools.carpd, ...carpdArgs(node, row.timing)]);
  return startKeepalived(ctx.tools.keepalived, host, ctx.dir, keepalivedConfig(node, row.timing));
}

/** Links up, no VIP anywhere, the client's ARP empty: the state every round starts from. */
async function resetLab(lab: Lab): Promise<void> {
  for (const h of lab.hosts) {
    await h.restoreLink();
    for (const a of await h.addresses()) {
      if (a.split('/')[0] === lab.vip()) await h.exec('ip', ['addr', 'del', a, 'dev', h.ifname]);
    }
  }
  await lab.client.flushArp();
}

/** Stops a helper process and waits for it, within a bound (they all stop at once on a signal). */
async function stopObserver(p: LabProcess, signal: NodeJS.Signals): Promise<void> {
  if (!p.hasExited) p.signal(signal);
  await Promise.race([p.exited, sleep(3_000)]);
}

export async function runVrrpRound(ctx: VrrpRoundContext, row: Row, pairId: PairId, round: number): Promise<VrrpRoundResult> {
  const { lab } = ctx;
  const pair = pairOf(pairId);
  const vip = lab.vip();
  const problems: string[] = [];
  await resetLab(lab);
  const [h1, h2] = lab.hosts as [LabHost, LabHost];
  const implOf = new Map<LabHost, Implementation>([[h1, pair.master], [h2, pair.backup]]);
  const daemons = new Map<LabHost, LabProcess>();
  const monitors = new Map(lab.hosts.map((h) => [h, h.spawn('ip', ['-ts', 'monitor', 'address', 'dev', h.ifname])]));
  // No -T carp: tcpdump's default decoding of protocol 112 is VRRP (version, vrid, prio, intvl).
  const capture = lab.client.spawn('tcpdump', ['-i', 'eth0', '-e', '-n', '-tt', '-l', '-v', '--immediate-mode', 'ip proto 112 or arp']);
  let ping: ReturnType<Lab['client']['startPing']> | undefined;
  let result: VrrpRoundResult | undefined;
  try {
    await capture.waitForOutput(/listening on /, 5_000);
    // Host 1 first, host 2 once host 1 is listening: host 2's start-up wait then always ends
    // after host 1 has claimed, whichever implementation starts faster.
    const startedAt = Date.now();
    const readyMs: VrrpRoundResult['readyMs'] = [];
    for (const h of [h1, h2]) {
      const t = Date.now();
      const impl = implOf.get(h)!;
      const p = startNode(ctx, impl, h, row);
      daemons.set(h, p);
      const ready = await p.waitForOutput(READY[impl], 10_000).then(
        () => Date.now() - t,
        () => undefined,
      );
      if (ready === undefined) problems.push(`host ${h.index} (${impl}): no BACKUP log line within 10 s of the start`);
      readyMs.push({ host: h.index, ms: ready });
    }
    const settleTimeoutMs = 6_000 + 4 * row.timing.advertIntS * 1_000 + SETTLE_STABLE_MS;
    const settledOn = await lab.waitForSingleHolder(settleTimeoutMs, SETTLE_STABLE_MS).catch(() => undefined);
    const settleMs = settledOn ? Date.now() - startedAt : undefined;
    if (!settledOn) problems.push(`never settled: no single host held ${vip} for ${SETTLE_STABLE_MS} ms within ${settleTimeoutMs / 1000} s`);
    if (settledOn && settledOn !== h1) problems.push(`host ${settledOn.index} won the election, not host 1 (priority 100)`);
    const master = h1;
    const backup = h2;
    const masterEnd = { address: master.address, mac: master.mac };
    const backupEnd = { address: backup.address, mac: backup.mac };

    ping = lab.client.startPing(vip, 5);
    await ping.waitForReply(3_000).catch(() => problems.push('the client got no ping reply from the VIP before the fault'));
    const arpOk = await poll(async () => ((await lab.client.arpEntry(vip))?.mac === master.mac ? true : undefined), 3_000, 20);
    if (!arpOk) problems.push(`the client's ARP entry for the VIP never pointed at host ${master.index} before the fault`);

    // Fault just after the master's next advert (see the top of the file), timed to the µs.
    const now = preciseWallClock();
    const advertsFromMaster = () => parseTcpdump(capture.stdout()).filter((p) => isVrrpFrom(p, masterEnd, false)).length;
    const seen = advertsFromMaster();
    const synced = await poll(() => (advertsFromMaster() > seen ? true : undefined), row.timing.advertIntS * 1_000 + 2_000, 2);
    if (!synced) problems.push(`no advert from host ${master.index} to time the fault against`);

    const logsFrom = new Map([...daemons].map(([h, p]) => [h, p.output().length]));
    const faultAtMs = now();
    if (row.fault === 'link-cut') await master.cutLink();
    else daemons.get(master)!.signal('SIGTERM');
    const faultCommandMs = now() - faultAtMs;

    const vipOn = await poll(
      () => parseAddressMonitor(monitors.get(backup)!.stdout()).find((e) => e.address === vip && !e.deleted && e.timeMs >= faultAtMs),
      row.takeoverTimeoutMs,
      5,
    );
    if (!vipOn) problems.push(`the VIP did not reach host ${backup.index} within ${row.takeoverTimeoutMs} ms of the fault`);
    // The client answered again: a reply after the VIP moved (ping -D lines carry their time).
    const answered = await poll(
      () => parsePingOutput(ping!.process.stdout()).replies.find((r) => r.timeMs >= (vipOn?.timeMs ?? faultAtMs)),
      vipOn ? 3_000 : 300,
      10,
    );
    if (vipOn && !answered) problems.push(`no ping reply from the VIP within 3 s of it reaching host ${backup.index}`);
    await sleep(TAIL_MS);

    const report = await ping.stop();
    await Promise.all([stopObserver(capture, 'SIGINT'), ...[...monitors.values()].map((m) => stopObserver(m, 'SIGTERM'))]);

    const figures = vrrpRoundFigures({
      row,
      vip,
      faultAtMs,
      master: masterEnd,
      backup: backupEnd,
      masterAddresses: parseAddressMonitor(monitors.get(master)!.stdout()),
      backupAddresses: parseAddressMonitor(monitors.get(backup)!.stdout()),
      packets: parseTcpdump(capture.stdout()),
      replyTimesMs: report.replyTimesMs,
      pingStoppedMs: report.stoppedMs,
    });
    if (!figures.pingRecovered) problems.push('the pings had not resumed when the round ended');
    if (row.fault === 'clean-stop' && figures.resignMs === undefined) problems.push(`no priority-0 advert from host ${master.index} after SIGTERM`);

    const masterLines = (h: LabHost, from: number, to?: number) => countStateLines(implOf.get(h)!, 'master', daemons.get(h)!.output().slice(from, to));
    const backupTakeovers = masterLines(backup, logsFrom.get(backup)!);
    const beforeFault = masterLines(master, 0, logsFrom.get(master)) + masterLines(backup, 0, logsFrom.get(backup));
    const afterFault = masterLines(master, logsFrom.get(master)!) + backupTakeovers;
    const spurious = Math.max(0, beforeFault - 1) + Math.max(0, afterFault - 1);
    if (backupTakeovers !== 1) problems.push(`host ${backup.index} logged ${backupTakeovers} MASTER transitions after the fault (1 expected)`);
    for (const h of lab.hosts) {
      if (implOf.get(h) !== 'keepalived') continue;
      for (const c of keepalivedConfigComplaints(daemons.get(h)!.output()).slice(0, 3)) problems.push(`keepalived on host ${h.index}: ${c}`);
    }

    result = {
      row: row.id,
      pair: pairId,
      round,
      problems,
      settled: settledOn === h1,
      settleMs,
      readyMs,
      faultAtMs,
      faultCommandMs,
      figures,
      backupTakeovers,
      spurious,
      ping: { sent: report.sent, received: report.received },
      logs: [],
    };
    return result;
  } finally {
    await ping?.stop();
    await Promise.all([stopObserver(capture, 'SIGINT'), ...[...monitors.values()].map((m) => stopObserver(m, 'SIGTERM'))]);
    // SIGTERM first, so both stop as they would (keepalived's parent takes its VRRP child along).
    await Promise.all([...daemons.values()].map((p) => p.stop(3_000)));
    const leftovers = await killLeftovers(lab);
    for (const h of lab.hosts) await h.restoreLink();
    if (result) {
      if (leftovers.length > 0) result.problems.push(`killed ${leftovers.length} process(es) left in the hosts' namespaces after the stop`);
      // Read after the stop, so the JSON has each daemon's whole account, shutdown included.
      result.logs = [...daemons].map(([h, p]) => ({ host: h.index, implementation: implOf.get(h)!, text: p.output() }));
    }
  }
}

/**
 * Processes still in the lab hosts' namespaces once the round's own have stopped (a keepalived
 * VRRP child that outlived its parent, say): killed, so they cannot take part in the next round.
 * Only this lab's namespaces, which this run created.
 */
async function killLeftovers(lab: Lab): Promise<number[]> {
  const killed: number[] = [];
  for (const h of lab.hosts) {
    const r = await exec('ip', ['netns', 'pids', h.ns]);
    for (const pid of r.stdout.split(/\s+/).filter(Boolean).map(Number)) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.push(pid);
      } catch {
        // Gone meanwhile.
      }
    }
  }
  return killed;
}

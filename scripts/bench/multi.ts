// One run of the vhosts benchmark: N vhosts on a fresh two-host lab, served by ONE carpd per node
// or by N ucarp processes per node. Host 1 (advskew 0) becomes MASTER of every vhid, host 2
// (advskew 100) stays BACKUP. Then, in order:
//
//   1. idle window: CPU (utime+stime) and RSS of every process of the implementation on host 1,
//      children included, while the client captures host 1's adverts for the jitter figure;
//   2. link cut: host 1's bridge port goes down and host 2's addresses are polled until all N
//      VIPs are there.
//
// Every run builds its own lab and destroys it in `finally`, so nothing one run left behind (a
// VIP, a stray script, a daemon that would not die) can touch the next; every wait has a deadline.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, PacketCapture, type CapturedPacket, type LabHost, type LabProcess } from '../lab/lab.js';
import { CARPD, CLK_TCK, countMasterTransitions, READY_LINE, type Daemon, type UcarpScripts } from './daemons.js';
import { advertTimesByVhid, lastAdvertBefore, summariseJitter, type JitterSummary } from './jitter.js';
import {
  BACKUP_TIMING,
  MASTER_TIMING,
  carpdConfigText,
  carpdFlatArgs,
  failoverTargetMs,
  nominalIntervalMs,
  perMinute,
  ucarpArgs,
  vhostPlan,
  type NodeSpec,
  type Vhost,
} from './multi-plan.js';
import { poll, sleep } from './poll.js';
import { sampleTree, ticksBetween, totals, type TreeSample, type TreeTotals } from './proc-tree.js';

export interface MultiContext {
  scripts: UcarpScripts;
  flatCarpd: boolean;
  idleMs: number;
  settleMs: number;
  /** Makes the lab's name unique within this benchmark process. */
  seq: number;
  /** Progress lines (the command lines used, what is being waited for). */
  say: (line: string) => void;
}

export interface IdleFigures {
  windowMs: number;
  cpuTicks: number;
  cpuMs: number;
  cpuMsPerMinute: number | undefined;
  /** Live threads' schedstat over the window (ns resolution, reaped children not included). */
  schedCpuMs: number | undefined;
  /** At the end of the window. */
  end: TreeTotals;
}

export interface VhidFailover {
  vhid: number;
  /** Link cut → the VIP seen on host 2 (first poll that showed it). */
  vipMs: number | undefined;
  /** This vhid's last advert from host 1 (client capture) → its VIP seen on host 2. */
  lastAdvertToVipMs: number | undefined;
}

export interface FailoverFigures {
  /** How long `ip link set down` on the bridge port took to return. */
  faultCommandMs: number;
  /** Link cut → the last of the N VIPs seen on host 2; undefined if not all arrived in time. */
  allMovedMs: number | undefined;
  moved: number;
  /** Worst over vhids of lastAdvertToVipMs: the take-over time independent of the cut's phase. */
  worstLastAdvertToVipMs: number | undefined;
  masterDownMs: number;
  targetMs: number;
  perVhid: VhidFailover[];
}

export interface MultiRunResult {
  daemon: Daemon;
  vhosts: number;
  /** Unexpected things in this run; empty for a clean one. */
  problems: string[];
  /** The run could not be measured (the daemon refused to start, a lab command failed). */
  error: string | undefined;
  commands: { host: number; command: string }[];
  /** carpd's config file for host 1 (undefined for ucarp and --flat-carpd). */
  carpdConfig: string | undefined;
  /**
   * MASTER transitions on each host from the group settling to the link cut (settle time and idle
   * window): a healthy group has none. carpd counts one per vhost ("[v7] BACKUP -> MASTER (…)").
   */
  spuriousMaster: { host: number; transitions: number }[];
  /** Spawn of host 1's daemons → all N VIPs on host 1 (includes the 3 s master-down wait at start). */
  startMs: number | undefined;
  idle: IdleFigures | undefined;
  jitter: JitterSummary | undefined;
  captureDroppedByKernel: number | undefined;
  failover: FailoverFigures | undefined;
  /** Output of the daemons (carpd: both; ucarp: vhid 1's on each host, plus any that exited), tail only. */
  logs: { host: number; vhid?: number; text: string }[];
}

const READY_TIMEOUT_MS = 15_000;
const SETTLE_TIMEOUT_MS = 20_000;
const STABLE_MS = 1_500;
/** Per process kept in the JSON: carpd's one log holds every vhost's lines. */
const LOG_TAIL = 200_000;

interface Node {
  host: LabHost;
  spec: NodeSpec;
  /** carpd: one process for every vhost; ucarp: one per vhost, in vhid order. */
  processes: LabProcess[];
}

const tail = (text: string): string => (text.length > LOG_TAIL ? `…${text.slice(-LOG_TAIL)}` : text);

function exitReport(procs: LabProcess[]): string {
  const exited = procs.filter((p) => p.hasExited);
  return exited.length === 0 ? '' : `${exited.length} of ${procs.length} exited; first one's output:\n${tail(exited[0]!.output()).slice(-2_000)}`;
}

/** Starts one node's daemons and waits until each has said it is BACKUP (its start-up state). */
async function startNode(daemon: Daemon, node: Node, vhosts: readonly Vhost[], ctx: MultiContext, configDir: string, result: MultiRunResult): Promise<void> {
  const { host, spec } = node;
  if (daemon === 'carpd') {
    let args: string[];
    if (ctx.flatCarpd) {
      args = carpdFlatArgs(spec, vhosts[0]!);
    } else {
      const file = join(configDir, `h${host.index}.conf`);
      const text = carpdConfigText(spec, vhosts);
      // 0600: the file holds the password, and carpd warns when other users can read it.
      writeFileSync(file, text, { mode: 0o600 });
      chmodSync(file, 0o600);
      if (host.index === 1) result.carpdConfig = text;
      args = [`--config=${file}`];
    }
    result.commands.push({ host: host.index, command: ['carpd', ...args].join(' ') });
    // `node bin/carpd`: ip netns exec execs node, so the pid is carpd's own (bin/carpd does not fork).
    node.processes.push(host.spawn(process.execPath, [CARPD, ...args]));
  } else {
    const first = ucarpArgs(spec, vhosts[0]!, ctx.scripts);
    const more = vhosts.length > 1 ? `   (× ${vhosts.length}: -v 1..${vhosts.length}, -a ${vhosts[0]!.vip}..${vhosts[vhosts.length - 1]!.vip})` : '';
    result.commands.push({ host: host.index, command: `${['ucarp', ...first].join(' ')}${more}` });
    for (const v of vhosts) node.processes.push(host.spawn('ucarp', ucarpArgs(spec, v, ctx.scripts)));
  }
  ctx.say(`    host ${host.index}: ${result.commands[result.commands.length - 1]!.command}`);

  // carpd logs one "[v7] INIT -> BACKUP (start)" per vhost; each ucarp one "Switching to state: BACKUP".
  const want = daemon === 'carpd' ? vhosts.length : 1;
  const readyCount = (p: LabProcess): number => p.output().match(new RegExp(READY_LINE[daemon].source, 'g'))?.length ?? 0;
  const ready = await poll(
    () => (node.processes.some((p) => p.hasExited) ? false : node.processes.every((p) => readyCount(p) >= want) ? true : undefined),
    READY_TIMEOUT_MS,
    50,
  );
  if (ready === false) throw new Error(`host ${host.index}: ${daemon} exited at start-up; ${exitReport(node.processes)}`);
  if (ready === undefined) {
    const short = node.processes.filter((p) => readyCount(p) < want).length;
    result.problems.push(
      daemon === 'carpd'
        ? `host ${host.index}: carpd printed ${readyCount(node.processes[0]!)} of ${want} "-> BACKUP (start)" lines within ${READY_TIMEOUT_MS / 1000} s`
        : `host ${host.index}: ${short} of ${node.processes.length} ucarps printed no BACKUP line within ${READY_TIMEOUT_MS / 1000} s`,
    );
  }
}

/** Which of the VIPs the host has on eth0 right now. */
async function vipsOn(host: LabHost, vips: ReadonlySet<string>): Promise<Set<string>> {
  const present = new Set<string>();
  for (const a of await host.addresses()) {
    const ip = a.split('/')[0]!;
    if (vips.has(ip)) present.add(ip);
  }
  return present;
}

/** An ordinary advert from host (not a bow-out, which carries advbase 255). */
function isAdvertFrom(p: CapturedPacket, host: LabHost): boolean {
  return p.kind === 'carp' && p.srcIp === host.address && p.carp?.advbase !== 255;
}

export async function runMulti(ctx: MultiContext, daemon: Daemon, count: number): Promise<MultiRunResult> {
  const result: MultiRunResult = {
    daemon,
    vhosts: count,
    problems: [],
    error: undefined,
    commands: [],
    carpdConfig: undefined,
    spuriousMaster: [],
    startMs: undefined,
    idle: undefined,
    jitter: undefined,
    captureDroppedByKernel: undefined,
    failover: undefined,
    logs: [],
  };
  const configDir = mkdtempSync(join(tmpdir(), 'carpd-bench-vhosts-'));
  let lab: Lab | undefined;
  let nodes: Node[] = [];
  const captures: PacketCapture[] = [];
  try {
    lab = await Lab.create({ hosts: 2, name: `vh-${process.pid}-${ctx.seq}` });
    const [h1, h2] = lab.hosts as [LabHost, LabHost];
    const vhosts = vhostPlan(lab.subnet, count);
    const vips = new Set(vhosts.map((v) => v.vip));
    const master: Node = { host: h1, spec: { address: h1.address, timing: MASTER_TIMING }, processes: [] };
    const backup: Node = { host: h2, spec: { address: h2.address, timing: BACKUP_TIMING }, processes: [] };
    nodes = [master, backup];

    // The master first, and the backup only once the master is listening, so a slow start (node
    // takes a third of a second) cannot let the backup's master-down wait run out first.
    const spawnedAt = Date.now();
    await startNode(daemon, master, vhosts, ctx, configDir, result);
    await startNode(daemon, backup, vhosts, ctx, configDir, result);

    // Settled: every VIP on host 1, none on host 2, for STABLE_MS.
    let allSince: number | undefined;
    let firstAll: number | undefined;
    let last = { onMaster: 0, onBackup: 0 };
    const settled = await poll(
      async () => {
        if ([...master.processes, ...backup.processes].some((p) => p.hasExited)) return false;
        const [m, b] = await Promise.all([vipsOn(h1, vips), vipsOn(h2, vips)]);
        last = { onMaster: m.size, onBackup: b.size };
        const good = m.size === vips.size && b.size === 0;
        if (!good) allSince = undefined;
        else {
          allSince ??= Date.now();
          firstAll ??= allSince;
        }
        return allSince !== undefined && Date.now() - allSince >= STABLE_MS ? true : undefined;
      },
      SETTLE_TIMEOUT_MS,
      100,
    );
    if (settled === false) throw new Error(`a daemon exited before the group settled; ${exitReport([...master.processes, ...backup.processes])}`);
    if (settled === undefined) {
      throw new Error(
        `never settled: within ${SETTLE_TIMEOUT_MS / 1000} s host 1 never held all ${count} VIPs with host 2 holding none ` +
          `for ${STABLE_MS / 1000} s (last seen: ${last.onMaster} on host 1, ${last.onBackup} on host 2)`,
      );
    }
    result.startMs = firstAll !== undefined ? firstAll - spawnedAt : undefined;
    const quietFrom = new Map(nodes.flatMap((n) => n.processes.map((p) => [p, p.output().length] as const)));
    ctx.say(`    all ${count} VIPs on host 1 ${(result.startMs! / 1000).toFixed(1)} s after the start; settling ${ctx.settleMs / 1000} s`);
    // Let the take-over finish (gratuitous ARP repeats, up-scripts exiting) and node's start-up
    // work (lazy compilation, the first GCs) die down, so the window holds idle advertising only.
    await sleep(ctx.settleMs);

    // ---- 1. idle window -----------------------------------------------------------------------
    const roots = master.processes.map((p) => p.pid);
    const advertCapture = await PacketCapture.start(lab.client.ns, lab.client.ifname, `ip proto 112 and src host ${h1.address}`);
    captures.push(advertCapture);
    const before: TreeSample = sampleTree(roots);
    await sleep(ctx.idleMs);
    const after: TreeSample = sampleTree(roots);
    const packets = await advertCapture.stop();
    result.captureDroppedByKernel = advertCapture.stats().droppedByKernel;
    if ((result.captureDroppedByKernel ?? 0) > 0) result.problems.push(`tcpdump dropped ${result.captureDroppedByKernel} packets: jitter may count lost adverts`);
    if (master.processes.some((p) => p.hasExited)) result.problems.push('a daemon on host 1 exited during the idle window');
    const windowMs = after.atMs - before.atMs;
    const cpuTicks = ticksBetween(before, after);
    const cpuMs = (cpuTicks * 1000) / CLK_TCK;
    const startTotals = totals(before);
    const endTotals = totals(after);
    result.idle = {
      windowMs,
      cpuTicks,
      cpuMs,
      cpuMsPerMinute: perMinute(cpuMs, windowMs),
      schedCpuMs:
        startTotals.schedNs !== undefined && endTotals.schedNs !== undefined ? (endTotals.schedNs - startTotals.schedNs) / 1e6 : undefined,
      end: endTotals,
    };
    result.jitter = summariseJitter(advertTimesByVhid(packets, h1.address, before.atMs, after.atMs), nominalIntervalMs());
    if (result.jitter.vhids !== count) result.problems.push(`adverts from ${result.jitter.vhids} of ${count} vhids in the idle window`);

    // ---- 2. link cut --------------------------------------------------------------------------
    // A fresh capture (small, so polling it is cheap) that has run for more than one interval
    // before the cut, so it holds every vhid's last advert before the cut.
    const failoverCapture = await PacketCapture.start(lab.client.ns, lab.client.ifname, 'ip proto 112');
    captures.push(failoverCapture);
    await sleep(nominalIntervalMs() + 200);
    // Cut just after an advert has been seen, as the failover bench does; with one vhost that
    // fixes the phase of the cut, with many it is one vhid's phase among N.
    const seen = failoverCapture.snapshot().filter((p) => isAdvertFrom(p, h1)).length;
    const synced = await poll(() => (failoverCapture.snapshot().filter((p) => isAdvertFrom(p, h1)).length > seen ? true : undefined), 3_000, 5);
    if (!synced) result.problems.push('no advert from host 1 to time the link cut against');
    const { masterDownMs, targetMs } = failoverTargetMs();
    result.spuriousMaster = nodes.map((n) => ({
      host: n.host.index,
      transitions: n.processes.reduce((sum, p) => sum + countMasterTransitions(daemon, p.output().slice(quietFrom.get(p))), 0),
    }));
    for (const x of result.spuriousMaster) {
      if (x.transitions > 0) result.problems.push(`host ${x.host}: ${x.transitions} MASTER transition(s) while the group should have been idle`);
    }
    const cutAt = Date.now();
    await h1.cutLink();
    const faultCommandMs = Date.now() - cutAt;
    const firstSeen = new Map<string, number>();
    await poll(
      async () => {
        const present = await vipsOn(h2, vips);
        const now = Date.now();
        for (const vip of present) if (!firstSeen.has(vip)) firstSeen.set(vip, now);
        return firstSeen.size === vips.size ? true : undefined;
      },
      targetMs + 6_000,
      20,
    );
    await sleep(300);
    const failoverPackets = await failoverCapture.stop();
    const lastAdverts = lastAdvertBefore(advertTimesByVhid(failoverPackets, h1.address), cutAt + faultCommandMs);
    const perVhid: VhidFailover[] = vhosts.map((v) => {
      const at = firstSeen.get(v.vip);
      const lastAdvert = lastAdverts.get(v.vhid);
      return {
        vhid: v.vhid,
        vipMs: at !== undefined ? at - cutAt : undefined,
        lastAdvertToVipMs: at !== undefined && lastAdvert !== undefined ? at - lastAdvert : undefined,
      };
    });
    const allMoved = firstSeen.size === vips.size;
    if (!allMoved) result.problems.push(`only ${firstSeen.size} of ${count} VIPs reached host 2 within ${((targetMs + 6_000) / 1000).toFixed(1)} s of the cut`);
    const worst = perVhid.map((x) => x.lastAdvertToVipMs);
    result.failover = {
      faultCommandMs,
      allMovedMs: allMoved ? Math.max(...perVhid.map((x) => x.vipMs!)) : undefined,
      moved: firstSeen.size,
      worstLastAdvertToVipMs: worst.every((x) => x !== undefined) ? Math.max(...(worst as number[])) : undefined,
      masterDownMs,
      targetMs,
      perVhid,
    };
    return result;
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    return result;
  } finally {
    // Before the teardown stops them all: which daemons had exited on their own.
    const exitedEarly = new Set(nodes.flatMap((n) => n.processes.filter((p) => p.hasExited)));
    await Promise.all(captures.map((c) => c.stop()));
    if (lab) {
      // Stops every daemon (SIGTERM, then SIGKILL), kills whatever is left in the namespaces, deletes them.
      await lab.destroy().catch((err: unknown) => result.problems.push(`lab teardown: ${err instanceof Error ? err.message : String(err)}`));
    }
    rmSync(configDir, { recursive: true, force: true });
    // Read after the stop, so the JSON has each daemon's whole account, shutdown included.
    for (const node of nodes) {
      node.processes.forEach((p, k) => {
        if (daemon === 'carpd' || k === 0 || exitedEarly.has(p)) result.logs.push({ host: node.host.index, ...(daemon === 'ucarp' ? { vhid: k + 1 } : {}), text: tail(p.output()) });
      });
    }
  }
}

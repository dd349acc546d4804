// The flood benchmark's run: carpd and ucarp side by side, each the lone MASTER of its own vhid
// (carpd vhid 42 on host 1, ucarp vhid 43 on host 2), while host 3, which runs no daemon, floods
// the segment with bogus protocol-112 frames for both vhids (scripts/lab/flood.ts: random
// sources in the lab's /24, TTL 1 and 64, bad checksums, versions, types, HMACs, sizes, other
// vhids). Both daemons receive every frame (multicast), at the same time, on the same machine.
// Measured per daemon over the flood window: CPU (per-thread schedstat, ticks as a fallback),
// RSS before, peak and after, log lines written, state changes and the longest gap between its
// adverts (tcpdump on the client, the daemons' own MACs only).
import { fileURLToPath } from 'node:url';
import { Lab, PacketCapture, type LabHost, type LabProcess } from '../lab/lab.js';
import type { FloodResult } from '../lab/flood.js';
import { CARPD, CLK_TCK, countMasterTransitions, sampleProc, type Daemon, type ProcSample, type UcarpScripts } from './daemons.js';
import { poll, sleep } from './poll.js';

const FLOOD = fileURLToPath(new URL('../lab/flood.js', import.meta.url));
const PASSWORD = 'bench';
export const VHIDS: Record<Daemon, number> = { carpd: 42, ucarp: 43 };

export interface FloodBenchPlan {
  readonly rate: number;
  readonly seconds: number;
  /** After both are MASTER, before the flood: lets start-up work die down. */
  readonly settleSeconds: number;
}

export interface DaemonFloodFigures {
  daemon: Daemon;
  pid: number;
  /** On-CPU time during the flood window, % of one core. */
  cpuPercent: number;
  /** Which counter cpuPercent comes from. */
  cpuSource: 'schedstat' | 'ticks';
  rssBeforeKb: number;
  rssPeakKb: number;
  rssAfterKb: number;
  /** Lines written during the flood window (carpd: also the summaries it writes at stop, below). */
  logLines: number;
  /** carpd's summary lines at stop (what its windows still held); 0 for ucarp. */
  stopLines: number;
  /** Log bytes during the flood window. */
  logBytes: number;
  transitions: number;
  adverts: number;
  maxAdvertGapMs: number | undefined;
  /** carpd: the frames it counted (drops by reason, link and vhost, from `carpd status --json`); ucarp keeps no count. */
  counted: number | undefined;
  /** A few of its lines from the flood window, to show what it wrote. */
  sample: string[];
}

export interface FloodBenchResult {
  plan: FloodBenchPlan;
  sender: FloodResult;
  windowMs: number;
  daemons: DaemonFloodFigures[];
  problems: string[];
}

function args(daemon: Daemon, lab: Lab, host: LabHost, scripts: UcarpScripts): string[] {
  const vip = lab.vip(daemon === 'carpd' ? 0 : 1);
  const common = ['-i', 'eth0', '-s', host.address, '-v', String(VHIDS[daemon]), '-p', PASSWORD, '-a', vip, '-b', '1', '-k', '0', '-z'];
  return daemon === 'carpd' ? [CARPD, ...common] : [...common, '-u', scripts.up, '-d', scripts.down, '-f', 'none'];
}

/**
 * The Ethernet source of a daemon's adverts: carpd sends from the interface's own MAC, ucarp
 * writes whole frames from CARP's virtual MAC 00:00:5e:00:00:<vhid>.
 */
function advertMac(daemon: Daemon, host: LabHost): string {
  return daemon === 'carpd' ? host.mac : `00:00:5e:00:00:${VHIDS.ucarp.toString(16).padStart(2, '0')}`;
}

/** Every frame carpd counted as dropped, by its link and its vhost (status --json). */
async function countedByCarpd(host: LabHost): Promise<number | undefined> {
  const r = await host.exec(process.execPath, [CARPD, 'status', '--json']);
  if (r.code !== 0) return undefined;
  const status = JSON.parse(r.stdout) as { vhosts: { drops: Record<string, number> }[]; daemons: { links: { drops: Record<string, number> }[] }[] };
  const all = [...status.vhosts.map((v) => v.drops), ...status.daemons.flatMap((d) => d.links.map((l) => l.drops))];
  return all.flatMap((d) => Object.values(d)).reduce((a, b) => a + b, 0);
}

function lineCount(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function cpu(before: ProcSample, after: ProcSample): { percent: number; source: 'schedstat' | 'ticks' } {
  const wallMs = after.atMs - before.atMs;
  if (before.schedNs !== undefined && after.schedNs !== undefined) {
    return { percent: ((after.schedNs - before.schedNs) / 1e6 / wallMs) * 100, source: 'schedstat' };
  }
  return { percent: ((((after.selfTicks - before.selfTicks) * 1000) / CLK_TCK) / wallMs) * 100, source: 'ticks' };
}

/** Largest gap between consecutive adverts, ms; undefined with fewer than two. */
export function maxGap(times: readonly number[]): number | undefined {
  if (times.length < 2) return undefined;
  let max = 0;
  for (let k = 1; k < times.length; k++) max = Math.max(max, times[k]! - times[k - 1]!);
  return max;
}

export async function runFloodBench(plan: FloodBenchPlan, scripts: UcarpScripts, say: (text: string) => void): Promise<FloodBenchResult> {
  const problems: string[] = [];
  const lab = await Lab.create({ hosts: 3 });
  const procs: { daemon: Daemon; host: LabHost; proc: LabProcess }[] = [];
  try {
    const hosts: Record<Daemon, LabHost> = { carpd: lab.host(1), ucarp: lab.host(2) };
    for (const daemon of ['carpd', 'ucarp'] as const) {
      const host = hosts[daemon];
      const a = args(daemon, lab, host, scripts);
      const proc = daemon === 'carpd' ? host.spawn(process.execPath, a) : host.spawn('ucarp', a);
      procs.push({ daemon, host, proc });
    }
    for (const { daemon, host } of procs) {
      const vip = lab.vip(daemon === 'carpd' ? 0 : 1);
      const up = await poll(async () => ((await host.hasAddress(vip)) ? true : undefined), 15_000, 100);
      if (!up) throw new Error(`${daemon} did not become MASTER within 15 s`);
    }
    say(`both MASTER; settling ${plan.settleSeconds} s, then ${plan.rate} frames/s for ${plan.seconds} s from host 3`);
    await sleep(plan.settleSeconds * 1_000);

    const macs = procs.map(({ daemon }) => `ether src ${advertMac(daemon, hosts[daemon])}`).join(' or ');
    const capture = await PacketCapture.start(lab.client.ns, 'eth0', `ip proto 112 and (${macs})`);
    const flooder = lab.host(3);
    const before = procs.map(({ proc }) => ({ sample: sampleProc(proc.pid), text: proc.output().length, transitions: 0 }));
    before.forEach((b, k) => (b.transitions = countMasterTransitions(procs[k]!.daemon, procs[k]!.proc.output())));
    const peak = before.map((b) => b.sample.rssKb ?? 0);
    const sender = flooder.spawn(process.execPath, [
      FLOOD, '--srcip', flooder.address, '--vhid', String(VHIDS.carpd), '--vhid', String(VHIDS.ucarp),
      '--rate', String(plan.rate), '--seconds', String(plan.seconds),
    ]);
    const started = Date.now();
    while (!sender.hasExited) {
      await sleep(250);
      procs.forEach(({ proc }, k) => {
        if (!proc.hasExited) peak[k] = Math.max(peak[k]!, sampleProc(proc.pid).rssKb ?? 0);
      });
    }
    const exit = await sender.exited;
    // The frames still queued in the daemons' sockets are worked through before the window closes.
    await sleep(500);
    const after = procs.map(({ proc }) => ({ sample: sampleProc(proc.pid), text: proc.output().length }));
    const windowMs = Date.now() - started;
    if (exit.code !== 0) problems.push(`the flood sender exited ${exit.code}: ${sender.output().slice(-500)}`);
    let result: FloodResult;
    try {
      result = JSON.parse(sender.stdout().trim()) as FloodResult;
    } catch {
      throw new Error(`the flood sender printed no result: ${sender.output().slice(-500)}`);
    }
    if (result.rate < plan.rate * 0.9) problems.push(`the sender reached ${result.rate} frames/s of the ${plan.rate} asked (a busy machine)`);
    await sleep(1_000);
    const packets = await capture.stop();

    const figures: DaemonFloodFigures[] = [];
    for (const [k, { daemon, host, proc }] of procs.entries()) {
      const b = before[k]!;
      const a = after[k]!;
      const during = proc.output().slice(b.text, a.text);
      const c = cpu(b.sample, a.sample);
      const mac = advertMac(daemon, host);
      const times = packets.filter((p) => p.kind === 'carp' && p.srcMac === mac && p.timeMs >= started - 1_000).map((p) => p.timeMs);
      figures.push({
        daemon,
        pid: proc.pid,
        cpuPercent: c.percent,
        cpuSource: c.source,
        rssBeforeKb: b.sample.rssKb ?? 0,
        rssPeakKb: Math.max(peak[k]!, a.sample.rssKb ?? 0),
        rssAfterKb: a.sample.rssKb ?? 0,
        logLines: lineCount(during),
        stopLines: 0,
        logBytes: Buffer.byteLength(during),
        transitions: countMasterTransitions(daemon, proc.output()) - b.transitions,
        adverts: times.length,
        maxAdvertGapMs: maxGap(times),
        counted: daemon === 'carpd' ? await countedByCarpd(host) : undefined,
        sample: during.split('\n').filter((l) => l !== '').slice(0, 3),
      });
    }
    // carpd writes what its windows still hold back when it stops: count those lines too.
    const carpd = procs.find((p) => p.daemon === 'carpd')!;
    const stopFrom = carpd.proc.output().length;
    await carpd.proc.stop(5_000);
    figures.find((f) => f.daemon === 'carpd')!.stopLines = carpd.proc.output().slice(stopFrom).split('\n').filter((l) => l.includes('dropped advert:')).length;
    return { plan, sender: result, windowMs, daemons: figures, problems };
  } finally {
    await Promise.all(procs.map(({ proc }) => proc.stop(3_000)));
    await lab.destroy();
  }
}

// Footprint of an idle MASTER: one daemon alone on host 1 (so it becomes MASTER and stays there,
// advertising once a second), its CPU time and memory read from /proc over a fixed window, and
// how long it took to start.
import { PacketCapture, type Lab, type LabHost } from '../lab/lab.js';
import { CLK_TCK, READY_LINE, sampleProc, startDaemon, type Daemon, type ProcSample, type UcarpScripts } from './daemons.js';
import { poll, sleep } from './poll.js';
import { resetLab } from './failover.js';

export interface FootprintResult {
  daemon: Daemon;
  problems: string[];
  pid: number;
  /** Spawn → first BACKUP log line. */
  readyMs: number | undefined;
  /** Spawn → first advert on the wire; includes the 3 × advbase (3 s) master-down wait at start. */
  firstAdvertMs: number | undefined;
  /** The idle window actually measured. */
  idleMs: number;
  /** utime + stime during the window, in clock ticks and in ms (ticks × 1000 / CLK_TCK). */
  cpuTicks: number;
  cpuMs: number;
  /** The same from per-thread schedstat (ns resolution); undefined where the kernel lacks it. */
  schedCpuMs: number | undefined;
  /** Children reaped during the window (scripts, ip, arping): not part of cpuMs. */
  childCpuMs: number;
  /** utime + stime from process start to the end of the window (includes start-up and election). */
  cpuSinceStartMs: number;
  peakRssKb: number | undefined;
  rssKb: number | undefined;
  threads: number | undefined;
  samples: ProcSample[];
}


/** From the VIP appearing to the start of the idle window. */
export const SETTLE_MS = 10_000;

const ticksToMs = (ticks: number): number => (ticks * 1000) / CLK_TCK;


export async function measureFootprint(lab: Lab, scripts: UcarpScripts, daemon: Daemon, idleSeconds: number): Promise<FootprintResult> {
  const host = lab.hosts[0] as LabHost;
  const problems: string[] = [];
  await resetLab(lab);
  const capture = await PacketCapture.start(host.ns, host.ifname, 'ip proto 112');
  const t0 = Date.now();
  const proc = startDaemon(daemon, lab, host, { advbase: 1, advskew: 0 }, scripts);
  try {
    const readyMs = await proc.waitForOutput(READY_LINE[daemon], 10_000).then(
      () => Date.now() - t0,
      () => undefined,
    );
    if (readyMs === undefined) problems.push('no BACKUP log line within 10 s of the start');
    const advert = await poll(() => capture.snapshot().find((p) => p.kind === 'carp' && p.srcIp === host.address), 10_000, 10);
    if (!advert) problems.push('no advert on the wire within 10 s of the start');
    await capture.stop();
    const master = await poll(async () => ((await host.hasAddress(lab.vip())) ? true : undefined), 5_000, 100);
    if (!master) problems.push('the VIP never appeared on the lone host');
    // Let the take-over finish (carpd repeats its gratuitous ARP two adverts later; ucarp's
    // up-script has to exit) and let node's start-up work die down (lazy compilation and GC of
    // the first seconds cost carpd ~40 ms of CPU), so the window holds nothing but idle
    // advertising. The "CPU from start" figure keeps that start-up cost in view.
    await sleep(SETTLE_MS);
    // A sample every 5 s as well, so the JSON shows whether the rate is steady.
    const samples = [sampleProc(proc.pid)];
    const windowEnd = Date.now() + idleSeconds * 1_000;
    while (Date.now() < windowEnd) {
      await sleep(Math.min(5_000, windowEnd - Date.now()));
      samples.push(sampleProc(proc.pid));
    }
    const before = samples[0]!;
    const after = samples[samples.length - 1]!;
    if (proc.hasExited) problems.push('the daemon exited during the idle window');
    return {
      daemon,
      problems,
      pid: proc.pid,
      readyMs,
      firstAdvertMs: advert ? advert.timeMs - t0 : undefined,
      idleMs: after.atMs - before.atMs,
      cpuTicks: after.selfTicks - before.selfTicks,
      cpuMs: ticksToMs(after.selfTicks - before.selfTicks),
      schedCpuMs: after.schedNs !== undefined && before.schedNs !== undefined ? (after.schedNs - before.schedNs) / 1e6 : undefined,
      childCpuMs: ticksToMs(after.childTicks - before.childTicks),
      cpuSinceStartMs: ticksToMs(after.selfTicks),
      peakRssKb: after.peakRssKb,
      rssKb: after.rssKb,
      threads: after.threads,
      samples,
    };
  } finally {
    await capture.stop();
    await proc.stop(3_000);
  }
}

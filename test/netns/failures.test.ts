// Failure scenarios with real carpd processes in network namespaces: a hanging up-script, a
// master killed with SIGKILL and restarted, a partition that heals, carrier loss with scripts,
// the SIGUSR2 hand-over, and the pidfile/--daemonize life cycle. Each test starts its own
// daemons on the one lab of this file and leaves the lab as it found it (afterEach), so a
// failure in one scenario does not cascade into the next.
//
// Timing bounds are what the behaviour needs, with margins a busy two-core machine keeps (other
// engineers run namespace tests at the same time): each one separates what carpd must do from
// what it must not (e.g. adverts that go on while a script hangs, against adverts that stop for
// the 2 s hang), never an idle machine's figure. The tight numbers are the benchmark's
// (scripts/bench); the tests log what they measured.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PacketCapture, type LabHost, type LabProcess } from '../../scripts/lab/lab.js';
import { CARPD, carpdArgs, guardianChildren, singleMaster, sleep, vipHolders, type CarpdOptions } from '../helpers/carpd.js';
import {
  advertIntervals,
  isRunning,
  namespaceProcesses,
  resetLab,
  ScriptDirs,
  transitions,
  type HostScripts,
} from '../helpers/failures.js';
import { useLab, waitFor } from '../helpers/lab.js';

describe('carpd failure scenarios', () => {
  const getLab = useLab({ hosts: 2 });
  /** Daemons of the running test, labelled for the failure report. */
  let daemons: { label: string; proc: LabProcess }[] = [];
  /** Recording-script directories of the running test, for the failure report. */
  let scripts: { label: string; s: HostScripts }[] = [];
  /** Pidfiles of daemons started with --daemonize: the lab does not track those processes. */
  let detachedPidfiles: string[] = [];
  const dirs: ScriptDirs[] = [];

  beforeEach(({ onTestFailed }) => {
    daemons = [];
    scripts = [];
    detachedPidfiles = [];
    // Bound to this test's arrays: the next beforeEach replaces them, not their contents.
    const mine = { daemons, scripts };
    onTestFailed(() => {
      for (const { label, proc } of mine.daemons) console.log(`carpd ${label} (pid ${proc.pid}):\n${proc.output()}`);
      for (const { label, s } of mine.scripts) {
        console.log(`scripts ${label}:\n${existsSync(s.log) ? readFileSync(s.log, 'utf8') : '(no calls)'}`);
      }
    });
  });

  afterEach(async () => {
    await Promise.all(daemons.map(({ proc }) => proc.stop(3_000)));
    // A daemonized carpd that outlived a failed test would disturb the next one. (The lab's
    // teardown would also kill it, but only at the end of the file.)
    for (const pidfile of detachedPidfiles) {
      const pid = existsSync(pidfile) ? Number(readFileSync(pidfile, 'utf8').trim()) : 0;
      if (pid > 0 && isRunning(pid)) process.kill(pid, 'SIGKILL');
    }
    await resetLab(getLab());
  });

  afterAll(() => {
    for (const d of dirs) d.remove();
  });

  const hostName = (h: LabHost) => `h${h.index}`;

  function start(host: LabHost, o: CarpdOptions = {}, label = hostName(host)): LabProcess {
    const lab = getLab();
    const proc = host.spawn(process.execPath, [CARPD, ...carpdArgs(lab, host, o)]);
    daemons.push({ label, proc });
    return proc;
  }

  /**
   * Starts carpd on h1, waits until it is MASTER, then starts h2, which finds a master and
   * follows it. Starting both at once would leave the first election to start-up jitter: on a
   * busy machine one node's start can lag the other's by more than the difference between the
   * master-down intervals, both timers then fire within one network round-trip, both claim the
   * VIP and the adverts cross (one then yields) — correct CARP, but not the scenario under test.
   */
  async function startMasterThenBackup(o1: CarpdOptions, o2: CarpdOptions, label1?: string): Promise<[LabProcess, LabProcess]> {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const m1 = start(h1, o1, label1);
    await m1.waitForOutput(/BACKUP -> MASTER/, 10_000);
    const b2 = start(h2, o2);
    await b2.waitForOutput(/INIT -> BACKUP/, 5_000);
    // Steady state only once h2 has heard h1: its status line (SIGUSR1) counts a received advert.
    await waitFor(
      async () => {
        b2.signal('SIGUSR1');
        return b2.waitForOutput(/BACKUP on eth0 id 42 .* received [1-9]\d*.*last master 198\.18\.0\.1/, 500).catch(() => undefined);
      },
      6_000,
      0,
      'h2 to hear an advert from h1',
    );
    return [m1, b2];
  }

  function scriptDirs(label: string): ScriptDirs {
    const d = new ScriptDirs(label);
    dirs.push(d);
    return d;
  }

  function scriptsFor(d: ScriptDirs, host: LabHost, up: 'record' | 'hang' = 'record'): HostScripts {
    const s = d.forHost(host, up);
    scripts.push({ label: hostName(host), s });
    return s;
  }

  const median = (xs: number[]): number => {
    const sorted = [...xs].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };

  /** Samples f every intervalMs for durationMs and returns every sample. */
  async function sampleFor<T>(durationMs: number, intervalMs: number, f: () => Promise<T>): Promise<T[]> {
    const samples: T[] = [];
    const end = Date.now() + durationMs;
    while (Date.now() < end) {
      samples.push(await f());
      await sleep(intervalMs);
    }
    return samples;
  }

  it('an up-script that hangs is killed at --script-timeout while adverts keep their 1 s pace, and nothing flaps', async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const d = scriptDirs('hang');
    const s1 = scriptsFor(d, h1, 'hang');
    // Capture from before the election, so every advert h1 ever sends is seen; on the client,
    // which is what the backup hears too (same bridge).
    const capture = await PacketCapture.start(lab.client.ns, 'eth0', 'ip proto 112 or arp');
    // h1 becomes MASTER alone, and its up-script hangs; h2 joins while it hangs and must hear
    // h1's adverts all along.
    const m1 = start(h1, { extra: [...s1.flags(), '--script-timeout=2'] });
    await m1.waitForOutput(/BACKUP -> MASTER/, 10_000);
    const masterAt = Date.now();
    const b2 = start(h2, { advskew: 100 });
    // ucarp would sit in waitpid() here and send nothing: the backup would take over after 3 s
    // and both would flap. carpd's runner kills the group at the timeout instead.
    const killedLine = await m1.waitForOutput(/up-script \S+ eth0 198\.18\.0\.50: timed out after 2000 ms[^\n]*/, 6_000);
    const killedAfterMs = Date.now() - masterAt;
    // Keep watching past the kill: adverts must go on, and no late flap may follow.
    await sleep(2_000);
    const packets = await capture.stop();

    expect(killedLine).toMatch(/killed its process group with SIGTERM/);
    // The 2 s timeout: never early, and (a second of slack for a busy machine) not much late.
    expect(killedAfterMs).toBeGreaterThan(1_500);
    expect(killedAfterMs).toBeLessThan(4_500);

    // The adverts: one every second throughout, the 2 s hang included (ucarp's would stop).
    const intervals = advertIntervals(packets, h1.address);
    console.log(
      `hanging script: h1 advert intervals ${intervals.map((ms) => Math.round(ms)).join(', ')} ms; killed ${killedAfterMs} ms after MASTER`,
    );
    // On schedule: the median interval is the advert interval. None missing: a stall for the
    // 2 s hang would show one interval of 3 s, a single late advert (a busy machine) at most a
    // few hundred ms. No extra adverts: none closer than half an interval.
    expect(intervals.length).toBeGreaterThanOrEqual(3);
    expect(median(intervals)).toBeGreaterThan(900);
    expect(median(intervals)).toBeLessThan(1_100);
    expect(Math.max(...intervals)).toBeLessThan(1_800);
    expect(Math.min(...intervals)).toBeGreaterThan(500);
    // The backup never spoke: a BACKUP sends no adverts, so not one CARP packet from h2.
    expect(packets.filter((p) => p.kind === 'carp' && p.srcIp === h2.address)).toEqual([]);

    // Exactly one election, no flapping on either side.
    expect(transitions(m1.output()).map((t) => `${t.from}->${t.to}`)).toEqual(['INIT->BACKUP', 'BACKUP->MASTER']);
    expect(transitions(b2.output()).map((t) => `${t.from}->${t.to}`)).toEqual(['INIT->BACKUP']);
    expect(await vipHolders(lab)).toEqual([h1]);

    // The up-script started once, with ucarp's arguments, and was never allowed to finish
    // (the down-script, record.sh, ran once before it: ucarp's run on entering BACKUP).
    const calls = s1.calls();
    expect(calls.map((c) => `${c.script}:${c.event}`)).toEqual(['down:call', 'up:start']);
    const up = calls[1]!;
    expect(up.args).toEqual(['eth0', lab.vip()]);
    // Nothing of it survives: neither the shell nor the `sleep 60` it forked (same group).
    const { pid, childPid } = up;
    expect(pid !== undefined && isRunning(pid)).toBe(false);
    expect(childPid !== undefined && isRunning(childPid)).toBe(false);
    // (carpd itself names the script's directory in its --upscript argument.)
    const left = (await namespaceProcesses(h1.ns)).filter(
      (p) => p.pid !== m1.pid && (p.cmdline.includes(d.root) || /^sleep /.test(p.cmdline)),
    );
    expect(left.map((p) => p.cmdline)).toEqual([]);
  }, 30_000);

  it('SIGKILL of the master and its VIP guardian: the VIP stays behind, the backup takes over, a restart removes the stale VIP and rejoins as BACKUP', async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    // h1 is MASTER; h2, a little slower (advskew 50) but healthy, follows it.
    const [killed, b2] = await startMasterThenBackup({}, { advskew: 50 }, 'h1 (killed)');
    expect(await singleMaster(lab, 5_000, 500)).toBe(h1);
    const ping = lab.client.startPing(lab.vip());
    await ping.waitForReply(2_000);

    // The guardian too, as systemd's SIGKILL of the whole unit may do before it has acted
    // (test/netns/guardian.test.ts has the guardian at work): the worst case a restart meets.
    const guardians = guardianChildren(killed.pid);
    expect(guardians).toHaveLength(1);
    for (const pid of guardians) process.kill(pid, 'SIGKILL');
    const killAt = Date.now();
    killed.signal('SIGKILL');
    expect(await killed.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // Nothing ran carpd's cleanup: the address is still there, answering ARP on h1.
    expect(await h1.hasAddress(lab.vip())).toBe(true);

    await waitFor(() => h2.hasAddress(lab.vip()), 6_000, 20, 'the VIP on the backup');
    const bothSince = Date.now();
    const takeoverMs = bothSince - killAt;
    // The master-down interval (3 s + 50/256 s) counted from h1's last advert, 0-1 s before the kill.
    expect(takeoverMs).toBeGreaterThan(2_000);
    expect(takeoverMs).toBeLessThan(6_000);
    expect(await h1.hasAddress(lab.vip())).toBe(true);

    // What a supervisor (systemd Restart=) does: start carpd again at once. Its first act is to
    // remove the VIP the killed run left, so two hosts answer for the VIP only while carpd starts.
    const restarted = start(h1, {}, 'h1 (restarted)');
    // How long that takes is carpd's start-up (a third of a second when idle, seconds on a
    // loaded machine: the benchmark measures it); what must hold is the order, checked below.
    await waitFor(async () => !(await h1.hasAddress(lab.vip())), 10_000, 20, 'the stale VIP gone from h1');
    const bothWindowMs = Date.now() - bothSince;
    console.log(`SIGKILL: takeover ${takeoverMs} ms after the kill; both held the VIP for ${bothWindowMs} ms`);

    // The stale address goes before the election starts (the start-up line and any transition).
    const out = await restarted.waitForOutput(/INIT -> BACKUP/, 10_000).then(() => restarted.output());
    const removedAt = out.indexOf(`removed ${lab.vip()} left on eth0 by an earlier run`);
    expect(removedAt).toBeGreaterThanOrEqual(0);
    expect(removedAt).toBeLessThan(out.indexOf(`carpd ${lab.vip()} on eth0 vhid 42`));
    expect(removedAt).toBeLessThan(out.indexOf('INIT -> BACKUP'));

    // End state, for longer than a master-down interval: h1 is BACKUP (it has the shorter
    // interval, but without --preempt it follows the master it hears), h2 alone holds the VIP,
    // and the client's ARP entry names h2 at every sample.
    const samples = await sampleFor(3_600, 200, async () => ({
      holders: (await vipHolders(lab)).map(hostName),
      mac: (await lab.client.arpEntry(lab.vip()))?.mac,
    }));
    expect(samples.filter((x) => x.holders.join() !== 'h2' || x.mac !== h2.mac)).toEqual([]);
    expect(transitions(restarted.output()).map((t) => `${t.from}->${t.to}`)).toEqual(['INIT->BACKUP']);
    restarted.signal('SIGUSR1');
    await restarted.waitForOutput(/BACKUP on eth0 id 42 vip 198\.18\.0\.50 - adverts sent 0, received [1-9]\d*.*last master 198\.18\.0\.2/, 5_000);
    expect(transitions(b2.output()).map((t) => `${t.from}->${t.to}`)).toEqual(['INIT->BACKUP', 'BACKUP->MASTER']);
    const report = await ping.stop();
    // Small: the killed host kept the VIP and the kernel kept answering for it until h2's
    // gratuitous ARP moved the client.
    console.log(`SIGKILL: client's largest ping gap ${Math.round(report.largestGapMs)} ms`);
    expect(report.largestGapMs).toBeLessThan(5_000);

    // Nothing of the killed run may linger in h1: every process there now is the restarted
    // carpd or one of its children. (The killed run's arping, if any, exits within 1 s.)
    // Exposes a carpd defect at the time of writing: the killed run's `ip -o monitor link`
    // child is orphaned (ppid 1) and lives on until the next link event in the namespace makes
    // its write fail; execa's cleanup cannot run on SIGKILL.
    const leftovers = (await namespaceProcesses(h1.ns)).filter((p) => p.pid !== restarted.pid && p.ppid !== restarted.pid);
    expect(
      leftovers.map((p) => `${p.pid} (ppid ${p.ppid}): ${p.cmdline}`),
      'processes of the SIGKILLed carpd still running in h1',
    ).toEqual([]);
  }, 40_000);

  it('a partition that heals: both are MASTER while apart, then the lower address wins within two intervals and the client follows it', async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    // Same interval on both, so the tie-break decides: the lower address (h1) is preferred.
    const [m1, m2] = await startMasterThenBackup({}, {});
    expect(await singleMaster(lab, 5_000, 1_000)).toBe(h1);

    // Partition the preferred node. The client stays on the bridge with h2, which declares h1
    // dead and takes the VIP; its gratuitous ARP moves the client's entry to h2. h1 keeps its
    // carrier, hears nothing and stays MASTER on its side: two masters.
    const ping = lab.client.startPing(lab.vip(), 20);
    await ping.waitForReply(2_000);
    await h1.partition();
    await m2.waitForOutput(/BACKUP -> MASTER \(master down/, 6_000);
    await waitFor(async () => (await lab.client.arpEntry(lab.vip()))?.mac === h2.mac, 3_000, 20, "the client's ARP entry on h2");
    expect((await vipHolders(lab)).map(hostName)).toEqual(['h1', 'h2']);
    expect(transitions(m1.output()).map((t) => `${t.from}->${t.to}`)).toEqual(['INIT->BACKUP', 'BACKUP->MASTER']);

    // Heal: the first advert each hears settles it. h2 hears the preferred h1 and yields; h1
    // hears the non-preferred h2 and re-announces the VIP, which must pull the client back.
    const capture = await PacketCapture.start(lab.client.ns, 'eth0', 'ip proto 112 or arp');
    const healAt = Date.now();
    await h1.heal();
    await waitFor(async () => (await vipHolders(lab)).map(hostName).join() === 'h1', 3_000, 20, 'h1 alone holding the VIP');
    const convergedMs = Date.now() - healAt;
    await waitFor(async () => (await lab.client.arpEntry(lab.vip()))?.mac === h1.mac, 3_000, 20, "the client's ARP entry back on h1");
    const arpMovedMs = Date.now() - healAt;
    // Stable afterwards: no second round, the client stays on h1.
    const samples = await sampleFor(2_000, 200, async () => ({
      holders: (await vipHolders(lab)).map(hostName).join(),
      mac: (await lab.client.arpEntry(lab.vip()))?.mac,
    }));
    const packets = await capture.stop();
    const report = await ping.stop();
    // The outage the heal itself caused (the largest gap overall is h2's takeover after the partition).
    const healGapMs = Math.max(0, ...report.gaps.filter((g) => g.endMs > healAt).map((g) => g.ms));
    console.log(
      `partition: one master ${convergedMs} ms after the heal, client ARP on the winner after ${arpMovedMs} ms; ` +
        `largest ping gap ${Math.round(report.largestGapMs)} ms, after the heal ${Math.round(healGapMs)} ms`,
    );

    // Settled by the first adverts each side hears (one interval, 1 s), not by any timeout:
    // with a margin for a busy machine, still below the 3 s a master-down timer would take.
    expect(convergedMs).toBeLessThan(3_000);
    expect(arpMovedMs).toBeLessThan(3_500);
    expect(samples.filter((x) => x.holders !== 'h1' || x.mac !== h1.mac)).toEqual([]);
    expect(m1.output()).toMatch(/non-preferred master 198\.18\.0\.2 advertising \(advbase 1, advskew 0\): re-sending gratuitous ARP/);
    expect(m2.output()).toMatch(/MASTER -> BACKUP \(preferred master 198\.18\.0\.1 advertised \(advbase 1, advskew 0\)\)/);
    // h1 never left MASTER; h2 went back exactly once.
    expect(transitions(m1.output()).map((t) => `${t.from}->${t.to}`)).toEqual(['INIT->BACKUP', 'BACKUP->MASTER']);
    expect(transitions(m2.output()).map((t) => `${t.from}->${t.to}`)).toEqual(['INIT->BACKUP', 'BACKUP->MASTER', 'MASTER->BACKUP']);
    // The client saw h1's gratuitous ARP for the VIP after the heal.
    const garps = packets.filter((p) => p.kind === 'arp' && p.arp?.gratuitous && p.arp.senderIp === lab.vip() && p.timeMs >= healAt);
    expect(garps.length).toBeGreaterThan(0);
    expect(new Set(garps.map((p) => p.srcMac))).toEqual(new Set([h1.mac]));
  }, 40_000);

  it('carrier loss on the master: VIP dropped at once, down-script there, up-script on the backup; carrier back, it rejoins as BACKUP', async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const d = scriptDirs('carrier');
    const s1 = scriptsFor(d, h1);
    const s2 = scriptsFor(d, h2);
    const xparam = '--xparam=carrier test';
    const [m1, b2] = await startMasterThenBackup({ extra: [...s1.flags(), xparam] }, { advskew: 100, extra: [...s2.flags(), xparam] });
    expect(await singleMaster(lab, 5_000, 500)).toBe(h1);
    await waitFor(() => s1.calls().some((c) => c.script === 'up'), 3_000, 50, "h1's up-script");
    const ping = lab.client.startPing(lab.vip());
    await ping.waitForReply(2_000);

    const cutAt = Date.now();
    await h1.cutLink();
    await waitFor(async () => !(await h1.hasAddress(lab.vip())), 3_000, 20, 'the VIP gone from h1');
    const droppedMs = Date.now() - cutAt;
    await waitFor(() => h2.hasAddress(lab.vip()), 6_000, 20, 'the VIP on h2');
    const takeoverMs = Date.now() - cutAt;
    await waitFor(() => s2.calls().some((c) => c.script === 'up'), 3_000, 50, "h2's up-script");
    await waitFor(async () => (await lab.client.arpEntry(lab.vip()))?.mac === h2.mac, 3_000, 20, "the client's ARP entry on h2");
    const report = await ping.stop();
    console.log(
      `carrier loss: VIP off h1 after ${droppedMs} ms, on h2 after ${takeoverMs} ms; largest ping gap ${Math.round(report.largestGapMs)} ms`,
    );
    // The kernel reports carrier loss on veth 0-1 s late (linkwatch) and carpd adds next to
    // nothing; what must hold is that h1 lets go before h2's master-down interval (3.39 s)
    // ends, so the VIP never sits on both.
    expect(droppedMs).toBeLessThan(3_000);
    expect(droppedMs).toBeLessThan(takeoverMs);
    expect(m1.output()).toMatch(/MASTER -> BACKUP \(link down: lost carrier\)/);
    expect(b2.output()).toMatch(/BACKUP -> MASTER \(master down: no advert for 3\.\d\d s\)/);

    // Scripts: ucarp's argument vector with the xparam (its space intact), down on the old
    // master right after the cut, up on the new one. Both ran the down-script at start as well
    // (ucarp does that on entering BACKUP unless --neutral).
    const args = ['eth0', lab.vip(), 'carrier test'];
    const c1 = s1.calls();
    const c2 = s2.calls();
    expect(c1.map((c) => c.script)).toEqual(['down', 'up', 'down']);
    expect(c2.map((c) => c.script)).toEqual(['down', 'up']);
    for (const c of [...c1, ...c2]) expect(c.args).toEqual(args);
    expect(c1[2]!.atMs).toBeGreaterThanOrEqual(cutAt - 50);
    expect(c1[2]!.atMs - cutAt).toBeLessThan(3_500);
    expect(c2[1]!.atMs).toBeGreaterThan(cutAt);

    // Carrier back: h1 listens, hears h2 and follows it. h1 has the shorter interval, but
    // without --preempt it must not take the VIP back, nor run any script.
    await h1.restoreLink();
    await m1.waitForOutput(/link up: carrier back/, 5_000);
    await sleep(4_000);
    expect(await vipHolders(lab)).toEqual([h2]);
    expect(transitions(m1.output()).map((t) => `${t.from}->${t.to}`)).toEqual(['INIT->BACKUP', 'BACKUP->MASTER', 'MASTER->BACKUP']);
    expect(s1.calls().map((c) => c.script)).toEqual(['down', 'up', 'down']);
    expect(s2.calls().map((c) => c.script)).toEqual(['down', 'up']);
  }, 40_000);

  it('SIGUSR2: the backup takes over at once, the hold lasts 3 s and answers SIGUSR1, then --preempt takes the VIP back', async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const [m1, b2] = await startMasterThenBackup({ extra: ['--preempt'] }, { advskew: 100 });
    expect(await singleMaster(lab, 5_000, 500)).toBe(h1);
    const ping = lab.client.startPing(lab.vip());
    await ping.waitForReply(2_000);
    const capture = await PacketCapture.start(lab.client.ns, 'eth0', 'ip proto 112');

    const stepAt = Date.now();
    m1.signal('SIGUSR2');
    await waitFor(() => h2.hasAddress(lab.vip()), 3_000, 10, 'the VIP on h2');
    const takeoverMs = Date.now() - stepAt;

    // The hold: h1 stays BACKUP and keeps answering signals (ucarp sleeps through it).
    await sleep(Math.max(0, stepAt + 1_000 - Date.now()));
    const usr1At = Date.now();
    m1.signal('SIGUSR1');
    // "(stepping down)" is the proof that carpd answered during the hold (after it the line
    // says plain BACKUP); the time is logged, and only has to stay below the hold's 2 s left.
    await m1.waitForOutput(/BACKUP on eth0 id 42 vip 198\.18\.0\.50 \(stepping down\)/, 3_000);
    const statusMs = Date.now() - usr1At;
    const heldBy = await sampleFor(Math.max(0, stepAt + 2_800 - Date.now()), 100, async () => (await vipHolders(lab)).map(hostName).join());

    // After the hold h1 listens again; it advertises faster than h2 and has --preempt, so the
    // next advert from h2 makes it take over (ucarp's preempt rule): 3 s + at most one of
    // h2's intervals (1 + 100/256 s) after the signal.
    await waitFor(async () => (await vipHolders(lab)).map(hostName).join() === 'h1', 5_000, 20, 'the VIP back on h1 alone');
    const retakeMs = Date.now() - stepAt;
    await sleep(300);
    const report = await ping.stop();
    const adverts = (await capture.stop()).filter((p) => p.kind === 'carp' && p.srcIp === h1.address);
    console.log(
      `SIGUSR2: takeover ${takeoverMs} ms, status line ${statusMs} ms after SIGUSR1, VIP back on h1 after ${retakeMs} ms; ` +
        `client gaps ${report.gaps.map((g) => Math.round(g.ms)).join(', ') || 'none'} ms`,
    );

    // At once: h2 heard the bow-out, it did not wait out its 3.39 s master-down interval.
    expect(takeoverMs).toBeLessThan(2_000);
    expect(statusMs).toBeLessThan(1_800);
    expect(heldBy.filter((x) => x !== 'h2')).toEqual([]);
    expect(retakeMs).toBeGreaterThanOrEqual(3_000);
    expect(retakeMs).toBeLessThan(3_000 + 1_391 + 2_000);
    // Both hand-overs were announced: the client never waited for a master-down interval.
    expect(report.largestGapMs).toBeLessThan(2_000);
    // Quiet during the hold: h1's one packet in it is the bow-out (OpenBSD's 255/255), and its
    // next advert is the one it sends on preempting, at least 3 s later.
    const inHold = adverts.filter((p) => p.timeMs < stepAt + 3_000);
    expect(inHold.map((p) => `${p.carp?.advbase}/${p.carp?.advskew}`)).toEqual(['255/255']);
    const next = adverts.find((p) => p.timeMs >= stepAt + 3_000);
    expect(next?.carp?.advskew).toBe(0);

    expect(m1.output()).toMatch(/MASTER -> BACKUP \(step-down requested \(SIGUSR2\)\)/);
    expect(m1.output()).toMatch(/step-down hold over: listening for a master again/);
    expect(m1.output()).toMatch(/BACKUP -> MASTER \(preempting slower master 198\.18\.0\.2 \(advbase 1, advskew 100\)\)/);
    // The reason may go on (a backup with a skew waits that long for a better one to claim).
    expect(b2.output()).toMatch(/BACKUP -> MASTER \(master 198\.18\.0\.1 bowed out/);
    expect(b2.output()).toMatch(/MASTER -> BACKUP \(preferred master 198\.18\.0\.1 advertised \(advbase 1, advskew 0\)\)/);
    expect(transitions(m1.output()).map((t) => `${t.from}->${t.to}`)).toEqual([
      'INIT->BACKUP',
      'BACKUP->MASTER',
      'MASTER->BACKUP',
      'BACKUP->MASTER',
    ]);
  }, 30_000);

  it('--pidfile: written with the pid, a second carpd on it refuses with one line and exit 1, removed on SIGTERM', async () => {
    const lab = getLab();
    const h1 = lab.host(1);
    const d = scriptDirs('pidfile');
    const pidfile = join(d.root, 'carpd.pid');
    const first = start(h1, { extra: [`--pidfile=${pidfile}`] });
    await first.waitForOutput(/INIT -> BACKUP/, 5_000);
    expect(readFileSync(pidfile, 'utf8')).toBe(`${first.pid}\n`);

    const second = start(h1, { extra: [`--pidfile=${pidfile}`] }, 'h1 (second)');
    const exit = await second.exited;
    expect(exit).toEqual({ code: 1, signal: null });
    expect(second.output()).toBe(`[ERROR] pidfile ${pidfile} names running process ${first.pid}: is another carpd running?\n`);
    // The refusal leaves the first daemon's file alone.
    expect(readFileSync(pidfile, 'utf8')).toBe(`${first.pid}\n`);

    first.signal('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(pidfile)).toBe(false);
  }, 20_000);

  it('--daemonize: returns 0 once the daemon runs, the daemon wins the election, SIGTERM to the pidfile pid stops it cleanly', async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const d = scriptDirs('daemonize');
    const pidfile = join(d.root, 'carpd.pid');
    // The daemon starts alone and must win the election on its own; h2 joins once it holds
    // the VIP and must hear it advertise from then on.
    detachedPidfiles.push(pidfile);
    const launchAt = Date.now();
    const launcher = start(h1, { extra: ['--daemonize', '--facility=none', `--pidfile=${pidfile}`] }, 'h1 (launcher)');
    const exit = await launcher.exited;
    const launchMs = Date.now() - launchAt;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(launcher.output()).toBe('');
    // Returning means the daemon is up: its pidfile is there and names a live process in h1.
    const pid = Number(readFileSync(pidfile, 'utf8').trim());
    expect(isRunning(pid)).toBe(true);
    expect((await namespaceProcesses(h1.ns)).map((p) => p.pid)).toContain(pid);

    // The election goes on without a terminal: the daemon claims the VIP after its 3 s of
    // listening, and h2, started then, hears it advertise for longer than its own master-down
    // interval (3.39 s) without ever claiming the VIP.
    await waitFor(() => h1.hasAddress(lab.vip()), 6_000, 20, 'the VIP on the daemonized h1');
    const b2 = start(h2, { advskew: 100 });
    await b2.waitForOutput(/INIT -> BACKUP/, 5_000);
    await sleep(4_000);
    expect(await vipHolders(lab)).toEqual([h1]);
    expect(transitions(b2.output()).map((t) => `${t.from}->${t.to}`)).toEqual(['INIT->BACKUP']);
    b2.signal('SIGUSR1');
    await b2.waitForOutput(/BACKUP on eth0 id 42 .*received [1-9]\d*.*last master 198\.18\.0\.1/, 5_000);

    const stopAt = Date.now();
    process.kill(pid, 'SIGTERM');
    await waitFor(() => !isRunning(pid), 5_000, 20, 'the daemon to exit');
    await waitFor(() => h2.hasAddress(lab.vip()), 2_000, 10, 'the VIP on h2');
    const handoverMs = Date.now() - stopAt;
    console.log(`--daemonize: launcher returned after ${launchMs} ms; hand-over ${handoverMs} ms after SIGTERM`);
    expect(await h1.hasAddress(lab.vip())).toBe(false);
    expect(existsSync(pidfile)).toBe(false);
    // The bow-out, not h2's 3.39 s master-down interval.
    expect(handoverMs).toBeLessThan(2_500);
    // The reason may go on (a backup with a skew waits that long for a better one to claim).
    expect(b2.output()).toMatch(/BACKUP -> MASTER \(master 198\.18\.0\.1 bowed out/);
    // Nothing of the daemon is left in h1 (its `ip monitor` included).
    expect((await namespaceProcesses(h1.ns)).map((p) => p.cmdline)).toEqual([]);
  }, 30_000);
});

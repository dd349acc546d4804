// Health checks in the lab: a failing check, a dying service or a drain file takes the VIP to
// the other node at once (a bow-out advert, not the 3 s master-down interval), against carpd and
// against Debian's real ucarp; a weighted check demotes instead, and only a preempting peer
// takes over; --notify is told every state. Needs root (`sudo npm test`): without it the lab
// refuses to start and these tests fail loudly.
//
// The lab's h1 is the node under test (advskew 0, the check), h2 the peer (advskew 100, or 20 in
// the demotion test). h1 is always started alone and claims first, and h2 is started only then
// and must be seen following h1 before anything fails, so every takeover measured here is a
// reaction to h1's health and not to a startup race.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VhostSnapshot } from '../../lib/control/types.js';
import { PacketCapture, type Lab, type LabHost, type LabProcess } from '../../scripts/lab/lab.js';
import { carpdStatus, sleep, startCarpd, vipHolders, type CarpdOptions } from '../helpers/carpd.js';
import { useLab, waitFor } from '../helpers/lab.js';
import { startUcarp, ucarpSwitches, type UcarpOptions } from '../helpers/ucarp.js';

/** The command-line vhost's name in `carpd status` (`<interface>-vhid<vhid>`). */
const VHOST = 'eth0-vhid42';
/** Fast checks, so a failure is seen in 0.5 to 1 s (fall 2 x interval 0.5 s). */
const CHECK_TIMING = ['--check-interval=0.5', '--check-fall=2', '--check-rise=2'];
const CHECK_FALL_MS = 2 * 500;
/** carpd's master-down interval at advskew 100 (3 + 100/256 s): what a takeover without a bow-out costs. */
const MASTER_DOWN_MS = 3_390;

type Transition = { from: string; to: string; reason: string };

/** carpd's state changes, from its `[WARNING] FROM -> TO (reason)` lines. */
function transitions(p: LabProcess): Transition[] {
  return [...p.output().matchAll(/^\[WARNING\] (INIT|BACKUP|MASTER|FAULT) -> (INIT|BACKUP|MASTER|FAULT) \((.*)\)$/gm)].map((m) => ({
    from: m[1]!,
    to: m[2]!,
    reason: m[3]!,
  }));
}

/** The one vhost of a command-line carpd, from `carpd status --json` in the host's namespace. */
async function vhostStatus(host: LabHost): Promise<VhostSnapshot> {
  const status = await carpdStatus(host);
  const vhost = status.vhosts.find((v) => v.name === VHOST);
  if (vhost === undefined) throw new Error(`no vhost ${VHOST} in h${host.index}'s status: ${JSON.stringify(status.vhosts.map((v) => v.name))}`);
  return vhost;
}

/** Polls the host's status until `accept` holds; returns that status (a timeout names the last one). */
async function statusWhen(host: LabHost, accept: (v: VhostSnapshot) => boolean, timeoutMs: number, what: string): Promise<VhostSnapshot> {
  let last: VhostSnapshot | undefined;
  try {
    return await waitFor(
      async () => {
        last = await vhostStatus(host);
        return accept(last) ? last : undefined;
      },
      timeoutMs,
      100,
      `h${host.index}: ${what}`,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast status: ${JSON.stringify(last)}`);
  }
}

/** ms from `since` until `predicate` first holds (polled every 20 ms). */
async function msUntil(since: number, predicate: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<number> {
  await waitFor(predicate, timeoutMs, 20, what);
  return Date.now() - since;
}

/** The VIP stays on `host` alone for `ms`, sampled every 200 ms; throws at the first other sample. */
async function staysOn(lab: Lab, host: LabHost, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const holders = (await vipHolders(lab)).map((h) => `h${h.index}`);
    expect(holders, `holders of ${lab.vip()} while it should stay on h${host.index}`).toEqual([`h${host.index}`]);
    await sleep(200);
  }
}

/**
 * The daemons, servers and captures of one test: printed when it fails, stopped after it, and
 * the VIP and the client's ARP cache wiped so the next test starts from a clean segment.
 */
function useTestProcesses(getLab: () => Lab) {
  let procs: { name: string; proc: LabProcess }[] = [];
  let captures: PacketCapture[] = [];
  const dirs: string[] = [];

  beforeEach(({ onTestFailed }) => {
    const mine: typeof procs = [];
    procs = mine;
    captures = [];
    onTestFailed(() => {
      for (const p of mine) console.log(`${p.name} (pid ${p.proc.pid}):\n${p.proc.output()}`);
    });
  });

  afterEach(async () => {
    await Promise.all(captures.map((c) => c.stop().catch(() => undefined)));
    await Promise.all(procs.map((p) => p.proc.stop(3_000)));
    const lab = getLab();
    for (const h of lab.hosts) {
      if (await h.hasAddress(lab.vip())) await h.exec('ip', ['addr', 'del', `${lab.vip()}/32`, 'dev', 'eth0']);
    }
    await lab.client.flushArp();
  });

  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  return {
    /** A directory of this test's own (check files, drain files, the notify log). */
    tempDir(): string {
      const dir = mkdtempSync(join(tmpdir(), 'carpd-checks-'));
      dirs.push(dir);
      return dir;
    },
    carpd(host: LabHost, o: CarpdOptions = {}): LabProcess {
      const proc = startCarpd(getLab(), host, o);
      procs.push({ name: `carpd on h${host.index} ${JSON.stringify(o)}`, proc });
      return proc;
    },
    ucarp(host: LabHost, o: UcarpOptions = {}): LabProcess {
      const proc = startUcarp(getLab(), host, o);
      procs.push({ name: `ucarp on h${host.index} ${JSON.stringify(o)}`, proc });
      return proc;
    },
    spawn(host: LabHost, name: string, cmd: string, args: string[]): LabProcess {
      const proc = host.spawn(cmd, args);
      procs.push({ name: `${name} on h${host.index}`, proc });
      return proc;
    },
    async capture(ns: string, filter: string): Promise<PacketCapture> {
      const c = await PacketCapture.start(ns, 'eth0', filter);
      captures.push(c);
      return c;
    },
  };
}

/** h1 started alone claims the VIP after its master-down interval (3 s, or later under load). */
async function claimsAlone(lab: Lab, host: LabHost): Promise<void> {
  await waitFor(() => host.hasAddress(lab.vip()), 10_000, 50, `the VIP on h${host.index}, started alone`);
}

/** The peer is BACKUP and has heard the master's adverts (so it is following, not about to claim). */
async function follows(peer: LabHost, master: LabHost): Promise<void> {
  await statusWhen(peer, (v) => v.state === 'BACKUP' && v.master === master.address && v.advertsReceived >= 2, 8_000, `BACKUP following ${master.address}`);
}

describe('health checks, tracked files and notify', () => {
  const getLab = useLab({ hosts: 2 });
  const t = useTestProcesses(getLab);

  it('a failing weight-0 check: FAULT, bow-out, the peer takes the VIP at once; healthy again: BACKUP, no preempt', async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const file = join(t.tempDir(), 'healthy');
    writeFileSync(file, '');
    const node1 = t.carpd(h1, { advskew: 0, extra: [`--check=test -e ${file}`, ...CHECK_TIMING] });
    await claimsAlone(lab, h1);
    const node2 = t.carpd(h2, { advskew: 100 });
    await follows(h2, h1);
    expect(await vhostStatus(h1)).toMatchObject({ state: 'MASTER', tracks: [{ kind: 'check', name: 'test', weight: 0, state: 'healthy' }] });

    // The client knows the VIP at h1's MAC before the failure, so the ARP check below sees the move.
    const before = await lab.client.exec('ping', ['-c', '2', '-i', '0.2', '-W', '1', lab.vip()]);
    expect(before.code, before.stdout + before.stderr).toBe(0);
    expect((await lab.client.arpEntry(lab.vip()))?.mac).toBe(h1.mac);

    const failedAt = Date.now();
    rmSync(file);
    const takeoverMs = await msUntil(failedAt, () => h2.hasAddress(lab.vip()), 6_000, 'the VIP on h2');
    await waitFor(async () => !(await h1.hasAddress(lab.vip())), 2_000, 20, 'the VIP gone from h1');
    console.log(`check failed (fall 2 x 0.5 s): VIP on h2 ${takeoverMs} ms after the file was removed`);
    // fall x interval to notice, then the bow-out: far under the check time plus a master-down interval.
    expect(takeoverMs).toBeLessThan(CHECK_FALL_MS + 1_000);

    const faulted = await vhostStatus(h1);
    expect(faulted).toMatchObject({ state: 'FAULT', tracks: [{ kind: 'check', name: 'test', state: 'failed' }] });
    expect(transitions(node1).at(-1)).toMatchObject({ from: 'MASTER', to: 'FAULT' });
    expect(transitions(node1).at(-1)?.reason).toMatch(/check "test" failed/);
    // The bow-out, not the master-down timer: h2 waited only its bow-out wait (advskew 100: 25 ms).
    expect(transitions(node2).at(-1)).toMatchObject({ from: 'BACKUP', to: 'MASTER' });
    expect(transitions(node2).at(-1)?.reason).toMatch(/^master 198\.18\.0\.1 bowed out; no better backup claimed within \d+ ms$/);

    await waitFor(async () => (await lab.client.arpEntry(lab.vip()))?.mac === h2.mac, 3_000, 20, "the client's ARP entry at h2's MAC");
    const after = await lab.client.exec('ping', ['-c', '3', '-i', '0.2', '-W', '1', lab.vip()]);
    expect(after.code, after.stdout + after.stderr).toBe(0);
    expect((await lab.client.arpEntry(lab.vip()))?.mac).toBe(h2.mac);

    const restoredAt = Date.now();
    writeFileSync(file, '');
    const risen = await statusWhen(h1, (v) => v.state === 'BACKUP', 5_000, 'BACKUP after the check rose');
    console.log(`check rose (rise 2 x 0.5 s): h1 BACKUP ${Date.now() - restoredAt} ms after the file came back`);
    expect(risen.tracks).toMatchObject([{ kind: 'check', state: 'healthy' }]);
    expect(transitions(node1).at(-1)).toMatchObject({ from: 'FAULT', to: 'BACKUP' });
    // h1 advertises faster (advskew 0 < 100) but has no --preempt: it follows h2. Longer than
    // its master-down interval, so a node that ignored h2 would have claimed by then.
    await staysOn(lab, h2, 4_000);
    expect(await vhostStatus(h1)).toMatchObject({ state: 'BACKUP', master: h2.address });
  }, 45_000);

  it("ucarp as the peer: carpd's bow-out on FAULT makes ucarp take over without its master-down wait", async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const file = join(t.tempDir(), 'healthy');
    writeFileSync(file, '');
    const node1 = t.carpd(h1, { advskew: 0, extra: [`--check=test -e ${file}`, ...CHECK_TIMING] });
    await claimsAlone(lab, h1);
    const ucarp = t.ucarp(h2, { advskew: 100 });
    // Longer than ucarp's master-down interval (3 + 100/256 s, read up to 1 s late): still no
    // MASTER means it hears carpd and follows it.
    await sleep(4_500);
    expect(ucarpSwitches(ucarp, 'MASTER')).toBe(0);
    expect(await vipHolders(lab)).toEqual([h1]);

    const capture = await t.capture(lab.client.ns, 'ip proto 112');
    const failedAt = Date.now();
    let faultAt: number | undefined;
    void node1.waitForOutput(/MASTER -> FAULT/, 10_000).then(
      () => (faultAt = Date.now()),
      () => undefined,
    );
    rmSync(file);
    await waitFor(() => h2.hasAddress(lab.vip()), 8_000, 20, 'the VIP on h2 (ucarp)');
    const takeoverAt = Date.now();
    expect(faultAt, 'time of the MASTER -> FAULT line').toBeDefined();
    const afterFaultMs = takeoverAt - faultAt!;
    console.log(
      `ucarp peer: VIP on h2 ${takeoverAt - failedAt} ms after the file was removed, ${afterFaultMs} ms after carpd's FAULT ` +
        `(ucarp's own master-down interval: ${MASTER_DOWN_MS} ms after the last advert)`,
    );
    // Without the bow-out ucarp would wait for 3.39 s after carpd's last advert (sent at most
    // 1 s before the FAULT), so at least 2.39 s after it; ucarp reads up to ~1 s late.
    expect(afterFaultMs).toBeLessThan(1_500);
    await waitFor(async () => !(await h1.hasAddress(lab.vip())), 2_000, 20, 'the VIP gone from h1');
    expect(ucarpSwitches(ucarp, 'MASTER')).toBe(1);

    await sleep(300);
    const bowOuts = (await capture.stop()).filter((p) => p.kind === 'carp' && p.srcIp === h1.address && p.carp?.advbase === 255 && p.carp.advskew === 255);
    expect(bowOuts.length, 'bow-out adverts (advbase 255, advskew 255) from h1').toBe(1);
    expect(await vhostStatus(h1)).toMatchObject({ state: 'FAULT', master: h2.address });

    writeFileSync(file, '');
    await statusWhen(h1, (v) => v.state === 'BACKUP', 5_000, 'BACKUP after the check rose');
    // ucarp advertises every 1.39 s, carpd would every 1 s, but without --preempt carpd follows.
    await staysOn(lab, h2, 4_000);
    expect(ucarpSwitches(ucarp, 'MASTER')).toBe(1);
    expect(transitions(node1).filter((x) => x.to === 'MASTER')).toHaveLength(1);
  }, 45_000);

  it('a real service: the HTTP server dies, the VIP moves; it comes back, h1 rises as BACKUP', async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const docroot = t.tempDir();
    writeFileSync(join(docroot, 'index.html'), 'ok\n');
    // pyenv's python3 is a shim (a shell script); the interpreter itself is what gets killed.
    const python = (await h1.exec('python3', ['-c', 'import sys; print(sys.executable)'])).stdout.trim();
    expect(python).toMatch(/python/);
    const serve = () => t.spawn(h1, 'http.server', python, ['-m', 'http.server', '8080', '--bind', '127.0.0.1', '--directory', docroot]);
    const probe = async () => (await h1.exec('curl', ['-sf', '-m', '1', 'http://127.0.0.1:8080/'])).code === 0;
    let server = serve();
    await waitFor(probe, 10_000, 100, 'the HTTP server answering in h1');

    const node1 = t.carpd(h1, { advskew: 0, extra: ['--check=curl -sf -m 1 http://127.0.0.1:8080/', ...CHECK_TIMING] });
    await claimsAlone(lab, h1);
    t.carpd(h2, { advskew: 100 });
    await follows(h2, h1);
    expect(await vhostStatus(h1)).toMatchObject({ state: 'MASTER', tracks: [{ kind: 'check', name: 'curl', state: 'healthy' }] });

    const killedAt = Date.now();
    server.signal('SIGKILL');
    await server.exited;
    expect(await probe()).toBe(false);
    const takeoverMs = await msUntil(killedAt, () => h2.hasAddress(lab.vip()), 6_000, 'the VIP on h2');
    console.log(`HTTP server killed: VIP on h2 ${takeoverMs} ms later`);
    expect(takeoverMs).toBeLessThan(CHECK_FALL_MS + 1_500);
    const faulted = await statusWhen(h1, (v) => v.state === 'FAULT', 2_000, 'FAULT');
    expect(faulted.tracks).toMatchObject([{ kind: 'check', name: 'curl', state: 'failed' }]);
    expect(faulted.tracks[0]?.detail).toMatch(/exit/);
    await waitFor(async () => !(await h1.hasAddress(lab.vip())), 2_000, 20, 'the VIP gone from h1');

    const restartedAt = Date.now();
    server = serve();
    await waitFor(probe, 10_000, 100, 'the HTTP server answering again');
    const risen = await statusWhen(h1, (v) => v.state === 'BACKUP', 5_000, 'BACKUP once the service answers');
    console.log(`HTTP server restarted: h1 BACKUP ${Date.now() - restartedAt} ms later`);
    expect(risen.tracks).toMatchObject([{ kind: 'check', name: 'curl', state: 'healthy' }]);
    expect(transitions(node1).slice(-2).map((x) => `${x.from}->${x.to}`)).toEqual(['MASTER->FAULT', 'FAULT->BACKUP']);
    await staysOn(lab, h2, 2_000);
  }, 45_000);

  it('the drain file: "fault" hands the VIP over within a second; removed, h1 is BACKUP and the VIP stays', async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const dir = t.tempDir();
    const maint = join(dir, 'maint');
    const node1 = t.carpd(h1, { advskew: 0, extra: [`--track-file=${maint}`] });
    await claimsAlone(lab, h1);
    t.carpd(h2, { advskew: 100 });
    await follows(h2, h1);
    expect(await vhostStatus(h1)).toMatchObject({ state: 'MASTER', tracks: [{ kind: 'file', name: maint, state: 'healthy' }] });

    const drainedAt = Date.now();
    const r = await h1.exec('sh', ['-c', `echo fault > ${maint}`]);
    expect(r.code, r.stderr).toBe(0);
    const takeoverMs = await msUntil(drainedAt, () => h2.hasAddress(lab.vip()), 6_000, 'the VIP on h2');
    console.log(`drain file "fault": VIP on h2 ${takeoverMs} ms later (master-down interval would be ${MASTER_DOWN_MS} ms)`);
    expect(takeoverMs).toBeLessThan(1_500);
    const drained = await statusWhen(h1, (v) => v.state === 'FAULT', 2_000, 'FAULT');
    expect(drained.tracks).toMatchObject([{ kind: 'file', name: maint, state: 'failed' }]);
    expect(transitions(node1).at(-1)).toMatchObject({ from: 'MASTER', to: 'FAULT' });
    await waitFor(async () => !(await h1.hasAddress(lab.vip())), 2_000, 20, 'the VIP gone from h1');

    const undrainedAt = Date.now();
    rmSync(maint);
    const back = await statusWhen(h1, (v) => v.state === 'BACKUP', 3_000, 'BACKUP once the file is gone');
    console.log(`drain file removed: h1 BACKUP ${Date.now() - undrainedAt} ms later`);
    expect(back.tracks).toMatchObject([{ kind: 'file', name: maint, state: 'healthy' }]);
    await staysOn(lab, h2, 4_000);
  }, 45_000);

  it('a weighted check demotes: advskew 0 + 50 advertised at once, a --preempt peer (advskew 20) takes over', async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const file = join(t.tempDir(), 'healthy');
    writeFileSync(file, '');
    const node1 = t.carpd(h1, { advskew: 0, extra: [`--check=test -e ${file}`, '--check-weight=50', ...CHECK_TIMING] });
    await claimsAlone(lab, h1);
    const node2 = t.carpd(h2, { advskew: 20, extra: ['--preempt'] });
    await follows(h2, h1);
    // h1 is the faster master: the preempting h2 has nothing to preempt.
    await staysOn(lab, h1, 1_500);

    const capture = await t.capture(lab.client.ns, 'ip proto 112');
    let demotedAt: number | undefined;
    void node1.waitForOutput(/advertising advskew 50 /, 10_000).then(
      () => (demotedAt = Date.now()),
      () => undefined,
    );
    const failedAt = Date.now();
    rmSync(file);
    const takeoverMs = await msUntil(failedAt, () => h2.hasAddress(lab.vip()), 6_000, 'the VIP on h2');
    expect(takeoverMs).toBeLessThan(CHECK_FALL_MS + 1_000);
    await waitFor(async () => !(await h1.hasAddress(lab.vip())), 2_000, 20, 'the VIP gone from h1');
    // Demoted, not faulted: h1 is an ordinary BACKUP that advertises advskew 50 if it must.
    const demoted = await vhostStatus(h1);
    expect(demoted).toMatchObject({ state: 'BACKUP', advskew: 0, demotion: 50, advertisedAdvskew: 50, master: h2.address, tracks: [{ kind: 'check', weight: 50, state: 'failed' }] });
    expect(transitions(node1).map((x) => x.to)).not.toContain('FAULT');
    expect(transitions(node2).at(-1)?.reason).toMatch(/^preempting slower master 198\.18\.0\.1 \(advbase 1, advskew 50\)$/);
    await sleep(300);
    const fromH1 = (await capture.stop()).filter((p) => p.kind === 'carp' && p.srcIp === h1.address);
    const advskews = fromH1.map((p) => p.carp?.advskew);
    // advskew 0 while healthy, 50 from the demotion on, nothing else (255 would be a bow-out: no FAULT here).
    expect(advskews.join(' '), "h1's advskews on the wire").toMatch(/^(0 )+50( 50)*$/);
    // "At once": the first demoted advert goes out with the demotion, not at h1's next beat (up to 1 s later).
    const firstDemoted = fromH1.find((p) => p.carp?.advskew === 50)!;
    expect(demotedAt, 'time of the "advertising advskew 50" line').toBeDefined();
    const lagMs = firstDemoted.timeMs - demotedAt!;
    console.log(
      `weighted check failed: h2 (--preempt, advskew 20) preempted ${takeoverMs} ms after the file was removed; ` +
        `first advskew-50 advert ${lagMs.toFixed(0)} ms from the demotion log line (advskews seen: ${advskews.join(', ')})`,
    );
    expect(Math.abs(lagMs)).toBeLessThan(300);

    // Healthy again: h1 is back to advskew 0, faster than h2, but without --preempt it stays BACKUP.
    writeFileSync(file, '');
    await statusWhen(h1, (v) => v.demotion === 0 && v.advertisedAdvskew === 0, 5_000, 'demotion gone');
    await staysOn(lab, h2, 4_000);
  }, 45_000);

  it('a weighted check demotes, but a peer without --preempt does not take over', async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const file = join(t.tempDir(), 'healthy');
    writeFileSync(file, '');
    t.carpd(h1, { advskew: 0, extra: [`--check=test -e ${file}`, '--check-weight=50', ...CHECK_TIMING] });
    await claimsAlone(lab, h1);
    const node2 = t.carpd(h2, { advskew: 20 });
    await follows(h2, h1);

    const capture = await t.capture(lab.client.ns, 'ip proto 112');
    rmSync(file);
    await statusWhen(h1, (v) => v.advertisedAdvskew === 50, 4_000, 'advertising advskew 50');
    // Past h2's master-down interval (3 + 20/256 s): h2 hears a master, slower than itself, and follows.
    await staysOn(lab, h1, 4_000);
    expect(await vhostStatus(h1)).toMatchObject({ state: 'MASTER', demotion: 50, advertisedAdvskew: 50 });
    expect(await vhostStatus(h2)).toMatchObject({ state: 'BACKUP', master: h1.address });
    expect(transitions(node2).map((x) => x.to)).not.toContain('MASTER');
    const advskews = (await capture.stop()).filter((p) => p.kind === 'carp' && p.srcIp === h1.address).map((p) => p.carp?.advskew);
    console.log(`demoted master without a preempting peer: h1 advskews on the wire ${advskews.join(', ')}`);
    expect(advskews.filter((s) => s === 50).length).toBeGreaterThanOrEqual(3);
  }, 40_000);

  it('--notify is told BACKUP, MASTER, FAULT, BACKUP and STOP, with the previous state and the vhost', async () => {
    const lab = getLab();
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const dir = t.tempDir();
    const file = join(dir, 'healthy');
    const log = join(dir, 'notify.log');
    writeFileSync(file, '');
    const notify = join(dir, 'notify.sh');
    writeFileSync(
      notify,
      [
        '#!/bin/sh',
        '# Records each call: its arguments, bracketed, then the CARPD_* environment.',
        'line=""',
        'for arg in "$@"; do line="$line[$arg] "; done',
        `echo "$line$CARPD_STATE $CARPD_PREVIOUS_STATE $CARPD_VHOST $CARPD_VHID $CARPD_VIPS | $CARPD_REASON" >> ${log}`,
        '',
      ].join('\n'),
    );
    chmodSync(notify, 0o755);
    const node1 = t.carpd(h1, { advskew: 0, extra: [`--check=test -e ${file}`, ...CHECK_TIMING, `--notify=${notify}`, '--xparam=lab'] });
    await claimsAlone(lab, h1);
    t.carpd(h2, { advskew: 100 });
    await follows(h2, h1);

    rmSync(file);
    await statusWhen(h1, (v) => v.state === 'FAULT', 5_000, 'FAULT');
    await waitFor(() => h2.hasAddress(lab.vip()), 3_000, 20, 'the VIP on h2');
    writeFileSync(file, '');
    await statusWhen(h1, (v) => v.state === 'BACKUP' && v.master === h2.address, 5_000, 'BACKUP following h2');
    node1.signal('SIGTERM');
    expect(await node1.exited).toEqual({ code: 0, signal: null });

    const lines = readFileSync(log, 'utf8').trim().split('\n');
    console.log(`notify calls:\n${lines.join('\n')}`);
    const calls = lines.map((l) => l.split(' | ')[0]);
    const tail = `[eth0] [${lab.vip()}] [lab]`;
    const env = `eth0-vhid42 42 ${lab.vip()}/32`;
    expect(calls).toEqual([
      `[BACKUP] ${tail} BACKUP INIT ${env}`,
      `[MASTER] ${tail} MASTER BACKUP ${env}`,
      `[FAULT] ${tail} FAULT MASTER ${env}`,
      `[BACKUP] ${tail} BACKUP FAULT ${env}`,
      `[STOP] ${tail} STOP BACKUP ${env}`,
    ]);
    expect(lines[2]).toMatch(/\| check "test" failed/);
    expect(lines[4]).toMatch(/\| shutdown$/);
  }, 40_000);
});

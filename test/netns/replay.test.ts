// Replayed adverts (issue 11, item 3), with real carpd processes in the lab: host 3, which runs
// no carpd, records the master's adverts off the wire (scripts/lab/replay.ts, a raw socket in
// its namespace), the master's carpd is killed with SIGKILL, and host 3 sends the recorded
// datagrams again, byte for byte with the master's source address, for 8 s. Without
// --replay-protect the backup keeps hearing a "master" and does not take over while the replay
// lasts (the defect); with it on both nodes the backup drops them as 'replayed' and takes over in
// the normal master-down time (3 × 1 s + 100/256 s after the last real advert).
//
// Bounds are for a loaded two-core host: "held off" is checked over the replay's 8 s where the
// takeover would come at 3.4 s; "in the master-down time" allows 6 s for the nominal 3.4 s.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LabProcess } from '../../scripts/lab/lab.js';
import { decodeAdvertisement } from '../../lib/protocol/carp.js';
import { counterSenderId, senderIdOfIpv4 } from '../../lib/protocol/replay.js';
import { ipv4 } from '../../lib/net/address.js';
import { carpdStatus, sleep, startCarpd } from '../helpers/carpd.js';
import { transitions } from '../helpers/failures.js';
import { useFreshLab, waitFor } from '../helpers/lab.js';

const REPLAY = fileURLToPath(new URL('../../dist/scripts/lab/replay.js', import.meta.url));
const REPLAY_SECONDS = 8;
/** Nominal 3.39 s for the backup (advskew 100); the rest is margin for a loaded host. */
const TAKEOVER_BOUND_MS = 6_000;

describe('replayed adverts of a dead master', () => {
  // A lab per test: the two runs share no daemon, address or ARP entry.
  const getLab = useFreshLab({ hosts: 3 });
  const processes: LabProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'carpd-replay-'));

  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      for (const p of processes) console.log(`pid ${p.pid}:\n${p.output()}`);
    });
  });

  afterEach(async () => {
    await Promise.all(processes.map((p) => p.stop(3_000)));
    processes.length = 0;
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Master h1 and backup h2 up, h1's adverts recorded by h3, h1 killed, the replay started. */
  async function killAndReplay(extra: string[]) {
    const lab = getLab();
    const [h1, h2, h3] = [lab.host(1), lab.host(2), lab.host(3)];
    const master = startCarpd(lab, h1, { advskew: 0, extra });
    processes.push(master);
    await waitFor(() => h1.hasAddress(lab.vip()), 10_000, 50, 'the VIP on h1');
    const backup = startCarpd(lab, h2, { advskew: 100, extra });
    processes.push(backup);
    await backup.waitForOutput(/-> BACKUP/, 10_000);

    const recorder = h3.spawn(process.execPath, [REPLAY, 'record', '--srcip', h3.address, '--from', h1.address, '--seconds', '9']);
    processes.push(recorder);
    expect(await recorder.exited, recorder.output()).toEqual({ code: 0, signal: null });
    const lines = recorder.stdout().trim().split('\n');
    // About one a second; the replay needs a handful.
    expect(lines.length, recorder.output()).toBeGreaterThanOrEqual(6);
    const file = join(dir, `h1-${Date.now()}.hex`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const recordedCounters = lines.map((line) => decodeAdvertisement(Buffer.from(line, 'hex'), 20).counter);

    expect(await h2.hasAddress(lab.vip())).toBe(false);
    const killedAt = Date.now();
    master.signal('SIGKILL'); // no bow-out: the guardian takes the VIP off h1
    const sender = h3.spawn(process.execPath, [REPLAY, 'send', '--srcip', h3.address, '--file', file, '--interval', '1', '--seconds', String(REPLAY_SECONDS)]);
    processes.push(sender);
    return { lab, h1, h2, backup, sender, killedAt, recordedCounters };
  }

  it('without --replay-protect hold the backup off for as long as the replay lasts (the defect)', async () => {
    const { lab, h2, backup, sender, killedAt } = await killAndReplay([]);
    const before = transitions(backup.output()).length;
    // The whole replay long, at least twice the master-down time, h2 stays BACKUP.
    while (!sender.hasExited) {
      expect(await h2.hasAddress(lab.vip()), backup.output()).toBe(false);
      await sleep(200);
    }
    expect(await sender.exited, sender.output()).toEqual({ code: 0, signal: null });
    const { sent } = JSON.parse(sender.stdout().trim()) as { sent: number };
    expect(sent).toBeGreaterThanOrEqual(REPLAY_SECONDS - 1);
    expect(Date.now() - killedAt).toBeGreaterThan(REPLAY_SECONDS * 1000 - 500);
    expect(transitions(backup.output()).slice(before), backup.output()).toEqual([]);
    const status = (await carpdStatus(h2)).vhosts[0]!;
    expect(status.state).toBe('BACKUP');
    expect(status.drops.replayed).toBe(0);
    // Once the replay stops, the master-down timer runs out and h2 takes over after all.
    await waitFor(() => h2.hasAddress(lab.vip()), TAKEOVER_BOUND_MS, 50, 'the VIP on h2 after the replay');
  }, 60_000);

  it('with --replay-protect on both nodes are dropped as replayed, and the backup takes over in the master-down time', async () => {
    const { lab, h1, h2, backup, sender, killedAt, recordedCounters } = await killAndReplay(['--replay-protect']);
    // The counters h1 sent carry its id (low 16 bits of its address) and rise.
    expect(recordedCounters.map(counterSenderId)).toEqual(recordedCounters.map(() => senderIdOfIpv4(ipv4(h1.address).int)));
    for (let k = 1; k < recordedCounters.length; k++) expect(recordedCounters[k]! > recordedCounters[k - 1]!).toBe(true);

    await waitFor(() => h2.hasAddress(lab.vip()), TAKEOVER_BOUND_MS, 20, 'the VIP on h2 during the replay');
    const takeoverMs = Date.now() - killedAt;
    console.log(`replay-protect: h2 took over ${takeoverMs} ms after the master's kill, the replay still running`);
    // The replay was still on: the takeover did not wait for it to end.
    expect(sender.hasExited).toBe(false);
    expect(takeoverMs).toBeLessThan(REPLAY_SECONDS * 1000 - 1_000);
    expect(transitions(backup.output()).at(-1)).toMatchObject({ from: 'BACKUP', to: 'MASTER' });
    expect(await h1.hasAddress(lab.vip())).toBe(false);

    expect(await sender.exited, sender.output()).toEqual({ code: 0, signal: null });
    const { sent } = JSON.parse(sender.stdout().trim()) as { sent: number };
    const status = (await carpdStatus(h2)).vhosts[0]!;
    expect(status.state).toBe('MASTER');
    // Every replayed advert reached h2 and was counted; a MASTER drops them just the same.
    expect(status.drops.replayed, JSON.stringify(status.drops)).toBe(sent);
    // One line when the first came (rate-limited: the window is 60 s), naming the reason.
    expect(backup.output()).toMatch(/\[WARNING\] dropped advert: replayed: from 198\.18\.0\.1: counter \d+ \(\S+Z\) is not above the last one heard from it/);
    await sleep(200);
  }, 60_000);
});

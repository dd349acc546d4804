// A flood of bogus protocol-112 frames against a carpd MASTER and BACKUP, in the namespace lab:
// host 3, which runs no daemon, sends a few thousand frames a second for 10 s from random
// sources in the lab's /24 (198.18.0.0/15 only), each with one defect: TTL 1 or 64, a bad CARP
// checksum, version or type, another vhid, a wrong HMAC, too short, too long (see
// scripts/lab/flood.ts). What must hold: nobody changes state, the master's adverts stay on
// time, each carpd writes a bounded number of lines (one per drop reason when the reason first
// shows, one summary per reason at stop: the window is 60 s) and its memory stays bounded.
//
// Bounds are generous (a loaded two-core host runs this, next to other labs): an advert gap under
// 2 s where 1 s is nominal (the backup would only take over past 3 s), RSS growth under 24 MiB.
// The exact CPU and memory figures under a 20 kpps flood belong to `npm run bench:flood`.
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PacketCapture, type LabProcess } from '../../scripts/lab/lab.js';
import { FLOOD_KINDS, type FloodResult } from '../../scripts/lab/flood.js';
import { carpdStatus, sleep, startCarpd } from '../helpers/carpd.js';
import { advertIntervals, transitions } from '../helpers/failures.js';
import { useLab, waitFor } from '../helpers/lab.js';

const FLOOD = fileURLToPath(new URL('../../dist/scripts/lab/flood.js', import.meta.url));
const RATE = 3_000;
const SECONDS = 10;
/** The reasons the flood's frames are dropped for that carpd logs (other-vhid is debug-only). */
const LOGGED_REASONS = [...new Set(Object.values(FLOOD_KINDS))].filter((r) => r !== 'other-vhid');

function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

function dropLines(p: LabProcess): string[] {
  return p.output().split('\n').filter((l) => l.includes('dropped advert:'));
}

describe('a flood of bogus CARP frames', () => {
  const getLab = useLab({ hosts: 3 });

  it('moves nobody, keeps the adverts on time, and keeps the log and memory bounded', async () => {
    const lab = getLab();
    const [h1, h2, h3] = [lab.host(1), lab.host(2), lab.host(3)];
    const master = startCarpd(lab, h1, { advskew: 0 });
    await waitFor(() => h1.hasAddress(lab.vip()), 10_000, 50, 'the VIP on h1');
    const backup = startCarpd(lab, h2, { advskew: 100 });
    await backup.waitForOutput(/-> BACKUP/, 10_000);
    // The master's own frames only (the flood may well use its address as a source).
    const capture = await PacketCapture.start(h2.ns, 'eth0', `ip proto 112 and ether src ${h1.mac}`);
    try {
      await sleep(2_000); // past start-up's garbage, so the RSS baseline is a steady one
      const daemons = [
        { name: 'master', proc: master },
        { name: 'backup', proc: backup },
      ];
      const before = daemons.map(({ proc }) => ({ rss: rssKb(proc.pid), transitions: transitions(proc.output()).length }));
      const floodStart = Date.now();
      const sender = h3.spawn(process.execPath, [FLOOD, '--srcip', h3.address, '--vhid', '42', '--rate', String(RATE), '--seconds', String(SECONDS)]);
      const peakRss = before.map((b) => b.rss);
      while (!sender.hasExited) {
        await sleep(500);
        daemons.forEach(({ proc }, k) => (peakRss[k] = Math.max(peakRss[k]!, rssKb(proc.pid))));
      }
      const exit = await sender.exited;
      expect(exit, sender.output()).toEqual({ code: 0, signal: null });
      const sent = JSON.parse(sender.stdout().trim()) as FloodResult;
      const floodEnd = Date.now();
      await sleep(1_500); // one more advert after the flood

      // The flood was one: most of the frames went out, and each carpd counted them as drops.
      expect(sent.sent, JSON.stringify(sent)).toBeGreaterThan((RATE * SECONDS) / 3);
      for (const [k, { proc }] of daemons.entries()) {
        const status = await carpdStatus(k === 0 ? h1 : h2);
        const counted = [status.vhosts[0]!.drops, ...status.daemons.map((d) => (d as { links: { drops: Record<string, number> }[] }).links[0]!.drops)]
          .flatMap((d) => Object.values(d))
          .reduce((a, b) => a + b, 0);
        expect(counted, proc.output()).toBeGreaterThan(sent.sent / 4);
        expect(status.vhosts[0]!.state).toBe(k === 0 ? 'MASTER' : 'BACKUP');
      }

      // Nobody moved, the VIP stayed where it was.
      daemons.forEach(({ proc }, k) => expect(transitions(proc.output()), proc.output()).toHaveLength(before[k]!.transitions));
      expect(await h1.hasAddress(lab.vip())).toBe(true);
      expect(await h2.hasAddress(lab.vip())).toBe(false);

      // The master's adverts kept their beat through the flood.
      const during = capture.snapshot().filter((p) => p.timeMs >= floodStart - 1_000 && p.timeMs <= floodEnd + 1_500);
      const gaps = advertIntervals(during, h1.address);
      expect(gaps.length, JSON.stringify(gaps)).toBeGreaterThanOrEqual(SECONDS - 1);
      expect(Math.max(...gaps), JSON.stringify(gaps)).toBeLessThan(2_000);
      expect(Math.min(...gaps), JSON.stringify(gaps)).toBeGreaterThan(500);

      // Memory: bounded, generously (a limiter that kept every detail grew 6-10 MiB in 30 s at 20 kpps).
      daemons.forEach(({ proc }, k) => expect(peakRss[k]! - before[k]!.rss, proc.output()).toBeLessThan(24 * 1024));

      // The log, during the flood: one line per reason, the first drop of each, in full.
      for (const { proc } of daemons) {
        const lines = dropLines(proc);
        expect(lines.length, proc.output()).toBeLessThanOrEqual(LOGGED_REASONS.length);
        for (const reason of LOGGED_REASONS) {
          expect(lines.filter((l) => l.startsWith(`[WARNING] dropped advert: ${reason}: from 198.18.0.`)), proc.output()).toHaveLength(1);
        }
        expect(proc.output()).not.toMatch(/other-vhid/);
      }

      // At stop, one summary per reason: the count held back and a few of the many sources.
      await Promise.all(daemons.map(({ proc }) => proc.stop(5_000)));
      for (const { proc } of daemons) {
        const lines = dropLines(proc);
        expect(lines.length, proc.output()).toBeLessThanOrEqual(2 * LOGGED_REASONS.length);
        for (const reason of LOGGED_REASONS) {
          const summary = lines.filter((l) => l.startsWith(`[WARNING] dropped advert: ${reason}: `) && / more in \d+ s/.test(l));
          expect(summary, proc.output()).toHaveLength(1);
          expect(summary[0]).toMatch(/: \d+ more in \d+ s, from (\d+|32 or more) sources, e\.g\. 198\.18\.0\.\d+, 198\.18\.0\.\d+, 198\.18\.0\.\d+$/);
        }
        // Everything else carpd wrote in the whole run fits on a screen.
        expect(proc.output().split('\n').length, proc.output()).toBeLessThan(60);
      }
    } finally {
      await capture.stop();
      await Promise.all([master.stop(3_000), backup.stop(3_000)]);
    }
  }, 90_000);
});

// One carpd per node carrying several virtual hosts from a sectioned --config file: an
// active/active pair, a sync group that moves as one, reload without touching what did not
// change, the metrics endpoint, and `carpd status` where no daemon runs.
// Needs root (`sudo npm test`): without it the lab refuses to start and these tests fail loudly.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { Lab, LabHost, LabProcess } from '../../scripts/lab/lab.js';
import {
  addressHolders,
  carpdCommand,
  carpdStatus,
  sectionedConfigText,
  sleep,
  startCarpdWithConfig,
  vhostNamed,
  writeSectionedConfig,
  type SectionedConfig,
} from '../helpers/carpd.js';
import { useLab, waitFor } from '../helpers/lab.js';

/** Generous: the machine may be running another lab at the same time. */
const ELECTION_TIMEOUT_MS = 15_000;

describe('one carpd per node, several virtual hosts', () => {
  const getLab = useLab({ hosts: 2 });
  const dir = mkdtempSync(join(tmpdir(), 'carpd-vhosts-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const daemons: { label: string; process: LabProcess }[] = [];

  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      for (const d of daemons) console.log(`carpd on ${d.label} (pid ${d.process.pid}):\n${d.process.output()}`);
    });
  });

  function start(host: LabHost, config: SectionedConfig, file = `h${host.index}.conf`): { process: LabProcess; path: string } {
    const path = writeSectionedConfig(join(dir, file), config);
    const process = startCarpdWithConfig(host, path);
    daemons.push({ label: `h${host.index}`, process });
    return { process, path };
  }

  /** Before a test that starts its own daemons: none left from the last one, every link up. */
  async function freshStart(lab: Lab): Promise<void> {
    await Promise.all(daemons.map((d) => d.process.stop(5_000)));
    daemons.length = 0;
    await Promise.all(lab.hosts.map((h) => h.restoreLink()));
  }

  /** web (vhid 10, VIP .50) and db (vhid 11, VIP .51), each preferred on one node. */
  function activeActive(lab: Lab, host: LabHost, skews: { web: number; db: number }, defaults: SectionedConfig['defaults'] = {}): SectionedConfig {
    return {
      defaults: { interface: 'eth0', srcip: host.address, pass: 'secret', advbase: 1, preempt: true, ...defaults },
      vhosts: {
        web: { vhid: 10, addr: `${lab.vip(0)}/32`, advskew: skews.web },
        db: { vhid: 11, addr: `${lab.vip(1)}/32`, advskew: skews.db },
      },
    };
  }

  /** Waits for web's VIP on h1 alone and db's on h2 alone (each stable for 1.5 s). */
  async function settledActiveActive(lab: Lab): Promise<void> {
    const [web, db] = await Promise.all([lab.waitForSingleHolder(ELECTION_TIMEOUT_MS, 1_500, 0), lab.waitForSingleHolder(ELECTION_TIMEOUT_MS, 1_500, 1)]);
    expect(web, 'holder of web').toBe(lab.host(1));
    expect(db, 'holder of db').toBe(lab.host(2));
  }

  /** Who holds `address` right now, as 'h1', 'h1+h2' or '' (easy to compare and to read in a failure). */
  async function holders(lab: Lab, address: string): Promise<string> {
    return (await addressHolders(lab, address)).map((h) => `h${h.index}`).join('+');
  }

  async function ping(lab: Lab, address: string): Promise<boolean> {
    return (await lab.client.exec('ping', ['-c', '1', '-W', '1', address])).code === 0;
  }

  it('active/active: web on h1 and db on h2, both on h1 while h2 is cut off, db back to h2 after', async () => {
    const lab = getLab();
    await freshStart(lab);
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const [webVip, dbVip] = [lab.vip(0), lab.vip(1)];
    const startedAt = Date.now();
    const one = start(h1, activeActive(lab, h1, { web: 0, db: 100 })).process;
    const two = start(h2, activeActive(lab, h2, { web: 100, db: 0 })).process;
    await settledActiveActive(lab);
    console.log(`active/active: both vhosts elected (and stable 1.5 s) ${Date.now() - startedAt} ms after start`);
    expect(one.output()).toMatch(/\[WARNING\] \[web\] BACKUP -> MASTER \(no master heard for 3\.\d\d s\)/);
    expect(two.output()).toMatch(/\[WARNING\] \[db\] BACKUP -> MASTER \(no master heard for 3\.\d\d s\)/);
    expect(one.output()).not.toMatch(/\[db\] BACKUP -> MASTER/);
    expect(two.output()).not.toMatch(/\[web\] BACKUP -> MASTER/);

    for (const [vip, host] of [[webVip, h1], [dbVip, h2]] as const) {
      const r = await lab.client.exec('ping', ['-c', '3', '-i', '0.2', '-W', '1', vip]);
      expect(r.code, `ping ${vip}: ${r.stdout}${r.stderr}`).toBe(0);
      expect((await lab.client.arpEntry(vip))?.mac, `client's ARP entry for ${vip}`).toBe(host.mac);
    }

    const status = await carpdStatus(h1);
    expect(status.vhosts.map((v) => v.name)).toEqual(['web', 'db']);
    expect(vhostNamed(status, 'web')).toMatchObject({
      interface: 'eth0', vhid: 10, vips: [`${webVip}/32`], srcip: h1.address, state: 'MASTER', master: h1.address,
      group: null, linkUp: true, advbase: 1, advskew: 0,
    });
    expect(vhostNamed(status, 'db')).toMatchObject({ vhid: 11, vips: [`${dbVip}/32`], state: 'BACKUP', master: h2.address, advskew: 100 });
    expect(vhostNamed(status, 'web').advertsSent).toBeGreaterThan(0);
    expect(vhostNamed(status, 'db').advertsReceived).toBeGreaterThan(0);

    // h2 loses carrier: it drops db's VIP at once, h1 takes db after db's master-down interval
    // (3 s + 100/256 s), and keeps web.
    const cutAt = Date.now();
    await h2.cutLink();
    await waitFor(async () => (await holders(lab, dbVip)) === 'h1' && (await holders(lab, webVip)) === 'h1', 6_000, 50, 'both VIPs on h1 alone');
    console.log(`active/active: h2 cut, both VIPs on h1 alone after ${Date.now() - cutAt} ms`);
    expect(one.output()).toMatch(/\[db\] BACKUP -> MASTER \(master down: no advert for 3\.\d\d s\)/);
    expect(two.output()).toMatch(/\[db\] MASTER -> BACKUP \(link down: lost carrier\)/);
    for (const vip of [webVip, dbVip]) await waitFor(() => ping(lab, vip), 5_000, 100, `the client reaching ${vip}`);
    await waitFor(async () => (await lab.client.arpEntry(dbVip))?.mac === h1.mac, 3_000, 50, "the client's ARP entry for db on h1");

    // Carrier back: h2 hears h1 advertise db more slowly than it would, and with preempt takes
    // it back; web stays where it is.
    const restoreAt = Date.now();
    await h2.restoreLink();
    await waitFor(async () => (await holders(lab, dbVip)) === 'h2', 10_000, 50, 'db on h2 alone');
    console.log(`active/active: link restored, db back on h2 alone after ${Date.now() - restoreAt} ms`);
    await sleep(1_000);
    expect(await holders(lab, dbVip)).toBe('h2');
    expect(await holders(lab, webVip)).toBe('h1');
    expect(two.output()).toMatch(/\[db\] BACKUP -> MASTER \(preempting slower master 198\.18\.0\.1/);
    expect(vhostNamed(await carpdStatus(h1), 'db')).toMatchObject({ state: 'BACKUP', master: h2.address });
    await waitFor(() => ping(lab, dbVip), 5_000, 100, `the client reaching ${dbVip} on h2`);
  }, 60_000);

  /** The two VIPs of group router on each sample: who holds .60, who holds .61. */
  interface GroupSample {
    at: number;
    inside: string;
    outside: string;
  }

  async function sampleGroup(lab: Lab): Promise<GroupSample> {
    const lists = await Promise.all(lab.hosts.map((h) => h.addresses()));
    const holders = (vip: string) => lab.hosts.filter((_, k) => lists[k]!.some((a) => a.split('/')[0] === vip)).map((h) => `h${h.index}`).join('+');
    return { at: Date.now(), inside: holders(lab.vip(10)), outside: holders(lab.vip(11)) };
  }

  /**
   * Samples every ~50 ms until both VIPs have been on `target` alone for `stableMs`. Returns
   * how long that took and the longest stretch during which the two VIPs were held differently.
   */
  async function watchGroupMove(lab: Lab, target: LabHost, timeoutMs: number, stableMs = 1_000): Promise<{ movedMs: number; longestSplitMs: number; samples: GroupSample[] }> {
    const from = Date.now();
    const want = `h${target.index}`;
    const samples: GroupSample[] = [];
    let arrivedAt: number | undefined;
    let stable = false;
    while (!stable && Date.now() - from < timeoutMs) {
      const s = await sampleGroup(lab);
      samples.push(s);
      if (s.inside === want && s.outside === want) {
        arrivedAt ??= s.at;
        stable = s.at - arrivedAt >= stableMs;
      } else {
        arrivedAt = undefined;
      }
      if (!stable) await sleep(50);
    }
    let longestSplitMs = 0;
    let splitSince: number | undefined;
    for (const s of samples) {
      if (s.inside !== s.outside) splitSince ??= s.at;
      else if (splitSince !== undefined) {
        longestSplitMs = Math.max(longestSplitMs, s.at - splitSince);
        splitSince = undefined;
      }
    }
    if (splitSince !== undefined) longestSplitMs = Math.max(longestSplitMs, Date.now() - splitSince);
    if (!stable || arrivedAt === undefined) {
      throw new Error(`group router not on ${want} alone for ${stableMs} ms within ${timeoutMs} ms; last samples: ${JSON.stringify(samples.slice(-5))}`);
    }
    return { movedMs: arrivedAt - from, longestSplitMs, samples };
  }

  function groupConfig(lab: Lab, host: LabHost, advskew: number, o: { preempt: boolean; insideIgnoresCarrier: boolean }): SectionedConfig {
    return {
      defaults: { interface: 'eth0', srcip: host.address, pass: 'secret', advbase: 1, advskew, ...(o.preempt ? { preempt: true } : {}) },
      vhosts: {
        inside: { vhid: 20, addr: `${lab.vip(10)}/32`, group: 'router', ...(o.insideIgnoresCarrier ? { ignoreifstate: true } : {}) },
        outside: { vhid: 21, addr: `${lab.vip(11)}/32`, group: 'router' },
      },
    };
  }

  it('a sync group moves as one: preempted together, and held down together when one member loses its link', async () => {
    const lab = getLab();
    await freshStart(lab);
    const [h1, h2] = [lab.host(1), lab.host(2)];
    // h2 alone first: it becomes MASTER of both.
    const two = start(h2, groupConfig(lab, h2, 100, { preempt: false, insideIgnoresCarrier: false })).process;
    await watchGroupMove(lab, h2, ELECTION_TIMEOUT_MS);
    expect(two.output()).toMatch(/\[(inside|outside)\] BACKUP -> MASTER \(group router: (inside|outside) became MASTER \(no master heard/);

    // h1 advertises faster and preempts. Its inside member ignores carrier: only the group can
    // make it give its VIP up when outside's link goes (below).
    const startAt = Date.now();
    const one = start(h1, groupConfig(lab, h1, 0, { preempt: true, insideIgnoresCarrier: true })).process;
    const move = await watchGroupMove(lab, h1, ELECTION_TIMEOUT_MS);
    console.log(`group: both VIPs on h1 ${move.movedMs} ms after starting it; longest split ${move.longestSplitMs} ms over ${move.samples.length} samples`);
    // Together: apart no longer than one round of sampling both hosts takes on a busy machine
    // (a few `ip` calls; the idle figure is logged above).
    expect(move.longestSplitMs).toBeLessThan(1_000);
    // One member preempted on its own; the other followed because of the group.
    expect(one.output()).toMatch(/\[(inside|outside)\] BACKUP -> MASTER \(preempting slower master 198\.18\.0\.2/);
    expect(one.output()).toMatch(/\[(inside|outside)\] BACKUP -> MASTER \(group router: (inside|outside) became MASTER \(preempting slower master 198\.18\.0\.2/);
    expect(two.output()).toMatch(/\[(inside|outside)\] MASTER -> BACKUP \(group router: (inside|outside) went BACKUP/);
    const status = await carpdStatus(h1);
    for (const name of ['inside', 'outside']) expect(vhostNamed(status, name)).toMatchObject({ state: 'MASTER', group: 'router' });

    // outside loses carrier on h1; inside, which ignores carrier, must go too (held by the group)
    // instead of keeping .60 on h1 while h2 takes .61.
    const cutAt = Date.now();
    await h1.cutLink();
    await waitFor(async () => {
      const s = await sampleGroup(lab);
      return !s.inside.includes('h1') && !s.outside.includes('h1');
    }, 2_000, 20, 'both VIPs gone from h1');
    console.log(`group: h1's link cut, both VIPs gone from h1 after ${Date.now() - cutAt} ms`);
    expect(one.output()).toMatch(/\[outside\] MASTER -> BACKUP \(link down: lost carrier\)/);
    expect(one.output()).toMatch(/\[inside\] MASTER -> BACKUP \(group router: outside went BACKUP \(link down: lost carrier\)\)/);
    expect(one.output()).toMatch(/\[inside\] group router: outside link down: not contending/);
    const watchFrom = Date.now();
    const failover = await watchGroupMove(lab, h2, 10_000, 500);
    console.log(`group: both VIPs on h2 ${watchFrom - cutAt + failover.movedMs} ms after the cut`);
    // Held, not just pushed once: past inside's own master-down interval (3 s) it still does
    // not claim .60, though it hears no master on the cut link.
    await sleep(Math.max(0, cutAt + 4_500 - Date.now()));
    expect(await sampleGroup(lab)).toMatchObject({ inside: 'h2', outside: 'h2' });
    expect(vhostNamed(await carpdStatus(h1), 'inside')).toMatchObject({ state: 'BACKUP', linkUp: true });

    // Carrier back: the hold ends and h1 preempts the whole group again.
    const restoreAt = Date.now();
    await h1.restoreLink();
    const back = await watchGroupMove(lab, h1, 10_000);
    console.log(`group: link restored, both VIPs back on h1 after ${back.movedMs} ms; longest split ${back.longestSplitMs} ms`);
    expect(back.longestSplitMs).toBeLessThan(1_000);
    expect(Date.now() - restoreAt).toBeLessThan(10_000);
  }, 60_000);

  it('reload: a vhost added and removed without an address event for the others; a bad file changes nothing', async () => {
    const lab = getLab();
    await freshStart(lab);
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const config = activeActive(lab, h1, { web: 0, db: 100 }, { metrics: `${h1.address}:9650` });
    const one = start(h1, config);
    start(h2, activeActive(lab, h2, { web: 100, db: 0 }));
    await settledActiveActive(lab);

    const before = await carpdStatus(h1);
    const monitor = h1.spawn('ip', ['-o', 'monitor', 'address']);
    await sleep(500);

    // A new vhost, nothing else changed.
    const appVip = lab.vip(2);
    const withApp: SectionedConfig = { ...config, vhosts: { ...config.vhosts, app: { vhid: 12, addr: `${appVip}/32`, advskew: 0 } } };
    writeSectionedConfig(one.path, withApp);
    const added = await carpdCommand(h1, ['reload']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/^pid \d+ \(.*h1\.conf\): reloaded .*h1\.conf: 2 unchanged, 1 added, 0 removed, 0 changed\n$/);
    const reloadedAt = Date.now();
    // Nobody else has vhid 12: h1 claims it after its master-down interval.
    await waitFor(() => h1.hasAddress(appVip), 8_000, 50, `${appVip} on h1`);
    console.log(`reload: the added vhost's VIP on h1 ${Date.now() - reloadedAt} ms after the reload`);
    expect(await holders(lab, appVip)).toBe('h1');
    await sleep(1_500); // a couple of advert intervals, so the counters must have moved

    const after = await carpdStatus(h1);
    expect(after.vhosts.map((v) => v.name)).toEqual(['web', 'db', 'app']);
    for (const name of ['web', 'db']) {
      const [was, now] = [vhostNamed(before, name), vhostNamed(after, name)];
      expect(now.since, `${name}'s since`).toBe(was.since);
      expect(now.state, `${name}'s state`).toBe(was.state);
      expect(now.transitions, `${name}'s transitions`).toEqual(was.transitions);
    }
    expect(vhostNamed(after, 'web').advertsSent).toBeGreaterThan(vhostNamed(before, 'web').advertsSent);
    expect(vhostNamed(after, 'db').advertsReceived).toBeGreaterThan(vhostNamed(before, 'db').advertsReceived);
    expect(vhostNamed(after, 'app')).toMatchObject({ vhid: 12, state: 'MASTER', vips: [`${appVip}/32`] });

    // Removed again: it bows out and its VIP is gone by the time reload answers.
    writeSectionedConfig(one.path, config);
    const removed = await carpdCommand(h1, ['reload']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toMatch(/reloaded .*h1\.conf: 2 unchanged, 0 added, 1 removed, 0 changed\n$/);
    expect(await holders(lab, appVip)).toBe('');
    expect(one.process.output()).toMatch(/\[app\] MASTER -> INIT \(shutdown: bow-out advert sent, releasing the VIP\)/);
    const afterRemoval = await carpdStatus(h1);
    expect(afterRemoval.vhosts.map((v) => v.name)).toEqual(['web', 'db']);

    // A file with a mistake: refused with the file and line named, nothing changes.
    const broken = sectionedConfigText({ ...config, vhosts: { ...config.vhosts, db: { ...config.vhosts.db, frobnicate: 1 } } });
    const badLine = broken.split('\n').indexOf('frobnicate = 1') + 1;
    writeSectionedConfig(one.path, broken);
    const refused = await carpdCommand(h1, ['reload']);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain(`${one.path} line ${badLine}: unknown option "frobnicate"`);
    expect(refused.stderr).toMatch(/nothing changed/);
    const afterRefusal = await carpdStatus(h1);
    expect(afterRefusal.vhosts.map((v) => [v.name, v.state, v.since])).toEqual(afterRemoval.vhosts.map((v) => [v.name, v.state, v.since]));
    writeSectionedConfig(one.path, config);

    await sleep(200);
    await monitor.stop();
    const events = monitor.output().split('\n').filter(Boolean);
    // The monitor was listening: it saw the added VIP come and go.
    expect(events.some((l) => !l.startsWith('Deleted') && l.includes(` ${appVip}/32 `)), monitor.output()).toBe(true);
    expect(events.some((l) => l.startsWith('Deleted') && l.includes(` ${appVip}/32 `)), monitor.output()).toBe(true);
    const untouched = events.filter((l) => l.includes(` ${lab.vip(0)}/`) || l.includes(` ${lab.vip(1)}/`));
    expect(untouched, 'address events for the unchanged vhosts').toEqual([]);
  }, 60_000);

  it('/metrics: a series per vhost whose state and counters match carpd status', async () => {
    const lab = getLab();
    const h1 = lab.host(1);
    // The pair of the previous test, h1 with metrics = 198.18.0.1:9650.
    expect(daemons.filter((d) => !d.process.hasExited), 'the reload test leaves a pair running').toHaveLength(2);
    const before = await carpdStatus(h1);
    // Scraped from the client, across the lab's bridge.
    const scrape = await lab.client.exec(process.execPath, [
      '-e',
      `fetch('http://${h1.address}:9650/metrics').then(async (r) => { process.stdout.write(r.status + ' ' + r.headers.get('content-type') + '\\n' + await r.text()); })` +
        `.catch((e) => { console.error(String(e)); process.exit(1); })`,
    ]);
    const after = await carpdStatus(h1);
    expect(scrape.code, scrape.stderr).toBe(0);
    const [head = '', ...body] = scrape.stdout.split('\n');
    expect(head).toMatch(/^200 text\/plain; version=0\.0\.4/);
    const text = body.join('\n');
    expect(text).toContain('# TYPE carpd_adverts_sent_total counter');
    expect(text).toContain('# TYPE carpd_vhost_state gauge');

    const series = parseSeries(text);
    const value = (name: string, labels: Record<string, string>): number => {
      const found = series.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
      if (found.length !== 1) throw new Error(`${found.length} series ${name}${JSON.stringify(labels)} in:\n${text}`);
      return found[0]!.value;
    };
    const stateValue = { INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3 } as const;
    for (const vhost of before.vhosts) {
      const labels = { vhost: vhost.name, interface: 'eth0', vhid: String(vhost.vhid) };
      const later = vhostNamed(after, vhost.name);
      expect(later.state, `${vhost.name} changed state during the scrape`).toBe(vhost.state);
      expect(value('carpd_vhost_state', labels), `${vhost.name} state`).toBe(stateValue[vhost.state]);
      expect(value('carpd_vhost_state_info', { ...labels, state: vhost.state })).toBe(1);
      const sent = value('carpd_adverts_sent_total', labels);
      expect(sent).toBeGreaterThanOrEqual(vhost.advertsSent);
      expect(sent).toBeLessThanOrEqual(later.advertsSent);
      const received = value('carpd_adverts_received_total', labels);
      expect(received).toBeGreaterThanOrEqual(vhost.advertsReceived);
      expect(received).toBeLessThanOrEqual(later.advertsReceived);
      expect(value('carpd_transitions_total', { ...labels, from: 'BACKUP', to: 'MASTER' })).toBe(vhost.transitions['BACKUP->MASTER'] ?? 0);
    }
    expect(vhostNamed(before, 'web').state).toBe('MASTER');
    expect(vhostNamed(before, 'db').state).toBe('BACKUP');
    expect(value('carpd_adverts_sent_total', { vhost: 'web' })).toBeGreaterThan(0);
    expect(value('carpd_adverts_received_total', { vhost: 'db' })).toBeGreaterThan(0);
    expect(value('carpd_transitions_total', { vhost: 'web', from: 'BACKUP', to: 'MASTER' })).toBe(1);
    // The vhost the reload removed is gone from the metrics too.
    expect(series.filter((s) => s.labels.vhost === 'app')).toEqual([]);
    console.log(`metrics: ${series.length} series, web sent ${value('carpd_adverts_sent_total', { vhost: 'web' })} adverts`);
  }, 20_000);

  it('carpd status and reload where no carpd runs: exit 1 and one line on stderr', async () => {
    const lab = getLab();
    for (const args of [['status'], ['status', '--json'], ['reload']]) {
      const r = await carpdCommand(lab.client, args);
      expect(r.code, `carpd ${args.join(' ')}`).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^carpd: no carpd is running in this network namespace \(no live control socket in \/run\/carpd\/control\)\n$/);
    }
  }, 20_000);
});

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (label values here never hold quotes or commas). */
function parseSeries(text: string): Series[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (match === null) throw new Error(`not a Prometheus sample line: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

// `npm run example`: examples/active-active/node1.conf and node2.conf, run as they are in a
// namespace lab this script creates and removes (the files use the lab's addresses,
// 198.18.0.0/24). Each node runs ONE carpd carrying two vhosts; each is MASTER for one VIP.
// Then node 2's link is cut (both VIPs on node 1), and restored (db goes back to node 2).
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab, waitFor, type LabHost, type LabProcess } from './lab/lab.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CARPD = `${ROOT}bin/carpd`;
const WEB = '198.18.0.50';
const DB = '198.18.0.51';

const say = (text = '') => process.stdout.write(`${text}\n`);

async function holders(lab: Lab, vip: string): Promise<string[]> {
  const names: string[] = [];
  for (const h of lab.hosts) if (await h.hasAddress(vip)) names.push(`node${h.index}`);
  return names;
}

async function placement(lab: Lab): Promise<string> {
  return `web ${WEB} on ${(await holders(lab, WEB)).join('+') || 'nobody'}, db ${DB} on ${(await holders(lab, DB)).join('+') || 'nobody'}`;
}

async function until(lab: Lab, want: { web: string; db: string }, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await waitFor(
    async () => {
      const [web, db] = [await holders(lab, WEB), await holders(lab, DB)];
      return web.join() === want.web && db.join() === want.db;
    },
    timeoutMs,
    20,
    `web on ${want.web} and db on ${want.db}`,
  );
  return Date.now() - started;
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    say('The example needs root: it creates network namespaces and addresses inside them.');
    say('Run it as: sudo npm run example');
    return 1;
  }
  // The files hold a password: carpd warns about a config every user can read, so run copies
  // with mode 0600, exactly as an operator would install them.
  const dir = mkdtempSync(join(tmpdir(), 'carpd-example-'));
  const lab = await Lab.create({ hosts: 2, name: `example-${process.pid}` });
  const daemons: LabProcess[] = [];
  try {
    const [n1, n2] = lab.hosts as [LabHost, LabHost];
    say('examples/active-active: two nodes, one carpd each, two vhosts each (web, db).');
    say(`   node1 ${n1.address} advertises faster for web, node2 ${n2.address} for db.`);
    for (const [k, host] of [n1, n2].entries()) {
      const file = join(dir, `node${k + 1}.conf`);
      copyFileSync(join(ROOT, 'examples', 'active-active', `node${k + 1}.conf`), file);
      daemons.push(host.spawn(process.execPath, [CARPD, `--config=${file}`]));
    }

    say('\n1. Both start as BACKUP; after the master-down interval each claims the VIP it is faster for.');
    const settled = await until(lab, { web: 'node1', db: 'node2' }, 15_000);
    say(`   ${await placement(lab)} (${settled} ms)`);
    const status = await n1.exec(process.execPath, [CARPD, 'status']);
    say('   `carpd status` on node1:');
    for (const line of status.stdout.trimEnd().split('\n')) say(`     ${line}`);
    for (const vip of [WEB, DB]) {
      const ping = await lab.client.exec('ping', ['-c', '2', '-i', '0.2', '-W', '1', vip]);
      const mac = (await lab.client.arpEntry(vip))?.mac ?? '?';
      say(`   the client pings ${vip}: ${ping.code === 0 ? 'replies' : 'NO REPLY'} from MAC ${mac}`);
    }

    say("\n2. node2's link is cut: node1 takes db as well.");
    await n2.cutLink();
    const moved = await until(lab, { web: 'node1', db: 'node1' }, 10_000);
    say(`   ${await placement(lab)} (${moved} ms after the cut)`);

    say('\n3. The link comes back: node2 hears node1 advertise db more slowly and, with preempt, takes it back.');
    await n2.restoreLink();
    const back = await until(lab, { web: 'node1', db: 'node2' }, 10_000);
    say(`   ${await placement(lab)} (${back} ms after the link returned)`);

    say('\n4. Both stop cleanly (SIGTERM): each bows out, releases its VIPs, exits 0.');
    await Promise.all(daemons.map((d) => d.stop()));
    say(`   ${await placement(lab)}; exit codes ${(await Promise.all(daemons.map((d) => d.exited))).map((e) => e.code).join(', ')}`);
    return 0;
  } catch (error) {
    say(`\nThe example failed: ${error instanceof Error ? error.message : String(error)}`);
    for (const [k, d] of daemons.entries()) say(`--- carpd on node${k + 1}:\n${d.output()}`);
    return 1;
  } finally {
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
    say('\nThe lab is gone.');
  }
}

process.exitCode = await main();

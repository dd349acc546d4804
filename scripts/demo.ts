// `npm run demo`: carpd failing over for real, on this machine, inside network namespaces it
// creates and removes (addresses from 198.18.0.0/15 only). Two carpd hosts share a VIP; a
// client pings it every 5 ms while we cut the master's link, bring it back, and stop the new
// master cleanly. Everything is explained as it happens.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Lab, waitFor, type LabHost, type LabProcess } from './lab/lab.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CARPD = `${ROOT}bin/carpd`;

const say = (text = '') => process.stdout.write(`${text}\n`);
const step = (n: number, text: string) => say(`\n${n}. ${text}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until probe returns something truthy; demo steps read better with a short name. */
const until = <T>(probe: () => Promise<T | undefined | false>, timeoutMs: number, what: string) =>
  waitFor(probe, timeoutMs, 20, what);

function name(h: LabHost): string {
  return `host${h.index} (${h.address})`;
}

/** carpd's state-change lines, indented, so the newcomer sees what the daemon itself said. */
function transitions(p: LabProcess, from: number): { text: string; next: number } {
  const out = p.output();
  const lines = out
    .slice(from)
    .split('\n')
    .filter((l) => / -> |dropped|removed|step-down/.test(l));
  return { text: lines.map((l) => `       | ${l}`).join('\n'), next: out.length };
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    say('The demo needs root: it creates network namespaces and addresses inside them.');
    say('Run it as: sudo npm run demo');
    return 1;
  }
  if (!existsSync(`${ROOT}dist/lib/cli/main.js`)) {
    say('carpd is not built yet: run `npm ci` (or `npm run build`) first.');
    return 1;
  }
  say('carpd demo: two hosts share one virtual address (VIP); a client keeps pinging it.');
  say('Everything runs in private network namespaces on this machine and is removed at the end.');

  const lab = await Lab.create({ hosts: 2, name: `demo-${process.pid}` });
  const logCursor = new Map<LabProcess, number>();
  const show = (p: LabProcess) => {
    const { text, next } = transitions(p, logCursor.get(p) ?? 0);
    logCursor.set(p, next);
    if (text) say(text);
  };
  try {
    const [h1, h2] = lab.hosts as [LabHost, LabHost];
    const vip = lab.vip();
    step(1, 'The lab');
    say(`   host1 ${h1.address} and host2 ${h2.address}, a client ${lab.client.address}, all on one bridge.`);
    say(`   The VIP is ${vip}. Whoever is MASTER puts it on its interface and announces it.`);

    step(2, 'Start carpd on both hosts (the same command line you would give ucarp)');
    const args = (h: LabHost, skew: number) => [
      CARPD, '--interface=eth0', `--srcip=${h.address}`, '--vhid=42', '--pass=demo',
      `--addr=${vip}`, `--advskew=${skew}`,
    ];
    say(`   carpd ${args(h1, 0).slice(1).join(' ')}`);
    say(`   carpd ${args(h2, 100).slice(1).join(' ')}`);
    say('   host1 advertises every 1 s, host2 every 1.39 s (advskew 100): the faster one should win.');
    const d1 = h1.spawn(process.execPath, args(h1, 0));
    const d2 = h2.spawn(process.execPath, args(h2, 100));
    const daemons = new Map<LabHost, LabProcess>([[h1, d1], [h2, d2]]);
    say('   Both start as BACKUP and listen for 3 s (3 missed adverts) before claiming the VIP...');
    let master = await lab.waitForSingleHolder(15_000, 1_000);
    say(`   -> ${name(master)} is MASTER and holds ${vip}.`);
    show(d1);
    show(d2);

    step(3, 'The client pings the VIP every 5 ms');
    const ping1 = lab.client.startPing(vip);
    await ping1.waitForReply(3_000);
    await sleep(500);
    say(`   The client's ARP table: ${vip} is at ${(await lab.client.arpEntry(vip))?.mac}, the MAC of ${name(master)}.`);

    step(4, `Pull the cable of the master, ${name(master)}`);
    const backup = lab.hosts.find((h) => h !== master)!;
    const cutAt = Date.now();
    await master.cutLink();
    await until(async () => !(await master.hasAddress(vip)), 2_000, 'the VIP to leave the cut master');
    say(`   ${Date.now() - cutAt} ms: the old master noticed the lost carrier and released the VIP.`);
    await until(() => backup.hasAddress(vip), 8_000, 'the backup to take over');
    const takeover = Date.now() - cutAt;
    await until(async () => (await lab.client.arpEntry(vip))?.mac === backup.mac, 3_000, "the client's ARP entry to move");
    await sleep(300);
    const r1 = await ping1.stop();
    say(`   ${takeover} ms: ${name(backup)} missed 3 adverts and took over.`);
    say(`   The client's ARP entry now points at ${backup.mac} (host${backup.index}), thanks to carpd's gratuitous ARP.`);
    say(`   The client saw an outage of ${Math.round(r1.largestGapMs)} ms: the master-down interval, as with ucarp.`);
    show(daemons.get(master)!);
    show(daemons.get(backup)!);

    step(5, 'Plug the cable back in');
    await master.restoreLink();
    await sleep(2_500);
    say(`   ${name(master)} has carrier again and rejoins as BACKUP; without --preempt the current`);
    say(`   master keeps the VIP, so nothing moves: holders now: ${(await lab.vipHolders()).map(name).join(', ')}.`);
    show(daemons.get(master)!);
    master = backup;

    step(6, `Stop the master, ${name(master)}, cleanly (SIGTERM, as systemctl stop does)`);
    const other = lab.hosts.find((h) => h !== master)!;
    const ping2 = lab.client.startPing(vip);
    await ping2.waitForReply(3_000);
    await sleep(300);
    const stopAt = Date.now();
    daemons.get(master)!.signal('SIGTERM');
    await until(() => other.hasAddress(vip), 5_000, 'the hand-over');
    const handover = Date.now() - stopAt;
    const exit = await daemons.get(master)!.exited;
    await sleep(300);
    const r2 = await ping2.stop();
    say(`   The stopping master sent a "bow-out" advert, so ${name(other)} took over after ${handover} ms`);
    say(`   instead of waiting 3 s. The client's outage: ${Math.round(r2.largestGapMs)} ms (ucarp: about 3 s).`);
    say(`   The stopped carpd removed its VIP and exited with status ${exit.code}.`);
    show(daemons.get(master)!);
    show(daemons.get(other)!);

    step(7, 'Clean up');
    await daemons.get(other)!.stop();
    say('   Stopped the last carpd (it released the VIP on the way out).');
  } finally {
    await lab.destroy();
    say('   Removed the namespaces: nothing of the demo is left on this machine.');
  }
  say('\nThat is carpd. `sudo npm test` runs the test suite; `./bin/carpd --help` lists every option.');
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);

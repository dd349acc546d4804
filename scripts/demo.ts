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

/**
 * carpd's state-change lines, indented and labelled with the host whose carpd wrote them, so
 * the newcomer sees what each daemon itself said.
 */
function transitions(p: LabProcess, host: string, from: number): { text: string; next: number } {
  const out = p.output();
  const lines = out
    .slice(from)
    .split('\n')
    .filter((l) => / -> |dropped|removed|step-down/.test(l));
  return { text: lines.map((l) => `       ${host} log | ${l}`).join('\n'), next: out.length };
}

/** A backup's wait before claiming: advbase × deadratio (3) + advskew/256 s, as ucarp computes it. */
const masterDownSeconds = (advskew: number): string => (3 + advskew / 256).toFixed(2);

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    say('The demo needs root: it creates network namespaces and addresses inside them.');
    say('Run it as root, e.g. `sudo npm run demo`, or `npm run demo` in a root shell.');
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
  const hostOf = new Map<LabProcess, string>();
  const show = (p: LabProcess) => {
    const { text, next } = transitions(p, hostOf.get(p) ?? 'carpd', logCursor.get(p) ?? 0);
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
    say('   host1 advertises every 1 s, host2 every 1.39 s (advskew 100 adds 100/256 s): the faster one should win.');
    const skew = new Map<LabHost, number>([[h1, 0], [h2, 100]]);
    const d1 = h1.spawn(process.execPath, args(h1, 0));
    const d2 = h2.spawn(process.execPath, args(h2, 100));
    hostOf.set(d1, 'host1').set(d2, 'host2');
    const daemons = new Map<LabHost, LabProcess>([[h1, d1], [h2, d2]]);
    say('   Both start as BACKUP. A backup that hears no master for its master-down interval');
    say(`   (3 × advbase + advskew/256: ${masterDownSeconds(0)} s for host1, ${masterDownSeconds(100)} s for host2) claims the VIP...`);
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
    await until(async () => !(await master.hasAddress(vip)), 5_000, 'the VIP to leave the cut master');
    say(`   ${Date.now() - cutAt} ms after the cut: the old master noticed the lost carrier and released the VIP`);
    say('   (the kernel reports a carrier loss up to 1 s late; ucarp would notice at its next 10 s check).');
    await until(() => backup.hasAddress(vip), 10_000, 'the backup to take over');
    const takeover = Date.now() - cutAt;
    await until(async () => (await lab.client.arpEntry(vip))?.mac === backup.mac, 5_000, "the client's ARP entry to move");
    await sleep(300);
    const r1 = await ping1.stop();
    const wait = masterDownSeconds(skew.get(backup)!);
    say(`   ${takeover} ms after the cut: ${name(backup)} took over. It waited its master-down interval,`);
    say(`   ${wait} s, counted from the last advert it heard. host${master.index} had sent that one up to 1 s before`);
    say(`   the cut, so the takeover comes ${(Number(wait) - 1).toFixed(2)} to ${wait} s after the cut. Its log below says`);
    say(`   "no advert for ${wait} s": the same wait, measured from that last advert, not from the cut.`);
    say(`   The client's ARP entry now points at ${backup.mac} (host${backup.index}), thanks to carpd's gratuitous ARP.`);
    say(`   The client's pings (every 5 ms) went unanswered for ${Math.round(r1.largestGapMs)} ms at most: from the cut until the`);
    say('   new master answered. That is the outage users feel, the same wait ucarp has.');
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
    say(`   The stopping master sent a "bow-out" advert, so ${name(other)} took over at once instead of`);
    say(`   waiting ${masterDownSeconds(skew.get(other)!)} s: this demo saw the VIP there ${handover} ms after the SIGTERM. It looks with`);
    say('   `ip addr` every 20 ms and each look takes a few ms (more on a busy machine): an upper bound.');
    say(`   The client's pings went unanswered for ${Math.round(r2.largestGapMs)} ms at most: the real outage, from the last`);
    say('   answer of the old master (it answers until it removes the VIP) to the first of the new one.');
    say('   ucarp, stopped the same way, leaves its backup to wait the full master-down interval (about 3 s).');
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
  say('\nThat is carpd. `npm test` (as root) runs the test suite; `./bin/carpd --help` lists every option.');
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

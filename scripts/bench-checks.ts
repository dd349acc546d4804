// `npm run bench:checks`: health-check failover, carpd against keepalived 2.2.x, side by side in
// one run, in namespace labs (two hosts, a client and a bridge, addresses from 198.18.0.0/15
// only; see scripts/lab/lab.ts).
//
// An HTTP service runs on both hosts; both nodes check it with the same curl command (fall 2,
// rise 2, weight 0: a failing check faults the node). The service on the master is killed just
// after one of its checks passed, and the round measures (a) the time until the VIP is on the
// other host and (b) the time until the client's first HTTP request is answered by it. Every
// round is a fresh lab; the variants alternate (bench/checks-plan.ts says which); the run
// prints each round, then medians and carpd/keepalived ratios against the targets of issue 8.
// It ends by itself: every wait has a deadline, and each lab is destroyed in `finally` (and on
// exit or a signal by the lab's own handlers, which kill every process in its namespaces,
// keepalived's children included).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { versions } from './bench/daemons.js';
import { displayCommand, removeStaleRunDirs, runChecksRound, AFTER_CHECK_MS, HTTP_INTERVAL_MS, HTTP_TIMEOUT_MS, type ChecksRoundResult, type Tools } from './bench/checks.js';
import { CHECKS_USAGE, parseChecksOptions, type ChecksBenchOptions } from './bench/checks-options.js';
import {
  CARPD_ADVSKEW,
  checkCommandLine,
  detectionWindowMs,
  expectedVipMs,
  KEEPALIVED_PRIORITY,
  keepalivedConfig,
  resignWaitMs,
  roundOrder,
  targetMs,
  VARIANTS,
  vipAddress,
  type VariantId,
} from './bench/checks-plan.js';
import { checksMarkdown, checksRoundLine, checksRows, formatChecksTable } from './bench/checks-report.js';
import { findExecutable, keepalivedVersion } from './bench/keepalived.js';
import { ms } from './bench/report.js';
import { cpuText, finishedLine, runBench, shellQuote, startBench, stdoutUntilClosed, writeJsonReport } from './bench/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// Once the reader has gone away (`| head`), stop after the round under way (see stdoutUntilClosed).
const { say, closed: outputClosed } = stdoutUntilClosed();

interface Preflight {
  tools?: Tools;
  problem?: string;
}

function preflight(o: ChecksBenchOptions): Preflight {
  if (process.getuid?.() !== 0) return { problem: 'the benchmark needs root (it creates network namespaces): sudo npm run bench:checks' };
  const httpPoll = `${ROOT}dist/scripts/bench/http-poll.js`;
  if (!existsSync(httpPoll) || !existsSync(`${ROOT}dist/lib/cli/main.js`)) return { problem: 'carpd is not built: run `npm run build` first' };
  const wantsCarpd = o.variants.some((v) => VARIANTS[v].implementation === 'carpd');
  const carpd = `${ROOT}bin/carpd`;
  if (wantsCarpd) {
    const help = spawnSync(process.execPath, [carpd, '--help'], { encoding: 'utf8', timeout: 10_000 });
    if (!/--check-interval/.test(`${help.stdout}${help.stderr}`)) {
      return { problem: 'this carpd has no --check yet (carpd --help does not list --check-interval); run the keepalived half alone with --variants keepalived' };
    }
  }
  const keepalived = findExecutable('keepalived');
  if (o.variants.includes('keepalived') && !keepalived) {
    return { problem: 'keepalived is not installed (the comparison needs it): apt-get install keepalived, or scripts/bootstrap' };
  }
  const missing = ['curl', 'python3', 'tcpdump', 'ping', 'ip'].filter((c) => !findExecutable(c));
  if (missing.length > 0) return { problem: `missing ${missing.join(', ')}: scripts/bootstrap installs them` };
  return { tools: { carpd, keepalived, curl: findExecutable('curl')!, python: findExecutable('python3')!, httpPoll } };
}

interface RoundError {
  variant: VariantId;
  round: number;
  error: string;
}

async function main(argv: string[]): Promise<number> {
  const o = startBench(argv, parseChecksOptions, CHECKS_USAGE, say);
  if (typeof o === 'number') return o;
  const commandLine = process.argv.map(shellQuote).join(' ');
  const pre = preflight(o);
  if (!pre.tools) {
    say(`bench-checks: ${pre.problem}`);
    return 1;
  }
  const tools = pre.tools;
  const stale = removeStaleRunDirs();
  if (stale.length > 0) say(`removed ${stale.length} directory(ies) left by an interrupted run: ${stale.join(', ')}`);
  const startedAt = new Date();
  const environment = {
    carpd: versions().carpd,
    keepalived: tools.keepalived ? keepalivedVersion(tools.keepalived) : 'not installed',
    node: process.version,
    kernel: release(),
    cpu: cpuText(),
  };
  say(`carpd ${environment.carpd}; keepalived ${environment.keepalived}; node ${environment.node}; Linux ${environment.kernel}; ${environment.cpu}`);
  // A rough guide from the lab's timings (lab, services, start, ~5 s to settle, the failover,
  // teardown: ~12 s a round), not a promise.
  const estimateS = o.rounds * o.variants.length * 13;
  say(`${o.rounds} rounds × ${o.variants.join(', ')}; started ${startedAt.toISOString()}, expect roughly ${Math.ceil(estimateS / 60)} min`);

  say(`\ncheck, on both hosts and for every variant: ${checkCommandLine(tools.curl)}`);
  const configs: Record<string, string> = {};
  for (const id of o.variants) {
    const v = VARIANTS[id];
    const vip = vipAddress('198.18.0', v.implementation);
    say(`\n${v.label}: fall ${v.fall} × interval ${v.checkIntervalS} s = ${ms(detectionWindowMs(v))}; VIP ${vip}`);
    for (const index of [1, 2] as const) {
      const node = { index, address: `198.18.0.${index}`, vip };
      if (v.implementation === 'carpd') {
        say(`    host ${index}: ${displayCommand(v, tools, node)}`);
      } else {
        configs[`h${index}`] = keepalivedConfig(node, v, tools.curl);
        say(`    host ${index}: ${displayCommand(v, tools, node)}`);
      }
    }
    if (v.implementation === 'keepalived') {
      say(`    host 1's keepalived.conf (host 2's differs in router_id h2 and priority ${KEEPALIVED_PRIORITY[2]}):`);
      say(configs.h1!.trimEnd().split('\n').map((l) => `      ${l}`).join('\n'));
    }
  }

  const rounds: ChecksRoundResult[] = [];
  const errors: RoundError[] = [];
  let seq = 0;
  say('');
  for (let round = 1; round <= o.rounds && !outputClosed(); round++) {
    for (const id of roundOrder(o.variants, round)) {
      if (outputClosed()) break;
      try {
        const r = await runChecksRound(VARIANTS[id], tools, round, ++seq);
        rounds.push(r);
        say(checksRoundLine(r, o.rounds));
      } catch (err) {
        // A lab command that failed: record it, keep going with the other rounds.
        const error = err instanceof Error ? err.message : String(err);
        errors.push({ variant: id, round, error });
        say(`  ${VARIANTS[id].label.padEnd(14)} round ${round}/${o.rounds}: ERROR ${error}`);
      }
    }
  }

  const rows = checksRows(o.variants, rounds);
  say(`\nSummary: median [min–max] over ${o.rounds} rounds per variant; ratio = carpd median / keepalived median`);
  say(formatChecksTable(o.variants, rows));
  say('');
  const expected = o.variants
    .map((id) => `${VARIANTS[id].label} ${ms(detectionWindowMs(VARIANTS[id]))} + ${ms(resignWaitMs(VARIANTS[id].implementation))} = ${ms(expectedVipMs(VARIANTS[id]))}`)
    .join('; ');
  const notes = [
    `keepalived ${environment.keepalived} reads a vrrp_script interval as whole seconds: \`interval 0.5\` is refused ("invalid number '0.5'") ` +
      'and the script runs every 1 s, so 1 s is the smallest it takes and its fall × interval is 2 s against carpd\'s 1 s at 0.5 s. ' +
      'The "carpd 1 s" column runs carpd at keepalived\'s interval: the same detection window, so the difference there is the implementation.',
    `The fault: SIGKILL to the service on the master ${AFTER_CHECK_MS} ms after its access log showed a check request (from 127.0.0.1), ` +
      'so every round dies at the same phase, just after a good check: the next fall checks fail and detection takes fall × interval. ' +
      'A service that dies at a random moment is noticed up to one interval sooner.',
    '(a): the VIP appearing on host 2, stamped by `ip -ts monitor address` in host 2\'s namespace as the netlink event arrives (same wall clock as the fault time).',
    `(b): the client GETs http://VIP:8080/ every ${HTTP_INTERVAL_MS} ms, each on a new connection, giving up after ${HTTP_TIMEOUT_MS} ms; ` +
      `the figure is the end of the first 2xx response whose body is "h2" (each host serves its own name), so it is known to about ${HTTP_INTERVAL_MS} ms. ` +
      'Requests in between are refused by host 1 while it still has the VIP and its service is dead, or time out while the client\'s ARP entry still points at host 1.',
    'Resignation: a master that faults tells the backup at once: keepalived with priority-0 adverts ("sent 0 priority"), carpd with a bow-out advert. ' +
      `The backup then waits: keepalived the VRRP skew time (256 − priority ${KEEPALIVED_PRIORITY[2]})/256 s = ${ms(resignWaitMs('keepalived'))}, ` +
      `carpd advskew ${CARPD_ADVSKEW[2]} × 0.25 ms = ${ms(resignWaitMs('carpd'))}. Expected VIP times: ${expected}; the rest is check start-up, netlink and scheduling.`,
    'Ping outage: the longest silence between two replies of a 5 ms ping from the client to the VIP that ends after the fault: from host 1 dropping the VIP ' +
      'to host 2\'s gratuitous ARP reaching the client (the VIP answers pings on host 1 until it faults, service or not).',
    'Each round is a fresh lab: services, daemons, observers started from nothing, and the lab destroyed after (every process in its namespaces killed). ' +
      'Variants alternate, the order rotating each round. carpd and keepalived use different VIPs and group ids (vhid 50 / vrid 51).',
    `The targets (issue 8): carpd (0.5 s) in every round within fall × interval + 100 ms = ${ms(targetMs(VARIANTS.carpd))}, and its median below keepalived's.`,
  ];
  notes.forEach((n, k) => say(`[${k + 1}] ${n}`));
  say('\nAs Markdown:');
  say(checksMarkdown(o.variants, rows));
  if (errors.length > 0) say(`\n${errors.length} round(s) failed with an error; see above${o.json ? ' and the JSON' : ''}.`);
  const finishedAt = new Date();
  say(finishedLine(startedAt, finishedAt));

  if (o.json) {
    const data = {
      commandLine,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      environment,
      options: o,
      variants: o.variants.map((id) => VARIANTS[id]),
      check: checkCommandLine(tools.curl),
      keepalivedConfigs: configs,
      rounds,
      errors,
      summary: rows,
      notes,
    };
    writeJsonReport(o.json, data, say);
  }
  return errors.length > 0 ? 1 : 0;
}

runBench('bench-checks', () => main(process.argv.slice(2)));

import { readdirSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { errorText } from '../errors.js';
import { isAlive } from '../host/pidfile.js';
import { currentNetnsId, DEFAULT_RUN_DIR } from '../host/run-dir.js';
import { controlDir, controlSocketPid, encodeRequest, LineBuffer, type ControlCommand } from './socket.js';
import type { DaemonSnapshot, VhostSnapshot } from './types.js';

/**
 * `carpd status [--json]` and `carpd reload`: ask every carpd of this network namespace over
 * its control socket (server.ts) and print the answers. Daemons in other namespaces are left
 * out on purpose: their eth0 is not ours, and `ip netns exec NS carpd status` asks them.
 *
 * Exit codes: 0 every daemon answered (and every reload worked), 1 none running / one did not
 * answer / a reload failed, 64 (EX_USAGE) a bad command line, 77 (EX_NOPERM) not root.
 */

export interface ControlCommandIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Default /run/carpd; tests pass a directory of their own. */
  readonly runDir?: string;
  /** Default: our namespace (currentNetnsId()). */
  readonly netnsId?: string;
  /** How long each daemon has to answer; default 3 s for status, 30 s for reload. */
  readonly timeoutMs?: number;
  /** The wall clock for "3 min ago"; tests pin it. */
  readonly now?: () => Date;
}

const EX_USAGE = 64;
const EX_NOPERM = 77;
/** A daemon busy for this long with a status request is stuck, and worth saying so. */
const STATUS_TIMEOUT_MS = 3_000;
/** A reload re-reads the config and may move VIPs; give it time, but not forever. */
const RELOAD_TIMEOUT_MS = 30_000;
/** A snapshot is a few hundred bytes per vhost; this bounds what a confused peer can make us hold. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

const USAGE = 'usage: carpd status [--json] [--pid=N] | carpd reload [--pid=N]';

export async function runControlCommand(argv: string[], io: ControlCommandIo): Promise<number> {
  const request = parseArguments(argv);
  if ('usage' in request) {
    io.stderr.write(`carpd: ${request.usage} (${USAGE})\n`);
    return EX_USAGE;
  }
  if (request.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let netnsId: string;
  try {
    netnsId = io.netnsId ?? currentNetnsId();
  } catch (error) {
    io.stderr.write(`carpd: cannot tell which network namespace this is: ${errorText(error)}\n`);
    return 1;
  }
  const dir = controlDir(io.runDir ?? DEFAULT_RUN_DIR);
  const what = `carpd ${request.command}`;

  const found = await askEveryDaemon(dir, netnsId, 'status', io.timeoutMs ?? STATUS_TIMEOUT_MS, request.pid);
  if ('denied' in found) {
    io.stderr.write(`carpd: ${what} needs root (permission denied on ${found.denied})\n`);
    return EX_NOPERM;
  }
  if ('error' in found) {
    io.stderr.write(`carpd: ${found.error}\n`);
    return 1;
  }
  if (request.pid !== undefined) {
    if (found.answers.length === 0 && found.failures.length === 0) {
      io.stderr.write(`carpd: no carpd with pid ${request.pid} answers in this network namespace\n`);
      return 1;
    }
  }
  for (const failure of found.failures) io.stderr.write(`carpd: ${failure}\n`);
  const daemons = found.answers.map((answer) => answer.status);
  if (daemons.length === 0) {
    if (found.failures.length === 0) io.stderr.write(`carpd: no carpd is running in this network namespace (no live control socket in ${dir})\n`);
    return 1;
  }
  const allAnswered = found.failures.length === 0;

  if (request.command === 'status') {
    io.stdout.write(request.json ? `${JSON.stringify(mergeSnapshots(daemons), null, 2)}\n` : formatStatus(daemons, (io.now ?? (() => new Date()))()));
    return allAnswered ? 0 : 1;
  }

  const reloadable = found.answers.filter((answer) => answer.status.configFile !== null);
  for (const { status } of found.answers) {
    if (status.configFile === null) io.stdout.write(`pid ${status.pid}: started without --config, nothing to reload\n`);
  }
  if (reloadable.length === 0) {
    io.stderr.write('carpd: no carpd in this network namespace was started with --config; nothing to reload\n');
    return 1;
  }
  const results = await Promise.all(
    reloadable.map(async ({ path, status }) => ({ status, answer: await ask(path, 'reload', io.timeoutMs ?? RELOAD_TIMEOUT_MS) })),
  );
  let allReloaded = allAnswered;
  for (const { status, answer } of results) {
    const daemon = `pid ${status.pid} (${status.configFile})`;
    const reply = answer.kind === 'answer' ? reloadReply(answer.response) : undefined;
    if (reply?.ok === true) {
      io.stdout.write(`${daemon}: ${reply.message}\n`);
      continue;
    }
    allReloaded = false;
    const why = reply !== undefined ? reply.message : answer.kind === 'failed' ? answer.message : answer.kind === 'denied' ? 'permission denied' : 'it exited';
    io.stderr.write(`carpd: reload of ${daemon} failed: ${why}\n`);
  }
  return allReloaded ? 0 : 1;
}

type Arguments = { usage: string } | { command: ControlCommand; json: boolean; help: boolean; pid: number | undefined };

function parseArguments(argv: readonly string[]): Arguments {
  const [command, ...options] = argv;
  if (command !== 'status' && command !== 'reload') return { usage: `unknown command ${JSON.stringify(command ?? '')}` };
  let json = false;
  let help = false;
  let pid: number | undefined;
  for (const option of options) {
    const pidMatch = /^--pid=(.*)$/.exec(option);
    if (option === '--json' && command === 'status') json = true;
    else if (option === '--help' || option === '-h') help = true;
    else if (pidMatch !== null) {
      // One daemon only: systemd's ExecReload names its own ($MAINPID).
      if (!/^[1-9][0-9]{0,9}$/.test(pidMatch[1]!)) return { usage: `--pid must be a process id, got ${JSON.stringify(pidMatch[1])}` };
      pid = Number(pidMatch[1]);
    } else return { usage: `unknown option ${JSON.stringify(option)} for carpd ${command}` };
  }
  return { command, json, help, pid };
}

// ---- asking the daemons ---------------------------------------------------------------------

interface StatusAnswer {
  readonly path: string;
  readonly status: DaemonSnapshot;
}

type Survey = { answers: StatusAnswer[]; failures: string[] } | { denied: string } | { error: string };

/** Every control socket of namespace `netnsId` in `dir`, asked at once, answers sorted by pid. */
async function askEveryDaemon(dir: string, netnsId: string, command: ControlCommand, timeoutMs: number, onlyPid?: number): Promise<Survey> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { answers: [], failures: [] }; // no carpd has run since boot
    if (code === 'EACCES' || code === 'EPERM') return { denied: dir };
    return { error: `cannot read ${dir}: ${errorText(error)}` };
  }
  const sockets = names.flatMap((name) => {
    const pid = controlSocketPid(name, netnsId);
    // --pid: that daemon's socket alone, so another daemon's trouble cannot fail its reload.
    return pid === undefined || (onlyPid !== undefined && pid !== onlyPid) ? [] : [{ pid, path: join(dir, name) }];
  });
  const replies = await Promise.all(sockets.map(async (socket) => ({ ...socket, answer: await ask(socket.path, command, timeoutMs) })));

  const answers: StatusAnswer[] = [];
  const failures: string[] = [];
  for (const { pid, path, answer } of replies) {
    switch (answer.kind) {
      case 'denied':
        return { denied: path };
      case 'stale':
        // Nobody listens: the carpd that made it was killed before it could clean up. Removed
        // only when its pid is gone, since a carpd between bind(2) and listen(2) refuses too.
        if (!isAlive(pid)) rmSync(path, { force: true });
        break;
      case 'failed':
        failures.push(`carpd pid ${pid} did not answer: ${answer.message} (socket ${path})`);
        break;
      case 'answer': {
        const status = statusReply(answer.response);
        if (status === undefined) failures.push(`carpd pid ${pid} gave an answer this carpd does not understand (a different version?) (socket ${path})`);
        else answers.push({ path, status });
      }
    }
  }
  answers.sort((a, b) => a.status.pid - b.status.pid);
  return { answers, failures };
}

type Answer =
  | { readonly kind: 'answer'; readonly response: unknown }
  /** Nobody listens on the socket (ECONNREFUSED) or it vanished (ENOENT): a dead daemon's. */
  | { readonly kind: 'stale' }
  | { readonly kind: 'denied' }
  | { readonly kind: 'failed'; readonly message: string };

/** One request, one line of answer. Never rejects. */
function ask(path: string, command: ControlCommand, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    const response = new LineBuffer(MAX_RESPONSE_BYTES);
    let settled = false;
    const settle = (answer: Answer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const finish = (line: string): void => {
      try {
        settle({ kind: 'answer', response: JSON.parse(line) });
      } catch {
        settle({ kind: 'failed', message: 'its answer is not JSON' });
      }
    };
    const timer = setTimeout(() => settle({ kind: 'failed', message: `no answer within ${timeoutMs / 1000} s` }), timeoutMs);
    socket.on('connect', () => socket.write(encodeRequest(command)));
    socket.on('data', (chunk: Buffer) => {
      const line = response.push(chunk);
      if (typeof line === 'string') finish(line);
      else if (line !== undefined) settle({ kind: 'failed', message: `its answer is longer than ${MAX_RESPONSE_BYTES} bytes` });
    });
    socket.on('end', () => finish(response.text()));
    socket.on('error', (error) => {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ECONNREFUSED' || code === 'ENOENT') settle({ kind: 'stale' });
      else if (code === 'EACCES' || code === 'EPERM') settle({ kind: 'denied' });
      else settle({ kind: 'failed', message: errorText(error) });
    });
  });
}

/** The snapshot in a status answer, if it has the shape this client relies on. */
function statusReply(response: unknown): DaemonSnapshot | undefined {
  if (!isRecord(response) || response.ok !== true || !isRecord(response.status)) return undefined;
  const status = response.status;
  if (typeof status.pid !== 'number' || !Array.isArray(status.vhosts) || !Array.isArray(status.links)) return undefined;
  return status as unknown as DaemonSnapshot;
}

function reloadReply(response: unknown): { ok: boolean; message: string } | undefined {
  if (!isRecord(response) || typeof response.ok !== 'boolean' || typeof response.message !== 'string') return undefined;
  return { ok: response.ok, message: response.message };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

// ---- output (pure) --------------------------------------------------------------------------

/**
 * `carpd status --json`: one object for the whole namespace, the vhosts of every daemon side by
 * side as operators' checks want them (`jq '.vhosts[] | select(.state == "MASTER")'`), and the
 * daemons themselves beside them.
 */
export function mergeSnapshots(daemons: readonly DaemonSnapshot[]): {
  vhosts: VhostSnapshot[];
  daemons: Array<Pick<DaemonSnapshot, 'pid' | 'version' | 'configFile' | 'startedAt' | 'links' | 'checks'>>;
} {
  return {
    vhosts: daemons.flatMap((daemon) => daemon.vhosts),
    daemons: daemons.map(({ pid, version, configFile, startedAt, links, checks }) => ({ pid, version, configFile, startedAt, links, checks })),
  };
}

/**
 * `carpd status`: one table row per vhost with what fits in a column, then two indented lines
 * for what does not (the last transition's reason, the counters). Counters that are zero are
 * left out, so whatever is printed is worth reading.
 */
export function formatStatus(daemons: readonly DaemonSnapshot[], now: Date): string {
  const vhosts = daemons.flatMap((daemon) => daemon.vhosts);
  if (vhosts.length === 0) return `no virtual hosts (carpd pid ${daemons.map((daemon) => daemon.pid).join(', ')})\n`;
  const withGroup = vhosts.some((vhost) => vhost.group !== null);
  const header = ['VHOST', 'INTERFACE', 'VHID', 'STATE', 'SINCE', 'MASTER', ...(withGroup ? ['GROUP'] : []), 'VIPS'];
  const rows = vhosts.map((vhost) => [
    vhost.name,
    vhost.interface,
    // A VRRP vhost's id is its VRID; the protocol beside it tells the two apart.
    vhost.protocol !== undefined && vhost.protocol !== 'carp' ? `${vhost.vhid} ${vhost.protocol}` : String(vhost.vhid),
    vhost.linkUp ? vhost.state : `${vhost.state} (link down)`,
    since(vhost.since, now),
    vhost.state === 'MASTER' ? 'this node' : (vhost.master ?? '-'),
    ...(withGroup ? [vhost.group ?? '-'] : []),
    vhost.vips.length > 0 ? vhost.vips.join(', ') : '-',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]): string => cells.map((cell, column) => (column < cells.length - 1 ? cell.padEnd(widths[column]!) : cell)).join('  ');

  const out = [line(header)];
  vhosts.forEach((vhost, index) => {
    out.push(line(rows[index]!), `  ${lastTransition(vhost)}`, `  ${counters(vhost)}`);
    const tracked = tracks(vhost);
    if (tracked !== undefined) out.push(`  ${tracked}`);
  });
  return `${out.join('\n')}\n`;
}

function lastTransition(vhost: VhostSnapshot): string {
  const last = vhost.lastTransition;
  // The daemon's own log line for it, so the two can be matched by eye.
  return last === null ? 'no transition yet' : `last transition ${last.from} -> ${last.to} (${last.reason})`;
}

function counters(vhost: VhostSnapshot): string {
  const parts = [`adverts sent ${vhost.advertsSent}, received ${vhost.advertsReceived}`];
  const drops = nonZero(vhost.drops);
  parts.push(drops === '' ? 'no drops' : `dropped ${drops}`);
  if (vhost.sendErrors > 0) parts.push(`send errors ${vhost.sendErrors}`);
  if (vhost.otherMasterHeard > 0) parts.push(`another master heard ${vhost.otherMasterHeard} times while master (split brain?)`);
  const scriptTrouble = nonZero(Object.fromEntries(Object.entries(vhost.scriptRuns).filter(([outcome]) => outcome !== 'ok')));
  if (scriptTrouble !== '') parts.push(`scripts ${scriptTrouble}`);
  return parts.join('; ');
}

/** What the vhost tracks, one phrase each ("check "nginx" failed (exit 7 after 0.03 s)"); undefined if nothing. */
function tracks(vhost: VhostSnapshot): string | undefined {
  const items = vhost.tracks ?? [];
  if (items.length === 0 && !vhost.demotion) return undefined;
  const words = items.map((t) => {
    const what = t.kind === 'check' ? `check "${t.name}"` : t.kind === 'interface' ? `interface ${t.name}` : `file ${t.name}`;
    const state = t.kind === 'interface' && t.state !== 'unknown' ? (t.state === 'healthy' ? 'up' : 'down') : t.state;
    return `${what} ${state}${t.weight > 0 ? ` (weight ${t.weight})` : ''}${t.state === 'failed' && t.detail ? `: ${t.detail}` : ''}`;
  });
  const advertised = vhost.advertisedPriority !== null && vhost.advertisedPriority !== undefined ? `priority ${vhost.advertisedPriority}` : `advskew ${vhost.advertisedAdvskew}`;
  const demoted = vhost.demotion > 0 ? `; demoted by ${vhost.demotion}: advertising ${advertised}` : '';
  return `tracking ${words.join(', ')}${demoted}`;
}

function nonZero(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts)
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ');
}

/** `2025-03-01 10:00:00 UTC (2 h 5 min ago)`; UTC, so the output does not depend on $TZ. */
function since(iso: string, now: Date): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const when = `${at.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  return `${when} (${formatAge(now.getTime() - at.getTime())} ago)`;
}

/** Two units at most: `45 s`, `3 min 12 s`, `2 h 5 min`, `3 d 4 h`. A clock stepped back reads `0 s`. */
export function formatAge(milliseconds: number): string {
  const seconds = Math.max(0, Math.floor(milliseconds / 1000));
  const units: Array<[string, number]> = [
    ['d', 86_400],
    ['h', 3_600],
    ['min', 60],
    ['s', 1],
  ];
  const first = units.findIndex(([, size]) => seconds >= size);
  if (first === -1) return '0 s';
  const [bigName, bigSize] = units[first]!;
  const big = Math.floor(seconds / bigSize);
  const next = units[first + 1];
  if (next === undefined) return `${big} ${bigName}`;
  const small = Math.floor((seconds % bigSize) / next[1]);
  return small === 0 ? `${big} ${bigName}` : `${big} ${bigName} ${small} ${next[0]}`;
}

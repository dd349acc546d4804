// CPU and memory of one implementation on one node: the daemon processes and every descendant
// (carpd's `ip monitor` and any arping or `ip` it runs; ucarp's up/down scripts), read from /proc.
// The parsers are pure and tested; the readers only read /proc, which has no namespaces for pids
// that matter here (the lab's namespaces are network namespaces only).
import { readdirSync, readFileSync } from 'node:fs';

export interface StatFields {
  pid: number;
  comm: string;
  ppid: number;
  /** Clock ticks: utime, stime of the process; cutime, cstime of children it has waited for. */
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
}

/** Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and may hold spaces and ')'. */
export function parseStat(text: string): StatFields {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(text.slice(0, 80))}`);
  // rest[0] is field 3 (state), so field k is rest[k - 3]: ppid 4, utime 14, stime 15, cutime 16, cstime 17.
  const rest = text.slice(close + 2).trim().split(' ');
  const field = (k: number): number => {
    const v = Number(rest[k - 3]);
    if (!Number.isFinite(v)) throw new Error(`/proc/<pid>/stat field ${k} is not a number: ${JSON.stringify(rest[k - 3])}`);
    return v;
  };
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    ppid: field(4),
    utime: field(14),
    stime: field(15),
    cutime: field(16),
    cstime: field(17),
  };
}

/** A `Key:  1234 kB` line of /proc/<pid>/status or smaps_rollup, in kB; undefined if absent. */
export function kbField(text: string, key: string): number | undefined {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Every pid in the trees rooted at `roots` (roots included when they are still in the table). */
export function descendants(roots: readonly number[], parentOf: ReadonlyMap<number, number>): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parentOf) {
    const siblings = children.get(ppid);
    if (siblings) siblings.push(pid);
    else children.set(ppid, [pid]);
  }
  const seen = new Set<number>();
  const stack = roots.filter((r) => parentOf.has(r));
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return [...seen].sort((a, b) => a - b);
}

export interface ProcessSample {
  pid: number;
  comm: string;
  /** utime + stime + cutime + cstime, clock ticks: its own CPU and that of children it reaped. */
  ticks: number;
  rssKb: number | undefined;
  /** Proportional set size: shared pages (libc, libpcap) divided among the processes sharing them. */
  pssKb: number | undefined;
  /** Sum of every thread's on-CPU time (schedstat), ns; live threads only. */
  schedNs: number | undefined;
}

export interface TreeSample {
  atMs: number;
  processes: ProcessSample[];
}

export interface TreeTotals {
  processes: number;
  /** comm → count, e.g. { node: 1, ip: 1 }. */
  commands: Record<string, number>;
  ticks: number;
  rssKb: number;
  pssKb: number | undefined;
  schedNs: number | undefined;
}

export function totals(sample: TreeSample): TreeTotals {
  const commands: Record<string, number> = {};
  for (const p of sample.processes) commands[p.comm] = (commands[p.comm] ?? 0) + 1;
  const sumOf = (pick: (p: ProcessSample) => number | undefined): number | undefined =>
    sample.processes.every((p) => pick(p) !== undefined) ? sample.processes.reduce((a, p) => a + pick(p)!, 0) : undefined;
  return {
    processes: sample.processes.length,
    commands,
    ticks: sample.processes.reduce((a, p) => a + p.ticks, 0),
    rssKb: sample.processes.reduce((a, p) => a + (p.rssKb ?? 0), 0),
    pssKb: sumOf((p) => p.pssKb),
    schedNs: sumOf((p) => p.schedNs),
  };
}

/**
 * CPU ticks spent by the tree between two samples. Each sample counts a process's own time plus
 * what it reaped, so a child that lived and died inside the window still counts (in its
 * parent's cutime), and a process that existed at both ends counts once.
 */
export function ticksBetween(before: TreeSample, after: TreeSample): number {
  return totals(after).ticks - totals(before).ticks;
}

// ---- readers ----------------------------------------------------------------------------------

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // The process exited between listing and reading: it is simply not in the sample.
    return undefined;
  }
}

/** pid → ppid of every process on the machine. */
function processTable(): Map<number, number> {
  const table = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readOrUndefined(`/proc/${name}/stat`);
    if (stat !== undefined) table.set(Number(name), parseStat(stat).ppid);
  }
  return table;
}

function schedNs(pid: number): number | undefined {
  try {
    let total = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    return Number.isFinite(total) ? total : undefined;
  } catch {
    return undefined;
  }
}

/** Samples the daemon processes `roots` and all their descendants. */
export function sampleTree(roots: readonly number[]): TreeSample {
  const atMs = Date.now();
  const processes: ProcessSample[] = [];
  for (const pid of descendants(roots, processTable())) {
    const stat = readOrUndefined(`/proc/${pid}/stat`);
    const status = readOrUndefined(`/proc/${pid}/status`);
    if (stat === undefined || status === undefined) continue;
    const s = parseStat(stat);
    const rollup = readOrUndefined(`/proc/${pid}/smaps_rollup`);
    processes.push({
      pid,
      comm: s.comm,
      ticks: s.utime + s.stime + s.cutime + s.cstime,
      rssKb: kbField(status, 'VmRSS'),
      pssKb: rollup !== undefined ? kbField(rollup, 'Pss') : undefined,
      schedNs: schedNs(pid),
    });
  }
  return { atMs, processes };
}

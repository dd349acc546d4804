// Small helpers for the host-layer tests. Their network namespaces come from the one lab,
// scripts/lab (NamespaceSet, through useNamespaceSet() in test/helpers/lab.ts).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { HostLogger } from '../../lib/host/types.js';

/** A HostLogger that keeps every line, for assertions. */
export class RecordingLogger implements HostLogger {
  readonly lines: Array<{ level: 'debug' | 'info' | 'warn' | 'error'; msg: string }> = [];
  debug(msg: string): void {
    this.lines.push({ level: 'debug', msg });
  }
  info(msg: string): void {
    this.lines.push({ level: 'info', msg });
  }
  warn(msg: string): void {
    this.lines.push({ level: 'warn', msg });
  }
  error(msg: string): void {
    this.lines.push({ level: 'error', msg });
  }
  at(level: 'debug' | 'info' | 'warn' | 'error'): string[] {
    return this.lines.filter((line) => line.level === level).map((line) => line.msg);
  }
  text(): string {
    return this.lines.map((line) => `[${line.level}] ${line.msg}`).join('\n');
  }
}

/** Polls until fn returns true or timeoutMs passes; returns whether it became true. */
export async function waitFor(fn: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}

/**
 * Stand-ins for other carpd processes in lock and registration tests: live ones (a `sleep`
 * this object kills in killAll) and dead ones (the pid of a process that has exited).
 */
export class StandInProcesses {
  private readonly live: ChildProcess[] = [];

  livePid(): number {
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    this.live.push(sleeper);
    return sleeper.pid!;
  }

  deadPid(): number {
    return spawnSync('true').pid;
  }

  killAll(): void {
    for (const sleeper of this.live.splice(0)) sleeper.kill('SIGKILL');
  }
}

/**
 * Runs `body` (an async function body, ES module code) in a Node process inside network
 * namespace ns, with `io` bound to an opened HostIo (dist/lib/host/host-io.js: `npm run build`
 * first) installed as the daemon installs it, and `log` collecting its lines; resolves to what
 * the body returns, with the lines. Code that drives carpd's own netlink and packet sockets must
 * run inside the namespace whose addresses it changes: never in the test runner's own.
 */
export function inNamespaceWithHostIo(ns: string, body: string): { result: unknown; lines: string[] } {
  const root = new URL('../../', import.meta.url);
  const code = `
    const { HostIo, useHostIo } = await import(${JSON.stringify(new URL('dist/lib/host/host-io.js', root).href)});
    const { VipManager } = await import(${JSON.stringify(new URL('dist/lib/host/vip.js', root).href)});
    const { ipv4, ipv6 } = await import(${JSON.stringify(new URL('dist/lib/net/address.js', root).href)});
    const lines = [];
    const log = { debug: (m) => lines.push('debug ' + m), info: (m) => lines.push('info ' + m), warn: (m) => lines.push('warn ' + m), error: (m) => lines.push('error ' + m) };
    const io = HostIo.open(log);
    if (io === undefined) throw new Error('HostIo did not open: ' + lines.join('; '));
    useHostIo(io);
    const result = await (async () => { ${body} })();
    io.close();
    process.stdout.write(JSON.stringify({ result, lines }));
  `;
  return nodeInNamespace(ns, code) as { result: unknown; lines: string[] };
}

/** Node in network namespace ns running `code` (ES module); what it wrote to stdout, parsed as JSON. */
export function nodeInNamespace(ns: string, code: string): unknown {
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`node in ${ns} failed (status ${String(r.status)}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

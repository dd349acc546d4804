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

// A long-running process inside a lab namespace. `ip netns exec` enters the namespace and then
// execs the command, so the pid we hold is the command's own pid and signals reach it directly.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { NAMESPACE_PREFIX } from './safety.js';

export interface ProcessExit {
  code: number | null;
  signal: string | null;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  /** Stdout and stderr are also appended to this file (useful for the demo and CI artefacts). */
  logFile?: string;
}

export interface LabProcess {
  readonly pid: number;
  /** Everything written to stdout and stderr so far, interleaved in arrival order. */
  output(): string;
  /** Stdout alone, for parsers that must not see the program's diagnostics. */
  stdout(): string;
  /** Resolves with the first match of `re` in the output (past or future). */
  waitForOutput(re: RegExp, timeoutMs: number): Promise<string>;
  signal(sig: NodeJS.Signals): void;
  readonly exited: Promise<ProcessExit>;
  readonly hasExited: boolean;
  /** SIGTERM, then SIGKILL if it has not exited after timeoutMs. */
  stop(timeoutMs?: number): Promise<void>;
}

const DEFAULT_STOP_TIMEOUT_MS = 3_000;

export function spawnInNamespace(ns: string, cmd: string, args: string[], o: SpawnOptions = {}): LabProcess {
  assertLabNamespace(ns);
  const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new SpawnedProcess(child, [cmd, ...args].join(' '), o.logFile);
}

class SpawnedProcess implements LabProcess {
  readonly pid: number;
  readonly exited: Promise<ProcessExit>;
  private text = '';
  private stdoutText = '';
  private done = false;
  private readonly listeners = new Set<() => void>();
  private readonly log: WriteStream | undefined;

  constructor(
    private readonly child: ChildProcess,
    private readonly commandLine: string,
    logFile: string | undefined,
  ) {
    // spawn() reports a missing executable asynchronously through 'error'; the pid is then
    // undefined. -1 keeps the type simple and can never be signalled by mistake (guarded below).
    this.pid = child.pid ?? -1;
    this.log = logFile ? createWriteStream(logFile, { flags: 'a' }) : undefined;
    const append = (chunk: Buffer): void => {
      const s = chunk.toString('utf8');
      this.text += s;
      this.log?.write(s);
      for (const notify of this.listeners) notify();
    };
    child.stdout?.on('data', (chunk: Buffer) => {
      this.stdoutText += chunk.toString('utf8');
      append(chunk);
    });
    child.stderr?.on('data', append);
    this.exited = new Promise<ProcessExit>((resolve) => {
      child.on('error', (err) => {
        this.text += `\n[lab] could not run ${commandLine}: ${err.message}\n`;
        this.finish();
        resolve({ code: null, signal: null });
      });
      // 'close' (not 'exit') fires after the pipes are drained, so output() is complete by then.
      child.on('close', (code, signal) => {
        this.finish();
        resolve({ code, signal });
      });
    });
  }

  get hasExited(): boolean {
    return this.done;
  }

  output(): string {
    return this.text;
  }

  stdout(): string {
    return this.stdoutText;
  }

  waitForOutput(re: RegExp, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = re.exec(this.text);
        if (m) {
          cleanup();
          resolve(m[0]);
          return true;
        }
        if (this.done) {
          cleanup();
          reject(new Error(`${this.commandLine} exited before printing ${String(re)}; output:\n${this.tail()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.commandLine} did not print ${String(re)} within ${timeoutMs} ms; output:\n${this.tail()}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      const listener = (): void => {
        check();
      };
      if (!check()) this.listeners.add(listener);
    });
  }

  signal(sig: NodeJS.Signals): void {
    if (this.done || this.pid <= 0) return;
    try {
      process.kill(this.pid, sig);
    } catch (err) {
      // ESRCH: it exited between our check and the kill; anything else is a real problem.
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }

  async stop(timeoutMs = DEFAULT_STOP_TIMEOUT_MS): Promise<void> {
    if (this.done) return;
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.signal('SIGKILL');
      await this.exited;
    }
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.log?.end();
    for (const notify of this.listeners) notify();
  }

  private tail(): string {
    return this.text.length > 4000 ? `…${this.text.slice(-4000)}` : this.text;
  }
}

/** The lab only ever runs things inside namespaces it created; anything else is a bug in the caller. */
export function assertLabNamespace(ns: string): void {
  if (!ns.startsWith(NAMESPACE_PREFIX)) {
    throw new Error(`refusing to run outside a lab namespace: ${JSON.stringify(ns)} does not start with ${NAMESPACE_PREFIX}`);
  }
}

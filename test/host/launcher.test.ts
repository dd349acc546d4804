// The launcher shell (lib/host/launcher.ts) and runCommand through it: the same results as a
// direct spawn, for every way a command can end.
import { afterEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../lib/host/command.js';
import { currentLauncher, Launcher, shellQuote, useLauncher } from '../../lib/host/launcher.js';

describe('shellQuote', () => {
  it.each([["a'b", `'a'\\''b'`], ['$HOME;x', `'$HOME;x'`], ['', `''`]])('%j', (word, quoted) => {
    expect(shellQuote(word)).toBe(quoted);
  });
});

describe('runCommand through the launcher', () => {
  let launcher: Launcher | undefined;
  const start = () => {
    launcher = new Launcher();
    useLauncher(launcher);
    return launcher;
  };
  afterEach(() => {
    useLauncher(undefined);
    launcher?.close();
  });

  it('passes every word as it is (no shell syntax reaches the program), stdin, stdout, stderr and the exit status', async () => {
    start();
    const r = await runCommand('sh', ['-c', 'read line; echo "$line" "$1"; echo oops >&2; exit 3', 'sh', "a'b $HOME;|"], { timeoutMs: 5_000, input: 'from stdin\n' });
    expect(r).toMatchObject({ exitCode: 3, stdout: "from stdin a'b $HOME;|\n", stderr: 'oops\n', failed: true, timedOut: false, canceled: false });
  });

  it('a program that does not exist is a spawn error, as with a direct spawn', async () => {
    start();
    const r = await runCommand('carpd-no-such-program', [], { timeoutMs: 5_000 });
    expect(r.failed).toBe(true);
    expect(r.exitCode).toBeUndefined();
    expect(r.spawnError).toMatch(/not found/);
  });

  it('kills a command at its timeout and reports it', async () => {
    start();
    const started = performance.now();
    const r = await runCommand('sleep', ['10'], { timeoutMs: 200 });
    expect(r).toMatchObject({ timedOut: true, failed: true, signal: 'SIGTERM' });
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('kills a command when it is cancelled', async () => {
    start();
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(), 100);
    const r = await runCommand('sleep', ['10'], { timeoutMs: 10_000, cancelSignal: cancel.signal });
    expect(r).toMatchObject({ canceled: true, failed: true });
  });

  it('a cancel kills what the command started too (xargs and its children)', async () => {
    start();
    const cancel = new AbortController();
    // Two sleeps with a duration no other process uses, to find them again.
    const marker = `30.${process.pid}`;
    const run = runCommand('xargs', ['-n', '1', '-P', '0', 'sleep'], { timeoutMs: 10_000, cancelSignal: cancel.signal, input: `${marker}1\n${marker}2\n` });
    await new Promise((r) => setTimeout(r, 300));
    cancel.abort();
    expect((await run).canceled).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    const { execFileSync } = await import('node:child_process');
    const left = (() => {
      try {
        return execFileSync('pgrep', ['-f', `sleep ${marker}`], { encoding: 'utf8' }).trim();
      } catch {
        return '';
      }
    })();
    expect(left).toBe('');
  });

  it('runs commands side by side (a lingering one does not hold up the next)', async () => {
    start();
    const slow = runCommand('sleep', ['1'], { timeoutMs: 5_000 });
    const started = performance.now();
    const fast = await runCommand('true', [], { timeoutMs: 5_000 });
    expect(fast.exitCode).toBe(0);
    expect(performance.now() - started).toBeLessThan(900);
    expect((await slow).exitCode).toBe(0);
  });

  it('once closed it is not used, and runCommand starts the program itself', async () => {
    const l = start();
    l.close();
    expect(currentLauncher()).toBeUndefined();
    expect(await l.run('true', [], { timeoutMs: 1_000 })).toBeUndefined();
    const r = await runCommand('sh', ['-c', 'exit 4'], { timeoutMs: 5_000 });
    expect(r.exitCode).toBe(4);
  });

  it('leaves no directory behind when carpd is killed (kill -9: nobody calls close())', async () => {
    const { execFileSync } = await import('node:child_process');
    const { existsSync } = await import('node:fs');
    // The built module (the suite's global setup builds dist/): a plain node runs it.
    const module = new URL('../../dist/lib/host/launcher.js', import.meta.url).pathname;
    // A process that starts a launcher, prints its directory and SIGKILLs itself.
    const script = `import { Launcher } from ${JSON.stringify(module)}; const l = new Launcher(); console.log(l.dir); process.kill(process.pid, 'SIGKILL');`;
    let out = '';
    try {
      out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    } catch (error) {
      out = String((error as { stdout?: string }).stdout ?? '');
    }
    const dir = out.trim();
    expect(dir).toMatch(/carpd-launcher-/);
    const { waitFor } = await import('../../scripts/lab/wait.js');
    await waitFor(() => !existsSync(dir), 3_000, 20, 'the launcher directory removed by the shell itself');
  });

  it('a shell that dies is reported once and falls back', async () => {
    const reasons: string[] = [];
    launcher = new Launcher((reason) => reasons.push(reason));
    useLauncher(launcher);
    // The shell's pid is not exposed; closing its input from outside is what carpd's death does.
    (launcher as unknown as { child: { kill(): void } }).child.kill();
    await new Promise((r) => setTimeout(r, 200));
    expect(reasons).toHaveLength(1);
    expect(currentLauncher()).toBeUndefined();
    expect((await runCommand('true', [], { timeoutMs: 5_000 })).exitCode).toBe(0);
  });
});

import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';

/**
 * Writes our pid, refusing when the file names a process that is still alive (a second carpd
 * for the same stanza). A stale file from a crash is replaced. Returns an error line or
 * undefined.
 */
export function createPidfile(path: string): string | undefined {
  try {
    const previous = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    if (Number.isInteger(previous) && previous > 0 && previous !== process.pid && isAlive(previous)) {
      return `pidfile ${path} names running process ${previous}: is another carpd running?`;
    }
  } catch {
    // no previous file: the normal case
  }
  try {
    writeFileSync(path, `${process.pid}\n`, { mode: 0o644 });
    return undefined;
  } catch (error) {
    return `cannot write pidfile ${path}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

export function removePidfile(path: string): void {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    // Only our own: never delete the pidfile of a carpd that replaced us.
    if (pid === process.pid) unlinkSync(path);
  } catch {
    // already gone
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

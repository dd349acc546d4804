import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { errorText } from '../errors.js';

/**
 * Files that hold a pid: the --pidfile, the per-vhid instance lock (instance-lock.ts) and the
 * --nomcast neighbour's user files (neigh.ts). They share one rule: a file naming a live process
 * belongs to it; a file naming a dead one is a leftover of a crash and may be taken over.
 */

/**
 * Writes our pid, refusing when the file names a process that is still alive (a second carpd
 * for the same stanza). A stale file from a crash is replaced. Returns an error line or
 * undefined.
 */
export function createPidfile(path: string): string | undefined {
  const claim = claimPidFile(path);
  if (claim.claimed) return undefined;
  if ('holder' in claim) return `pidfile ${path} names running process ${claim.holder}: is another carpd running?`;
  return `cannot write pidfile ${path}: ${claim.error}`;
}

export function removePidfile(path: string): void {
  releasePidFile(path);
}

export type PidFileClaim =
  | { readonly claimed: true }
  /** The file names this live process (not us). */
  | { readonly claimed: false; readonly holder: number }
  /** The file could not be read or written: the errno message. */
  | { readonly claimed: false; readonly error: string };

/** Attempts at replacing a stale file before giving up: only a racing process makes it loop. */
const CLAIM_ATTEMPTS = 5;

/**
 * Makes `path` hold our pid unless it names another live process. The file is written under a
 * temporary name and linked into place, which fails if the name exists: a reader never sees a
 * half-written (empty) file that it would take for stale, and of two processes starting at the
 * same moment exactly one gets the file. A stale file is removed only if it still holds the dead
 * pid we read, and the claim is retried. (A process that reads the same stale pid and unlinks
 * in the microseconds between another's re-read and unlink can still win over it; only two
 * starts racing for a crashed one's file could do that.) The directory must exist.
 */
export function claimPidFile(path: string, pid = process.pid): PidFileClaim {
  const temporary = `${path}.${pid}.tmp`;
  try {
    writeFileSync(temporary, `${pid}\n`, { mode: 0o644 });
  } catch (error) {
    return { claimed: false, error: errorText(error) };
  }
  try {
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      try {
        createExclusive(temporary, path, pid);
        return { claimed: true };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return { claimed: false, error: errorText(error) };
      }
      const holder = readPid(path);
      if (holder === pid) {
        // Ours already (a restart with the same pid, or a second claim): keep it.
        return { claimed: true };
      }
      if (holder !== undefined && isAlive(holder)) return { claimed: false, holder };
      // Stale (dead pid, or not a pid at all); gone in between is fine too.
      if (readPid(path) === holder) unlinkQuietly(path);
    }
    return { claimed: false, error: `still taken after ${CLAIM_ATTEMPTS} attempts (another process keeps replacing it)` };
  } finally {
    unlinkQuietly(temporary);
  }
}

/** Removes `path` if it still holds our pid: never the file of a process that replaced us. */
export function releasePidFile(path: string, pid = process.pid): void {
  if (readPid(path) === pid) unlinkQuietly(path);
}

/** The pid a file holds; undefined when it is missing, unreadable or not a pid. */
export function readPid(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
  if (!/^[1-9]\d{0,9}$/.test(text)) return undefined;
  const pid = Number(text);
  return pid <= 0x7fffffff ? pid : undefined;
}

/**
 * Whether a process with this pid exists (signal 0 checks without sending). EPERM means it
 * exists but belongs to another user: alive. A pid reused by an unrelated process after a crash
 * also counts as alive; it errs on the side of refusing, and /run is emptied at boot.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** link(2) the complete temporary into place; where hard links are refused, an O_EXCL write. */
function createExclusive(temporary: string, path: string, pid: number): void {
  try {
    linkSync(temporary, path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
    writeFileSync(path, `${pid}\n`, { mode: 0o644, flag: 'wx' });
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}


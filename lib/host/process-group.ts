import { readdirSync, readFileSync } from 'node:fs';

/**
 * Process groups of the children carpd runs detached (scripts, health checks): each is the
 * leader of a group of its own, so one signal reaches everything it started.
 */

/** Signals a whole process group; false when it has no members left. */
export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is gone
  }
}

/**
 * Whether a process group still has a live (non-zombie) member. kill(-pgid, 0) alone is not
 * enough: it also succeeds for members that died but that init has not reaped yet.
 */
export function groupHasLiveMembers(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true; // no /proc: assume the worst
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
    } catch {
      // exited while we looked
    }
  }
  return false;
}

export interface GroupEnd {
  /** SIGTERM was not enough: the group was still alive after the grace period. */
  readonly sentKill: boolean;
  /** Something survived even SIGKILL for a second (a process stuck in the kernel, state D). */
  readonly survived: boolean;
}

/** How often terminateGroup() looks whether the group is gone. */
const GROUP_POLL_MS = 20;
/** How long a SIGKILLed group may take to disappear before we give up waiting. */
const AFTER_KILL_WAIT_MS = 1000;

/**
 * Ends a process group and resolves once no live member is left: SIGTERM, then SIGKILL if
 * anything is still alive graceMs later. Returns at once when the group is already gone. Never
 * rejects and never waits forever: a process that survives SIGKILL is reported, not awaited.
 */
export async function terminateGroup(pgid: number, graceMs: number): Promise<GroupEnd> {
  if (!groupHasLiveMembers(pgid)) return { sentKill: false, survived: false };
  killGroup(pgid, 'SIGTERM');
  if (await groupGoneWithin(pgid, graceMs)) return { sentKill: false, survived: false };
  killGroup(pgid, 'SIGKILL');
  const gone = await groupGoneWithin(pgid, AFTER_KILL_WAIT_MS);
  return { sentKill: true, survived: !gone };
}

async function groupGoneWithin(pgid: number, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (!groupHasLiveMembers(pgid)) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(GROUP_POLL_MS, left)));
  }
}

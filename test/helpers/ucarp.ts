// Starting Debian's real ucarp 1.5.2 on a lab host, for the interoperability tests.
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab, LabHost, LabProcess } from '../../scripts/lab/lab.js';

/** Where Debian's package installs it (scripts/bootstrap installs the package). */
export const UCARP_INSTALLED = '/usr/sbin/ucarp';

// ucarp does not move the VIP itself: its scripts do (`<script> <if> <vip>`).
export const UP_SCRIPT = fileURLToPath(new URL('../fixtures/lab/vip-up.sh', import.meta.url));
export const DOWN_SCRIPT = fileURLToPath(new URL('../fixtures/lab/vip-down.sh', import.meta.url));

let privateCopy: string | undefined;

/**
 * A private copy of /usr/sbin/ucarp, made once per test process. test/package/deb.test.ts
 * installs carpd's .deb, which Conflicts: ucarp, so dpkg removes /usr/sbin/ucarp until that
 * test restores it; a copy keeps a run that overlaps it (another engineer's, on the same
 * machine) from losing the binary half-way. The program is the same bytes as Debian's. The
 * copy goes after the test file (removeUcarpCopy, from test/helpers/setup.ts).
 */
export function ucarpBinary(): string {
  if (privateCopy !== undefined) return privateCopy;
  if (!existsSync(UCARP_INSTALLED)) {
    throw new Error(
      `${UCARP_INSTALLED} not found: the interop tests need Debian's ucarp (sudo scripts/bootstrap, ` +
        'or apt-get install ucarp; test/package/deb.test.ts removes it while it runs)',
    );
  }
  // The pid in the name lets scripts/lab-clean.sh tell a killed run's copy from a live one's.
  const dir = mkdtempSync(join(tmpdir(), `carpd-ucarp-${process.pid}-`));
  const copy = join(dir, 'ucarp');
  privateCopy = copy;
  // vitest ends its workers without a normal exit, so removeUcarpCopy() runs after every test
  // file (test/helpers/setup.ts); this is for other users of the helper.
  process.once('exit', removeUcarpCopy);
  copyFileSync(UCARP_INSTALLED, copy);
  return copy;
}

/** Removes this process's copy of ucarp, if it made one; the next ucarpBinary() makes another. */
export function removeUcarpCopy(): void {
  if (privateCopy === undefined) return;
  rmSync(dirname(privateCopy), { recursive: true, force: true });
  privateCopy = undefined;
}

export interface UcarpOptions {
  vhid?: number;
  password?: string;
  advbase?: number;
  advskew?: number;
  preempt?: boolean;
  /** -M: adverts in Ethernet broadcast frames. */
  nomcast?: boolean;
  /** Without the up/down scripts ucarp never touches the address (a peer that only talks). */
  scripts?: boolean;
  extra?: string[];
}

/**
 * ucarp's command line for a host of the lab (VIP = lab.vip()). `-z` because ucarp handles
 * SIGTERM cleanly (down-script, then exit) only with it; `-f none` keeps syslog out of it,
 * its lines go to stderr where the test reads them.
 */
export function ucarpArgs(lab: Lab, host: LabHost, o: UcarpOptions = {}): string[] {
  return [
    '-i', 'eth0',
    '-s', host.address,
    '-v', String(o.vhid ?? 42),
    '-p', o.password ?? 'love',
    '-a', lab.vip(),
    '-b', String(o.advbase ?? 1),
    '-k', String(o.advskew ?? 0),
    ...(o.preempt ? ['-P'] : []),
    ...(o.nomcast ? ['-M'] : []),
    ...(o.scripts === false ? [] : ['-u', UP_SCRIPT, '-d', DOWN_SCRIPT]),
    '-z', '-f', 'none',
    ...(o.extra ?? []),
  ];
}

export function startUcarp(lab: Lab, host: LabHost, o: UcarpOptions = {}): LabProcess {
  return host.spawn(ucarpBinary(), ucarpArgs(lab, host, o));
}

/** How many times a ucarp process announced a switch to `state` so far. */
export function ucarpSwitches(p: LabProcess, state: 'MASTER' | 'BACKUP'): number {
  return p.output().split('\n').filter((l) => l.includes(`Switching to state: ${state}`)).length;
}

// Starting the real carpd (bin/carpd, built into dist/ by the global setup) on a lab host.
import { fileURLToPath } from 'node:url';
import type { Lab, LabHost, LabProcess } from '../../scripts/lab/lab.js';
import { waitFor } from './lab.js';

export const CARPD = fileURLToPath(new URL('../../bin/carpd', import.meta.url));

export interface CarpdOptions {
  vhid?: number;
  password?: string;
  advbase?: number;
  advskew?: number;
  extra?: string[];
}

/** The ucarp-style command line for a host of the lab (VIP = lab.vip()). */
export function carpdArgs(lab: Lab, host: LabHost, o: CarpdOptions = {}): string[] {
  return [
    '--interface=eth0',
    `--srcip=${host.address}`,
    `--vhid=${o.vhid ?? 42}`,
    `--pass=${o.password ?? 'love'}`,
    `--addr=${lab.vip()}`,
    `--advbase=${o.advbase ?? 1}`,
    `--advskew=${o.advskew ?? 0}`,
    ...(o.extra ?? []),
  ];
}

export function startCarpd(lab: Lab, host: LabHost, o: CarpdOptions = {}): LabProcess {
  return host.spawn(process.execPath, [CARPD, ...carpdArgs(lab, host, o)]);
}

export async function vipHolders(lab: Lab): Promise<LabHost[]> {
  const has = await Promise.all(lab.hosts.map((h) => h.hasAddress(lab.vip())));
  return lab.hosts.filter((_, k) => has[k]);
}

/**
 * Waits until one and the same host alone has held the VIP for stableMs; right after an
 * election two hosts may both hold it for a moment, and one sample would catch that.
 */
export async function singleMaster(lab: Lab, timeoutMs: number, stableMs = 1_500): Promise<LabHost> {
  let candidate: LabHost | undefined;
  let since = 0;
  return waitFor(
    async () => {
      const h = await vipHolders(lab);
      const only = h.length === 1 ? h[0] : undefined;
      if (only !== candidate) {
        candidate = only;
        since = Date.now();
      }
      return candidate && Date.now() - since >= stableMs ? candidate : undefined;
    },
    timeoutMs,
    50,
    `one host alone holding the VIP for ${stableMs} ms`,
  );
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

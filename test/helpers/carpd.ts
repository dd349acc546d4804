// Starting the real carpd (bin/carpd, built into dist/ by the global setup) on a lab host.
import { fileURLToPath } from 'node:url';
import type { Lab, LabHost, LabProcess } from '../../scripts/lab/lab.js';

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

export function vipHolders(lab: Lab): Promise<LabHost[]> {
  return lab.vipHolders();
}

/** See Lab.waitForSingleHolder. */
export function singleMaster(lab: Lab, timeoutMs: number, stableMs = 1_500): Promise<LabHost> {
  return lab.waitForSingleHolder(timeoutMs, stableMs);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

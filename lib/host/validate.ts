import { parseIpv4 } from '../net/address.js';
import { isValidInterfaceName } from '../net/names.js';

/**
 * Fail-fast checks for values the host layer puts on a command line. The config layer has
 * validated them already; these catch wiring mistakes with one message template that names the
 * option, what is accepted and the value received. They throw because a bad value here is a
 * programming error, never a runtime condition.
 */

export function checkInterfaceName(option: string, value: string): void {
  if (!isValidInterfaceName(value)) {
    throw new TypeError(`${option} must be a network interface name (1-15 bytes, no '/', ':' or spaces), got ${JSON.stringify(value)}`);
  }
}

export function checkIpv4(option: string, value: string): void {
  if (typeof value !== 'string' || parseIpv4(value) === undefined) {
    throw new TypeError(`${option} must be a dotted-quad IPv4 address, got ${JSON.stringify(value)}`);
  }
}

export function checkInteger(option: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`${option} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
}

export function checkCommandPrefix(option: string, value: readonly string[] | undefined): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || value.length === 0 || !value.every((part) => typeof part === 'string' && part !== '')) {
    throw new TypeError(`${option} must be a non-empty array of non-empty strings, got ${JSON.stringify(value)}`);
  }
}

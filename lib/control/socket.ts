import { join } from 'node:path';
import type { DaemonSnapshot } from './types.js';

/**
 * The control socket's one home: where it lives, how its name is made and read back, and what
 * travels over it. server.ts and client.ts both use these, so the two sides cannot disagree.
 *
 * Path: `<runDir>/control/<netnsId>-<pid>.sock`. Several carpd processes may run in one network
 * namespace (one per config file or command line), and namespaces share /run: the netns prefix
 * lets `carpd status` pick out the daemons whose interfaces it can see, the pid tells two of
 * them apart and says whether a leftover file belongs to a process that is gone.
 *
 * Wire format: the client sends one line of JSON, `{"command":"status"}` or
 * `{"command":"reload"}`; the server answers one line of JSON and closes.
 */

export type ControlCommand = 'status' | 'reload';

export type ControlResponse =
  | { readonly ok: true; readonly status: DaemonSnapshot }
  | { readonly ok: boolean; readonly message: string };

/** A request is a command name and a newline; anything this long is not one. */
export const MAX_REQUEST_BYTES = 4096;

export function controlDir(runDir: string): string {
  return join(runDir, 'control');
}

export function controlSocketPath(runDir: string, netnsId: string, pid: number): string {
  return join(controlDir(runDir), `${netnsId}-${pid}.sock`);
}

/** The pid in a control socket's file name if it belongs to namespace `netnsId`, else undefined. */
export function controlSocketPid(fileName: string, netnsId: string): number | undefined {
  const prefix = `${netnsId}-`;
  if (!fileName.startsWith(prefix) || !fileName.endsWith('.sock')) return undefined;
  const digits = fileName.slice(prefix.length, -'.sock'.length);
  return /^[1-9]\d{0,9}$/.test(digits) ? Number(digits) : undefined;
}

export function encodeRequest(command: ControlCommand): string {
  return `${JSON.stringify({ command })}\n`;
}

/**
 * What a request line asks for, or the one line to answer instead. Pure: anything a client
 * sends comes out as one of these two, never as an exception.
 */
export function parseRequest(line: string): { command: ControlCommand } | { error: string } {
  let request: unknown;
  try {
    request = JSON.parse(line);
  } catch {
    return { error: 'bad request: expected one line of JSON like {"command":"status"}' };
  }
  if (typeof request !== 'object' || request === null || !('command' in request) || typeof request.command !== 'string') {
    return { error: 'bad request: expected one line of JSON like {"command":"status"}' };
  }
  const { command } = request;
  if (command === 'status' || command === 'reload') return { command };
  // Quoted and cut short: the answer stays one short line whatever the client sent.
  return { error: `unknown command ${JSON.stringify(command.slice(0, 40))} (expected "status" or "reload")` };
}

/**
 * Collects bytes up to the first newline, refusing to hold more than `maxBytes` of them: a peer
 * that never sends a newline costs at most that much memory. Decoded only once complete, so a
 * multi-byte character split across two reads is not mangled.
 */
export class LineBuffer {
  private readonly chunks: Buffer[] = [];
  private length = 0;

  constructor(private readonly maxBytes: number) {}

  /** The first complete line (without its newline), `tooLong`, or undefined while incomplete. */
  push(chunk: Buffer): string | { tooLong: true } | undefined {
    const newline = chunk.indexOf(0x0a);
    const used = newline === -1 ? chunk : chunk.subarray(0, newline);
    if (this.length + used.length > this.maxBytes) return { tooLong: true };
    this.chunks.push(used);
    this.length += used.length;
    return newline === -1 ? undefined : this.text();
  }

  /** What arrived without a newline, for a peer that ends its side after the last line. */
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

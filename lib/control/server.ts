import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { errorText } from '../errors.js';
import { DEFAULT_RUN_DIR } from '../host/run-dir.js';
import type { Logger } from '../log.js';
import { controlDir, controlSocketPath, LineBuffer, MAX_REQUEST_BYTES, parseRequest, type ControlResponse } from './socket.js';
import type { ControlTarget, ReloadResult } from './types.js';

/**
 * The running daemon's end of `carpd status` and `carpd reload`: a Unix socket that answers one
 * request per connection (wire format in socket.ts). Only root may connect: the directory is
 * 0700, so nobody else can even reach the socket, and the socket itself is 0600 in case the
 * directory's mode is ever loosened by hand.
 *
 * The daemon's VIPs matter more than any client, so a client gets bounded resources: a request
 * of at most MAX_REQUEST_BYTES, REQUEST_TIME_LIMIT_MS to send it (and as long to close after the
 * answer), MAX_CONNECTIONS open at once. A reload is not timed here: the target bounds it.
 * Whatever happens on a connection is at most one debug line; nothing a client sends can throw
 * into the daemon.
 */

export interface ControlServerOptions {
  readonly target: ControlTarget;
  /** Default /run/carpd; tests pass a directory of their own. */
  readonly runDir?: string;
  /** Our network namespace (currentNetnsId()), the first part of the socket's name. */
  readonly netnsId: string;
  readonly pid: number;
  readonly log: Logger;
  /** Time a client has to send its request, and to close after the answer; default 5 s. */
  readonly requestTimeLimitMs?: number;
}

export interface ControlServer {
  readonly path: string;
  /** Stops listening, drops open connections and removes the socket file. Idempotent. */
  close(): Promise<void>;
}

/** A request is one short line written at once; a client still silent after this is stuck. */
const REQUEST_TIME_LIMIT_MS = 5_000;
/** `carpd status` opens one connection per daemon; more than this at once is a runaway script. */
const MAX_CONNECTIONS = 16;

export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const runDir = options.runDir ?? DEFAULT_RUN_DIR;
  const path = controlSocketPath(runDir, options.netnsId, options.pid);
  try {
    // The run directory itself stays 0755 as instance-lock.ts makes it; only control/ is root's.
    mkdirSync(runDir, { recursive: true, mode: 0o755 });
    mkdirSync(controlDir(runDir), { recursive: true, mode: 0o700 });
    chmodSync(controlDir(runDir), 0o700);
    // A socket file with our name was left by an earlier process that had our pid in this
    // namespace: that process is gone (we have its pid now), and bind(2) refuses an existing name.
    rmSync(path, { force: true });
  } catch (error) {
    throw new Error(`cannot create the control socket ${path}: ${errorText(error)}`);
  }

  const connections = new Set<Socket>();
  const reloads = new ReloadQueue(options.target);
  // Half-open: a client may send its line and end its side (socat, `nc -N`) and still get the answer.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    serveConnection(socket, options.target, reloads, options.log, options.requestTimeLimitMs ?? REQUEST_TIME_LIMIT_MS);
  });
  server.maxConnections = MAX_CONNECTIONS;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new Error(`cannot listen on the control socket ${path}: ${errorText(error)}`)));
    server.listen(path, () => resolve());
  });
  // After listen() the only errors are accept(2) failures (EMFILE...): not worth more than a line.
  server.on('error', (error) => options.log.warn(`control socket ${path}: ${errorText(error)}`));
  try {
    chmodSync(path, 0o600);
  } catch (error) {
    server.close();
    rmSync(path, { force: true });
    throw new Error(`cannot restrict the control socket ${path} to root: ${errorText(error)}`);
  }

  let closing: Promise<void> | undefined;
  return {
    path,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        for (const socket of connections) socket.destroy();
        server.close(() => {
          rmSync(path, { force: true });
          resolve();
        });
      });
      return closing;
    },
  };
}

/**
 * Reloads run one at a time: two `carpd reload` started together must not apply two config
 * files' worth of changes interleaved. A second request waits for the first and then reloads
 * again, since the file may have changed in between.
 */
class ReloadQueue {
  private last: Promise<unknown> = Promise.resolve();

  constructor(private readonly target: ControlTarget) {}

  run(): Promise<ReloadResult> {
    const result = this.last.then(() => this.target.reload());
    this.last = result.catch(() => undefined);
    return result;
  }
}

function serveConnection(socket: Socket, target: ControlTarget, reloads: ReloadQueue, log: Logger, timeLimitMs: number): void {
  const request = new LineBuffer(MAX_REQUEST_BYTES);
  let answered = false;
  let noted = false;
  // One line per connection at most, whatever goes wrong on it, however often.
  const note = (what: string): void => {
    if (noted) return;
    noted = true;
    log.debug(`control connection: ${what}`);
  };
  const limit = (what: string): NodeJS.Timeout =>
    setTimeout(() => {
      note(what);
      socket.destroy();
    }, timeLimitMs).unref();

  let timer = limit(`no request within ${timeLimitMs / 1000} s, closed`);
  socket.on('close', () => clearTimeout(timer));
  socket.on('error', (error) => note(errorText(error)));

  const answer = (line: string | { tooLong: true }): void => {
    answered = true;
    clearTimeout(timer);
    void respond(line, target, reloads, log)
      .then((response) => {
        if (socket.destroyed) return; // the client gave up while a reload ran
        socket.end(`${encodeResponse(response, log)}\n`);
        timer = limit('client did not close after the answer, dropped');
      })
      .catch((error: unknown) => note(errorText(error)));
  };
  socket.on('data', (chunk: Buffer) => {
    if (answered) return; // one request per connection; the rest is ignored
    const line = request.push(chunk);
    if (line !== undefined) answer(line);
  });
  // A client may end its side instead of sending the newline.
  socket.on('end', () => {
    if (!answered) answer(request.text());
  });
}

/** Never rejects: a failure becomes an `ok: false` answer. */
async function respond(line: string | { tooLong: true }, target: ControlTarget, reloads: ReloadQueue, log: Logger): Promise<ControlResponse> {
  if (typeof line !== 'string') return { ok: false, message: `bad request: longer than ${MAX_REQUEST_BYTES} bytes` };
  const request = parseRequest(line);
  if ('error' in request) return { ok: false, message: request.error };
  try {
    if (request.command === 'status') return { ok: true, status: target.snapshot() };
    const result = await reloads.run();
    return { ok: result.ok, message: result.message };
  } catch (error) {
    // The target threw: a bug in the daemon, not the client's doing, so it is worth a warning.
    log.warn(`control: ${request.command} failed: ${errorText(error)}`);
    return { ok: false, message: `${request.command} failed inside carpd: ${errorText(error)}` };
  }
}

/** The answer's line. A snapshot JSON cannot encode (a BigInt, a cycle) is a daemon bug: say so. */
function encodeResponse(response: ControlResponse, log: Logger): string {
  try {
    return JSON.stringify(response);
  } catch (error) {
    log.warn(`control: cannot encode the answer: ${errorText(error)}`);
    return JSON.stringify({ ok: false, message: `cannot encode the answer inside carpd: ${errorText(error)}` });
  }
}

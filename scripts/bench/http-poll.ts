// The client's HTTP view of a failover, run by checks.ts inside the client's namespace:
//
//   node dist/scripts/bench/http-poll.js <url> <interval-ms> <timeout-ms>
//
// starts a GET every interval (not after the previous one ends, so a request stuck on a stale
// ARP entry does not delay the next), each on a new connection (no keep-alive: a connection
// opened to the old master must not decide where the next request goes), and prints one line
// per request as it ends (bench/checks-figures.ts formats and parses it):
//
//   http <start ms> <end ms> ok <status> <body>
//   http <start ms> <end ms> error <reason>
//
// It runs until it is signalled; SIGINT/SIGTERM end it at once.
import { get } from 'node:http';
import { formatHttpAttempt, type HttpAttempt } from './checks-figures.js';

/** Requests still open at once; more means the VIP leads nowhere, and more would only load the machine. */
const MAX_IN_FLIGHT = 32;
const MAX_BODY_BYTES = 256;

function usage(message: string): never {
  process.stderr.write(`http-poll: ${message}\nUsage: http-poll <url> <interval-ms 5..1000> <timeout-ms 10..10000>\n`);
  process.exit(64);
}

function integerArg(raw: string | undefined, name: string, min: number, max: number): number {
  if (raw === undefined || !/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    usage(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw ?? '')}`);
  }
  return Number(raw);
}

const [url, intervalRaw, timeoutRaw] = process.argv.slice(2);
if (url === undefined || !/^http:\/\//.test(url)) usage(`url must start with http://, got ${JSON.stringify(url ?? '')}`);
const intervalMs = integerArg(intervalRaw, 'interval-ms', 5, 1000);
const timeoutMs = integerArg(timeoutRaw, 'timeout-ms', 10, 10_000);

let inFlight = 0;

function report(a: HttpAttempt): void {
  inFlight--;
  process.stdout.write(`${formatHttpAttempt(a)}\n`);
}

function request(): void {
  if (inFlight >= MAX_IN_FLIGHT) return;
  inFlight++;
  const startMs = Date.now();
  let done = false;
  const finish = (a: Omit<HttpAttempt, 'startMs' | 'endMs'>): void => {
    if (done) return;
    done = true;
    report({ startMs, endMs: Date.now(), ...a });
  };
  const req = get(url!, { agent: false, timeout: timeoutMs, headers: { connection: 'close' } }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      if (body.length < MAX_BODY_BYTES) body += chunk;
    });
    res.on('end', () => finish({ ok: true, status: res.statusCode ?? 0, body: body.trim().slice(0, 64).replace(/\s+/g, ' ') }));
    res.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, error: err.code ?? err.message }));
  });
  req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
  req.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, error: err.code ?? err.message.replace(/\s+/g, '_') }));
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));
request();
setInterval(request, intervalMs);

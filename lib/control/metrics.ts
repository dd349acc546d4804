import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorText } from '../errors.js';
import type { Logger } from '../log.js';
import type { ControlTarget, DaemonSnapshot, VhostSnapshot, VhostState } from './types.js';

/**
 * `--metrics addr:port`: the Prometheus text format on GET /metrics, built from one
 * `target.snapshot()` per scrape. prom-client is loaded by startMetricsServer itself, so a
 * daemon without --metrics never loads it.
 *
 * Every scrape builds a fresh Registry from that snapshot and throws it away. The daemon already
 * keeps the cumulative counts (the same ones `carpd status` prints), so there is nothing to
 * increment per event here; a Counter created at scrape time and inc()'d once by the count
 * reports exactly that count with `# TYPE ... counter`, which a Gauge would not (rate() and
 * increase() want counters). A long-lived registry would instead need reset()-then-inc() in a
 * collect callback, one snapshot per metric, and care that two overlapping scrapes do not
 * interleave; a per-scrape registry has none of that, for a few dozen small objects per scrape.
 */

export interface MetricsServerOptions {
  readonly host: string;
  readonly port: number;
  readonly target: ControlTarget;
  readonly log: Logger;
}

export interface MetricsServer {
  /** The address actually bound (as the OS reports it). */
  readonly address: string;
  /** The port actually bound: the one asked for, or the one the OS picked for port 0. */
  readonly port: number;
  close(): Promise<void>;
}

type PromClient = typeof import('prom-client');

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const prom = await import('prom-client');
  const server = createServer((request, response) => {
    void handle(prom, options, request, response);
  });
  // A scraper sends one small GET; anything slower or bigger is not a scraper.
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  server.maxHeadersCount = 64;

  const where = hostPort(options.host, options.port);
  await listen(server, options.host, options.port).catch((error: unknown) => {
    throw new Error(`cannot serve metrics on ${where}: ${listenErrorText(error)}`);
  });
  server.on('error', (error) => options.log.warn(`metrics server on ${where}: ${errorText(error)}`));
  const bound = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    address: bound.address,
    port: bound.port,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // a scraper's keep-alive connection would hold close() open
      });
      return closing;
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    try {
      // exclusive: with cluster never in use this changes nothing, and it keeps the bind our own.
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    } catch (error) {
      reject(error); // a port out of range throws here rather than emitting 'error'
    }
  });
}

/** Bind failures an operator can act on, said plainly; the errno code kept for searching. */
function listenErrorText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EADDRINUSE':
      return 'the port is already in use (EADDRINUSE)';
    case 'EADDRNOTAVAIL':
      return 'no interface of this host has that address (EADDRNOTAVAIL)';
    case 'EACCES':
      return 'permission denied (EACCES; ports below 1024 need root)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `unknown host (${code})`;
    default:
      return errorText(error);
  }
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

async function handle(prom: PromClient, options: MetricsServerOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  response.on('error', (error) => options.log.debug(`metrics request: ${errorText(error)}`));
  const path = (request.url ?? '').split('?')[0];
  if (path !== '/metrics') {
    reply(response, 404, 'text/plain; charset=utf-8', 'not found: the metrics are at /metrics\n');
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    reply(response, 405, 'text/plain; charset=utf-8', 'method not allowed: use GET\n');
    return;
  }
  try {
    const body = await renderMetrics(prom, options.target.snapshot());
    reply(response, 200, prom.Registry.PROMETHEUS_CONTENT_TYPE, request.method === 'HEAD' ? '' : body);
  } catch (error) {
    // The snapshot threw: a bug in the daemon, not the scraper's doing. One line, then a 500.
    options.log.warn(`metrics: cannot collect: ${errorText(error)}`);
    reply(response, 500, 'text/plain; charset=utf-8', 'cannot collect the metrics; see the carpd log\n');
  }
}

function reply(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  response.end(body);
}

// ---- the metrics ----------------------------------------------------------------------------

const STATE_VALUE: Record<VhostState, number> = { INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3 };
const STATES = Object.keys(STATE_VALUE) as VhostState[];
/** Outcomes types.ts documents, exported at 0 from the start so the first failure shows in increase(). */
const SCRIPT_OUTCOMES = ['ok', 'failed', 'timeout', 'error'];
const VHOST_LABELS = ['vhost', 'interface', 'vhid'] as const;

type VhostLabels = Record<(typeof VHOST_LABELS)[number], string>;

/** The Prometheus text for one snapshot. */
async function renderMetrics(prom: PromClient, snapshot: DaemonSnapshot): Promise<string> {
  const registry = new prom.Registry();
  const registers = [registry]; // never prom-client's global registry
  const gauge = (name: string, help: string, labelNames: readonly string[] = VHOST_LABELS) =>
    new prom.Gauge({ name, help, labelNames, registers });
  const counter = (name: string, help: string, labelNames: readonly string[] = VHOST_LABELS) =>
    new prom.Counter({ name, help, labelNames, registers });

  const state = gauge('carpd_vhost_state', 'Current state of the virtual host: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.');
  const stateInfo = gauge('carpd_vhost_state_info', '1 for the state the virtual host is in, 0 for the others.', [...VHOST_LABELS, 'state']);
  const transitions = counter('carpd_transitions_total', 'State transitions, by kind.', [...VHOST_LABELS, 'from', 'to']);
  const advertsSent = counter('carpd_adverts_sent_total', 'Advertisements sent.');
  const advertsReceived = counter('carpd_adverts_received_total', 'Advertisements received for this virtual host that passed every check.');
  const drops = counter('carpd_drops_total', 'Advertisements for this vhid that failed a check, by reason.', [...VHOST_LABELS, 'reason']);
  const scriptRuns = counter('carpd_script_runs_total', 'Up/down script runs, by outcome: ok, failed, timeout, error.', [...VHOST_LABELS, 'outcome']);
  const otherMaster = counter(
    'carpd_other_master_heard_total',
    'Advertisements from another node claiming MASTER while this one was MASTER (split-brain evidence).',
  );
  const sendErrors = counter('carpd_send_errors_total', 'Advertisements that could not be sent.');
  // One link per interface and address family: an interface with both IPv4 and IPv6 vhosts has
  // two sockets with their own drops, which without the label would be summed into one series.
  const linkDrops = counter('carpd_link_drops_total', 'Packets dropped before they could be matched to a virtual host, by reason.', [
    'interface',
    'family',
    'reason',
  ]);
  const interfaceUp = gauge('carpd_link_up', '1 when the interface is up.', ['interface', 'family']);
  const demotion = gauge('carpd_vhost_demotion', 'What failing weighted checks, tracked interfaces and files take off (CARP: advskew added; VRRP: priority subtracted; 0: none).');
  const priority = gauge('carpd_vhost_priority', 'VRRP virtual hosts: the priority advertised now (the configured one minus any demotion).');
  const trackHealthy = gauge(
    'carpd_track_healthy',
    'Checks, tracked interfaces and track files of a virtual host: 1 healthy, 0 failed (absent until first known).',
    [...VHOST_LABELS, 'kind', 'name'],
  );
  const checkRuns = counter('carpd_check_runs_total', 'Health check runs, by outcome: ok, failed, timeout, error.', ['check', 'outcome']);
  const residentMemory = gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', []);

  for (const vhost of snapshot.vhosts) {
    const labels = vhostLabels(vhost);
    state.set(labels, STATE_VALUE[vhost.state]);
    for (const each of STATES) stateInfo.set({ ...labels, state: each }, each === vhost.state ? 1 : 0);
    for (const [kind, count] of Object.entries(everyTransition(vhost.transitions))) {
      const [from = kind, to = ''] = kind.split('->');
      transitions.inc({ ...labels, from, to }, count);
    }
    advertsSent.inc(labels, vhost.advertsSent);
    advertsReceived.inc(labels, vhost.advertsReceived);
    for (const [reason, count] of Object.entries(vhost.drops)) drops.inc({ ...labels, reason }, count);
    const outcomes: Record<string, number> = Object.fromEntries(SCRIPT_OUTCOMES.map((outcome) => [outcome, 0]));
    for (const [outcome, count] of Object.entries({ ...outcomes, ...vhost.scriptRuns })) scriptRuns.inc({ ...labels, outcome }, count);
    otherMaster.inc(labels, vhost.otherMasterHeard);
    sendErrors.inc(labels, vhost.sendErrors);
    demotion.set(labels, vhost.demotion ?? 0);
    if (vhost.advertisedPriority !== null && vhost.advertisedPriority !== undefined) priority.set(labels, vhost.advertisedPriority);
    for (const track of vhost.tracks ?? []) {
      if (track.state !== 'unknown') trackHealthy.set({ ...labels, kind: track.kind, name: track.name }, track.state === 'healthy' ? 1 : 0);
    }
  }
  for (const check of snapshot.checks ?? []) {
    for (const [outcome, count] of Object.entries(check.runs)) checkRuns.inc({ check: check.name, outcome }, count);
  }
  for (const link of snapshot.links) {
    const labels = { interface: link.interface, family: `ipv${link.family}` };
    interfaceUp.set(labels, link.up ? 1 : 0);
    for (const [reason, count] of Object.entries(link.drops)) linkDrops.inc({ ...labels, reason }, count);
  }
  residentMemory.set(process.memoryUsage.rss());
  return registry.metrics();
}

function vhostLabels(vhost: VhostSnapshot): VhostLabels {
  return { vhost: vhost.name, interface: vhost.interface, vhid: String(vhost.vhid) };
}

/**
 * The six kinds of transition between the three states, at 0 unless the snapshot counted some:
 * a series that appears only at its first increment hides that increment from increase().
 */
function everyTransition(counted: Readonly<Record<string, number>>): Record<string, number> {
  const all: Record<string, number> = {};
  for (const from of STATES) for (const to of STATES) if (from !== to) all[`${from}->${to}`] = 0;
  return { ...all, ...counted };
}

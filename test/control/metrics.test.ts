import { afterEach, describe, expect, it } from 'vitest';
import { startMetricsServer, type MetricsServer } from '../../lib/control/metrics.js';
import { daemonSnapshot, FakeTarget, RecordingLogger, vhostSnapshot } from './helpers.js';

// A real HTTP server on 127.0.0.1, port chosen by the OS; scraped with fetch().
const servers: MetricsServer[] = [];
let log: RecordingLogger;

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function start(target = new FakeTarget()): Promise<{ server: MetricsServer; url: string }> {
  log = new RecordingLogger();
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0, target, log });
  servers.push(server);
  return { server, url: `http://127.0.0.1:${server.port}` };
}

const WEB = 'vhost="web",interface="eth0",vhid="10"';

describe('startMetricsServer', () => {
  it('serves every series from the snapshot, counters typed as counters', async () => {
    const target = new FakeTarget(
      daemonSnapshot({
        vhosts: [
          vhostSnapshot({ sendErrors: 2, otherMasterHeard: 1, scriptRuns: { ok: 2, failed: 1 } }),
          vhostSnapshot({ name: 'db', interface: 'eth1', vhid: 20, state: 'BACKUP', transitions: { 'INIT->BACKUP': 1 } }),
        ],
        links: [
          { interface: 'eth0', family: 4, up: true, drops: { 'bad-ttl': 5, 'unknown-vhid': 0 } },
          { interface: 'eth0', family: 6, up: true, drops: { 'bad-ttl': 2 } },
          { interface: 'eth1', family: 4, up: false, drops: {} },
        ],
      }),
    );
    const { server, url } = await start(target);
    expect(server.address).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);

    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const lines = (await response.text()).split('\n');

    for (const [name, type] of [
      ['carpd_vhost_state', 'gauge'],
      ['carpd_vhost_state_info', 'gauge'],
      ['carpd_transitions_total', 'counter'],
      ['carpd_adverts_sent_total', 'counter'],
      ['carpd_adverts_received_total', 'counter'],
      ['carpd_drops_total', 'counter'],
      ['carpd_link_drops_total', 'counter'],
      ['carpd_script_runs_total', 'counter'],
      ['carpd_other_master_heard_total', 'counter'],
      ['carpd_send_errors_total', 'counter'],
      ['carpd_link_up', 'gauge'],
      ['process_resident_memory_bytes', 'gauge'],
    ]) {
      expect(lines).toContain(`# TYPE ${name} ${type}`);
    }
    expect(lines).toEqual(
      expect.arrayContaining([
        `carpd_vhost_state{${WEB}} 2`,
        'carpd_vhost_state{vhost="db",interface="eth1",vhid="20"} 1',
        `carpd_vhost_state_info{${WEB},state="MASTER"} 1`,
        `carpd_vhost_state_info{${WEB},state="BACKUP"} 0`,
        `carpd_vhost_state_info{${WEB},state="INIT"} 0`,
        `carpd_transitions_total{${WEB},from="BACKUP",to="MASTER"} 1`,
        `carpd_transitions_total{${WEB},from="MASTER",to="BACKUP"} 0`, // present before it first happens
        'carpd_transitions_total{vhost="db",interface="eth1",vhid="20",from="BACKUP",to="MASTER"} 0',
        `carpd_adverts_sent_total{${WEB}} 7530`,
        `carpd_adverts_received_total{${WEB}} 12`,
        `carpd_drops_total{${WEB},reason="bad-auth"} 3`,
        `carpd_drops_total{${WEB},reason="bad-ttl"} 0`,
        // Each family of an interface its own series, not their sum.
        'carpd_link_drops_total{interface="eth0",family="ipv4",reason="bad-ttl"} 5',
        'carpd_link_drops_total{interface="eth0",family="ipv6",reason="bad-ttl"} 2',
        'carpd_link_drops_total{interface="eth0",family="ipv4",reason="unknown-vhid"} 0',
        `carpd_script_runs_total{${WEB},outcome="ok"} 2`,
        `carpd_script_runs_total{${WEB},outcome="failed"} 1`,
        `carpd_script_runs_total{${WEB},outcome="timeout"} 0`,
        `carpd_other_master_heard_total{${WEB}} 1`,
        `carpd_send_errors_total{${WEB}} 2`,
        'carpd_link_up{interface="eth0",family="ipv4"} 1',
        'carpd_link_up{interface="eth0",family="ipv6"} 1',
        'carpd_link_up{interface="eth1",family="ipv4"} 0',
      ]),
    );
    const rss = lines.find((line) => line.startsWith('process_resident_memory_bytes '));
    expect(Number(rss?.split(' ')[1])).toBeGreaterThan(1024 * 1024);
    // Nothing from prom-client's global registry or its default collectors.
    expect(lines.filter((line) => line.startsWith('# TYPE')).length).toBe(16);
  });

  it('gives VRRP vhosts their advertised priority and leaves it out for CARP ones', async () => {
    const target = new FakeTarget(
      daemonSnapshot({
        vhosts: [
          vhostSnapshot(),
          vhostSnapshot({ name: 'v', vhid: 51, protocol: 'vrrp2', priority: 100, advertInt: 1, demotion: 20, advertisedAdvskew: null, advertisedPriority: 80 }),
        ],
      }),
    );
    const { url } = await start(target);
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toContain('carpd_vhost_priority{vhost="v",interface="eth0",vhid="51"} 80');
    expect(text).not.toContain(`carpd_vhost_priority{${WEB}}`);
    expect(text).toContain('carpd_vhost_demotion{vhost="v",interface="eth0",vhid="51"} 20');
  });

  it('reads the snapshot again on every scrape, without adding up earlier scrapes', async () => {
    const target = new FakeTarget();
    const { url } = await start(target);
    const scrape = async (): Promise<string> => (await fetch(`${url}/metrics`)).text();
    expect(await scrape()).toContain(`carpd_adverts_sent_total{${WEB}} 7530\n`);
    expect(await scrape()).toContain(`carpd_adverts_sent_total{${WEB}} 7530\n`);
    target.snapshotValue = daemonSnapshot({ vhosts: [vhostSnapshot({ advertsSent: 7531, state: 'BACKUP' })] });
    const text = await scrape();
    expect(text).toContain(`carpd_adverts_sent_total{${WEB}} 7531\n`);
    expect(text).toContain(`carpd_vhost_state{${WEB}} 1\n`);
  });

  it('answers 404 off /metrics and 405 to anything but GET and HEAD', async () => {
    const { url } = await start();
    for (const path of ['/', '/metricsx', '/metrics/', '/favicon.ico']) {
      const response = await fetch(`${url}${path}`);
      expect(response.status, path).toBe(404);
      expect(await response.text()).toBe('not found: the metrics are at /metrics\n');
    }
    expect((await fetch(`${url}/metrics?name[]=carpd_vhost_state`)).status).toBe(200);
    const post = await fetch(`${url}/metrics`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(`${url}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('answers 500 with one warning when the snapshot throws, and carries on', async () => {
    const target = new FakeTarget();
    const snapshot = target.snapshot.bind(target);
    let broken = true;
    target.snapshot = () => {
      if (broken) throw new Error('vhost table is being rebuilt');
      return snapshot();
    };
    const { url } = await start(target);
    expect((await fetch(`${url}/metrics`)).status).toBe(500);
    expect(log.at('warn')).toEqual(['metrics: cannot collect: vhost table is being rebuilt']);
    broken = false;
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
  });

  it('rejects with one line when the port is taken', async () => {
    const { server } = await start();
    const error = await startMetricsServer({ host: '127.0.0.1', port: server.port, target: new FakeTarget(), log: new RecordingLogger() }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(`cannot serve metrics on 127.0.0.1:${server.port}: the port is already in use (EADDRINUSE)`);
  });

  it.each([
    // TEST-NET-2 (RFC 5737): an address no interface here has. bind(2) fails; nothing is sent.
    ['198.51.100.7', 9650, 'cannot serve metrics on 198.51.100.7:9650: no interface of this host has that address (EADDRNOTAVAIL)'],
    ['::ffff:198.51.100.7', 9650, 'cannot serve metrics on [::ffff:198.51.100.7]:9650: no interface of this host has that address (EADDRNOTAVAIL)'],
    ['127.0.0.1', 70000, /^cannot serve metrics on 127\.0\.0\.1:70000: .*65536/],
  ])('rejects with one line for %s port %d', async (host, port, message) => {
    const error = await startMetricsServer({ host, port, target: new FakeTarget(), log: new RecordingLogger() }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(typeof message === 'string' ? new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('close() does not wait for a scraper holding a keep-alive connection', async () => {
    const { server, url } = await start();
    expect((await fetch(`${url}/metrics`)).status).toBe(200); // fetch keeps the connection alive
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(fetch(`${url}/metrics`)).rejects.toThrow();
  });
});

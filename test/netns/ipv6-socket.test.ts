// carpd's raw IPv6 socket (native/ipv6_socket.cc through lib/net/ipv6-socket.ts) between two
// hosts of a dual-stack lab: what the CARP/VRRPv3 input checks need arrives with every datagram
// (hop limit, destination, link-local source), sends honour the hop limit and the source asked
// for, unsolicited neighbour advertisements are accepted by a real Linux neighbour, and close()
// really stops delivery. The socket runs in scripts/lab/ipv6-peer.ts inside the namespaces.
// Addresses: 2001:db8::/64 and the kernel's fe80:: link-local ones only.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { LabHost, LabProcess } from '../../scripts/lab/lab.js';
import { useLab, waitFor } from '../helpers/lab.js';

const PEER = fileURLToPath(new URL('../../dist/scripts/lab/ipv6-peer.js', import.meta.url));
const CARP_GROUP = 'ff02::12';

interface PeerEvent {
  event: string;
  payload?: string;
  src?: string;
  dst?: string;
  hopLimit?: number;
  ifindex?: number;
  code?: string;
  message?: string;
  socketsBefore?: number;
  socketsAfter?: number;
}

function peer(host: LabHost, args: string[]): LabProcess {
  return host.spawn(process.execPath, [PEER, ...args]);
}

function events(p: LabProcess): PeerEvent[] {
  return p
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as PeerEvent);
}

const packets = (p: LabProcess) => events(p).filter((e) => e.event === 'packet');

async function listen(host: LabHost, extra: string[] = []): Promise<LabProcess> {
  const p = peer(host, ['listen', ...extra]);
  await p.waitForOutput(/"event":"(ready|error)"/, 10_000);
  expect(events(p).filter((e) => e.event === 'error')).toEqual([]);
  return p;
}

async function sendFrom(host: LabHost, args: string[]): Promise<PeerEvent[]> {
  const p = peer(host, ['send', ...args]);
  const exit = await p.exited;
  expect(exit, p.output()).toEqual({ code: 0, signal: null });
  return events(p);
}

async function waitForPackets(p: LabProcess, n: number): Promise<PeerEvent[]> {
  return waitFor(() => (packets(p).length >= n ? packets(p) : undefined), 10_000, 20, `${n} packets at the listener`);
}

async function ifindex(host: LabHost): Promise<number> {
  const out = await host.exec('ip', ['-j', 'link', 'show', 'dev', 'eth0']);
  return (JSON.parse(out.stdout) as { ifindex: number }[])[0]!.ifindex;
}

/**
 * The bytes of the first packet in `tcpdump -x` output (IPv6 header onwards): the lines indented
 * by one tab. (-vv also dumps each option, indented deeper.)
 */
function firstPacketBytes(tcpdump: string): Buffer {
  const hex: string[] = [];
  let started = false;
  for (const line of tcpdump.split('\n')) {
    const m = /^\t0x([0-9a-f]{4}):\s+([0-9a-f ]+)$/.exec(line);
    if (m) {
      if (m[1] === '0000' && started) break;
      started = true;
      hex.push(m[2]!.replace(/\s+/g, ''));
    } else if (started && /^\d/.test(line)) break;
  }
  return Buffer.from(hex.join(''), 'hex');
}

describe('the raw IPv6 socket between two lab hosts', () => {
  const getLab = useLab({ hosts: 2, ipv6: true });

  it('delivers protocol-112 datagrams to ff02::12 with payload, link-local source, destination, hop limit 255 and ifindex', async () => {
    const [h1, h2] = getLab().hosts as [LabHost, LabHost];
    const listener = await listen(h2);
    const sent = await sendFrom(h1, ['--dst', CARP_GROUP, '--payload', '21010000c0ffee', '--count', '3', '--interval', '20']);
    expect(sent).toEqual([{ event: 'sent' }, { event: 'sent' }, { event: 'sent' }]);
    const got = await waitForPackets(listener, 3);
    const expected = { event: 'packet', payload: '21010000c0ffee', src: await h1.linkLocal(), dst: CARP_GROUP, hopLimit: 255, ifindex: await ifindex(h2) };
    expect(expected.src).toMatch(/^fe80::/);
    expect(got).toEqual([expected, expected, expected]);
    await listener.stop();
  });

  it('reports the hop limit a datagram arrived with: 1 when sent with hop limit 1', async () => {
    const [h1, h2] = getLab().hosts as [LabHost, LabHost];
    const listener = await listen(h2);
    await sendFrom(h1, ['--dst', CARP_GROUP, '--payload', '01', '--hop-limit', '1']);
    await sendFrom(h1, ['--dst', CARP_GROUP, '--payload', '02']);
    const got = await waitForPackets(listener, 2);
    expect(got.map((p) => [p.payload, p.hopLimit])).toEqual([
      ['01', 1],
      ['02', 255],
    ]);
    await listener.stop();
  });

  it('sends from the source given (IPV6_PKTINFO), and unicast with hop limit 255 too', async () => {
    const [h1, h2] = getLab().hosts as [LabHost, LabHost];
    const listener = await listen(h2);
    await sendFrom(h1, ['--dst', CARP_GROUP, '--payload', 'aa', '--src', h1.address6!]);
    await sendFrom(h1, ['--dst', h2.address6!, '--payload', 'bb']);
    const got = await waitForPackets(listener, 2);
    expect(got.map(({ payload, src, dst, hopLimit }) => ({ payload, src, dst, hopLimit }))).toEqual([
      { payload: 'aa', src: '2001:db8::1', dst: CARP_GROUP, hopLimit: 255 },
      // To a global address the kernel picks h1's global address (same scope, RFC 6724).
      { payload: 'bb', src: '2001:db8::1', dst: '2001:db8::2', hopLimit: 255 },
    ]);
    await listener.stop();
  });

  it('rejects a send from an address the host does not have, naming the call, the destination and the interface', async () => {
    const [h1] = getLab().hosts as [LabHost];
    const result = await sendFrom(h1, ['--dst', CARP_GROUP, '--payload', 'aa', '--src', '2001:db8::99']);
    expect(result).toEqual([
      { event: 'error', code: 'EINVAL', syscall: 'sendmsg', message: 'sendmsg to ff02::12 on eth0: Invalid argument' },
    ]);
  });

  it('fails with one line when the interface does not exist', async () => {
    const [h1] = getLab().hosts as [LabHost];
    const p = peer(h1, ['listen', '--interface', 'nosuch0']);
    expect((await p.exited).code).toBe(1);
    expect(events(p)).toEqual([{ event: 'error', code: 'ENODEV', syscall: 'ioctl', message: 'interface nosuch0: No such device' }]);
  });

  it('sends an unsolicited neighbour advertisement (Override, target, our MAC, hop limit 255) that moves the neighbour entry', async () => {
    const lab = getLab();
    const [h1, h2] = lab.hosts as [LabHost, LabHost];
    const vip = lab.vip6();
    // h2 believes the VIP lives at some other MAC, as it would after the old master held it.
    await h2.exec('ip', ['-6', 'neigh', 'replace', vip, 'lladdr', '02:00:00:00:00:99', 'dev', 'eth0', 'nud', 'stale']);
    const tcpdump = h2.spawn('tcpdump', ['-i', 'eth0', '-n', '-l', '-vv', '-x', '-c', '1', 'icmp6 and ip6[40] == 136']);
    await tcpdump.waitForOutput(/listening on eth0/, 10_000);
    const na = peer(h1, ['na', '--target', vip, '--mac', h1.mac]);
    expect(await na.exited, na.output()).toEqual({ code: 0, signal: null });
    expect(events(na)).toEqual([{ event: 'sent' }]);
    expect((await tcpdump.exited).code, tcpdump.output()).toBe(0);

    const text = tcpdump.stdout();
    expect(text).toMatch(/hlim 255/);
    expect(text).toContain(`destination link-address option (2), length 8 (1): ${h1.mac}`);
    expect(text).toMatch(new RegExp(`${(await h1.linkLocal())!} > ff02::1: \\[icmp6 sum ok\\] ICMP6, neighbor advertisement, length 32, tgt is ${vip}, Flags \\[override\\]`));
    const bytes = firstPacketBytes(text);
    expect(bytes).toHaveLength(40 + 32);
    expect(bytes[6]).toBe(58); // next header ICMPv6
    expect(bytes[7]).toBe(255); // hop limit
    const icmp = bytes.subarray(40);
    expect(icmp.readUInt16BE(2)).not.toBe(0); // the kernel filled the checksum in
    const withoutChecksum = Buffer.concat([icmp.subarray(0, 2), icmp.subarray(4)]).toString('hex');
    // type 136 code 0, Override only, target 2001:db8::50, option 2 (1 x 8 bytes) with h1's MAC
    expect(withoutChecksum).toBe(`8800${'20000000'}${'20010db8000000000000000000000050'}0201${h1.mac.replace(/:/g, '')}`);

    // A real Linux neighbour accepted it (checksum, hop limit, flags all right) and moved the entry.
    const entry = await waitFor(
      async () => {
        const out = await h2.exec('ip', ['-j', '-6', 'neigh', 'show', 'to', vip, 'dev', 'eth0']);
        const e = (JSON.parse(out.stdout) as { lladdr?: string }[])[0];
        return e?.lladdr === h1.mac ? e : undefined;
      },
      5_000,
      50,
      `h2's neighbour entry for ${vip} showing ${h1.mac}`,
    );
    expect(entry.lladdr).toBe(h1.mac);
  });

  it('sends the advertisement from the VIP itself when asked (as the kernel sends its own), Router flag when asked', async () => {
    const lab = getLab();
    const [h1, h2] = lab.hosts as [LabHost, LabHost];
    const vip = lab.vip6(1);
    await h1.exec('ip', ['-6', 'addr', 'add', `${vip}/64`, 'dev', 'eth0', 'nodad']);
    try {
      const tcpdump = h2.spawn('tcpdump', ['-i', 'eth0', '-n', '-l', '-vv', '-c', '1', `icmp6 and ip6[40] == 136 and src host ${vip}`]);
      await tcpdump.waitForOutput(/listening on eth0/, 10_000);
      const na = peer(h1, ['na', '--target', vip, '--mac', h1.mac, '--src', vip, '--router']);
      expect(await na.exited, na.output()).toEqual({ code: 0, signal: null });
      expect(events(na)).toEqual([{ event: 'sent' }]);
      expect((await tcpdump.exited).code, tcpdump.output()).toBe(0);
      expect(tcpdump.stdout()).toMatch(
        new RegExp(`hlim 255.*${vip} > ff02::1: \\[icmp6 sum ok\\] ICMP6, neighbor advertisement, length 32, tgt is ${vip}, Flags \\[router, override\\]`),
      );
    } finally {
      await h1.exec('ip', ['-6', 'addr', 'del', `${vip}/64`, 'dev', 'eth0']);
    }
  });

  it('close() stops delivery at once, gives the descriptor back, and lets the process exit', async () => {
    const [h1, h2] = getLab().hosts as [LabHost, LabHost];
    // A second socket on the same host keeps hearing everything: the datagrams did keep coming.
    const witness = await listen(h2);
    const closing = await listen(h2, ['--close-after', '2', '--linger', '1500']);
    await sendFrom(h1, ['--dst', CARP_GROUP, '--payload', 'cc', '--count', '15', '--interval', '100']);
    await waitForPackets(witness, 15);
    const exit = await Promise.race([closing.exited, new Promise((r) => setTimeout(() => r('still running'), 5_000))]);
    expect(exit, closing.output()).toEqual({ code: 0, signal: null });
    const seen = events(closing).map((e) => e.event);
    expect(seen).toEqual(['ready', 'packet', 'packet', 'closed', 'lingered']);
    const closed = events(closing).find((e) => e.event === 'closed')!;
    expect(closed.socketsAfter).toBe(closed.socketsBefore);
    await witness.stop();
  });
});

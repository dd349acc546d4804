// The IPv4 adverts' socket (lib/net/transport.ts) in two namespaces this file creates (scripts/lab's
// NamespaceSet, 198.18.0.0/15 only): what it reads, and that each datagram's age is the kernel's,
// not the event loop's.
import { beforeAll, describe, expect, it } from 'vitest';
import { useNamespaceSet } from '../helpers/lab.js';
import { nodeInNamespace } from './helpers.js';

const getLab = useNamespaceSet();
const IF = 'lan0';
let r1: string;
let r2: string;

beforeAll(async () => {
  const lab = getLab();
  const lan = await lab.add('lan');
  await lab.bridge(lan);
  [r1, r2] = (await Promise.all(
    ['r1', 'r2'].map(async (role) => {
      const ns = await lab.add(role);
      await lab.veth(ns, IF, lan, `p-${role}`);
      await lab.attach(lan, `p-${role}`);
      return ns;
    }),
  )) as [string, string];
  await lab.addr(r1, IF, '198.18.0.1/24');
  await lab.addr(r2, IF, '198.18.0.2/24');
});

const dist = (path: string): string => JSON.stringify(new URL(`../../dist/lib/${path}`, import.meta.url).href);

describe('CarpTransport receiving (carpd addon, SO_TIMESTAMPNS)', () => {
  it("hands over each datagram whole, with the time since the kernel took it, even when the event loop was busy", () => {
    // r2 sends one protocol-112 datagram to the group while r1's event loop is blocked (by the
    // spawnSync that runs r2, then a 40 ms busy wait): the age must cover that wait.
    const sender = `
      const { CarpTransport } = await import(${dist('net/transport.js')});
      const t = new CarpTransport({ interface: '${IF}', srcip: '198.18.0.2', groups: ['224.0.0.18'] });
      const d = Buffer.alloc(28);
      d.set([0x45, 0x10, 0, 28, 0, 1, 0x40, 0, 255, 112, 0, 0, 198, 18, 0, 2, 224, 0, 0, 18], 0);
      d.write('carpd-ts', 20, 'latin1');
      await t.send(d, '224.0.0.18');
      t.close();
      process.stdout.write('{}');
    `;
    const receiver = `
      const { spawnSync } = await import('node:child_process');
      const { CarpTransport } = await import(${dist('net/transport.js')});
      const { kernelClockMs } = await import(${dist('net/ipv6-socket.js')});
      const t = new CarpTransport({ interface: '${IF}', srcip: '198.18.0.1', groups: ['224.0.0.18'] });
      const got = [];
      // Its age as the daemon's link reads it: the kernel clock now, less the receive time.
      t.on('packet', (datagram, receivedMs) => got.push({ hex: datagram.toString('hex'), ageMs: kernelClockMs() - receivedMs }));
      const start = performance.now();
      const r = spawnSync('ip', ['netns', 'exec', '${r2}', process.execPath, '--input-type=module', '-e', ${JSON.stringify(sender)}], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
      const sentBy = performance.now();
      while (performance.now() - sentBy < 40) {}
      await new Promise((resolve) => setTimeout(resolve, 50));
      t.close();
      process.stdout.write(JSON.stringify({ got, sentWithinMs: sentBy - start, heldMs: performance.now() - start }));
    `;
    const out = nodeInNamespace(r1, receiver) as { got: { hex: string; ageMs: number | undefined }[]; heldMs: number };
    expect(out.got).toHaveLength(1);
    const [packet] = out.got;
    // The whole datagram, header included (checksum filled in by the kernel), payload intact.
    expect(packet!.hex.slice(0, 4)).toBe('4510');
    expect(packet!.hex.slice(18, 20)).toBe('70');
    expect(Buffer.from(packet!.hex.slice(40), 'hex').toString('latin1')).toBe('carpd-ts');
    // Received at least 40 ms before the loop read it (the busy wait), and after r1 began.
    expect(packet!.ageMs).toBeGreaterThanOrEqual(40);
    expect(packet!.ageMs).toBeLessThan(out.heldMs);
  });
});

// A small program that runs carpd's raw IPv6 socket inside a lab namespace, for the tests (the
// test process itself cannot enter a namespace). Every line it prints is one JSON object.
//
//   ipv6-peer listen --interface eth0 [--protocol 112] [--group ff02::12] [--close-after N]
//       prints {"event":"ready","ifindex":…}, then {"event":"packet",payload(hex),src,dst,hopLimit,ifindex}
//       per datagram. With --close-after: after N packets closes the socket, prints
//       {"event":"closed",socketsBefore,socketsAfter}, waits --linger ms (still printing any
//       packet, which would be a bug), prints {"event":"lingered"} and exits once nothing holds
//       the event loop (a poll handle left open would keep it running).
//   ipv6-peer send --interface eth0 --dst ff02::12 --payload <hex> [--count N] [--interval ms]
//       [--hop-limit H] [--src addr] [--protocol 112]     prints {"event":"sent"} or {"event":"error",…}
//   ipv6-peer na --interface eth0 --target 2001:db8::50 --mac 02:… [--src addr] [--router]
//
// Addresses are the caller's: the tests pass only 2001:db8::/32 and fe80::/10 ones.
import { readdirSync, readlinkSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Ipv6Socket } from '../../lib/net/ipv6-socket.js';
import { openNeighbourAdvertSocket, sendUnsolicitedNeighbourAdvert } from '../../lib/net/neighbour-advert.js';

function print(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

function printError(err: unknown): void {
  const e = err as { message?: string; code?: string; syscall?: string };
  print({ event: 'error', message: e.message ?? String(err), code: e.code, syscall: e.syscall });
}

/** How many sockets this process holds: close() must give its descriptor back. */
function openSockets(): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
    } catch {
      return false; // the directory's own descriptor, gone by now
    }
  }).length;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    interface: { type: 'string', default: 'eth0' },
    protocol: { type: 'string', default: '112' },
    group: { type: 'string', default: 'ff02::12' },
    'close-after': { type: 'string' },
    linger: { type: 'string', default: '1500' },
    dst: { type: 'string' },
    src: { type: 'string' },
    payload: { type: 'string', default: '' },
    count: { type: 'string', default: '1' },
    interval: { type: 'string', default: '50' },
    'hop-limit': { type: 'string', default: '255' },
    target: { type: 'string' },
    mac: { type: 'string' },
    router: { type: 'boolean', default: false },
  },
});

async function listen(): Promise<void> {
  const socketsBefore = openSockets();
  const socket = new Ipv6Socket({ interface: values.interface, protocol: Number(values.protocol) });
  const closeAfter = values['close-after'] === undefined ? undefined : Number(values['close-after']);
  let received = 0;
  socket.on('error', printError);
  socket.on('packet', (p) => {
    print({ event: 'packet', payload: p.payload.toString('hex'), src: p.src, dst: p.dst, hopLimit: p.hopLimit, ifindex: p.ifindex });
    received++;
    if (received === closeAfter) {
      socket.close();
      print({ event: 'closed', socketsBefore, socketsAfter: openSockets() });
      setTimeout(() => print({ event: 'lingered' }), Number(values.linger));
    }
  });
  socket.join(values.group);
  print({ event: 'ready', ifindex: socket.ifindex });
}

async function send(): Promise<void> {
  if (values.dst === undefined) throw new Error('send needs --dst');
  const socket = new Ipv6Socket({
    interface: values.interface,
    protocol: Number(values.protocol),
    hopLimit: Number(values['hop-limit']),
    receive: false,
  });
  const payload = Buffer.from(values.payload, 'hex');
  for (let k = 0; k < Number(values.count); k++) {
    // --interval 0: back to back, as fast as the kernel takes them.
    if (k > 0 && Number(values.interval) > 0) await sleep(Number(values.interval));
    try {
      await socket.send(payload, values.dst, values.src);
      print({ event: 'sent' });
    } catch (err) {
      printError(err);
    }
  }
  socket.close();
}

async function neighbourAdvert(): Promise<void> {
  if (values.target === undefined || values.mac === undefined) throw new Error('na needs --target and --mac');
  const socket = openNeighbourAdvertSocket(values.interface);
  try {
    await sendUnsolicitedNeighbourAdvert(socket, { target: values.target, mac: values.mac, router: values.router, source: values.src });
    print({ event: 'sent' });
  } catch (err) {
    printError(err);
  } finally {
    socket.close();
  }
}

const modes: Record<string, () => Promise<void>> = { listen, send, na: neighbourAdvert };
const mode = modes[positionals[0] ?? ''];
if (mode === undefined) {
  process.stderr.write('usage: ipv6-peer listen|send|na [options] (see the comment at the top of scripts/lab/ipv6-peer.ts)\n');
  process.exit(64);
}
mode().catch((err: unknown) => {
  printError(err);
  process.exitCode = 1;
});

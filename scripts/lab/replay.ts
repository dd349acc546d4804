// Record a CARP node's adverts and send them again later: the replay of issue 11, for
// test/netns/replay.test.ts. What anyone on the segment can do to a group whose master died.
//
// Run it on a lab host that runs no daemon, inside the lab's namespace:
//   node dist/scripts/lab/replay.js record --srcip 198.18.0.3 --from 198.18.0.1 --seconds 9
//     prints each protocol-112 datagram from 198.18.0.1, the IPv4 header included, as one hex
//     line on stdout, exactly as received.
//   node dist/scripts/lab/replay.js send --srcip 198.18.0.3 --file adverts.hex --interval 1 --seconds 8
//     sends those datagrams again, byte for byte with their original source address (a raw
//     socket with IP_HDRINCL sends the header it is given; the kernel only recomputes the header
//     checksum, which comes out the same), one every --interval seconds in recorded order, for
//     --seconds. Prints one JSON line: how many were sent.
// Every datagram's addresses must be in 198.18.0.0/15 or the CARP group 224.0.0.18 (checked).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CarpTransport } from '../../lib/net/transport.js';
import { IPPROTO_CARP } from '../../lib/protocol/constants.js';
import { decodeIpv4Header } from '../../lib/protocol/ipv4.js';
import { positiveOption, runAsTool } from './tool.js';

const GROUP = '224.0.0.18';

function labAddress(address: string): boolean {
  return /^198\.1[89]\.\d{1,3}\.\d{1,3}$/.test(address);
}

/** Refuses anything but a lab CARP datagram: the source in the lab's range, to the group. */
export function checkLabDatagram(datagram: Buffer): { src: string; dst: string } {
  const ip = decodeIpv4Header(datagram);
  if (ip.protocol !== IPPROTO_CARP || !labAddress(ip.src) || ip.dst !== GROUP) {
    throw new Error(`replay: not a lab CARP advert (protocol ${ip.protocol}, ${ip.src} > ${ip.dst}); only 198.18.0.0/15 to ${GROUP}`);
  }
  return { src: ip.src, dst: ip.dst };
}

async function record(srcip: string, from: string, seconds: number): Promise<number> {
  const transport = new CarpTransport({ interface: 'eth0', srcip, groups: [GROUP] });
  let count = 0;
  transport.on('packet', (datagram) => {
    try {
      if (checkLabDatagram(datagram).src !== from) return;
    } catch {
      return;
    }
    // raw-socket reuses its buffer: written out at once, synchronously.
    process.stdout.write(`${datagram.toString('hex')}\n`);
    count++;
  });
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  transport.close();
  return count;
}

async function send(srcip: string, file: string, intervalS: number, seconds: number): Promise<number> {
  const datagrams = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => Buffer.from(line.trim(), 'hex'));
  if (datagrams.length === 0) throw new Error(`replay: ${file} holds no datagram`);
  for (const d of datagrams) checkLabDatagram(d);
  const transport = new CarpTransport({ interface: 'eth0', srcip, groups: [] });
  const started = performance.now();
  let sent = 0;
  try {
    while (performance.now() - started < seconds * 1000) {
      await transport.send(datagrams[sent % datagrams.length]!, GROUP);
      sent++;
      const due = started + sent * intervalS * 1000;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    }
  } finally {
    transport.close();
  }
  return sent;
}

const positive = (name: string, raw: string | undefined): number => positiveOption('replay', name, raw, 600, 'a number of seconds');

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      srcip: { type: 'string' },
      from: { type: 'string' },
      file: { type: 'string' },
      interval: { type: 'string', default: '1' },
      seconds: { type: 'string', default: '8' },
    },
  });
  if (values.srcip === undefined || !labAddress(values.srcip)) {
    throw new Error(`replay: --srcip must be the sending host's address in 198.18.0.0/15, got ${JSON.stringify(values.srcip)}`);
  }
  const seconds = positive('seconds', values.seconds);
  if (positionals[0] === 'record') {
    if (values.from === undefined || !labAddress(values.from)) throw new Error(`replay: --from must be a lab address, got ${JSON.stringify(values.from)}`);
    return (await record(values.srcip, values.from, seconds)) > 0 ? 0 : 1;
  }
  if (positionals[0] === 'send') {
    if (values.file === undefined) throw new Error('replay: send needs --file');
    const sent = await send(values.srcip, values.file, positive('interval', values.interval), seconds);
    process.stdout.write(`${JSON.stringify({ sent })}\n`);
    return sent > 0 ? 0 : 1;
  }
  throw new Error(`replay: the first word must be record or send, got ${JSON.stringify(positionals[0])}`);
}

runAsTool(import.meta.url, main);

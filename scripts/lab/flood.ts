// A flood of bogus protocol-112 frames, for the flood test (test/netns/flood.test.ts) and the
// flood benchmark (scripts/bench-flood.ts): what anyone on the segment could send a CARP node.
//
// Run it on a lab host that runs no daemon, inside the lab's namespace (the lab starts it with
// `ip netns exec carpd-lab-…`), as
//   node dist/scripts/lab/flood.js --interface eth0 --srcip 198.18.0.3 --vhid 42 --rate 3000 --seconds 10
// Every frame goes to 224.0.0.18 from a random source in the lab's /24 (198.18.0.0/15 only,
// checked), with one defect each, in turn (FLOOD_KINDS). It prints one JSON line when done:
// how many frames of each kind the kernel took.
//
// Not sent: a bad IPv4 header checksum. A raw socket with IP_HDRINCL always has the kernel fill
// the checksum in (raw(7)), and a receiving kernel drops such a datagram before any raw socket
// would see it, so carpd's 'bad-ip-checksum' check cannot be reached from the wire.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { CarpTransport } from '../../lib/net/transport.js';
import { CARP_HEADER_LENGTH, encodeAdvertisement } from '../../lib/protocol/carp.js';
import { CARP_TTL, IPPROTO_CARP } from '../../lib/protocol/constants.js';
import { internetChecksum } from '../../lib/protocol/checksum.js';
import { encodeIpv4Header } from '../../lib/protocol/ipv4.js';
import { validateSubnet } from './safety.js';
import { positiveOption, runAsTool } from './tool.js';

/** Each kind has one defect, and the drop reason carpd gives it. */
export const FLOOD_KINDS = {
  'ttl-1': 'bad-ttl', // a routed copy of an advert: TTL 1
  'ttl-64': 'bad-ttl',
  'bad-checksum': 'bad-checksum', // our vhid, TTL 255, CARP checksum wrong
  'bad-version': 'bad-version', // CARP version 3, checksum right
  'bad-type': 'bad-type',
  'wrong-vhid': 'other-vhid', // another vhid: quiet, debug level only
  'bad-hmac': 'bad-digest', // our vhid, everything right but the digest
  'short': 'too-short', // a payload of 8 to 35 bytes
  'long': 'too-long', // 37 to 120 bytes (VRRP-sized and beyond)
} as const;
export type FloodKind = keyof typeof FLOOD_KINDS;
export const ALL_FLOOD_KINDS = Object.keys(FLOOD_KINDS) as FloodKind[];

export interface FloodTarget {
  /** The vhid(s) the defective frames claim (the victims' own, so they reach the per-vhost checks). */
  readonly vhids: readonly number[];
  /** First three octets of the /24 the sources are drawn from; inside 198.18.0.0/15. */
  readonly subnet: string;
}

const GROUP = '224.0.0.18';

/** A random byte source (injected so the crafting is testable). */
export type RandomBytes = (n: number) => Buffer;

function pick<T>(items: readonly T[], random: RandomBytes): T {
  return items[random(1)[0]! % items.length]!;
}

/** One whole IPv4 datagram (header included) of the given kind. */
export function craftFloodFrame(kind: FloodKind, target: FloodTarget, random: RandomBytes = randomBytes): Buffer {
  const subnet = validateSubnet(target.subnet);
  const r = random(32);
  const src = `${subnet}.${1 + (r[0]! % 254)}`;
  const ownVhid = pick(target.vhids, random);
  let vhid = ownVhid;
  if (kind === 'wrong-vhid') {
    vhid = 1 + (r[1]! % 255);
    while (target.vhids.includes(vhid)) vhid = (vhid % 255) + 1;
  }
  let payload: Buffer;
  if (kind === 'short' || kind === 'long') {
    const length = kind === 'short' ? 8 + (r[2]! % (CARP_HEADER_LENGTH - 8)) : CARP_HEADER_LENGTH + 1 + (r[2]! % 84);
    payload = random(length);
    payload[0] = 0x21; // looks like CARP v2 (and VRRP v2) at a glance
    payload[1] = ownVhid;
  } else {
    payload = encodeAdvertisement({
      version: kind === 'bad-version' ? 3 : 2,
      type: kind === 'bad-type' ? 2 : 1,
      vhid,
      advskew: r[3]!,
      authlen: 7,
      demote: 0,
      advbase: 1,
      counter: r.readBigUInt64BE(8),
      digest: r.subarray(12, 32),
    });
    if (kind === 'bad-checksum') {
      // Any change to the checksum field breaks it (the sum over the 36 bytes is no longer 0).
      payload.writeUInt16BE(payload.readUInt16BE(6) ^ (1 + (r[4]! % 0xfffe)), 6);
      if (internetChecksum(payload) === 0) throw new Error('bad-checksum frame verifies: a bug in the crafting');
    }
  }
  const header = encodeIpv4Header({
    tos: 0x10,
    id: r.readUInt16BE(5),
    dontFragment: true,
    ttl: kind === 'ttl-1' ? 1 : kind === 'ttl-64' ? 64 : CARP_TTL,
    protocol: IPPROTO_CARP,
    src,
    dst: GROUP,
    payloadLength: payload.length,
  });
  return Buffer.concat([header, payload]);
}

export interface FloodResult {
  sent: number;
  errors: number;
  /** How long the sender ran, and the rate the kernel took. */
  seconds: number;
  rate: number;
  byKind: Record<string, number>;
  firstError?: string;
}

interface FloodOptions {
  interface: string;
  srcip: string;
  vhids: number[];
  subnet: string;
  rate: number;
  seconds: number;
  kinds: FloodKind[];
}

/** Sends `rate` frames a second for `seconds`, cycling through the kinds. */
export async function flood(o: FloodOptions): Promise<FloodResult> {
  const transport = new CarpTransport({ interface: o.interface, srcip: o.srcip, groups: [] });
  const byKind: Record<string, number> = {};
  let sent = 0;
  let errors = 0;
  let inFlight = 0;
  let firstError: string | undefined;
  let next = 0;
  const started = performance.now();
  const end = started + o.seconds * 1000;
  // Paced by elapsed time, in small batches: a timer tick is ~1 ms, far coarser than 1/rate.
  // Sends the kernel has not taken yet are capped, so a slow link cannot queue without bound.
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - started) / 1000) * o.rate);
    let issued = sent + errors + inFlight;
    while (issued < due && inFlight < 512) {
      const kind = o.kinds[next++ % o.kinds.length]!;
      const frame = craftFloodFrame(kind, { vhids: o.vhids, subnet: o.subnet });
      inFlight++;
      issued++;
      transport.send(frame, GROUP).then(
        () => {
          inFlight--;
          sent++;
          byKind[kind] = (byKind[kind] ?? 0) + 1;
        },
        (error: unknown) => {
          inFlight--;
          errors++;
          firstError ??= String(error);
        },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  transport.close();
  const seconds = (performance.now() - started) / 1000;
  return { sent, errors, seconds, rate: Math.round(sent / seconds), byKind, ...(firstError !== undefined ? { firstError } : {}) };
}

const positive = (name: string, raw: string | undefined, max: number): number => positiveOption('flood', name, raw, max);

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      interface: { type: 'string', default: 'eth0' },
      srcip: { type: 'string' },
      vhid: { type: 'string', multiple: true },
      subnet: { type: 'string', default: '198.18.0' },
      rate: { type: 'string', default: '3000' },
      seconds: { type: 'string', default: '10' },
      kinds: { type: 'string', default: ALL_FLOOD_KINDS.join(',') },
    },
  });
  if (values.srcip === undefined || !values.srcip.startsWith(`${validateSubnet(values.subnet)}.`)) {
    throw new Error(`flood: --srcip must be the sending host's address in ${values.subnet}.0/24, got ${JSON.stringify(values.srcip)}`);
  }
  const kinds = values.kinds.split(',') as FloodKind[];
  const unknown = kinds.filter((k) => !(k in FLOOD_KINDS));
  if (unknown.length > 0) throw new Error(`flood: unknown kind(s) ${unknown.join(', ')}; known: ${ALL_FLOOD_KINDS.join(', ')}`);
  const result = await flood({
    interface: values.interface,
    srcip: values.srcip,
    vhids: (values.vhid ?? ['42']).map((v) => positive('vhid', v, 255)),
    subnet: values.subnet,
    rate: positive('rate', values.rate, 200_000),
    seconds: positive('seconds', values.seconds, 600),
    kinds,
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return result.sent > 0 ? 0 : 1;
}

runAsTool(import.meta.url, main);

// Packet capture inside a namespace with tcpdump, parsed into records tests can assert on.
// tcpdump decodes IP protocol 112 as VRRP by default; `-T carp` makes it decode CARP
// (`CARPv2-advertise 36: vhid=42 advbase=1 advskew=0 authlen=7 counter=…`) and leaves other
// protocols (ARP) alone. `-v` adds the IP header (TTL, TOS) on the same first line and moves
// the payload to a continuation line, which the parser joins back. IPv6 packets keep header and
// payload on the first line (`(flowlabel 0x…, hlim 255, next-header VRRP (112) payload length: 36)
// fe80::… > ff02::12: CARPv2-advertise …`); neighbour advertisements add their options on a
// continuation line.
import { spawnInNamespace, type LabProcess } from './process.js';

export interface CarpFields {
  version: number;
  /** 'advertise' for every packet ucarp sends. */
  type: string;
  vhid: number;
  advbase: number;
  advskew: number;
  authlen: number;
  counter: bigint;
}

export interface ArpFields {
  op: 'request' | 'reply';
  senderIp: string;
  /** Absent for replies: tcpdump does not print the target of a reply. */
  targetIp?: string;
  /** For replies, the `is-at` address; for requests, the Ethernet source (tcpdump omits it). */
  senderMac: string;
  /** A request announcing its own address (sender = target), as CARP masters send. */
  gratuitous: boolean;
}

export interface NeighbourAdvertFields {
  /** The address the advert is about ("tgt is …"). */
  target: string;
  router: boolean;
  solicited: boolean;
  override: boolean;
  /** The target link-layer address option, when the advert carries one. */
  targetMac?: string;
}

export interface CapturedPacket {
  /** Capture time, ms since the epoch (same clock as Date.now() and ping -D). */
  timeMs: number;
  srcMac: string;
  dstMac: string;
  /** CARP over either family is 'carp'; any other IPv6 packet (neighbour adverts included) 'ipv6'. */
  kind: 'carp' | 'arp' | 'ipv4' | 'ipv6' | 'other';
  srcIp?: string;
  dstIp?: string;
  ttl?: number;
  tos?: number;
  /** IPv6 only: the hop limit and the next header's number (112 for CARP/VRRP, 58 for ICMPv6). */
  hopLimit?: number;
  nextHeader?: number;
  carp?: CarpFields;
  arp?: ArpFields;
  /** An ICMPv6 neighbour advertisement (type 136). */
  neighbourAdvert?: NeighbourAdvertFields;
  /** tcpdump's text for this packet, continuation lines joined with a space. */
  line: string;
}

const PACKET_START = /^(\d+\.\d+) ([0-9a-f:]{17}) > ([0-9a-f:]{17}), ethertype (\S+) \(0x[0-9a-f]{4}\), length \d+: (.*)$/;
const IP_PAIR = /(\d+\.\d+\.\d+\.\d+) > (\d+\.\d+\.\d+\.\d+):/;
// IPv6: the closing parenthesis of the header, then the address pair.
const IP6_PAIR = /\) ([0-9a-f:.]+) > ([0-9a-f:.]+): /;
const NEIGHBOUR_ADVERT = /ICMP6, neighbor advertisement, length \d+, tgt is ([0-9a-f:.]+)(?:, Flags \[([a-z, ]*)\])?/;
const TARGET_LINK_ADDRESS = /destination link-address option \(2\), length \d+ \(\d+\): ([0-9a-f:]{17})/;
const CARP = /CARPv(\d+)-(\w+) \d+: vhid=(\d+) advbase=(\d+) advskew=(\d+) authlen=(\d+) counter=(\d+)/;
const ARP_REQUEST = /Request who-has (\d+\.\d+\.\d+\.\d+)(?: \([0-9a-f:]{17}\))? tell (\d+\.\d+\.\d+\.\d+)/;
const ARP_REPLY = /Reply (\d+\.\d+\.\d+\.\d+) is-at ([0-9a-f:]{17})/;

function carpFields(m: RegExpExecArray): CarpFields {
  return {
    version: Number(m[1]),
    type: m[2]!,
    vhid: Number(m[3]),
    advbase: Number(m[4]),
    advskew: Number(m[5]),
    authlen: Number(m[6]),
    counter: BigInt(m[7]!),
  };
}

/** Pure parser for `tcpdump -e -n -tt [-v] -T carp` output (stdout only). */
export function parseTcpdump(text: string): CapturedPacket[] {
  // Group continuation lines (indented, under -v) with the line that starts the packet.
  const records: string[] = [];
  for (const line of text.split('\n')) {
    if (/^\d+\.\d+ /.test(line)) records.push(line);
    else if (line.trim() !== '' && records.length > 0) records[records.length - 1] += ` ${line.trim()}`;
  }
  const packets: CapturedPacket[] = [];
  for (const record of records) {
    const head = PACKET_START.exec(record);
    if (!head) continue;
    const [, ts, srcMac, dstMac, ethertype, rest] = head as unknown as [string, string, string, string, string, string];
    const packet: CapturedPacket = { timeMs: Number(ts) * 1000, srcMac, dstMac, kind: 'other', line: record };
    if (ethertype === 'IPv4') {
      packet.kind = 'ipv4';
      const ips = IP_PAIR.exec(rest);
      if (ips) {
        packet.srcIp = ips[1];
        packet.dstIp = ips[2];
      }
      const ttl = /\bttl (\d+)/.exec(rest);
      if (ttl) packet.ttl = Number(ttl[1]);
      const tos = /\btos (0x[0-9a-f]+)/.exec(rest);
      if (tos) packet.tos = Number(tos[1]);
      const carp = CARP.exec(rest);
      if (carp) {
        packet.kind = 'carp';
        packet.carp = carpFields(carp);
      }
    } else if (ethertype === 'IPv6') {
      packet.kind = 'ipv6';
      const ips = IP6_PAIR.exec(rest);
      if (ips) {
        packet.srcIp = ips[1];
        packet.dstIp = ips[2];
      }
      const hopLimit = /\bhlim (\d+)/.exec(rest);
      if (hopLimit) packet.hopLimit = Number(hopLimit[1]);
      const nextHeader = /\bnext-header \S+ \((\d+)\)/.exec(rest);
      if (nextHeader) packet.nextHeader = Number(nextHeader[1]);
      const carp = CARP.exec(rest);
      if (carp) {
        packet.kind = 'carp';
        packet.carp = carpFields(carp);
      }
      const na = NEIGHBOUR_ADVERT.exec(rest);
      if (na) {
        const flags = (na[2] ?? '').split(',').map((f) => f.trim());
        const targetMac = TARGET_LINK_ADDRESS.exec(rest)?.[1];
        packet.neighbourAdvert = {
          target: na[1]!,
          router: flags.includes('router'),
          solicited: flags.includes('solicited'),
          override: flags.includes('override'),
          ...(targetMac !== undefined ? { targetMac } : {}),
        };
      }
    } else if (ethertype === 'ARP') {
      const request = ARP_REQUEST.exec(rest);
      const reply = ARP_REPLY.exec(rest);
      if (request) {
        packet.kind = 'arp';
        const targetIp = request[1]!;
        const senderIp = request[2]!;
        packet.arp = { op: 'request', senderIp, targetIp, senderMac: srcMac, gratuitous: senderIp === targetIp };
      } else if (reply) {
        packet.kind = 'arp';
        packet.arp = { op: 'reply', senderIp: reply[1]!, senderMac: reply[2]!, gratuitous: false };
      }
    }
    packets.push(packet);
  }
  return packets;
}

export interface CaptureStats {
  captured?: number;
  droppedByKernel?: number;
}

export class PacketCapture {
  private result: Promise<CapturedPacket[]> | undefined;

  private constructor(
    readonly ns: string,
    readonly ifname: string,
    readonly filter: string,
    private readonly proc: LabProcess,
  ) {}

  /** Starts tcpdump and resolves only once it is listening, so no early packet is missed. */
  static async start(ns: string, ifname: string, filter: string): Promise<PacketCapture> {
    // -l: line-buffered stdout so stop() sees every packet; -U: same for a -w file if added.
    const proc = spawnInNamespace(ns, 'tcpdump', ['-i', ifname, '-e', '-n', '-tt', '-l', '-v', '-T', 'carp', filter]);
    const capture = new PacketCapture(ns, ifname, filter, proc);
    try {
      await proc.waitForOutput(/listening on /, 5_000);
    } catch (err) {
      await proc.stop();
      throw err;
    }
    return capture;
  }

  get pid(): number {
    return this.proc.pid;
  }

  /** Packets seen so far, without stopping (lines still in tcpdump's buffer are not included). */
  snapshot(): CapturedPacket[] {
    return parseTcpdump(this.proc.stdout());
  }

  /** SIGINT lets tcpdump flush and print its counters; idempotent. */
  stop(): Promise<CapturedPacket[]> {
    this.result ??= (async () => {
      this.proc.signal('SIGINT');
      const killer = setTimeout(() => this.proc.signal('SIGKILL'), 3_000);
      await this.proc.exited;
      clearTimeout(killer);
      return parseTcpdump(this.proc.stdout());
    })();
    return this.result;
  }

  /** tcpdump's own counters, available after stop(). */
  stats(): CaptureStats {
    const out = this.proc.output();
    const captured = /(\d+) packets? captured/.exec(out);
    const dropped = /(\d+) packets? dropped by kernel/.exec(out);
    return {
      ...(captured ? { captured: Number(captured[1]) } : {}),
      ...(dropped ? { droppedByKernel: Number(dropped[1]) } : {}),
    };
  }
}

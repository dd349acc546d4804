// Loads the fixtures captured from the real keepalived by scripts/capture-vrrp-golden.sh.
// Each fixture is one frame keepalived sent, with the settings that produced it; the codec
// tests decode `ip` and re-encode it from these fields.
import { readdirSync, readFileSync } from 'node:fs';

/**
 * How the VRRP checksum was computed (the capture script verified each frame in this form):
 * - 'v2': over the VRRP packet alone (VRRPv2, RFC 3768), auth bytes included;
 * - 'v3-ipv4-pseudo-header': over {src, dst, 0, 112, VRRP length} + the packet (RFC 5798);
 * - 'v3-ipv4-pseudo-header-mcast-dst': as above but with dst 224.0.0.18 in the pseudo-header
 *   while the IP dst is the unicast peer (keepalived's `old_unicast_checksum`);
 * - 'v3-ipv6-pseudo-header': the IPv6 upper-layer pseudo-header (RFC 8200 section 8.1).
 */
export type VrrpChecksumMode =
  | 'v2'
  | 'v3-ipv4-pseudo-header'
  | 'v3-ipv4-pseudo-header-mcast-dst'
  | 'v3-ipv6-pseudo-header';

export interface VrrpGoldenFixture {
  file: string;
  description: string;
  capturedFrom: string;
  /** The keepalived.conf the script generated from the fields below and ran. */
  keepalivedConf: string;
  version: 2 | 3;
  vrid: number;
  /** The configured priority; the frame carries 0 instead when `stopping`. */
  priority: number;
  /** The priority-0 advert keepalived sends when it is stopped (SIGTERM). */
  stopping: boolean;
  /** advert_int as configured, in seconds (VRRPv2 rounds it to whole seconds on the wire). */
  advertInt: number;
  authType: 'none' | 'PASS' | 'AH';
  authPass: string;
  /** The virtual addresses without prefix, in configuration order. */
  vips: string[];
  /** The virtual_ipaddress lines as configured (with prefix). */
  vipsConfigured: string[];
  family: 'ipv4' | 'ipv6';
  src: string;
  dst: string;
  /** IPv4 TTL or IPv6 hop limit. */
  ttl: number;
  /** 112 (VRRP), or 51 when auth_type AH wraps the VRRP packet in an AH header. */
  ipProtocol: number;
  unicastPeers: string[];
  checksumMode: VrrpChecksumMode;
  ethernetHex: string;
  ipHex: string;
  /** The whole Ethernet II frame. */
  ethernet: Buffer;
  /** IPv4: header + payload; IPv6: the 40-byte header + payload. */
  ip: Buffer;
}

const GOLDEN_VRRP_DIR = new URL('../fixtures/golden-vrrp/', import.meta.url);

type RawFixture = Omit<VrrpGoldenFixture, 'file' | 'ethernet' | 'ip'>;

export function loadVrrpGolden(file: string): VrrpGoldenFixture {
  const raw = JSON.parse(readFileSync(new URL(file, GOLDEN_VRRP_DIR), 'utf8')) as RawFixture;
  return { ...raw, file, ethernet: Buffer.from(raw.ethernetHex, 'hex'), ip: Buffer.from(raw.ipHex, 'hex') };
}

export function allVrrpGolden(): VrrpGoldenFixture[] {
  return readdirSync(GOLDEN_VRRP_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map(loadVrrpGolden);
}

/** The VRRP packet inside a fixture's IP packet (after the IPv4 header and any AH header, or the IPv6 header). */
export function vrrpPayload(f: VrrpGoldenFixture): Buffer {
  if (f.family === 'ipv6') return f.ip.subarray(40, 40 + f.ip.readUInt16BE(4));
  const ihl = (f.ip[0]! & 0x0f) * 4;
  const payload = f.ip.subarray(ihl, f.ip.readUInt16BE(2));
  return f.ipProtocol === 51 ? payload.subarray((payload[1]! + 2) * 4) : payload;
}

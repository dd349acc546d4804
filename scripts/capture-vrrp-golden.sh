#!/usr/bin/env bash
# Capture golden VRRP advertisements from the real keepalived, for test/protocol.
#
# What it does: builds two private network namespaces joined by a veth pair
# (198.18.0.1/24 and 2001:db8::1/64 <-> 198.18.0.2/24 and 2001:db8::2/64, fixed MACs
# 02:00:00:00:00:01/02 so the link-local addresses are fixed too), runs keepalived (VRRP
# subsystem only, its own config and pid files, console log, no syslog) in the first one,
# captures its advertisements with tcpdump in the second one, and writes one JSON fixture per
# captured frame under test/fixtures/golden-vrrp/. Each fixture carries the settings that
# produced it (version, vrid, priority, advert_int, authentication, VIPs, unicast peers, the
# checksum form) and the keepalived.conf generated from them, so tests can re-encode the packet
# byte for byte. Before writing, the script recomputes every VRRP checksum in the form the
# fixture names and fails on a mismatch, so a fixture's checksumMode is a checked fact.
#
# Safety: nothing runs outside the namespaces this script creates. The veth pair is created
# inside the first namespace and its peer moved straight into the second, so the host's own
# interfaces are never touched. The EXIT trap stops keepalived and tcpdump and deletes both
# namespaces, also on failure and on Ctrl-C.
#
# Needs root, keepalived (Debian's 2.2.x), tcpdump, iproute2 and node.
# Usage: sudo scripts/capture-vrrp-golden.sh
set -euo pipefail

readonly REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly OUT_DIR="${REPO_ROOT}/test/fixtures/golden-vrrp"
# The PID suffix keeps two runs (or another engineer's lab) from colliding.
readonly NS_KA="carpd-vgolden-ka-$$"
readonly NS_PEER="carpd-vgolden-peer-$$"
readonly IF_KA="cv-ka"
readonly IF_PEER="cv-peer"
readonly ADDR_KA="198.18.0.1"
readonly ADDR_PEER="198.18.0.2"
readonly MAC_KA="02:00:00:00:00:01"
readonly MAC_PEER="02:00:00:00:00:02"

WORK_DIR="$(mktemp -d -t carpd-vgolden.XXXXXX)"
readonly CAPTURE_NAME=capture-vrrp-golden
# Teardown waits half a second between SIGTERM and SIGKILL (capture-golden.sh: 0.3 s).
readonly LAB_GRACE=0.5
# shellcheck source=lib/capture-lab.sh
source "${REPO_ROOT}/scripts/lib/capture-lab.sh"

lab_preflight "apt-get install -y keepalived tcpdump iproute2" keepalived tcpdump ip node timeout

setup_lab() {
  lab_add_veth_pair "$NS_KA" "$IF_KA" "$NS_PEER" "$IF_PEER"
  ip -n "$NS_KA" link set "$IF_KA" address "$MAC_KA"
  ip -n "$NS_PEER" link set "$IF_PEER" address "$MAC_PEER"
  # No DAD: the link-local address keepalived sends IPv6 adverts from must not be tentative.
  ip netns exec "$NS_KA" sysctl -qw "net.ipv6.conf.${IF_KA}.accept_dad=0"
  ip netns exec "$NS_PEER" sysctl -qw "net.ipv6.conf.${IF_PEER}.accept_dad=0"
  ip -n "$NS_KA" addr add "${ADDR_KA}/24" dev "$IF_KA"
  ip -n "$NS_PEER" addr add "${ADDR_PEER}/24" dev "$IF_PEER"
  ip -n "$NS_KA" addr add 2001:db8::1/64 dev "$IF_KA" nodad
  ip -n "$NS_PEER" addr add 2001:db8::2/64 dev "$IF_PEER" nodad
  lab_links_up "$NS_KA" "$IF_KA" "$NS_PEER" "$IF_PEER"
}

# keepalived_conf CASE_JSON: prints the keepalived.conf the case's fields describe.
keepalived_conf() {
  CASE="$1" IFACE="$IF_KA" node --input-type=module - <<'NODE'
const c = JSON.parse(process.env.CASE);
const l = [];
l.push('global_defs {', `  router_id carpd-golden-${c.name}`, '}', '');
l.push('vrrp_instance VI_1 {', `  state ${c.state ?? 'BACKUP'}`, `  interface ${process.env.IFACE}`);
l.push(`  virtual_router_id ${c.vrid}`, `  priority ${c.priority}`, `  advert_int ${c.advertInt}`);
if (c.version === 3) l.push('  version 3');
if (c.authType !== 'none') {
  l.push('  authentication {', `    auth_type ${c.authType}`, `    auth_pass ${c.authPass}`, '  }');
}
if (c.unicastSrcIp) l.push(`  unicast_src_ip ${c.unicastSrcIp}`);
if (c.oldUnicastChecksum) l.push('  old_unicast_checksum');
if (c.unicastPeers.length > 0) {
  l.push('  unicast_peer {', ...c.unicastPeers.map((p) => `    ${p}`), '  }');
}
l.push('  virtual_ipaddress {', ...c.vips.map((v) => `    ${v}`), '  }', '}');
console.log(l.join('\n'));
NODE
}

frames_in() { tcpdump -r "$1" -n 2>/dev/null | wc -l; }

wait_for_frames() {
  local pcap=$1 want=$2 seconds=$3 name=$4 i
  for i in $(seq $(( seconds * 10 ))); do
    if (( $(frames_in "$pcap") >= want )); then return 0; fi
    sleep 0.1
  done
  die "${name}: fewer than ${want} adverts after ${seconds} s (log: $(tr '\n' '|' <"${WORK_DIR}/${name}.log"))"
}

# capture CASE_JSON: one keepalived alone on the link. It waits the master-down time as BACKUP,
# becomes MASTER and advertises; with "stop": true it is then stopped with SIGTERM and the
# priority-0 advert it sends on the way out is captured too.
capture() {
  local case_json=$1
  local name frames stop
  name=$(node -e 'console.log(JSON.parse(process.argv[1]).name)' "$case_json")
  frames=$(node -e 'console.log(JSON.parse(process.argv[1]).frames ?? 3)' "$case_json")
  stop=$(node -e 'console.log(JSON.parse(process.argv[1]).stop ? 1 : 0)' "$case_json")
  local conf="${WORK_DIR}/${name}.conf" pcap="${WORK_DIR}/${name}.pcap"
  keepalived_conf "$case_json" >"$conf"
  echo "capture-vrrp-golden: ${name}" >&2

  # Not fatal here, as it never was: wait_for_frames below fails if too few frames arrive.
  lab_start_tcpdump "$NS_PEER" "$IF_PEER" "$pcap" "${WORK_DIR}/${name}.tcpdump.log" \
    'ip proto 112 or ip proto 51 or ip6 proto 112' || true

  ip netns exec "$NS_KA" keepalived -n -l -D -P -G -f "$conf" \
    -p "${WORK_DIR}/${name}.pid" -r "${WORK_DIR}/${name}.vrrp.pid" >"${WORK_DIR}/${name}.log" 2>&1 &
  local ka_pid=$!
  STARTED_PIDS+=("$ka_pid")

  wait_for_frames "$pcap" "$frames" 20 "$name"
  local before_stop
  before_stop=$(frames_in "$pcap")
  kill -TERM "$ka_pid" 2>/dev/null || true
  wait "$ka_pid" 2>/dev/null || true
  if [[ $stop == 1 ]]; then
    wait_for_frames "$pcap" $(( before_stop + 1 )) 5 "$name"
  fi
  sleep 0.3
  kill -INT "$TCPDUMP_PID" 2>/dev/null || true
  wait "$TCPDUMP_PID" 2>/dev/null || true

  write_fixtures "$case_json" "$pcap" "$conf" "$before_stop" "$stop"
}

# write_fixtures CASE_JSON PCAP CONF BEFORE_STOP KEEP_STOP: one JSON file per captured frame;
# checks each frame's VRRP checksum in the form the case names.
write_fixtures() {
  local keepalived_version
  keepalived_version="$(dpkg-query -W -f '${Version}' keepalived 2>/dev/null || echo unknown)"
  CASE="$1" PCAP="$2" PCAP_LIB="${REPO_ROOT}/scripts/lib/pcap.mjs" CONF="$3" BEFORE_STOP="$4" \
  KEEP_STOP="$5" FIXTURE_DIR="$OUT_DIR" KA_VERSION="$keepalived_version" node --input-type=module - <<'NODE'
import { readFileSync, writeFileSync } from 'node:fs';
const e = process.env;
const c = JSON.parse(e.CASE);
const { ethernetFrames } = await import(e.PCAP_LIB);

// One's-complement sum of 16-bit words (RFC 1071), returned folded, not inverted.
const sum16 = (buf, acc = 0) => {
  for (let i = 0; i + 1 < buf.length; i += 2) acc += buf.readUInt16BE(i);
  if (buf.length % 2) acc += buf[buf.length - 1] << 8;
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return acc;
};
const ipv4Text = (b) => [...b].join('.');
const ipv6Text = (b) => {
  const words = [];
  for (let i = 0; i < 16; i += 2) words.push(b.readUInt16BE(i).toString(16));
  // Shorten the longest run of zero words, as inet_ntop does.
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === '0') j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return words.join(':');
  return `${words.slice(0, best).join(':')}::${words.slice(best + bestLen).join(':')}`;
};

const conf = readFileSync(e.CONF, 'utf8');
const beforeStop = Number(e.BEFORE_STOP);
let index = 0;
let written = 0;
for (const frame of ethernetFrames(e.PCAP)) {
  index += 1;
  const etherType = frame.readUInt16BE(12);
  const ip = frame.subarray(14);
  let src, dst, ttl, vrrp, pseudo, ipProtocol;
  if (etherType === 0x0800) {
    const ihl = (ip[0] & 0x0f) * 4;
    ttl = ip[8];
    ipProtocol = ip[9];
    src = ipv4Text(ip.subarray(12, 16));
    dst = ipv4Text(ip.subarray(16, 20));
    let payload = ip.subarray(ihl, ip.readUInt16BE(2));
    if (ipProtocol === 51) payload = payload.subarray((payload[1] + 2) * 4); // skip the AH header
    vrrp = payload;
  } else if (etherType === 0x86dd) {
    ttl = ip[7];
    ipProtocol = ip[6];
    src = ipv6Text(ip.subarray(8, 24));
    dst = ipv6Text(ip.subarray(24, 40));
    vrrp = ip.subarray(40, 40 + ip.readUInt16BE(4));
  } else {
    throw new Error(`frame ${index}: unexpected ethertype ${etherType.toString(16)}`);
  }
  // keepalived sends priority 0 only when it stops (SIGTERM); only the stop cases keep that frame.
  const stopping = vrrp[2] === 0;
  if (stopping && e.KEEP_STOP !== '1') continue;
  if (stopping && index <= beforeStop) throw new Error(`${c.name} frame ${index}: priority 0 before the stop`);
  // Recompute the checksum in the form the case claims.
  let acc = 0;
  if (c.checksumMode === 'v3-ipv4-pseudo-header' || c.checksumMode === 'v3-ipv4-pseudo-header-mcast-dst') {
    const ph = Buffer.alloc(12);
    ip.copy(ph, 0, 12, 16);
    if (c.checksumMode === 'v3-ipv4-pseudo-header') ip.copy(ph, 4, 16, 20);
    else Buffer.from([224, 0, 0, 18]).copy(ph, 4);
    ph[9] = 112;
    ph.writeUInt16BE(vrrp.length, 10);
    acc = sum16(ph);
  } else if (c.checksumMode === 'v3-ipv6-pseudo-header') {
    const ph = Buffer.alloc(40);
    ip.copy(ph, 0, 8, 40);
    ph.writeUInt32BE(vrrp.length, 32);
    ph[39] = 112;
    acc = sum16(ph);
  } else if (c.checksumMode !== 'v2') {
    throw new Error(`unknown checksumMode ${c.checksumMode}`);
  }
  if (sum16(vrrp, acc) !== 0xffff) {
    throw new Error(`${c.name} frame ${index}: checksum does not verify as ${c.checksumMode}`);
  }
  const fixture = {
    description: `${c.description}${stopping ? ' -- the priority-0 advert sent on SIGTERM' : ''} (frame ${index} of the capture)`,
    capturedFrom: `keepalived ${e.KA_VERSION} (Debian package) in a network namespace, tcpdump on the veth peer`,
    keepalivedConf: conf,
    version: c.version,
    vrid: c.vrid,
    priority: c.priority,
    stopping,
    advertInt: c.advertInt,
    authType: c.authType,
    authPass: c.authPass,
    vips: c.vips.map((v) => v.split('/')[0]),
    vipsConfigured: c.vips,
    family: etherType === 0x0800 ? 'ipv4' : 'ipv6',
    src,
    dst,
    ttl,
    ipProtocol,
    unicastPeers: c.unicastPeers,
    checksumMode: c.checksumMode,
    ethernetHex: frame.toString('hex'),
    ipHex: ip.toString('hex'),
  };
  const path = `${e.FIXTURE_DIR}/${c.name}-${index}.json`;
  writeFileSync(path, JSON.stringify(fixture, null, 2) + '\n');
  written += 1;
  console.error(`capture-vrrp-golden: wrote ${path}`);
}
if (written === 0) throw new Error(`${c.name}: no frames written`);
NODE
}

# case NAME DESCRIPTION then key=value JSON fragments; defaults fill the rest.
vrrp_case() {
  local name=$1 description=$2 extra=$3
  node -e '
    const [name, description, extra] = process.argv.slice(1);
    const base = { name, description, version: 2, vrid: 51, priority: 100, advertInt: 1,
      authType: "none", authPass: "", vips: ["198.18.0.50/24"], unicastSrcIp: "", unicastPeers: [],
      oldUnicastChecksum: false, checksumMode: "v2", frames: 3, stop: false };
    console.log(JSON.stringify({ ...base, ...JSON.parse(extra) }));
  ' -- "$name" "$description" "$extra"
}

mkdir -p "$OUT_DIR"
rm -f -- "$OUT_DIR"/*.json
setup_lab

capture "$(vrrp_case vrrp2-noauth \
  'VRRPv2, vrid 51, priority 100, advert_int 1, no authentication, VIP 198.18.0.50/24, multicast' '{}')"
capture "$(vrrp_case vrrp2-pass-secret12 \
  'VRRPv2 auth_type PASS auth_pass secret12 (8 characters), vrid 52, priority 150' \
  '{"vrid":52,"priority":150,"authType":"PASS","authPass":"secret12"}')"
capture "$(vrrp_case vrrp2-pass-ab \
  'VRRPv2 auth_type PASS auth_pass ab (2 characters: zero-padded to 8 on the wire), vrid 53, priority 120' \
  '{"vrid":53,"priority":120,"authType":"PASS","authPass":"ab"}')"
capture "$(vrrp_case vrrp2-3vips \
  'VRRPv2, three VIPs in configuration order, vrid 54, priority 100, advert_int 2' \
  '{"vrid":54,"advertInt":2,"frames":2,"vips":["198.18.0.50/24","198.18.0.52/24","198.18.0.51/24"]}')"
capture "$(vrrp_case vrrp2-prio0 \
  'VRRPv2, vrid 55, priority 100; keepalived is stopped with SIGTERM after its adverts' \
  '{"vrid":55,"frames":2,"stop":true}')"
capture "$(vrrp_case vrrp2-adv05 \
  'VRRPv2 with advert_int 0.5 in the configuration (keepalived warns and rounds to a whole second)' \
  '{"vrid":56,"advertInt":0.5,"frames":2}')"
capture "$(vrrp_case vrrp2-ah \
  'VRRPv2 auth_type AH auth_pass secret12: IP protocol 51 (AH header, then the VRRP packet)' \
  '{"vrid":57,"authType":"AH","authPass":"secret12","frames":2}')"
capture "$(vrrp_case vrrp2-unicast \
  'VRRPv2 unicast: unicast_src_ip 198.18.0.1, unicast_peer 198.18.0.2, vrid 58' \
  '{"vrid":58,"unicastSrcIp":"198.18.0.1","unicastPeers":["198.18.0.2"],"frames":2}')"
capture "$(vrrp_case vrrp3-adv1 \
  'VRRPv3 over IPv4, advert_int 1 (100 centiseconds), vrid 61, priority 100; checksum over the IPv4 pseudo-header' \
  '{"version":3,"vrid":61,"checksumMode":"v3-ipv4-pseudo-header"}')"
capture "$(vrrp_case vrrp3-adv01 \
  'VRRPv3 over IPv4, advert_int 0.1 (10 centiseconds), vrid 62, priority 200; stopped with SIGTERM at the end' \
  '{"version":3,"vrid":62,"priority":200,"advertInt":0.1,"frames":4,"stop":true,"checksumMode":"v3-ipv4-pseudo-header"}')"
capture "$(vrrp_case vrrp3-unicast \
  'VRRPv3 unicast: unicast_src_ip 198.18.0.1, unicast_peer 198.18.0.2, vrid 63; pseudo-header dst = the peer' \
  '{"version":3,"vrid":63,"unicastSrcIp":"198.18.0.1","unicastPeers":["198.18.0.2"],"frames":2,"checksumMode":"v3-ipv4-pseudo-header"}')"
capture "$(vrrp_case vrrp3-unicast-oldcsum \
  'VRRPv3 unicast with old_unicast_checksum (pre-2.x keepalived form): pseudo-header dst = 224.0.0.18, IP dst = the peer, vrid 64' \
  '{"version":3,"vrid":64,"unicastSrcIp":"198.18.0.1","unicastPeers":["198.18.0.2"],"oldUnicastChecksum":true,"frames":2,"checksumMode":"v3-ipv4-pseudo-header-mcast-dst"}')"
capture "$(vrrp_case vrrp3-ipv6 \
  'VRRPv3 over IPv6, VIP 2001:db8:cafe::50/64, vrid 71: sent from the link-local fe80::ff:fe00:1 to ff02::12 (the flow label is set by the kernel, not by keepalived)' \
  '{"version":3,"vrid":71,"vips":["2001:db8:cafe::50/64"],"frames":2,"checksumMode":"v3-ipv6-pseudo-header"}')"
capture "$(vrrp_case vrrp3-ipv6-ll \
  'VRRPv3 over IPv6 as keepalived recommends: a link-local VIP first (fe80::50/64), then 2001:db8:cafe::50/64, vrid 72' \
  '{"version":3,"vrid":72,"vips":["fe80::50/64","2001:db8:cafe::50/64"],"frames":2,"checksumMode":"v3-ipv6-pseudo-header"}')"
echo "capture-vrrp-golden: done; fixtures in ${OUT_DIR}" >&2

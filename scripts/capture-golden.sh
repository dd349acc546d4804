#!/usr/bin/env bash
# Capture golden CARP advertisements from the real ucarp, for test/protocol.
#
# What it does: builds two private network namespaces joined by a veth pair
# (198.18.0.1/24 <-> 198.18.0.2/24, from the 198.18.0.0/15 benchmarking range),
# runs ucarp in the first one, captures a few of its advertisements with tcpdump
# in the second one, and writes one JSON fixture per captured frame under
# test/fixtures/golden/. Each fixture carries the ucarp arguments that produced it
# (password, vhid, VIP, ...) so tests can recompute the digest and re-encode the
# packet byte for byte.
#
# Safety: nothing runs outside the namespaces this script creates. The veth pair
# is created inside the first namespace and its peer moved straight into the second,
# so the host's own interfaces are never touched. The EXIT trap kills ucarp and
# tcpdump and deletes both namespaces, also on failure and on Ctrl-C.
#
# Needs root, ucarp, tcpdump, iproute2 and node. Usage: sudo scripts/capture-golden.sh
set -euo pipefail

readonly REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly OUT_DIR="${REPO_ROOT}/test/fixtures/golden"
# The lab's prefix, so scripts/lab-clean.sh removes a leftover; the PID keeps two runs (or
# another engineer's lab) from colliding.
readonly NS_UCARP="carpd-lab-golden-$$-ucarp"
readonly NS_PEER="carpd-lab-golden-$$-peer"
readonly IF_UCARP="cg-ucarp"
readonly IF_PEER="cg-peer"
readonly ADDR_UCARP="198.18.0.1"
readonly ADDR_PEER="198.18.0.2"
readonly PACKETS_PER_CAPTURE=3

WORK_DIR="$(mktemp -d -t carpd-golden.XXXXXX)"
readonly CAPTURE_NAME=capture-golden
# shellcheck source=lib/capture-lab.sh
source "${REPO_ROOT}/scripts/lib/capture-lab.sh"

lab_preflight "apt-get install -y ucarp tcpdump iproute2" ucarp tcpdump ip node timeout

setup_lab() {
  lab_add_veth_pair "$NS_UCARP" "$IF_UCARP" "$NS_PEER" "$IF_PEER"
  ip -n "$NS_UCARP" addr add "${ADDR_UCARP}/24" dev "$IF_UCARP"
  ip -n "$NS_PEER" addr add "${ADDR_PEER}/24" dev "$IF_PEER"
  lab_links_up "$NS_UCARP" "$IF_UCARP" "$NS_PEER" "$IF_PEER"
}

# sender_json SRCIP PASSWORD VHID VIP ADVBASE ADVSKEW NOMCAST UCARP_ARG...
# Prints the JSON description of one ucarp instance, keyed later by its source address.
sender_json() {
  node -e '
    const [srcip, password, vhid, vip, advbase, advskew, nomcast, ...ucarpArgs] = process.argv.slice(1);
    console.log(JSON.stringify({ srcip, password, vhid: Number(vhid), vip,
      advbase: Number(advbase), advskew: Number(advskew), nomcast: nomcast === "1", ucarpArgs }));
  ' -- "$@"
}

# ucarp_args_for SRCIP IFACE PASSWORD VHID VIP ADVBASE ADVSKEW NOMCAST -> sets UCARP_ARGS.
# -b/-k are passed only when they differ from ucarp's defaults (1 and 0).
ucarp_args_for() {
  local srcip=$1 iface=$2 password=$3 vhid=$4 vip=$5 advbase=$6 advskew=$7 nomcast=$8
  UCARP_ARGS=(-i "$iface" -s "$srcip" -v "$vhid" -p "$password" -a "$vip")
  if [[ $advbase != 1 ]]; then UCARP_ARGS+=(-b "$advbase"); fi
  if [[ $advskew != 0 ]]; then UCARP_ARGS+=(-k "$advskew"); fi
  UCARP_ARGS+=(-u /bin/true -d /bin/true)
  if [[ $nomcast == 1 ]]; then UCARP_ARGS+=(-M); fi
}

# start_tcpdump NAME [COUNT] -> sets TCPDUMP_PID, once tcpdump listens on the peer end of the
# veth pair.
start_tcpdump() {
  local name=$1 count=${2:-}
  local count_args=()
  if [[ -n $count ]]; then count_args=(-c "$count"); fi
  lab_start_tcpdump "$NS_PEER" "$IF_PEER" "${WORK_DIR}/${name}.pcap" "${WORK_DIR}/${name}.tcpdump.log" \
    'ip proto 112' "${count_args[@]}" || die "${name}: tcpdump did not start"
}

# captured_frames NAME: how many frames the pcap holds so far (all frames are 70 bytes:
# 16-byte record header + 14 Ethernet + 20 IP + 36 CARP; the file header is 24 bytes).
captured_frames() {
  local size
  size=$(stat -c %s "${WORK_DIR}/$1.pcap" 2>/dev/null || echo 24)
  echo $(( (size - 24) / (16 + 70) ))
}

wait_for_frames() {
  local name=$1 want=$2 seconds=$3 i
  for i in $(seq $(( seconds * 10 ))); do
    if (( $(captured_frames "$name") >= want )); then return 0; fi
    sleep 0.1
  done
  die "${name}: fewer than ${want} adverts after ${seconds} s"
}

# write_fixtures NAME DESCRIPTION SENDER_JSON... : one JSON file per captured frame.
write_fixtures() {
  local name=$1 description=$2
  shift 2
  local ucarp_version
  ucarp_version="$(dpkg-query -W -f '${Version}' ucarp 2>/dev/null || echo unknown)"
  PCAP="${WORK_DIR}/${name}.pcap" PCAP_LIB="${REPO_ROOT}/scripts/lib/pcap.mjs" FIXTURE_DIR="$OUT_DIR" \
  NAME="$name" DESCRIPTION="$description" UCARP_VERSION="$ucarp_version" SENDERS="$(printf '%s\n' "$@")" \
    node --input-type=module - <<'NODE'
// Split a classic pcap file (LINKTYPE_ETHERNET) into one JSON fixture per frame; the
// ucarp settings of each frame are looked up by its IPv4 source address.
import { writeFileSync } from 'node:fs';
const e = process.env;
const { ethernetFrames } = await import(e.PCAP_LIB);
const senders = new Map(
  e.SENDERS.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l)).map((s) => [s.srcip, s]),
);
let index = 0;
for (const frame of ethernetFrames(e.PCAP)) {
  index += 1;
  // Ethernet II header is 14 bytes; ucarp writes no VLAN tag.
  const ip = frame.subarray(14);
  const srcip = [...ip.subarray(12, 16)].join('.');
  const sender = senders.get(srcip);
  if (sender === undefined) throw new Error(`frame ${index} from unknown sender ${srcip}`);
  const fixture = {
    description: `${e.DESCRIPTION} (frame ${index} of the capture, sent by ${srcip})`,
    capturedFrom: `ucarp ${e.UCARP_VERSION} (Debian package) in a network namespace, tcpdump on the veth peer`,
    ucarpArgs: sender.ucarpArgs,
    password: sender.password,
    vhid: sender.vhid,
    vip: sender.vip,
    srcip: sender.srcip,
    advbase: sender.advbase,
    advskew: sender.advskew,
    nomcast: sender.nomcast,
    ethernetHex: frame.toString('hex'),
    ipHex: ip.toString('hex'),
  };
  const path = `${e.FIXTURE_DIR}/${e.NAME}-${index}.json`;
  writeFileSync(path, JSON.stringify(fixture, null, 2) + '\n');
  console.error(`capture-golden: wrote ${path}`);
}
NODE
}

# capture NAME DESCRIPTION PASSWORD VHID VIP ADVBASE ADVSKEW NOMCAST
# One ucarp alone on the link: it waits advbase*3 s as BACKUP, becomes MASTER and advertises.
capture() {
  local name=$1 description=$2 password=$3 vhid=$4 vip=$5 advbase=$6 advskew=$7 nomcast=$8
  ucarp_args_for "$ADDR_UCARP" "$IF_UCARP" "$password" "$vhid" "$vip" "$advbase" "$advskew" "$nomcast"
  local args=("${UCARP_ARGS[@]}")
  echo "capture-golden: ${name}: ucarp ${args[*]}" >&2

  start_tcpdump "$name" "$PACKETS_PER_CAPTURE"
  ip netns exec "$NS_UCARP" ucarp "${args[@]}" >"${WORK_DIR}/${name}.ucarp.log" 2>&1 &
  local ucarp_pid=$!
  STARTED_PIDS+=("$ucarp_pid")

  if ! wait "$TCPDUMP_PID"; then
    cat "${WORK_DIR}/${name}.tcpdump.log" "${WORK_DIR}/${name}.ucarp.log" >&2 || true
    die "${name}: tcpdump did not capture ${PACKETS_PER_CAPTURE} adverts"
  fi
  kill "$ucarp_pid" 2>/dev/null || true
  wait "$ucarp_pid" 2>/dev/null || true

  write_fixtures "$name" "$description" \
    "$(sender_json "$ADDR_UCARP" "$password" "$vhid" "$vip" "$advbase" "$advskew" "$nomcast" "${args[@]}")"
}

# Two ucarps on vhid 42: A (198.18.0.1) becomes MASTER alone; B (198.18.0.2, advskew 100)
# starts, hears A's adverts as BACKUP; A is killed; B takes over. Shows what B's counter does
# after it has received valid adverts (ucarp adopts the sender's counter).
capture_takeover() {
  local name=ucarp-takeover
  ucarp_args_for "$ADDR_UCARP" "$IF_UCARP" love 42 198.18.0.50 1 0 0
  local args_a=("${UCARP_ARGS[@]}")
  ucarp_args_for "$ADDR_PEER" "$IF_PEER" love 42 198.18.0.50 1 100 0
  local args_b=("${UCARP_ARGS[@]}")
  echo "capture-golden: ${name}: A: ucarp ${args_a[*]}; B: ucarp ${args_b[*]}" >&2

  start_tcpdump "$name"
  ip netns exec "$NS_UCARP" ucarp "${args_a[@]}" >"${WORK_DIR}/${name}.a.log" 2>&1 &
  local pid_a=$!
  STARTED_PIDS+=("$pid_a")
  wait_for_frames "$name" 1 15
  ip netns exec "$NS_PEER" ucarp "${args_b[@]}" >"${WORK_DIR}/${name}.b.log" 2>&1 &
  local pid_b=$!
  STARTED_PIDS+=("$pid_b")
  wait_for_frames "$name" 3 10
  kill "$pid_a"
  wait "$pid_a" 2>/dev/null || true
  wait_for_frames "$name" 6 15
  kill "$pid_b"
  wait "$pid_b" 2>/dev/null || true
  sleep 0.3
  kill -INT "$TCPDUMP_PID" 2>/dev/null || true
  wait "$TCPDUMP_PID" 2>/dev/null || true

  write_fixtures "$name" \
    "takeover: A (198.18.0.1) masters vhid 42 alone, B (198.18.0.2, advskew 100) hears it as BACKUP, A is killed, B takes over" \
    "$(sender_json "$ADDR_UCARP" love 42 198.18.0.50 1 0 0 "${args_a[@]}")" \
    "$(sender_json "$ADDR_PEER" love 42 198.18.0.50 1 100 0 "${args_b[@]}")"
}

mkdir -p "$OUT_DIR"
setup_lab
capture ucarp-vhid42-love \
  "ucarp defaults (advbase 1, advskew 0), vhid 42, password 'love', VIP 198.18.0.50" \
  love 42 198.18.0.50 1 0 0
capture ucarp-vhid7-secret \
  "vhid 7, advbase 2, advskew 100, password 'secret', VIP 198.18.0.51" \
  secret 7 198.18.0.51 2 100 0
capture ucarp-vhid42-nomcast \
  "--nomcast (-M): broadcast Ethernet destination; vhid 42, password 'love', VIP 198.18.0.50" \
  love 42 198.18.0.50 1 0 1
capture_takeover
echo "capture-golden: done; fixtures in ${OUT_DIR}" >&2

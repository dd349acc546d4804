# The two-namespace lab that scripts/capture-golden.sh and scripts/capture-vrrp-golden.sh
# capture in: a veth pair created inside the first namespace with its peer moved straight into
# the second, so the host's own interfaces are never touched. Sourced, not run.
#
# The sourcing script sets, before it sources this file:
#   CAPTURE_NAME  the prefix of its error lines (die)
#   WORK_DIR      a temporary directory, removed at teardown
#   LAB_GRACE     seconds between SIGTERM and SIGKILL at teardown (default 0.3)
# and appends the id of every process it starts to STARTED_PIDS.

STARTED_PIDS=()
# The namespaces lab_add_veth_pair created (or was about to create): what teardown deletes.
LAB_NAMESPACES=()

die() { echo "${CAPTURE_NAME}: $*" >&2; exit 1; }

# Kill the processes we started, by their ids, then anything still living in our own
# namespaces (ip netns pids lists only processes inside that namespace), then delete them.
lab_cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local pid
  for pid in "${STARTED_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  local ns
  for ns in "${LAB_NAMESPACES[@]}"; do
    if ip netns list | grep -qw -- "$ns"; then
      for pid in $(ip netns pids "$ns" 2>/dev/null); do
        kill "$pid" 2>/dev/null || true
      done
    fi
  done
  sleep "${LAB_GRACE:-0.3}"
  for ns in "${LAB_NAMESPACES[@]}"; do
    if ip netns list | grep -qw -- "$ns"; then
      for pid in $(ip netns pids "$ns" 2>/dev/null); do
        kill -9 "$pid" 2>/dev/null || true
      done
      ip netns del "$ns" 2>/dev/null || true
    fi
  done
  rm -rf -- "$WORK_DIR"
  exit "$status"
}
# Teardown runs on every exit, also on failure and on Ctrl-C.
trap lab_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# lab_preflight INSTALL_HINT TOOL...: every tool is on PATH and we are root.
lab_preflight() {
  local hint=$1 tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "missing tool: $tool ($hint)"
  done
  [[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces)"
}

# lab_add_veth_pair NS_A IF_A NS_B IF_B: two namespaces joined by a veth pair, both ends down.
lab_add_veth_pair() {
  local ns_a=$1 if_a=$2 ns_b=$3 if_b=$4
  LAB_NAMESPACES+=("$ns_a" "$ns_b")
  ip netns add "$ns_a"
  ip netns add "$ns_b"
  ip -n "$ns_a" link add "$if_a" type veth peer name "$if_b" netns "$ns_b"
}

# lab_links_up NS_A IF_A NS_B IF_B: loopback and the veth end up in each namespace.
lab_links_up() {
  local ns_a=$1 if_a=$2 ns_b=$3 if_b=$4
  ip -n "$ns_a" link set lo up
  ip -n "$ns_b" link set lo up
  ip -n "$ns_a" link set "$if_a" up
  ip -n "$ns_b" link set "$if_b" up
}

# lab_start_tcpdump NS IF PCAP LOG FILTER [TCPDUMP_OPTION...] -> sets TCPDUMP_PID. Waits up to
# 5 s until tcpdump is listening, so the first advert is not missed; returns 1 if it never is.
lab_start_tcpdump() {
  local ns=$1 iface=$2 pcap=$3 log=$4 filter=$5
  shift 5
  ip netns exec "$ns" timeout 60 \
    tcpdump -i "$iface" -n -U -s 0 "$@" -w "$pcap" "$filter" 2>"$log" &
  TCPDUMP_PID=$!
  STARTED_PIDS+=("$TCPDUMP_PID")
  local i
  for i in $(seq 50); do
    grep -q 'listening on' "$log" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

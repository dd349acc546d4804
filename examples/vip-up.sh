#!/bin/sh
# carpd (like ucarp) runs this as:  vip-up.sh <interface> <vip> [<xparam>]
# when this host becomes MASTER. By default carpd has already added the VIP to
# <interface> and sent gratuitous ARP; this script is for whatever else must follow
# the address: start a service, move a route, notify someone.
#
# With --no-manage-vip carpd leaves the address to this script, exactly as ucarp does;
# then uncomment the `ip addr add` line (use your own prefix length).
#
# It runs without a shell around it, with a time limit (--script-timeout, default 5 s),
# and never at the same time as the down-script. Keep it short and idempotent.
set -eu
iface="$1"
vip="$2"
extra="${3:-}"

# ip addr add "$vip/32" dev "$iface"

logger -t carpd-vip-up "MASTER for $vip on $iface${extra:+ ($extra)}"

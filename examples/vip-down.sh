#!/bin/sh
# carpd (like ucarp) runs this as:  vip-down.sh <interface> <vip> [<xparam>]
# when this host becomes BACKUP: at start (unless --neutral), after losing an election,
# on carrier loss, on SIGUSR2, and at exit when --shutdown is given. carpd removes the
# VIP itself (unless --no-manage-vip); this is for what must stop with it.
#
# With --no-manage-vip the address is this script's job, as with ucarp: uncomment the
# `ip addr del` line. Removing an address that is not there fails harmlessly.
set -eu
iface="$1"
vip="$2"
extra="${3:-}"

# ip addr del "$vip/32" dev "$iface" 2>/dev/null || true

logger -t carpd-vip-down "BACKUP for $vip on $iface${extra:+ ($extra)}"

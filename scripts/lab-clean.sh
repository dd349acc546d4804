#!/bin/sh
# Removes every network namespace the carpd lab left behind (carpd-lab-*), after killing the
# processes still running in them (ucarp/carpd, ping, tcpdump, scripts). Only names with the
# lab's prefix are touched: the machine's own interfaces and other namespaces are left alone.
# Usage: sudo scripts/lab-clean.sh            (all leftovers)
#        sudo scripts/lab-clean.sh <id>       (one lab: carpd-lab-<id>-*)
set -u

prefix="carpd-lab-${1:+$1-}"

if [ "$(id -u)" -ne 0 ]; then
	echo "lab-clean: must run as root to kill processes and delete namespaces" >&2
	exit 1
fi

# `ip netns list` prints "name (id: N)" for namespaces with an id; keep the name only.
namespaces=$(ip netns list | awk '{print $1}' | grep "^${prefix}" || true)
if [ -z "$namespaces" ]; then
	echo "lab-clean: no ${prefix}* namespaces"
	exit 0
fi

# Kill first: a namespace with processes in it outlives `ip netns del` (only its name goes).
for ns in $namespaces; do
	pids=$(ip netns pids "$ns" 2>/dev/null)
	if [ -n "$pids" ]; then
		echo "lab-clean: killing in $ns: $(echo $pids)"
		kill -KILL $pids 2>/dev/null
	fi
done
sleep 0.2

status=0
for ns in $namespaces; do
	if ip netns del "$ns"; then
		echo "lab-clean: deleted $ns"
	else
		status=1
	fi
done
exit $status

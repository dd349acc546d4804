#!/bin/sh
# Removes what the carpd lab and its tests leave behind after an interrupted run:
#   - every network namespace named carpd-lab-* (and carpd-host-*, carpd-golden-* from older
#     checkouts), after killing the processes still running in them (ucarp/carpd, ping,
#     tcpdump, scripts);
#   - what carpd kept for those namespaces in its run directory (/run/carpd): instance locks
#     <netns>-<if>-vhid<N>.pid, control sockets control/<netns>-<pid>.sock and --nomcast
#     registrations nomcast/<netns>-<if>-<group>/;
#   - stale files there whatever their namespace: a lock, control socket or --nomcast user file
#     whose process is gone (a carpd killed with SIGKILL cannot remove its own);
#   - the tests' private copies of ucarp, <tmp>/carpd-ucarp-<pid>-*, whose test process is gone.
# Only those names are touched: the machine's own interfaces, other namespaces, and the files of
# a live carpd are left alone.
#
# Usage: scripts/lab-clean.sh [--run-dir DIR] [--tmp-dir DIR] [ID]     (as root)
#   ID         only the lab carpd-lab-<ID>-*, and only provably stale files (safe while other
#              labs run); without it, every lab and every copy of ucarp
#   --run-dir  carpd's run directory (default /run/carpd)
#   --tmp-dir  where the tests make their copies of ucarp (default $TMPDIR or /tmp)
set -u

run_dir=/run/carpd
tmp_dir=${TMPDIR:-/tmp}
id=
while [ $# -gt 0 ]; do
	case $1 in
	--run-dir) run_dir=${2:?--run-dir needs a directory}; shift 2 ;;
	--tmp-dir) tmp_dir=${2:?--tmp-dir needs a directory}; shift 2 ;;
	-h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "lab-clean: unknown option $1 (see --help)" >&2; exit 64 ;;
	*)
		case $1 in
		*[!A-Za-z0-9-]* | '') echo "lab-clean: a lab id is letters, digits and dashes, got \"$1\"" >&2; exit 64 ;;
		esac
		[ -z "$id" ] || { echo "lab-clean: one lab id at most" >&2; exit 64; }
		id=$1; shift ;;
	esac
done

if [ "$(id -u)" -ne 0 ]; then
	echo "lab-clean: must run as root to kill processes and delete namespaces" >&2
	exit 1
fi

alive() { kill -0 "$1" 2>/dev/null; }

# `ip netns list` prints "name (id: N)" for namespaces with an id; keep the name only.
if [ -n "$id" ]; then
	pattern="^carpd-lab-${id}-"
else
	pattern='^carpd-(lab|host|golden)-'
fi
namespaces=$(ip netns list | awk '{print $1}' | grep -E "$pattern" || true)

status=0
if [ -z "$namespaces" ]; then
	echo "lab-clean: no namespaces to remove"
else
	# Kill first: a namespace with processes in it outlives `ip netns del` (only its name goes).
	for ns in $namespaces; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		if [ -n "$pids" ]; then
			echo "lab-clean: killing in $ns: $(echo $pids)"
			kill -KILL $pids 2>/dev/null
		fi
	done
	sleep 0.2
	for ns in $namespaces; do
		# carpd names its run files after the namespace's inode, as /proc/self/ns/net shows it.
		inode=$(stat -L -c %i "/run/netns/$ns" 2>/dev/null)
		if [ -n "$inode" ]; then
			for f in "$run_dir/$inode"-* "$run_dir/control/$inode"-* "$run_dir/nomcast/$inode"-*; do
				[ -e "$f" ] || [ -L "$f" ] || continue
				rm -rf -- "$f" && echo "lab-clean: removed $f"
			done
		fi
		if ip netns del "$ns"; then
			echo "lab-clean: deleted $ns"
		else
			status=1
		fi
	done
fi

# Stale run files of any namespace: the pid they name is gone.
for f in "$run_dir"/*.pid; do
	[ -f "$f" ] || continue
	pid=$(head -c 32 "$f" | tr -dc 0-9)
	if [ -n "$pid" ] && ! alive "$pid"; then
		rm -f -- "$f" && echo "lab-clean: removed stale lock $f (pid $pid gone)"
	fi
done
for f in "$run_dir"/control/*-*.sock; do
	[ -e "$f" ] || continue
	pid=${f##*-}
	pid=${pid%.sock}
	case $pid in *[!0-9]* | '') continue ;; esac
	if ! alive "$pid"; then
		rm -f -- "$f" && echo "lab-clean: removed stale control socket $f (pid $pid gone)"
	fi
done
for d in "$run_dir"/nomcast/*; do
	[ -d "$d" ] || continue
	removed=
	for f in "$d"/*; do
		[ -f "$f" ] || continue
		pid=${f##*/}
		case $pid in *[!0-9]* | '') continue ;; esac
		alive "$pid" && continue
		rm -f -- "$f" && echo "lab-clean: removed stale --nomcast user $f (pid $pid gone)" && removed=1
	done
	# Only a directory we emptied: an empty one may be a live carpd's, about to write its file.
	[ -n "$removed" ] && rmdir -- "$d" 2>/dev/null && echo "lab-clean: removed $d (no user left)"
done

# The tests' copies of ucarp: carpd-ucarp-<pid>-XXXXXX, made by test/helpers/ucarp.ts and removed
# when that process exits; a killed one leaves its copy. Without an id, also the copies of older
# checkouts, which did not carry the pid.
for d in "$tmp_dir"/carpd-ucarp-*; do
	[ -d "$d" ] || continue
	rest=${d##*/carpd-ucarp-}
	pid=${rest%%-*}
	if [ "$pid" != "$rest" ] && [ -n "$pid" ] && [ -z "$(echo "$pid" | tr -d 0-9)" ]; then
		alive "$pid" && continue
	elif [ -n "$id" ]; then
		continue
	fi
	rm -rf -- "$d" && echo "lab-clean: removed $d"
done
exit $status

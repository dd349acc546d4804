# Shared by carpd's ifupdown hooks (/etc/network/if-up.d/carpd, /etc/network/if-down.d/carpd)
# and its maintainer scripts. Sourced, never run: POSIX sh, no bashisms.
#
# A stanza's options reach the hooks as IF_<NAME> variables (ucarp-vid -> IF_UCARP_VID). carpd
# reads Debian ucarp's spellings and its own carpd-* ones; carpd-* wins.

CARPD=/usr/sbin/carpd
CARPD_RUN_DIR=/run/carpd/ifupdown
CARPD_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

carpd_log() {
	echo "carpd ifupdown hook: $*" >&2
}

# carpd_option NAME: sets CARPD_VALUE to the value of carpd-NAME, else of ucarp-NAME, else empty,
# and CARPD_SPELLING to "carpd", "ucarp" or "" (callers apply ucarp's first-word rule to the
# ucarp spelling). NAME is the upper-case variable suffix: VID, VIP, PASSWORD, ...
carpd_option() {
	eval "carpd_option_c=\${IF_CARPD_$1:-}"
	eval "carpd_option_u=\${IF_UCARP_$1:-}"
	if [ -n "$carpd_option_c" ]; then
		CARPD_SPELLING=carpd CARPD_VALUE=$carpd_option_c
	elif [ -n "$carpd_option_u" ]; then
		CARPD_SPELLING=ucarp CARPD_VALUE=$carpd_option_u
	else
		CARPD_SPELLING= CARPD_VALUE=
	fi
}

# carpd_first_word TEXT: what ucarp's hook passes for an unquoted $IF_UCARP_... (its first word).
carpd_first_word() {
	# shellcheck disable=SC2086
	set -f; set -- $1; set +f
	printf '%s' "${1:-}"
}

# carpd_is_on VALUE: Debian's ucarp hook's rule for ucarp-master and ucarp-nomcast: a value
# starting with no, off, false or 0 is off, anything else is on.
carpd_is_on() {
	case "$1" in
		no* | off* | false* | 0*) return 1 ;;
		*) return 0 ;;
	esac
}

# carpd_stanza_key: one name per stanza (its logical name), plus the network namespace when ifup
# runs inside one (ip netns exec NS ifup ...), so two namespaces' "eth0" never share a pidfile.
carpd_stanza_key() {
	carpd_key="${LOGICAL:-$IFACE}"
	carpd_netns=$(readlink /proc/self/ns/net 2>/dev/null || true)
	carpd_init_netns=$(readlink /proc/1/ns/net 2>/dev/null || true)
	if [ -n "$carpd_netns" ] && [ "$carpd_netns" != "$carpd_init_netns" ]; then
		carpd_inode=${carpd_netns#net:[}
		carpd_key="$carpd_key@netns-${carpd_inode%]}"
	fi
	printf '%s' "$carpd_key"
}

# carpd_pid_of PIDFILE: prints the pid when PIDFILE names a running carpd that was started with
# exactly that pidfile; fails otherwise (no file, stale file, pid reused by another program).
carpd_pid_of() {
	[ -r "$1" ] || return 1
	carpd_pid=$(head -n 1 "$1" 2>/dev/null | tr -cd '0-9')
	[ -n "$carpd_pid" ] && [ -r "/proc/$carpd_pid/cmdline" ] || return 1
	tr '\000' '\n' <"/proc/$carpd_pid/cmdline" 2>/dev/null | grep -qxF -- "--pidfile=$1" || return 1
	printf '%s' "$carpd_pid"
}

# carpd_stop PIDFILE: SIGTERM to the carpd of PIDFILE, then wait for its clean stop (bow-out
# advert, VIP removed, down-script run); SIGKILL after CARPD_STOP_TIMEOUT seconds (default 20).
carpd_stop() {
	carpd_stop_pid=$(carpd_pid_of "$1") || {
		rm -f "$1"
		return 0
	}
	kill -TERM "$carpd_stop_pid" 2>/dev/null || return 0
	carpd_stop_ticks=$((${CARPD_STOP_TIMEOUT:-20} * 10))
	while [ -d "/proc/$carpd_stop_pid" ] && [ "$carpd_stop_ticks" -gt 0 ]; do
		sleep 0.1
		carpd_stop_ticks=$((carpd_stop_ticks - 1))
	done
	if [ -d "/proc/$carpd_stop_pid" ]; then
		carpd_log "carpd (pid $carpd_stop_pid) did not stop within ${CARPD_STOP_TIMEOUT:-20} s: killing it; check the VIP"
		kill -KILL "$carpd_stop_pid" 2>/dev/null || true
	fi
	rm -f "$1"
}

# carpd_ifupdown_context: the --interfaces file and --state-dir of the ifup/ifdown that runs this
# hook, read from its command line, so that the default vip-up/vip-down scripts bring <if>:ucarp
# up from the same file, with the same state, as the stanza itself (Debian's ucarp scripts always
# use /etc/network/interfaces). Sets CARPD_IFUPDOWN_INTERFACES and CARPD_IFUPDOWN_STATE_DIR
# (absolute paths), empty when ifup used its defaults.
carpd_ifupdown_context() {
	CARPD_IFUPDOWN_INTERFACES=
	CARPD_IFUPDOWN_STATE_DIR=
	carpd_ctx_pid=$PPID
	carpd_ctx_depth=0
	while [ "${carpd_ctx_pid:-0}" -gt 1 ] && [ "$carpd_ctx_depth" -lt 8 ]; do
		carpd_ctx_a0=$(tr '\000' '\n' <"/proc/$carpd_ctx_pid/cmdline" 2>/dev/null | sed -n 1p)
		carpd_ctx_a1=$(tr '\000' '\n' <"/proc/$carpd_ctx_pid/cmdline" 2>/dev/null | sed -n 2p)
		case "${carpd_ctx_a0##*/}" in
			ifup | ifdown | ifquery | ifreload)
				carpd_ifupdown_parse "$carpd_ctx_pid"
				return 0
				;;
			python*)
				# ifupdown2 is a Python program: python3 /usr/sbin/ifup ...
				case "${carpd_ctx_a1##*/}" in
					ifup | ifdown | ifquery | ifreload)
						carpd_ifupdown_parse "$carpd_ctx_pid"
						return 0
						;;
				esac
				;;
		esac
		carpd_ctx_pid=$(awk '/^PPid:/ { print $2 }' "/proc/$carpd_ctx_pid/status" 2>/dev/null)
		carpd_ctx_depth=$((carpd_ctx_depth + 1))
	done
}

carpd_ifupdown_parse() {
	carpd_ctx_cwd=$(readlink "/proc/$1/cwd" 2>/dev/null || echo /)
	carpd_ctx_next=
	while IFS= read -r carpd_ctx_arg; do
		case "$carpd_ctx_next" in
			interfaces) CARPD_IFUPDOWN_INTERFACES=$carpd_ctx_arg carpd_ctx_next= && continue ;;
			state) CARPD_IFUPDOWN_STATE_DIR=$carpd_ctx_arg carpd_ctx_next= && continue ;;
		esac
		case "$carpd_ctx_arg" in
			-i | --interfaces) carpd_ctx_next=interfaces ;;
			--interfaces=*) CARPD_IFUPDOWN_INTERFACES=${carpd_ctx_arg#--interfaces=} ;;
			-i?*) CARPD_IFUPDOWN_INTERFACES=${carpd_ctx_arg#-i} ;;
			--state-dir) carpd_ctx_next=state ;;
			--state-dir=*) CARPD_IFUPDOWN_STATE_DIR=${carpd_ctx_arg#--state-dir=} ;;
		esac
	done <<CARPD_EOF
$(tr '\000' '\n' <"/proc/$1/cmdline" 2>/dev/null)
CARPD_EOF
	case "$CARPD_IFUPDOWN_INTERFACES" in
		'' | /*) ;;
		*) CARPD_IFUPDOWN_INTERFACES="$carpd_ctx_cwd/$CARPD_IFUPDOWN_INTERFACES" ;;
	esac
	case "$CARPD_IFUPDOWN_STATE_DIR" in
		'' | /*) ;;
		*) CARPD_IFUPDOWN_STATE_DIR="$carpd_ctx_cwd/$CARPD_IFUPDOWN_STATE_DIR" ;;
	esac
}

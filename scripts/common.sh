# SPDX-License-Identifier: GPL-2.0
# Shared settings for the rdynptr scripts: sourced, never run.

RDYNPTR_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RDYNPTR_CACHE=${RDYNPTR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rdynptr}

die() {
	printf '%s: error: %s\n' "${0##*/}" "$*" >&2
	exit 1
}

note() {
	printf '  %-8s %s\n' "$1" "$2" >&2
}

# A short, stable key for everything piped into it.
cache_key() {
	sha256sum | cut -c1-16
}

# done_or_lock DIR RESULT: if DIR holds a finished build (its .built
# stamp), print RESULT and exit; otherwise take DIR/.lock (waiting while
# another run builds it; fd 9 keeps the lock until the script ends) and
# look again.  Then the caller builds, and touches DIR/.built last.
done_or_lock() {
	local dir=$1 result=$2
	if [ ! -f "$dir/.built" ]; then
		mkdir -p "$dir"
		exec 9>"$dir/.lock"
		flock 9
	fi
	if [ -f "$dir/.built" ]; then
		echo "$result"
		exit 0
	fi
}

# Run a step; on failure stop with the step's name and what to do about it.
# usage: step "name" "what to do if it fails" cmd...
step() {
	local name=$1 hint=$2
	shift 2
	if ! "$@"; then
		printf '%s: step "%s" failed.\n  %s\n' "${0##*/}" "$name" "$hint" >&2
		exit 1
	fi
}

# Parallel jobs of a host build: JOBS, else one per CPU.
build_jobs() {
	case ${JOBS:-} in
	'') nproc ;;
	*[!0-9]*|0) die "JOBS=$JOBS: give a number of jobs (1 or more)" ;;
	*) echo "$JOBS" ;;
	esac
}

# progress LABEL LOG TOTAL PATTERN CMD [ARG]...
#
# Runs CMD with its output appended to LOG and shows how far it got: the
# lines of LOG that match PATTERN (the steps done) of TOTAL expected (0:
# unknown), the time spent and an estimate of the time left.  On a
# terminal the line is redrawn in place every second; otherwise a plain
# line is printed every PROGRESS_INTERVAL seconds (default 60).  Returns
# CMD's status.
progress() {
	local label=$1 log=$2 total=$3 pattern=$4
	shift 4
	local start=$SECONDS tty= every=${PROGRESS_INTERVAL:-60} shown=$SECONDS pid status=0
	[ -t 2 ] && tty=1 && every=1
	"$@" >>"$log" 2>&1 &
	pid=$!
	# Background jobs of a script ignore SIGINT: pass it on.
	trap 'kill -TERM "$pid" 2>/dev/null; exit 130' INT
	trap 'kill -TERM "$pid" 2>/dev/null; exit 143' TERM
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		[ $((SECONDS - shown)) -ge "$every" ] || continue
		shown=$SECONDS
		progress_line "$label" "$(grep -cE "$pattern" "$log")" "$total" \
			$((SECONDS - start)) "$tty"
	done
	wait "$pid" || status=$?
	trap - INT TERM
	[ -z "$tty" ] || printf '\r\033[K' >&2
	return "$status"
}

# progress_line LABEL DONE TOTAL ELAPSED TTY: one progress report.
progress_line() {
	local label=$1 done=$2 total=$3 t=$4 tty=$5 what
	what="$done steps"
	if [ "$total" -gt 0 ]; then
		what="$done of about $total steps ($((done * 100 / total))%)"
	fi
	what="$what, $(mmss "$t") elapsed"
	# Only once there is enough to go by.
	if [ "$total" -gt 0 ] && [ "$done" -ge $((total / 20 + 1)) ] && [ "$done" -lt "$total" ]; then
		what="$what, about $(mmss $((t * (total - done) / done))) left"
	fi
	if [ -n "$tty" ]; then
		printf '\r\033[K  %-8s %s' "$label" "$what" >&2
	else
		printf '  %-8s %s\n' "$label" "$what" >&2
	fi
}

mmss() {
	printf '%d:%02d' $(($1 / 60)) $(($1 % 60))
}

# Stop with what to do if this user cannot make user namespaces.
userns_check() {
	unshare --user --map-root-user true 2>/dev/null && return 0
	die "running as $(id -un) needs unprivileged user namespaces, which this host does not allow (as root: sysctl -w kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0; see Documentation/rootless.rst), or run as root"
}

# rm_tree DIR: remove DIR, also when made by mmdebstrap's unshare mode
# (its files belong to this user's subordinate ids, which only a user
# namespace that maps them can remove).
rm_tree() {
	rm -rf --one-file-system "$1" 2>/dev/null || true
	[ -e "$1" ] || return 0
	local u g
	u=$(awk -F: -v n="$(id -un)" '$1 == n { print $2 "," 1 "," $3; exit }' /etc/subuid 2>/dev/null)
	g=$(awk -F: -v n="$(id -un)" '$1 == n { print $2 "," 1 "," $3; exit }' /etc/subgid 2>/dev/null)
	[ -n "$u" ] && [ -n "$g" ] &&
		unshare --map-root-user --map-users="$u" --map-groups="$g" rm -rf --one-file-system "$1" 2>/dev/null || true
}

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

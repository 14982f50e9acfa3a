#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Create (once) the rdynptr toolchain root and print its path.
#
# usage: scripts/toolchain-root.sh [--print-dir]
#
# The root is a Debian trixie chroot with everything the build and the
# guest need (scripts/toolchain-packages), made by mmdebstrap: as root, or
# without root in a user namespace (Documentation/rootless.rst).  It lives under
# $RDYNPTR_CACHE/root-<key>, where the key covers the package list, the
# suites and the mirror.  It is built in a temporary directory and renamed
# into place only when complete, so an interrupted run never leaves a root
# that a later run would take for a good one.  A warm run does not touch
# the network.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Parsed whole before it runs, so that editing this file cannot derail
# a run in progress.
main() {

ROOT_FORMAT=3
SUITE=trixie
MIRROR=${RDYNPTR_MIRROR:-http://deb.debian.org/debian}
PKGLIST=$RDYNPTR_TOP/scripts/toolchain-packages

packages() {
	sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$PKGLIST"
}

key=$({ echo "format=$ROOT_FORMAT suite=$SUITE mirror=$MIRROR"; packages; } | cache_key)
root=$RDYNPTR_CACHE/root-$key
stamp=.rdynptr-root-complete
# --print-dir: where the root is (or would be), without making it.
if [ "${1:-}" = --print-dir ]; then
	echo "$root"
	exit 0
fi

if [ -f "$root/$stamp" ]; then
	echo "$root"
	exit 0
fi

mkdir -p "$RDYNPTR_CACHE"
exec 9>"$RDYNPTR_CACHE/root.lock"
flock 9
if [ -f "$root/$stamp" ]; then	# made by another run while we waited
	echo "$root"
	exit 0
fi

avail=$(df -Pk "$RDYNPTR_CACHE" | awk 'NR == 2 { print $4 }')
[ "$avail" -ge $((6 * 1024 * 1024)) ] ||
	die "step \"disk space\": $RDYNPTR_CACHE has $((avail / 1024)) MiB free; the root and kernel build need about 6 GiB. Free some space or set RDYNPTR_CACHE."

# mmdebstrap makes the root as root, and without root in a user namespace
# (its unshare mode: the files belong to the user's subordinate ids).
if [ "$(id -u)" = 0 ]; then
	mode=root
	if ! command -v mmdebstrap >/dev/null; then
		note INSTALL "mmdebstrap (host)"
		step "install mmdebstrap" \
			"Install it yourself: apt-get install mmdebstrap (needs a Debian-based host and network)." \
			sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null'
	fi
else
	mode=unshare
	command -v mmdebstrap >/dev/null && command -v newuidmap >/dev/null ||
		die "making the toolchain root as $(id -un) needs mmdebstrap and newuidmap on the host: ask an administrator to run apt-get install mmdebstrap uidmap (or run this once as root)"
	grep -q "^$(id -un):" /etc/subuid && grep -q "^$(id -un):" /etc/subgid ||
		die "making the toolchain root as $(id -un) needs subordinate ids: ask an administrator to run usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $(id -un) (see Documentation/rootless.rst)"
	userns_check
fi

tmp=$root.tmp.$$
cleanup() {
	rm_tree "$tmp"
}
trap cleanup EXIT
for old in "$RDYNPTR_CACHE"/root-*.tmp.*; do
	[ -e "$old" ] && rm_tree "$old"
done

includes=()
while read -r p; do
	case $p in
	*:*) includes+=("${p#*:}/${p%%:*}") ;;	# suite:package -> package/suite
	*) includes+=("$p") ;;
	esac
done < <(packages)
includes=$(IFS=,; echo "${includes[*]}")

# A host that is not Debian (an Ubuntu CI runner) does not trust Debian's
# archive keys: mmdebstrap gets Debian's keyring where it is installed.
keyring=()
if ! grep -qx 'ID=debian' /etc/os-release 2>/dev/null &&
	[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]; then
	keyring=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
fi

log=$RDYNPTR_CACHE/root-$key.log
: >"$log"
# Progress: apt's lines for each package fetched, unpacked and set up.
steps_re='^(Get:[0-9]|Unpacking |Setting up )'
steps=880
note ROOT "creating $root (log: $log)"
step "mmdebstrap $SUITE ($mode mode)" \
	"Check the network to $MIRROR, the free space and the log $log." \
	progress ROOT "$log" "$steps" "$steps_re" \
	mmdebstrap --mode="$mode" --variant=minbase --verbose ${keyring[@]+"${keyring[@]}"} \
		--include="$includes" \
		--customize-hook="$(cat "$RDYNPTR_TOP/scripts/toolchain-root-customize")" \
		"$SUITE" "$tmp" \
		"deb $MIRROR $SUITE main" \
		"deb $MIRROR $SUITE-backports main" \
		"deb-src $MIRROR $SUITE main"
step "check the root" "See the output above." "$RDYNPTR_TOP/scripts/in-root" --root "$tmp" -- true
mv "$tmp" "$root"
trap - EXIT
note ROOT "ready"
echo "$root"
}

main "$@"; exit

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prove that rdynptr works without root: run, as root, a make target as an
# unprivileged user.
#
# usage: scripts/tests/rootless.sh [USER] [-- MAKE-ARGS...]   (default:
#        rdynptr-ci; make vmtest)
#
# Sets the host up the way Documentation/rootless.rst asks an
# administrator to (the user, its subordinate ids, mmdebstrap and uidmap,
# unprivileged user namespaces), then, as the user, in a clone of this
# repository's HEAD and a cache of the user's own:
#
#  - makes the toolchain root with mmdebstrap's unshare mode (no root);
#  - uses the test kernel root already built (bind-mounted read-only at
#    the place the user's cache looks for it; building it again would
#    only repeat what make check did) and root's crates;
#  - runs make MAKE-ARGS, whose exit status is the script's.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

user=rdynptr-ci
if [ $# -gt 0 ] && [ "$1" != -- ]; then
	user=$1
	shift
fi
[ "${1:-}" != -- ] || shift
[ $# -gt 0 ] || set -- vmtest
[ "$(id -u)" = 0 ] || die "run me as root: I set up the host and then become $user"

say() { printf 'rootless: %s\n' "$*" >&2; }

# The host, as Documentation/rootless.rst describes it.
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
for f in /etc/subuid /etc/subgid; do
	grep -q "^$user:" "$f" 2>/dev/null ||
		usermod "--add-sub${f#/etc/sub}s" 300000-365535 "$user"
done
if ! command -v mmdebstrap >/dev/null || ! command -v newuidmap >/dev/null; then
	say "installing mmdebstrap and uidmap"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap uidmap >/dev/null
fi
if [ -e /proc/sys/kernel/unprivileged_userns_clone ]; then
	sysctl -qw kernel.unprivileged_userns_clone=1
fi

home=$(getent passwd "$user" | cut -d: -f6)
cache=/var/tmp/rdynptr-rootless-$user
repo=$home/rdynptr
mkdir -p "$cache"
chown "$user:" "$cache"

# What root built: the kernel, seen read-only where the user's cache
# has it, and the crates.
kdir=$(FLAVOR=${FLAVOR:-default} "$RDYNPTR_TOP/scripts/rdynptr.sh" kdir)
kernel=$(dirname "$kdir")
seen=$cache/${kernel##*/}
mkdir -p "$seen"
mountpoint -q "$seen" || mount --bind "$kernel" "$seen"
mount -o remount,bind,ro "$seen"
cleanup() { umount "$seen" 2>/dev/null || true; }
trap cleanup EXIT
if [ -d "$RDYNPTR_CACHE/cargo" ] && [ ! -d "$cache/cargo" ]; then
	cp -a "$RDYNPTR_CACHE/cargo" "$cache/cargo"
	chown -R "$user:" "$cache/cargo"
fi

rm -rf "$repo"
git clone --quiet "$RDYNPTR_TOP" "$repo"
chown -R "$user:" "$repo"
say "make $* as $user (uid $(id -u "$user")) in $repo, cache $cache"
cd "$repo"
pass=()
for v in KERNEL FLAVOR KERNEL_PATCHES VM_TIMEOUT VM_DEADLINE VM_ACCEL JOBS FILTER; do
	[ -n "${!v:-}" ] && pass+=("$v=${!v}")
done
runuser -u "$user" -- env -i HOME="$home" PATH="$PATH" LANG=C.UTF-8 \
	RDYNPTR_CACHE="$cache" ${pass[@]+"${pass[@]}"} make "$@"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Create (once) the rdynptr toolchain root and print its path.
#
# The root is a Debian trixie chroot with everything the build and the
# guest need (scripts/toolchain-packages).  It lives under
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

ROOT_FORMAT=1
SUITE=trixie
MIRROR=${RDYNPTR_MIRROR:-http://deb.debian.org/debian}
PKGLIST=$RDYNPTR_TOP/scripts/toolchain-packages

packages() {
	sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$PKGLIST"
}

key=$({ echo "format=$ROOT_FORMAT suite=$SUITE mirror=$MIRROR"; packages; } | cache_key)
root=$RDYNPTR_CACHE/root-$key
stamp=.rdynptr-root-complete

if [ -f "$root/$stamp" ]; then
	echo "$root"
	exit 0
fi

[ "$(id -u)" = 0 ] || die "creating the toolchain root needs root (debootstrap, chroot); run as root"
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

if ! command -v debootstrap >/dev/null; then
	note INSTALL "debootstrap (host)"
	step "install debootstrap" \
		"Install it yourself: apt-get install debootstrap (needs a Debian-based host and network)." \
		sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null'
fi

tmp=$root.tmp.$$
cleanup() {
	# Never leave mounts or a half-made root behind.
	for m in dev/pts dev proc sys; do
		mountpoint -q "$tmp/$m" 2>/dev/null && umount -l "$tmp/$m" || true
	done
	rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
rm -rf --one-file-system "$RDYNPTR_CACHE"/root-*.tmp.* 2>/dev/null || true

log=$RDYNPTR_CACHE/root-$key.log
note ROOT "creating $root (log: $log)"
step "debootstrap $SUITE" \
	"Check the network to $MIRROR and the free space; the log is $log." \
	debootstrap --variant=minbase "$SUITE" "$tmp" "$MIRROR" >"$log" 2>&1

cat >"$tmp/etc/apt/sources.list" <<SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-backports main
SOURCES
printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
chmod +x "$tmp/usr/sbin/policy-rc.d"
cp -L /etc/resolv.conf "$tmp/etc/resolv.conf" 2>/dev/null || true

plain=() backports=()
while read -r p; do
	case $p in
	*:*) backports+=("${p#*:}") ;;
	*) plain+=("$p") ;;
	esac
done < <(packages)

inroot() {
	"$RDYNPTR_TOP/scripts/in-root" --root "$tmp" -- "$@" >>"$log" 2>&1
}
export DEBIAN_FRONTEND=noninteractive
step "apt-get update in the root" \
	"Check the network to $MIRROR; the log is $log." \
	inroot apt-get update
step "install the toolchain packages" \
	"See $log for the package that failed; check scripts/toolchain-packages and the free space." \
	inroot apt-get install -y --no-install-recommends "${plain[@]}"
if [ ${#backports[@]} -gt 0 ]; then
	step "install from $SUITE-backports" \
		"See $log; the backports suite must carry: ${backports[*]}." \
		inroot apt-get install -y --no-install-recommends -t "$SUITE-backports" "${backports[@]}"
fi
inroot apt-get clean

{
	echo "created $(date -u +%FT%TZ)"
	inroot true
	"$RDYNPTR_TOP/scripts/in-root" --root "$tmp" -- dpkg-query -W -f '${Package} ${Version}\n'
} >"$tmp/$stamp.tmp"
mv "$tmp/$stamp.tmp" "$tmp/$stamp"
mv "$tmp" "$root"
trap - EXIT
note ROOT "ready"
echo "$root"
}

main "$@"; exit

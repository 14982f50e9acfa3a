#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch (once) the newest linux-source-SERIES that Debian's archive offers
# in the suites rdynptr supports for SERIES, and print the path of its
# source tarball.
#
# usage: scripts/kernel-source.sh [--version] SERIES
#
#   SERIES     6.12, 7.2 or 7.3
#   --version  print the package version that would be used instead
#
# The package comes from apt in the toolchain root, with a private sources
# list and state directory under $RDYNPTR_CACHE/sources (so the root is
# never changed): apt checks the archive's signatures and the package's
# checksum (the Valid-Until dates of the Release files are not enforced:
# sid's expire within a week, and the archive this runs against may lag).
# The suites of a series:
#
#   6.12  trixie, trixie-security, trixie-updates
#   7.2   sid, trixie-backports
#   7.3   trixie-backports, experimental
#
# The tarball is kept as $RDYNPTR_CACHE/sources/linux-source-<version>.tar.xz
# (its name gives the version);
# apt's lists (in $RDYNPTR_CACHE/sources/apt-SERIES) are refreshed when
# older than a day (SOURCE_REFRESH=1: now).

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

main() {

print_version=
if [ "${1:-}" = --version ]; then
	print_version=1
	shift
fi
[ $# -eq 1 ] || die "usage: $0 [--version] 6.12|7.2|7.3"
series=$1
case $series in
6.12) suites="trixie trixie-security trixie-updates" ;;
7.2) suites="sid trixie-backports" ;;
7.3) suites="trixie-backports experimental" ;;
*) die "unknown kernel series \"$series\": use 6.12, 7.2 or 7.3" ;;
esac
pkg=linux-source-$series
fetch=("$RDYNPTR_TOP/scripts/debian-package.sh")
if [ -n "$print_version" ]; then
	"${fetch[@]}" --version "$series" "$pkg" $suites
	exit 0
fi
version=$("${fetch[@]}" --version "$series" "$pkg" $suites)

src=$RDYNPTR_CACHE/sources
tarball=$src/linux-source-$version.tar.xz
if [ ! -f "$tarball" ]; then
	deb=$("${fetch[@]}" "$series" "$pkg" $suites)
	"$RDYNPTR_TOP/scripts/in-root" -- sh -c \
		'dpkg-deb --fsys-tarfile "$1" | tar -xO -f - "./usr/src/$2.tar.xz" >"$3.part"' \
		sh "$deb" "$pkg" "$tarball"
	mv "$tarball.part" "$tarball"
	rm -f "$deb"
fi
echo "$tarball"

}

main "$@"; exit

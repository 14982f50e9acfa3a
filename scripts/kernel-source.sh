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

src=$RDYNPTR_CACHE/sources
# apt's lists and state, per series: its suites only.
apt_dir=$src/apt-$series
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
exec 9>"$src/.lock-$series"
flock 9

list=$apt_dir/sources.list
for s in $suites; do
	case $s in
	*-security) echo "deb http://security.debian.org/debian-security $s main" ;;
	*) echo "deb http://deb.debian.org/debian $s main" ;;
	esac
done >"$list"

apt_in_root() {
	"$RDYNPTR_TOP/scripts/in-root" -- apt-get -q \
		-o Dir::State="$apt_dir" -o Dir::State::status=/var/lib/dpkg/status \
		-o Dir::Cache="$apt_dir" -o Dir::Etc::SourceList="$list" \
		-o Dir::Etc::SourceParts=/nonexistent -o APT::Default-Release= \
		-o Acquire::Languages=none -o APT::Sandbox::User=root \
		-o Acquire::Check-Valid-Until=false "$@"
}

stamp=$apt_dir/.updated
if [ "${SOURCE_REFRESH:-}" = 1 ] || [ ! -f "$stamp" ] ||
	[ -n "$(find "$stamp" -mmin +1440)" ]; then
	note APT "package lists of ${suites// /, }"
	step "read the Debian archive's package lists" \
		"Check the network access to deb.debian.org." \
		apt_in_root update >&2
	touch "$stamp"
fi

# The newest version of the package in those suites.
version=$("$RDYNPTR_TOP/scripts/in-root" -- sh -c '
	best=
	for v in $(apt-cache -o Dir::State="$1" -o Dir::State::status=/var/lib/dpkg/status \
			-o Dir::Cache="$1" -o Dir::Etc::SourceList="$2" \
			-o Dir::Etc::SourceParts=/nonexistent madison "$3" | awk "{ print \$3 }"); do
		if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then
			best=$v
		fi
	done
	echo "$best"' sh "$apt_dir" "$list" "$pkg")
[ -n "$version" ] || die "$pkg is not in ${suites// /, } (Debian archive)"
if [ -n "$print_version" ]; then
	echo "$version"
	exit 0
fi

tarball=$src/linux-source-$version.tar.xz
if [ ! -f "$tarball" ]; then
	note FETCH "$pkg $version"
	(
		cd "$apt_dir/archives"
		step "download $pkg $version" "Check the network access to deb.debian.org." \
			apt_in_root download "$pkg=$version" >&2
	)
	deb=$(find "$apt_dir/archives" -maxdepth 1 -name "${pkg}_*.deb" | head -n 1)
	[ -n "$deb" ] || die "apt downloaded no $pkg package"
	"$RDYNPTR_TOP/scripts/in-root" -- sh -c \
		'dpkg-deb --fsys-tarfile "$1" | tar -xO -f - "./usr/src/$2.tar.xz" >"$3.part"' \
		sh "$deb" "$pkg" "$tarball"
	mv "$tarball.part" "$tarball"
	rm -f "$deb"
fi
echo "$tarball"

}

main "$@"; exit

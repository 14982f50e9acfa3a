#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch (once) the newest version of a Debian package that the given
# suites offer, and print the path of its .deb.
#
# usage: scripts/debian-package.sh [--version] NAME PACKAGE SUITE...
#
#   NAME       names the package lists kept for these suites, under
#              $RDYNPTR_CACHE/sources/apt-NAME (refreshed once a day, or
#              with SOURCE_REFRESH=1)
#   --version  print the version that would be fetched instead
#
# apt runs in the toolchain root with its own lists, so the root's own
# sources and state are left alone.  The .deb lands in
# $RDYNPTR_CACHE/sources/.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

main() {

print_version=
if [ "${1:-}" = --version ]; then
	print_version=1
	shift
fi
[ $# -ge 3 ] || die "usage: $0 [--version] NAME PACKAGE SUITE..."
name=$1 pkg=$2
shift 2
suites=$*

src=$RDYNPTR_CACHE/sources
apt_dir=$src/apt-$name
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
exec 9>"$src/.lock-$name"
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

deb=$src/${pkg}_${version//:/%3a}.deb
if [ ! -f "$deb" ]; then
	note FETCH "$pkg $version"
	rm -f "$apt_dir/archives/${pkg}"_*.deb
	(
		cd "$apt_dir/archives"
		step "download $pkg $version" "Check the network access to deb.debian.org." \
			apt_in_root download "$pkg=$version" >&2
	)
	got=$(find "$apt_dir/archives" -maxdepth 1 -name "${pkg}_*.deb" | head -n 1)
	[ -n "$got" ] || die "apt downloaded no $pkg package"
	mv "$got" "$deb"
fi
echo "$deb"

}

main "$@"; exit

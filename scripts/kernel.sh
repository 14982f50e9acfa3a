#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (once) the rdynptr test kernel and print its build directory.
#
# usage: scripts/kernel.sh [--series S] [--flavor NAME] [--patches DIR|none] [--print-dir]
#
# linux-source-S (S: 7.3, the default, from the toolchain root; 7.2 or
# 6.12, the newest Debian has, fetched by scripts/kernel-source.sh), with
# the patches of DIR (default scripts/patches/ for 7.3,
# scripts/patches/S/ for another series) applied in order, then those of
# scripts/patches/NAME/ (7.3) or scripts/patches/NAME/S/ for a flavor
# other than the default (whatever DIR is: they belong to the flavor,
# like its fragment), configured as
# tinyconfig + scripts/kconfig/rdynptr.config (+ scripts/kconfig/NAME.config
# for such a flavor), built with LLVM=1.  The result lives in
# $RDYNPTR_CACHE/kernel-<key>/linux, keyed by the kernel source version,
# the fragments, the patches and the toolchain root.  A build directory
# is used only once it carries its "built" stamp; an interrupted build is
# resumed by the next run.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Parsed whole before it runs, so that editing this file cannot derail
# a run in progress.
main() {

KERNEL_FORMAT=2
series=7.3
flavor=default
print_dir=
patchdir=
while [ $# -gt 0 ]; do
	case $1 in
	--series) series=$2; shift 2 ;;
	--flavor) flavor=$2; shift 2 ;;
	--patches) patchdir=$2; shift 2 ;;
	--print-dir) print_dir=1; shift ;;
	*) die "usage: $0 [--series 6.12|7.2|7.3] [--flavor NAME] [--patches DIR|none] [--print-dir]" ;;
	esac
done
case $series in
7.3) [ -n "$patchdir" ] || patchdir=$RDYNPTR_TOP/scripts/patches ;;
7.2 | 6.12) [ -n "$patchdir" ] || patchdir=$RDYNPTR_TOP/scripts/patches/$series ;;
*) die "unknown kernel series \"$series\": KERNEL=6.12, 7.2 or 7.3" ;;
esac

frags=("$RDYNPTR_TOP/scripts/kconfig/rdynptr.config")
# A flavor's fragment may carry directives (comment lines):
#   # rdynptr-base: CONFIG_TARGET           start from this instead of tinyconfig
#   # rdynptr-tree-fragments: PATH...       fragments of the kernel tree, merged
#                                           before the flavor's own
#   # rdynptr-builtin-modules: yes          make mod2yesconfig after olddefconfig
base=tinyconfig
tree_frags=()
builtin_modules=
flavor_frag=
if [ "$flavor" != default ]; then
	flavor_frag=$RDYNPTR_TOP/scripts/kconfig/$flavor.config
	[ -f "$flavor_frag" ] || die "no fragment for flavor \"$flavor\" ($flavor_frag)"
	directive() { sed -n "s/^# rdynptr-$1: *//p" "$flavor_frag"; }
	[ -z "$(directive base)" ] || base=$(directive base)
	read -r -a tree_frags <<<"$(directive tree-fragments)"
	[ "$(directive builtin-modules)" != yes ] || builtin_modules=1
	frags+=("$flavor_frag")
fi
patches=()
add_patches() {	# DIR: append DIR/*.patch to patches, in name order
	local p
	while IFS= read -r p; do
		patches+=("$p")
	done < <(find "$1" -maxdepth 1 -name '*.patch' | LC_ALL=C sort)
}
if [ "$patchdir" != none ]; then
	[ -d "$patchdir" ] || die "patch directory $patchdir does not exist (KERNEL_PATCHES=none builds the kernel without patches)"
	add_patches "$patchdir"
fi
# A flavor's own patches: scripts/patches/FLAVOR/ on 7.3, like the default
# ones, scripts/patches/FLAVOR/SERIES/ on another series, none where that
# directory does not exist (the debug flavor's slub patch is for the
# per-CPU sheaves, which 6.12 does not have).
flavor_patches=$RDYNPTR_TOP/scripts/patches/$flavor
[ "$series" = 7.3 ] || flavor_patches=$flavor_patches/$series
if [ "$flavor" != default ] && [ -d "$flavor_patches" ]; then
	add_patches "$flavor_patches"
fi

root=$("$RDYNPTR_TOP/scripts/toolchain-root.sh")
pkg=linux-source-$series
if [ "$series" = 7.3 ]; then
	# The toolchain root's (trixie-backports).
	tarball=/usr/src/$pkg.tar.xz
	srcver=$(sed -n "s/^$pkg //p" "$root/.rdynptr-root-complete")
	[ -n "$srcver" ] && [ -f "$root$tarball" ] || die "$pkg is missing from the toolchain root $root"
else
	if [ -n "$print_dir" ]; then	# the version is enough for the key
		srcver=$("$RDYNPTR_TOP/scripts/kernel-source.sh" --version "$series")
	else
		tarball=$("$RDYNPTR_TOP/scripts/kernel-source.sh" "$series")
		srcver=${tarball##*/linux-source-}
		srcver=${srcver%.tar.xz}
	fi
fi

base_inputs() {
	echo "format=$KERNEL_FORMAT source=$srcver"
	# The tools that shape the kernel image and its Rust metadata (not
	# the whole root: adding an unrelated package must not rebuild it).
	grep -E '^(rustc|rust-src|bindgen|clang-19|llvm-19|lld-19|dwarves|libelf-dev|libssl-dev|make|bison|flex|bc) ' \
		"$root/.rdynptr-root-complete"
	for f in "${frags[@]}"; do echo "fragment ${f##*/}"; cat "$f"; done
}
key=$({
	base_inputs
	for p in ${patches[@]+"${patches[@]}"}; do echo "patch ${p##*/}"; cat "$p"; done
} | cache_key)
dir=$RDYNPTR_CACHE/kernel-$key
kdir=$dir/linux

if [ -n "$print_dir" ]; then	# where the build is (or would be), and stop
	echo "$dir"
	exit 0
fi

done_or_lock "$dir" "$kdir"

log=$dir/build.log
: >"$log"
inroot() {
	"$RDYNPTR_TOP/scripts/in-root" --root "$root" -- "$@"
}
expected_steps() {
	local d newest= n
	for d in "$RDYNPTR_CACHE"/kernel-*/; do
		[ -f "$d/build.steps" ] && grep -qx "flavor: $flavor" "$d/inputs" 2>/dev/null &&
			grep -q "^source: $pkg " "$d/inputs" || continue
		[ -z "$newest" ] || [ "$d/build.steps" -nt "$newest" ] && newest=$d/build.steps
	done
	if [ -n "$newest" ] && read -r n <"$newest" && [ "$n" -gt 0 ] 2>/dev/null; then
		echo "$n"
		return
	fi
	case $flavor in	# measured on 7.3.4; 0: unknown, only the count is shown
	default) echo 1890 ;;
	debug) echo 1920 ;;
	*) echo 0 ;;
	esac
}
kmake() {
	inroot make -C "$kdir" ARCH=x86_64 LLVM=1 "$@"
}

{
	echo "flavor: $flavor"
	echo "source: $pkg $srcver"
	echo "fragments: ${frags[*]##*/}"
	echo "patches: ${patches[*]##*/}"
} >"$dir/inputs"

if [ ! -f "$dir/.patched" ]; then
	rm -rf "$kdir" "$dir/.configured" "$dir/patches"
	mkdir -p "$dir/patches"
	note UNPACK "$pkg $srcver -> $kdir"
	step "unpack the kernel source" "Check the free space under $RDYNPTR_CACHE." \
		inroot tar -C "$dir" -xf "$tarball"
	mv "$dir/$pkg" "$kdir"
	# Kept beside the build, numbered in the order they are applied.
	n=0
	for p in ${patches[@]+"${patches[@]}"}; do
		n=$((n + 1))
		copy=$dir/patches/$(printf %02d "$n")-${p##*/}
		cp "$p" "$copy"
		note PATCH "${copy##*/}"
		step "apply patch ${p##*/}" \
			"The patch does not apply to $pkg $srcver; refresh it against that tree." \
			inroot patch -d "$kdir" -p1 --batch --quiet -i "$copy"
	done
	touch "$dir/.patched"
fi

fresh=
if [ ! -f "$dir/.configured" ]; then
	fresh=1
	# The fragments in merge order: ours, the tree's, the flavor's last.
	merge=("${frags[0]}")
	for f in ${tree_frags[@]+"${tree_frags[@]}"}; do
		[ -f "$kdir/$f" ] || die "the flavor $flavor wants the tree's $f, which $pkg $srcver does not have"
		merge+=("$kdir/$f")
	done
	[ -z "$flavor_frag" ] || merge+=("$flavor_frag")
	note CONFIG "$base + ${merge[*]##*/}"
	cp "${frags[@]}" "$dir/"
	step "configure the kernel" "See the output above." \
		kmake -s "$base"
	step "merge the kconfig fragments" "See $dir/config.log." \
		inroot "$kdir/scripts/kconfig/merge_config.sh" -m -O "$kdir" "$kdir/.config" "${merge[@]}" >"$dir/config.log"
	step "olddefconfig" "See the output above." kmake -s olddefconfig
	if [ -n "$builtin_modules" ]; then
		step "build the modules in" "See the output above." kmake -s mod2yesconfig
	fi
	if ! "$RDYNPTR_TOP/scripts/kconfig-check.sh" "${merge[@]}" -- "$kdir/.config" >"$dir/config-check"; then
		cat "$dir/config-check" >&2
		die "step \"check the kernel config\": these options from ${merge[*]##*/} did not survive olddefconfig (a prerequisite is missing, or the flavor's fragment must say otherwise): $(cut -d: -f1 "$dir/config-check" | tr '\n' ' ')"
	fi
	touch "$dir/.configured"
fi

# Progress: kbuild prints one line per step ("  CC      kernel/fork.o").
# The expected count is that of the last complete build of this flavor
# (any key), else the figure measured for it when this was written.
steps_re='^  [A-Z]'
steps=$(expected_steps)
note BUILD "kernel (log: $log)"
start=$SECONDS
if ! progress BUILD "$log" "$steps" "$steps_re" kmake -j"$(build_jobs)" all; then
	tail -n 40 "$log" >&2
	die "step \"build the kernel\" failed; the full log is $log"
fi
for f in vmlinux arch/x86/boot/bzImage rust/kernel.o Module.symvers; do
	[ -e "$kdir/$f" ] || die "step \"check the kernel build\": $kdir/$f is missing (see $log)"
done
note BUILD "kernel done in $((SECONDS - start)) s"
# A resumed build shows only the steps it still had to do.
[ -z "$fresh" ] || grep -cE "$steps_re" "$log" >"$dir/build.steps" || true
touch "$dir/.built"
echo "$kdir"
}

main "$@"; exit

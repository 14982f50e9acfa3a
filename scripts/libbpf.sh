#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: scripts/libbpf.sh [--print-dir]
#
# The libbpf that rdynptr-test and rdynptr-bench link (statically, through
# libbpf-sys's static-libbpf feature and LIBBPF_SYS_LIBRARY_PATH): the
# tools/lib/bpf of the newest kernel series' source, linux-source-7.3 in
# the toolchain root.  It opens every object of the kernel trees rdynptr
# tests (jump tables, .percpu data, ...), where Debian's libbpf 1.5 does
# not.  The libbpf-sys bindings stay those of libbpf 1.5: libbpf keeps its
# ABI, and its option structs carry their size.
#
# Also the kernel's BPF disassembler (kernel/bpf/disasm.c of the same
# source) with rdynptr-test's glue (tools/harness/csrc/xlated.c), as
# libbpf_disasm.a: what __xlated checks are matched against, as in
# test_loader.c.
#
# And the kernel's KTAP parser, tools/testing/kunit (kunit.py parse), for
# the host test that rdynptr-test's KTAP parses (in DIR/tools/testing/kunit:
# kunit.py finds itself by that path).
#
# Built once into $RDYNPTR_CACHE/libbpf-KEY (a few seconds after the
# source is unpacked); prints that directory, which holds libbpf.a and
# libbpf_disasm.a.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

root=$("$RDYNPTR_TOP/scripts/toolchain-root.sh")
pkg=linux-source-7.3
tarball=/usr/src/$pkg.tar.xz
srcver=$(sed -n "s/^$pkg //p" "$root/.rdynptr-root-complete")
[ -n "$srcver" ] && [ -f "$root$tarball" ] || die "$pkg is missing from the toolchain root $root"
glue=$RDYNPTR_TOP/tools/harness/csrc/xlated.c
key=$({
	echo "source=$pkg $srcver cflags=-O2 -fPIC kunit=tools/testing/kunit archive=objects"
	cat "$glue"
	grep -E '^(clang-19|llvm-19|libelf-dev|zlib1g-dev|make) ' "$root/.rdynptr-root-complete"
} | cache_key)
dir=$RDYNPTR_CACHE/libbpf-$key
# --print-dir: where it is (or would be), without building it.
if [ "${1:-}" = --print-dir ]; then
	echo "$dir"
	exit 0
fi
if [ -f "$dir/libbpf.a" ] && [ -f "$dir/libbpf_disasm.a" ] && [ -f "$dir/tools/testing/kunit/kunit.py" ]; then
	echo "$dir"
	exit 0
fi

mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if [ ! -f "$dir/libbpf.a" ] || [ ! -f "$dir/libbpf_disasm.a" ] || [ ! -f "$dir/tools/testing/kunit/kunit.py" ]; then
	inroot() { "$RDYNPTR_TOP/scripts/in-root" --root "$root" -- "$@"; }
	rm -rf "$dir/src" "$dir/obj"
	mkdir -p "$dir/src" "$dir/obj"
	note LIBBPF "tools/lib/bpf of $pkg $srcver -> $dir"
	# tools/lib/bpf builds with tools/build, tools/scripts and the uapi
	# headers of tools/include; bpf_helper_defs.h comes from the kernel's
	# uapi bpf.h through scripts/bpf_doc.py.
	step "unpack tools/lib/bpf" "Check the free space under $RDYNPTR_CACHE." \
		inroot tar -C "$dir/src" -xf "$tarball" --wildcards \
		"$pkg/tools/lib/bpf" "$pkg/tools/include" "$pkg/tools/build" \
		"$pkg/tools/scripts" "$pkg/tools/arch/x86/include" \
		"$pkg/include/uapi/linux/bpf.h" "$pkg/scripts/bpf_doc.py" \
		"$pkg/kernel/bpf/disasm.c" "$pkg/kernel/bpf/disasm.h" \
		"$pkg/tools/testing/kunit"
	step "build libbpf" "See the output above." \
		inroot make -s -C "$dir/src/$pkg/tools/lib/bpf" OUTPUT="$dir/obj/" \
		CC=clang EXTRA_CFLAGS="-O2 -fPIC" -j"$(build_jobs)" "$dir/obj/libbpf.a"
	src=$dir/src/$pkg
	step "build the BPF disassembler" "See the output above." \
		inroot sh -c 'clang -O2 -fPIC -I"$1/tools/include" -I"$1/tools/include/uapi" \
			-c "$1/kernel/bpf/disasm.c" -o "$2/disasm.o" &&
			clang -O2 -fPIC -Wall -Werror -I"$1/kernel/bpf" -I"$1/tools/include" -I"$1/tools/include/uapi" \
			-c "$3" -o "$2/xlated.o" &&
			ar rcs "$2/libbpf_disasm.a" "$2/disasm.o" "$2/xlated.o"' \
		sh "$src" "$dir/obj" "$glue"
	# The archive holds libbpf's objects one by one, not the single
	# partial link (libbpf-in.o) that libbpf's Makefile archives: then a
	# call from one of its source files to another is a reference the
	# final link resolves, which rdynptr-test's -Wl,--wrap can take over
	# (tools/harness/src/btf_cache.rs).
	step "archive libbpf" "See the output above." \
		inroot sh -c 'cd "$1/obj/staticobjs" && ar rcs "$1/libbpf.a.tmp" $(ls *.o | grep -vx libbpf-in.o)' \
		sh "$dir"
	mv "$dir/libbpf.a.tmp" "$dir/libbpf.a"
	cp "$dir/obj/libbpf_disasm.a" "$dir/libbpf_disasm.a.tmp"
	mv "$dir/libbpf_disasm.a.tmp" "$dir/libbpf_disasm.a"
	rm -rf "$dir/tools"
	mkdir -p "$dir/tools/testing"
	mv "$src/tools/testing/kunit" "$dir/tools/testing/kunit"
	rm -rf "$dir/src" "$dir/obj"
fi
echo "$dir"

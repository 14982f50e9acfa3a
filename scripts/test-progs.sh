#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: scripts/test-progs.sh KDIR [--print-dir] [--print-key]
#
# The kernel tree's own BPF selftest runner, test_progs, built with that
# tree's tools/testing/selftests/bpf/Makefile inside the toolchain root
# (make upstream-compare runs it beside rdynptr-test).  KDIR is a built
# tree (the selftests flavor: scripts/kernel.sh --flavor selftests); the
# Makefile takes its vmlinux BTF, its libbpf, bpftool and resolve_btfids,
# and builds every BPF object, skeleton and test module that test_progs
# embeds, with LLVM=1 as the kernel was built (its test modules must be
# built by the kernel's compiler).  BPF_STRICT_BUILD=0: an object or test that does not compile
# with the root's clang is left out (test_progs then lacks that test), as
# the Makefile allows.
#
# Built once into $RDYNPTR_CACHE/test_progs-KEY, keyed by the tree (its
# build directory, whose name is its own key) and the compilers and
# libraries of the root; prints that directory, which holds test_progs
# and what it loads from its working directory.  A build that was cut
# short is resumed (make rebuilds only what is missing).  --print-dir
# prints where it is (or would be) and stops; --print-key the key.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

main() {

[ $# -ge 1 ] || die "usage: $0 KDIR [--print-dir|--print-key]"
kdir=$(cd "$1" && pwd)
what=${2:-build}
selftests=$kdir/tools/testing/selftests/bpf
[ -f "$selftests/Makefile" ] && [ -f "$kdir/vmlinux" ] ||
	die "$kdir is not a built kernel tree with tools/testing/selftests/bpf"

root=$("$RDYNPTR_TOP/scripts/toolchain-root.sh")
key=$({
	echo "format=1 kdir=$kdir make=test_progs LLVM=1 BPF_STRICT_BUILD=0 CLANG_CFLAGS+=-mcpu=v4"
	grep -E '^(gcc-14|clang-19|llvm-19|llvm-19-dev|lld-19|libelf-dev|zlib1g-dev|libzstd-dev|libssl-dev|openssl|rsync|make) ' \
		"$root/.rdynptr-root-complete"
} | cache_key)
dir=$RDYNPTR_CACHE/test_progs-$key
case $what in
--print-dir) echo "$dir"; exit 0 ;;
--print-key) echo "$key"; exit 0 ;;
build) ;;
*) die "usage: $0 KDIR [--print-dir|--print-key]" ;;
esac

done_or_lock "$dir" "$dir"

log=$dir/build.log
: >>"$log"
# Progress: one line per step of the selftests Makefile ("  CLNG-BPF
# [test_progs] foo.bpf.o", "  TEST-OBJ ...", "  CC ...").  The count of
# the last complete build, else the one measured on 7.3.4.
steps=$(cat "$RDYNPTR_CACHE"/test_progs-*/build.steps 2>/dev/null | sort -n | tail -n 1 || true)
note TEST_PROGS "tools/testing/selftests/bpf of $kdir -> $dir (log: $log)"
inroot() { "$RDYNPTR_TOP/scripts/in-root" --root "$root" -- "$@"; }
# CLANG_CFLAGS as the Makefile makes it (clang's system include
# directories, after the others), plus -mcpu=v4: the tree's libarena,
# which test_progs needs, compiles its BPF objects without -mcpu, and
# under clang 19's default (v1) they do not compile: no 32-bit atomics
# ("unsupported atomic operation", v3) and no signed division ("please
# convert to unsigned div/mod", v4).  Every other BPF object gets
# -mcpu=v3 from the Makefile after this (the last -mcpu wins).
sys_includes=$(inroot sh -c "clang -v -E - </dev/null 2>&1 |
	sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }'" | tr '\n' ' ')
start=$SECONDS
if ! progress TEST_PROGS "$log" "${steps:-3700}" '^  [A-Z]' \
	inroot make -C "$selftests" OUTPUT="$dir" VMLINUX_BTF="$kdir/vmlinux" LLVM=1 \
	CLANG_CFLAGS="$sys_includes-mcpu=v4" BPF_STRICT_BUILD=0 -j"$(build_jobs)" test_progs; then
	tail -n 40 "$log" >&2
	die "step \"build test_progs\" failed; the full log is $log"
fi
[ -x "$dir/test_progs" ] || die "step \"check test_progs\": $dir/test_progs is missing (see $log)"
note TEST_PROGS "done in $((SECONDS - start)) s"
grep -cE '^  [A-Z]' "$log" >"$dir/build.steps" || true
touch "$dir/.built"
echo "$dir"
}

main "$@"; exit

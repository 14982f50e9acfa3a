#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Proves that the VM runner fails a run on each kind of kernel report the
# debug flavor can produce: boots the guest once per kind, provokes the
# report on purpose (LKDTM, or the test-only module in inject/), and
# checks the runner's exit status and that it shows the report.  One
# clean run must still exit 0.
#
# usage: scripts/tests/vm-reports.sh KDIR   (through scripts/rdynptr.sh reports,
#        i.e. make reports FLAVOR=debug; the module is already built for KDIR)

set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
kdir=${1:?usage: $0 KDIR}
out=$top/build/reports
inject=$top/build/inject
rm -rf "$out"
mkdir -p "$out" "$inject"
pass=0 fail=0

grep -q '^CONFIG_LKDTM=y' "$kdir/.config" && grep -q '^CONFIG_DEBUG_KMEMLEAK=y' "$kdir/.config" || {
	echo "vm-reports: $kdir is not a debug-flavor kernel (needs LKDTM, KASAN, kmemleak...): use FLAVOR=debug" >&2
	exit 2
}

# The test-only trigger module, built against the same kernel.
cp -p "$here/inject/Kbuild" "$here/inject/rdynptr_inject.c" "$inject/"
"$top/scripts/in-root" --bind "$kdir" -- make -s -C "$kdir" M="$inject" LLVM=1 modules ||
	{ echo "vm-reports: building the inject module failed" >&2; exit 2; }

lkdtm=/sys/kernel/debug/provoke-crash/DIRECT
inj="insmod $inject/rdynptr_inject.ko && echo 1 >/sys/kernel/debug/rdynptr_inject"

# selected NAME: whether FILTER (make reports FILTER=...) selects case NAME.
# As for make vmtest: patterns separated by spaces, each a glob if it has
# one of *?[ and a substring otherwise; no FILTER selects every case.
selected() {
	local p
	[ -n "${FILTER:-}" ] || return 0
	set -f
	for p in $FILTER; do
		case $p in
		*[*?[]*) case $1 in $p) set +f; return 0 ;; esac ;;
		*) case $1 in *"$p"*) set +f; return 0 ;; esac ;;
		esac
	done
	set +f
	return 1
}

# case NAME EXPECTED-STATUS PATTERN COMMAND: PATTERN (extended regex) must
# be in the console excerpt the runner prints ("vm: | ..." lines).
case_() {
	local name=$1 want=$2 pat=$3 cmd=$4 got start
	selected "$name" || return 0
	start=$SECONDS
	# The module is built: boot straight away ("run", not "vm").
	CMD=$cmd "$top/scripts/rdynptr.sh" run >"$out/$name.out" 2>"$out/$name.err"
	got=$?
	if [ "$got" = "$want" ] && { [ -z "$pat" ] || grep -qE "^vm: \| .*($pat)" "$out/$name.err"; }; then
		pass=$((pass + 1))
		echo "ok - $name: exit $got ($((SECONDS - start)) s)"
	else
		fail=$((fail + 1))
		echo "not ok - $name: exit $got, wanted $want${pat:+ with \"$pat\" shown} ($((SECONDS - start)) s)"
		grep -E '^vm: ' "$out/$name.err" | tail -n 20 | sed 's/^/#   /'
		echo "#   full console: $out/$name.err"
	fi
}

case_ clean 0 "" "true"
case_ warning 251 "WARNING: " "echo WARNING >$lkdtm"
case_ kasan 250 "BUG: KASAN: " "echo READ_AFTER_FREE >$lkdtm"
case_ ubsan 251 "UBSAN: array-index-out-of-bounds" "echo ARRAY_BOUNDS >$lkdtm"
case_ lockdep 251 "possible circular locking dependency" "$inj/lockdep"
case_ atomic_sleep 250 "BUG: sleeping function called from invalid context" "$inj/atomic_sleep"
case_ kmemleak 251 "unreferenced object" "$inj/leak"
# Small objects come from the slab's per-CPU sheaves; without
# scripts/patches/debug/0001-mm-slub-... kmemleak misses them.
case_ kmemleak_slab 251 "unreferenced object" "$inj/leak_slab"

echo "vm-reports: $pass passed, $fail failed"
if [ $((pass + fail)) = 0 ]; then
	echo "vm-reports: FILTER=\"$FILTER\" selects no case" >&2
	exit 1
fi
[ "$fail" = 0 ]

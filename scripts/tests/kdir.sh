#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: scripts/tests/kdir.sh KDIR
#
# What a user building rdynptr against their own tree (KDIR=) meets when
# their rustc is not the one that built the tree: the build must stop at
# once with one message naming both versions, not with rustc's errors
# about incompatible crate metadata.  A stand-in rustc that reports another
# version (and compiles with the real one) plays the other compiler.
# Prints ok/not ok; exits 1 on failure.  Run by make check-matrix.

set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
kdir=${1:?usage: $0 KDIR}
tmp=$(mktemp -d "$top/build/kdir-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

other="rustc 1.86.0 (05f9846f8 2025-03-31)"
cat >"$tmp/rustc" <<EOS
#!/bin/sh
[ "\$1" = --version ] && { echo "$other"; exit 0; }
exec rustc "\$@"
EOS
chmod +x "$tmp/rustc"
want=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\(.*\)"$/\1/p' "$kdir/.config")

status=0
make -C "$top" --no-print-directory module KDIR="$kdir" RUSTC="$tmp/rustc" >"$tmp/out" 2>&1 || status=$?
# rustc's own errors start with "error:" or "error[E...]".
errors=$(grep -cE '^error(:|\[)' "$tmp/out")
if [ "$status" != 0 ] && grep -qF "built with \"$want\"" "$tmp/out" &&
	grep -qF "this build uses \"$other\"" "$tmp/out" && [ "$errors" = 0 ]; then
	echo "ok - kdir_rustc_mismatch_stops_naming_both_versions"
	exit 0
fi
echo "not ok - kdir_rustc_mismatch_stops_naming_both_versions (exit $status, $errors rustc errors)"
sed 's/^/#   /' "$tmp/out"
exit 1

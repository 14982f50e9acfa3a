#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Build helper of the rdynptr module (called from Kbuild): fail the build
# when a kfunc of a kfunc set has no BTF.
#
# usage: check-kfunc-btf.sh OBJECT VMLINUX
#
# OBJECT is the linked module object (before the .ko).  This runs, on a
# copy of it, what the module's final link runs (scripts/gen-btf.sh):
# pahole to generate BTF, then resolve_btfids to resolve the .BTF_ids
# tables against it, but any warning is an error: resolve_btfids only warns
# about a kfunc without a BTF FUNC (its C entry point is missing), and the
# module would then fail to register its kfuncs at load time.
#
# Needs PAHOLE, PAHOLE_FLAGS and RESOLVE_BTFIDS from the kernel build.

set -eu

obj=$1
vmlinux=$2
name=${obj##*/}

if [ ! -f "$vmlinux" ]; then
	echo >&2 "$name: error: $vmlinux is missing: the module needs BTF, which is built against vmlinux"
	exit 1
fi

tmp=$(mktemp -d "$(dirname "$obj")/.btf-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cp "$obj" "$tmp/$name"
# PAHOLE_FLAGS is a list of options.
# shellcheck disable=SC2086
${PAHOLE} -J ${PAHOLE_FLAGS} --btf_base "$vmlinux" \
	--btf_encode_detached="$tmp/$name.BTF.1" "$tmp/$name"

# resolve_btfids of 7.3 exits with 0 even with --fatal_warnings (it resets
# its error code after counting the warnings), so look at what it says;
# the one of 6.12 has no --fatal_warnings (and warns alike).
fatal=
if ${RESOLVE_BTFIDS} --help 2>&1 | grep -q -- --fatal_warnings; then
	fatal=--fatal_warnings
fi
status=0
${RESOLVE_BTFIDS} $fatal --btf_base "$vmlinux" \
	--btf "$tmp/$name.BTF.1" "$tmp/$name" 2>"$tmp/log" || status=$?
cat >&2 "$tmp/log"
if [ "$status" -eq 0 ] && ! grep -q 'WARN' "$tmp/log"; then
	exit 0
fi

# 7.x: "no BTF func for kfunc K in S"; 6.12: "unresolved symbol K".
kfuncs=$(sed -n -e 's/.*no BTF func for kfunc \([A-Za-z0-9_]*\) in \([A-Za-z0-9_]*\).*/\1 \2/p' \
	-e 's/.*unresolved symbol \([A-Za-z0-9_]*\).*/\1/p' "$tmp/log")
if [ -n "$kfuncs" ]; then
	echo "$kfuncs" | while read -r kfunc set; do
		echo >&2 "$name: error: kfunc $kfunc${set:+ of the kfunc set $set} has no BTF FUNC: its C entry point is missing (no prototype in include/rdynptr/kfuncs.h?)"
	done
else
	echo >&2 "$name: error: resolve_btfids reports problems with the module's .BTF_ids tables (see above)"
fi
exit 1

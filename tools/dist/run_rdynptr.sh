#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs rdynptr's suites on the running kernel from an unpacked bundle
# (make dist): the KUnit suites, the BPF selftests, the module lifecycle
# tests and the harness's self-check tests, reported as KTAP by the
# statically linked rdynptr-test beside this script.  Needs only a POSIX
# shell, root, and the kernel the bundle was built for.  Arguments go to
# rdynptr-test (--filter PAT, --json FILE, --shard K/N, --jobs N, ...).
#
# Exit status (kselftest): 0 all passed, 1 a test failed or the suites
# could not run, 4 (skip) when not run as root.

dir=$(cd "$(dirname "$0")" && pwd)
ksft_skip=4

if [ "$(id -u)" != 0 ]; then
	echo "# SKIP: rdynptr's tests load kernel modules and BPF programs: run as root"
	exit $ksft_skip
fi
built_for=$(cat "$dir/kernelrelease")
running=$(uname -r)
if [ "$built_for" != "$running" ]; then
	echo "rdynptr: this bundle is for kernel $built_for, the running kernel is $running" >&2
	exit 1
fi

# What the harness reads: the KUnit results (debugfs), pinned objects
# (bpffs), the trace points of __trigger tests (tracefs).
mounted() { grep -q " $1 " /proc/mounts; }
mounted /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
mounted /sys/fs/bpf || mount -t bpf bpffs /sys/fs/bpf
mounted /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
ulimit -l unlimited 2>/dev/null

loaded=
if ! grep -q '^rdynptr ' /proc/modules; then
	insmod "$dir/rdynptr.ko" || { echo "rdynptr: insmod $dir/rdynptr.ko failed" >&2; exit 1; }
	loaded=1
fi

set --  --module "$dir/rdynptr.ko" --selftests-dir "$dir/selftests" \
	--verdicts "$dir/verdicts" "$@"
for d in selftests harness-tests/bpf-wrong harness-tests/bpf; do
	for f in "$dir/$d"/*.bpf.o; do
		[ -e "$f" ] && set -- "$@" "$f"
	done
done
"$dir/rdynptr-test" "$@"
status=$?
# Leave the kernel as it was found (the module tests reload the module).
if [ -n "$loaded" ] && grep -q '^rdynptr ' /proc/modules; then
	rmmod rdynptr
fi
exit $status

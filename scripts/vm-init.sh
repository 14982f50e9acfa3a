#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 of the rdynptr test guest (see scripts/vm.py).  The root file
# system is the toolchain root, read-only over 9p.  The kernel passes
# rdynptr_run=DIR: the per-run directory shared read-write by the host,
# which holds the command to run and receives its exit status.

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp LANG=C.UTF-8 TERM=${TERM:-linux}

say() { echo "vm-init: $*" >/dev/console; }

finish() {
	echo "$1" >"$rdynptr_run/status"
	sync
	busybox reboot -f
	sleep 10	# not reached: busybox reboot -f does not return
}

# Set-user-ID bits mean nothing here, and they would hurt: when the VM
# runner runs without root, the root file system's owners are ids the host
# does not map for QEMU, and a set-user-ID mount(8) would run as nobody.
# (busybox's mount is not set-user-ID; a remount needs /proc/mounts.)
#
# Every command here is one of busybox's: under TCG, util-linux's mount
# (libmount, libblkid, libselinux) takes 45 ms to start against busybox's
# 10 ms: the mounts below took 0.6 s of every boot with it.
bb=busybox
$bb mount -t proc proc /proc
$bb mount -o remount,nosuid /
$bb mount -t sysfs sysfs /sys
# (2>&-, not 2>/dev/null: a root other than ours may have an empty /dev.)
$bb mount -t devtmpfs devtmpfs /dev 2>&-
$bb mount -t tmpfs tmpfs /run
# Keep the 9p root reachable as it is before tmpfs hides /tmp and /var/tmp:
# the repository or the cache may live there on the host (see unhide).
$bb mkdir -p /run/root
$bb mount --bind / /run/root
$bb mount -t tmpfs -o mode=1777 tmpfs /tmp
$bb mount -t tmpfs -o mode=1777 tmpfs /var/tmp 2>/dev/null
$bb mount -t bpf bpffs /sys/fs/bpf
$bb mount -t debugfs debugfs /sys/kernel/debug
$bb mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
$bb mount -t cgroup2 cgroup2 /sys/fs/cgroup
$bb mkdir -p /dev/pts /dev/shm
$bb mount -t devpts devpts /dev/pts 2>/dev/null
$bb mount -t tmpfs tmpfs /dev/shm

say "started"

# unhide PATH: if PATH lies under a tmpfs mounted above, show the host's
# PATH there again (bound from the 9p root).
unhide() {
	case $1 in
	/tmp/*|/var/tmp/*)
		[ -e "$1" ] && return 0
		$bb mkdir -p "$1" && $bb mount --bind "/run/root$1" "$1"
		;;
	esac
}

case $rdynptr_run in
/tmp/*|/var/tmp/*|/run/*) $bb mkdir -p "$rdynptr_run" ;;
esac
if [ -z "$rdynptr_run" ] || ! $bb mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 run "$rdynptr_run"; then
	say "cannot mount the run directory \"$rdynptr_run\""
	busybox reboot -f
fi
. "$rdynptr_run/cmd"
unhide "$RDYNPTR_CWD"
[ -z "$RDYNPTR_MODULE" ] || unhide "$(dirname "$RDYNPTR_MODULE")"

$bb ip link set lo up 2>/dev/null
$bb stty -F /dev/ttyS1 raw -echo 2>/dev/null
ulimit -l unlimited

# kmemleak (debug flavor): no periodic scans, which would report at
# random times; forget what boot left behind, so that only what happens
# from the module load on is reported (by kmemleak_report below).
kmemleak=/sys/kernel/debug/kmemleak
if [ -w "$kmemleak" ]; then
	echo scan=off >"$kmemleak"
	echo scan >"$kmemleak"
	echo clear >"$kmemleak"
else
	kmemleak=
fi

# Objects younger than 5 s are not reported, and a scan can miss a leak
# that a second one finds: wait, scan twice, and print any suspects to
# the console, where the VM runner turns them into a failure.
kmemleak_report() {
	[ -n "$kmemleak" ] || return 0
	sleep 6
	echo scan >"$kmemleak"
	echo scan >"$kmemleak"
	n=$(grep -c '^unreferenced object' "$kmemleak")
	[ "$n" -gt 0 ] || return 0
	say "kmemleak: $n unreferenced object(s) (the first shown):"
	head -n 60 "$kmemleak" >/dev/console
}

if [ -n "$RDYNPTR_MODULE" ]; then
	if ! insmod "$RDYNPTR_MODULE"; then
		say "insmod $RDYNPTR_MODULE failed"
		finish 1
	fi
	export RDYNPTR_KO="$RDYNPTR_MODULE"
fi

cd "$RDYNPTR_CWD" 2>/dev/null || cd /

if [ "$RDYNPTR_SHELL" = 1 ]; then
	say "shell (the repository is at $RDYNPTR_CWD; leave with exit)"
	setsid -c /bin/bash -i </dev/ttyS0 >/dev/ttyS0 2>&1
	finish $?
fi

/bin/sh -c "$RDYNPTR_CMD" </dev/null >/dev/ttyS1 2>/dev/console
status=$?
kmemleak_report
finish $status

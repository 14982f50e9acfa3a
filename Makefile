# SPDX-License-Identifier: GPL-2.0
#
# rdynptr: dynptr kfuncs in a Rust kernel module.
#
#   make                 build the module (and the toolchain root and test
#                        kernel it needs, cached under ~/.cache/rdynptr)
#   make vmtest          run every suite in QEMU (KTAP on stdout)
#   make check           host tests and lints, then make vmtest
#   make vm CMD='...'    run one command in the guest, return its status
#   make vmshell         interactive shell in the guest
#   make btf [KFUNC=f]   the module's kfuncs in its BTF (FUNC, parameters, tags)
#   make check-matrix    make vmtest on every kernel series (MATRIX="7.3 7.2 6.12")
#   make check-shards    make vmtest unsharded and as SHARDS=3 shards (SHARD=K/N),
#                        one after another; the merged shards must equal it
#   make dist            one tarball that runs the suites on the test kernel with
#                        any userspace (a kselftest collection, run_rdynptr.sh)
#   make check-dist      that tarball on a busybox root and under run_kselftest.sh
#   make merge REPORTS='a.json b.json'  join shards' JSON reports into one
#                        report (AGAINST=whole.json: must agree with it)
#   make upstream-selftests  the kernel tree's own annotated BPF selftests in
#                        the guest (FLAVOR=selftests: their config, bpf_testmod)
#   make upstream-compare  the same objects run by the tree's own test_progs
#                        and by rdynptr-test in one boot, verdict by verdict
#   make check-debug     make vmtest on the debug flavor (KASAN, UBSAN, lockdep,
#                        kmemleak) with the stress tests, then make reports
#   make reports         prove the VM runner fails on each kind of kernel
#                        report (boots the debug flavor once per kind)
#
# Variables: KDIR, KERNEL, FLAVOR, KERNEL_PATCHES, VM_TIMEOUT, VM_DEADLINE, VM_APPEND, VM_ACCEL, FILTER, EXTRA_TESTS,
# ONLY_EXTRA, V, STRESS, MODULE_CYCLES, JOBS, SHARD, SHARD_COSTS (see scripts/rdynptr.sh).

# The guest command as typed: make must not expand the "$" in it.
override CMD := $(value CMD)
export MODULE_CYCLES MATRIX SHARD SHARD_COSTS SHARDS REPORTS AGAINST KEYS KDIR KERNEL FLAVOR KERNEL_PATCHES VM_TIMEOUT VM_DEADLINE VM_APPEND VM_ACCEL FILTER EXTRA_TESTS ONLY_EXTRA V CMD BENCH_ARGS STRESS JOBS KFUNC

# Cycles of the module stress tests in make check / check-debug, and of
# module/load_unload_cycles (make vmtest alone: 50).
CHECK_STRESS := 1000
CHECK_MODULE_CYCLES := 100

R := $(CURDIR)/scripts/rdynptr.sh

all: module

module:
	@$(R) module

kernel:
	@$(R) kdir

bpf:
	@$(R) bpf

harness:
	@$(R) harness

vm:
	@$(R) vm

vmshell:
	@$(R) vmshell

vmtest:
	@$(R) vmtest

hosttest:
	@$(R) hosttest

bench:
	@$(R) bench

btf:
	@$(R) btf

check-matrix:
	@$(R) matrix

check-shards:
	@$(R) shards

merge:
	@$(R) merge

dist:
	@$(R) dist

# For .github/workflows/ (Documentation/ci.rst): the cache keys of one
# kernel's build (KEYS=root: the root's only), the runner's KVM and user
# namespaces, and a report as a step summary with annotations.
ci-keys:
	@$(CURDIR)/scripts/ci.sh keys $(KEYS)

ci-setup:
	@$(CURDIR)/scripts/ci.sh setup

ci-summary:
	@CI_FORMAT=github $(R) merge

check-dist:
	@$(R) dist-check

upstream-selftests:
	@FLAVOR=$(or $(FLAVOR),selftests) $(R) upstream

upstream-compare:
	@FLAVOR=$(or $(FLAVOR),selftests) $(R) compare

check: hosttest
	@STRESS=$(or $(STRESS),$(CHECK_STRESS)) \
		MODULE_CYCLES=$(or $(MODULE_CYCLES),$(CHECK_MODULE_CYCLES)) $(R) vmtest

reports:
	@FLAVOR=$(or $(FLAVOR),debug) $(R) reports

check-debug:
	@FLAVOR=debug STRESS=$(or $(STRESS),$(CHECK_STRESS)) \
		MODULE_CYCLES=$(or $(MODULE_CYCLES),$(CHECK_MODULE_CYCLES)) VM_TIMEOUT=$(or $(VM_TIMEOUT),3600) $(R) vmtest
	@FLAVOR=debug $(R) reports

clean:
	rm -rf build
	git clean -fdqX -- src Kbuild rdynptr.* Module.symvers modules.order .*.cmd 2>/dev/null || true

.PHONY: all module kernel bpf harness vm vmshell vmtest btf check-matrix check-shards merge dist check-dist ci-keys ci-setup ci-summary upstream-selftests upstream-compare hosttest bench check check-debug reports clean

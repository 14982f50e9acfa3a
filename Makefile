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
#
# Variables: KDIR, FLAVOR, KERNEL_PATCHES, VM_TIMEOUT, FILTER, EXTRA_TESTS,
# ONLY_EXTRA, V (see scripts/rdynptr.sh).

export KDIR FLAVOR KERNEL_PATCHES VM_TIMEOUT FILTER EXTRA_TESTS ONLY_EXTRA V CMD BENCH_ARGS

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

check: hosttest
	@$(R) vmtest

clean:
	rm -rf build
	git clean -fdqX -- src Kbuild rdynptr.* Module.symvers modules.order .*.cmd 2>/dev/null || true

.PHONY: all module kernel bpf harness vm vmshell vmtest hosttest bench check clean

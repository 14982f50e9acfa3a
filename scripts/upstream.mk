# SPDX-License-Identifier: GPL-2.0
#
# The annotated BPF selftests of a kernel tree, built the way the tree's
# tools/testing/selftests/bpf/Makefile builds them (its flags and include
# paths, its libbpf headers), for rdynptr-test:
#
#   make -f scripts/upstream.mk KDIR=... OUT=DIR
#
# Runs inside the toolchain root.  Produces, under OUT:
#   include/vmlinux.h     from KDIR/vmlinux, by the tree's own bpftool (as the
#                         selftests make it: an older bpftool writes the
#                         kfunc prototypes in a way the tree's headers
#                         conflict with)
#   include/bpf/*.h       the tree's libbpf headers (tools/lib/bpf)
#   progs/NAME.bpf.o      each progs/NAME.c that uses the test_loader
#                         annotations (__success, __failure and their
#                         _unpriv forms), and the progs/btf__*.c whose BTF
#                         __btf_path names; one that does not compile is
#                         listed in progs/NAME.bpf.err (rdynptr-test reports it) instead
#   bpf_testmod.ko        the tree's test module (test_kmods/)

KDIR	?= $(error KDIR is not set)
OUT	?= $(error OUT is not set)
CLANG	?= clang
BPFTOOL	:= $(OUT)/bpftool/bootstrap/bpftool

SELFTESTS := $(KDIR)/tools/testing/selftests/bpf
INC	:= $(OUT)/include

# The annotated programs: those that use __success or __failure; and the
# BTF-only objects (progs/btf__*.c) that __btf_path and __btf_func_path
# name, next to them (a relative path there is the objects' directory).
SRCS	:= $(shell grep -lE '\b__(success|failure)(_unpriv)?\b' $(SELFTESTS)/progs/*.c) \
	   $(wildcard $(SELFTESTS)/progs/btf__*.c)
OBJS	:= $(patsubst $(SELFTESTS)/progs/%.c,$(OUT)/progs/%.bpf.o,$(SRCS))

# The selftests Makefile's BPF_CFLAGS and CLANG_CFLAGS (x86_64, little
# endian), and its CLANG_BPF_BUILD_RULE (-O2 --target=bpfel -mcpu=v3).
SYS_INCLUDES := $(shell $(CLANG) -v -E - </dev/null 2>&1 | \
	sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')
BPF_CFLAGS := -g -Wall -Werror -D__TARGET_ARCH_x86 -mlittle-endian \
	-I$(INC) -I$(SELFTESTS) -I$(KDIR)/tools/include/uapi \
	-I$(KDIR)/tools/include -I$(SELFTESTS)/libarena/include \
	-I$(KDIR)/usr/include -std=gnu11 -fno-strict-aliasing \
	-Wno-microsoft-anon-tag -fms-extensions \
	-Wno-compare-distinct-pointer-types -Wno-initializer-overrides \
	$(SYS_INCLUDES)
$(OUT)/progs/test_l4lb_noinline.bpf.o: BPF_CFLAGS += -fno-inline
$(OUT)/progs/test_xdp_noinline.bpf.o: BPF_CFLAGS += -fno-inline

all: $(OBJS) $(OUT)/bpf_testmod.ko

$(BPFTOOL): $(wildcard $(KDIR)/tools/bpf/bpftool/*.[ch] $(KDIR)/tools/lib/bpf/*.[ch])
	@echo "  BPFTOOL bootstrap (tools/bpf/bpftool)"
	@mkdir -p $(OUT)/bpftool
	@$(MAKE) -s -C $(KDIR)/tools/bpf/bpftool OUTPUT=$(OUT)/bpftool/ bootstrap >/dev/null

$(INC)/vmlinux.h: $(KDIR)/vmlinux $(BPFTOOL)
	@mkdir -p $(INC)
	@echo "  BPFTOOL $@"
	@$(BPFTOOL) btf dump file $< format c >$@.tmp && mv $@.tmp $@

# The tree's libbpf headers (bpf_helper_defs.h is generated).  The library
# rdynptr-test links is scripts/libbpf.sh's.
$(INC)/bpf/bpf_helpers.h: $(KDIR)/tools/lib/bpf/bpf_helpers.h
	@echo "  LIBBPF  headers"
	@mkdir -p $(OUT)/libbpf
	@$(MAKE) -s -C $(KDIR)/tools/lib/bpf OUTPUT=$(OUT)/libbpf/ \
		DESTDIR=$(OUT) prefix= INCLUDEDIR=/include install_headers >/dev/null

# The tree's uapi headers, in KDIR/usr/include (make headers, what
# headers_install copies out).
$(KDIR)/usr/include/linux/bpf.h: $(KDIR)/include/uapi/linux/bpf.h
	@echo "  HEADERS $(KDIR)/usr/include"
	@$(MAKE) -s -C $(KDIR) ARCH=x86_64 LLVM=1 headers >/dev/null

$(OUT)/progs/%.bpf.o: $(SELFTESTS)/progs/%.c $(INC)/vmlinux.h $(INC)/bpf/bpf_helpers.h \
		$(KDIR)/usr/include/linux/bpf.h
	@mkdir -p $(OUT)/progs
	@rm -f $(OUT)/progs/$*.bpf.err
	@$(CLANG) $(BPF_CFLAGS) -O2 --target=bpfel -mcpu=v3 -c $< -o $@ \
		2>$(OUT)/progs/$*.log || { mv $(OUT)/progs/$*.log $(OUT)/progs/$*.bpf.err; \
		echo "  CLANG   $*.c: does not compile (progs/$*.bpf.err)"; }
	@rm -f $(OUT)/progs/$*.log

# The tree's test module, built against the tree (same config).
$(OUT)/bpf_testmod.ko: $(SELFTESTS)/test_kmods/bpf_testmod.c $(KDIR)/vmlinux
	@echo "  MODULE  bpf_testmod.ko"
	@$(MAKE) -s -C $(KDIR) ARCH=x86_64 LLVM=1 M=$(SELFTESTS)/test_kmods \
		KBUILD_MODPOST_WARN=1 modules >$(OUT)/bpf_testmod.log 2>&1 || \
		{ cat $(OUT)/bpf_testmod.log; exit 1; }
	@cp $(SELFTESTS)/test_kmods/bpf_testmod.ko $@

.PHONY: all

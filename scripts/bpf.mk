# SPDX-License-Identifier: GPL-2.0
#
# Build BPF test objects: make -f scripts/bpf.mk KDIR=... SRC=DIR OUT=DIR
# Runs inside the toolchain root.  Every SRC/*.bpf.c becomes
# OUT/*.bpf.o, compiled against OUT/../vmlinux.h (from KDIR/vmlinux), the
# repository's include/ and libbpf's headers.

TOP	:= $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
BUILD	?= $(TOP)/build
VMLINUX_H := $(BUILD)/vmlinux.h
CLANG	?= clang
BPFTOOL	?= bpftool
# vmlinux.h of a 7.3 kernel embeds tagged structs as anonymous members
# ("struct foo;" inside a struct, as the kernel itself is built with
# -fms-extensions); without the flag clang drops those members and warns.
BPF_CFLAGS := -target bpf -g -O2 -Wall -Werror -D__TARGET_ARCH_x86 \
	      -fms-extensions -Wno-microsoft-anon-tag \
	      -I$(BUILD) -I$(TOP)/include

SRCS	:= $(wildcard $(SRC)/*.bpf.c)
OBJS	:= $(patsubst $(SRC)/%.bpf.c,$(OUT)/%.bpf.o,$(SRCS))
# EXTRA_HDRS: headers from elsewhere that the programs include.
HDRS	:= $(wildcard $(TOP)/include/rdynptr/*.h $(SRC)/*.h) $(EXTRA_HDRS)

all: $(OBJS)

# vmlinux.h follows the kernel it was made from: its first line names it.
$(VMLINUX_H): $(KDIR)/vmlinux FORCE
	@mkdir -p $(dir $@)
	@if [ "$$(head -n1 $@ 2>/dev/null)" != "/* $(KDIR)/vmlinux */" ] || [ $< -nt $@ ]; then \
		echo "  BPFTOOL $@"; \
		{ echo "/* $(KDIR)/vmlinux */"; $(BPFTOOL) btf dump file $< format c; } >$@.tmp && \
		mv $@.tmp $@; \
	fi

$(OUT)/%.bpf.o: $(SRC)/%.bpf.c $(VMLINUX_H) $(HDRS)
	@mkdir -p $(OUT)
	@echo "  CLANG   $@"
	@$(CLANG) $(BPF_CFLAGS) -c $< -o $@

.PHONY: all FORCE
.DELETE_ON_ERROR:

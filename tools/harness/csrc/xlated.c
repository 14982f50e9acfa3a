// SPDX-License-Identifier: GPL-2.0
/*
 * rdynptr-test's link to the kernel's BPF disassembler (kernel/bpf/disasm.c,
 * built from the kernel source by scripts/libbpf.sh): one instruction as
 * text, with the callbacks test_loader.c's __xlated checks were written
 * against.  Helpers and kfuncs keep the disassembler's own names (no name
 * callback); a call to a subprogram shows its original relative offset,
 * which the verifier moved to insn->off.  rdynptr-test then drops the
 * "(code) " prefix and a call's "#id" suffix (src/disasm.rs).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <linux/bpf.h>
#include "disasm.h"

struct rdynptr_disasm_out {
	char *buf;
	size_t size;
	char call[16];
};

static void rdynptr_disasm_print(void *private_data, const char *fmt, ...)
{
	struct rdynptr_disasm_out *out = private_data;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->buf, out->size, fmt, ap);
	va_end(ap);
}

static const char *rdynptr_disasm_call(void *private_data,
				       const struct bpf_insn *insn)
{
	struct rdynptr_disasm_out *out = private_data;

	if (insn->src_reg != BPF_PSEUDO_CALL)
		return NULL;
	snprintf(out->call, sizeof(out->call), "%+d", insn->off);
	return out->call;
}

/* Prints @insn into @buf (@size bytes, NUL-terminated, possibly cut). */
void rdynptr_disasm_insn(const struct bpf_insn *insn, char *buf, size_t size)
{
	struct rdynptr_disasm_out out = { .buf = buf, .size = size };
	const struct bpf_insn_cbs cbs = {
		.cb_print	= rdynptr_disasm_print,
		.cb_call	= rdynptr_disasm_call,
		.private_data	= &out,
	};

	if (size)
		buf[0] = '\0';
	print_bpf_insn(&cbs, insn, true);
}

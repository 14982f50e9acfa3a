// SPDX-License-Identifier: GPL-2.0
/*
 * insn-count: a QEMU TCG plugin that counts the guest instructions each
 * call of chosen guest functions executes, from the function's first
 * instruction to its return, callees included.  rdynptr-bench uses it to
 * compare a kfunc with its kernel twin in instructions, which unlike
 * time under TCG do not move from run to run (Documentation/bench.rst).
 *
 * The guest drives it with a CPUID instruction whose EAX holds the magic
 * 0x52445054 ("RDPT"); every other CPUID is left alone:
 *
 *   ECX = 1  watch:  RDX points to RSI u64 function entry addresses
 *                    (replacing any earlier list); must come before the
 *                    functions first run, as only code translated
 *                    afterwards is instrumented
 *   ECX = 2  start:  forget what was counted, count from now on
 *   ECX = 3  stop:   stop counting and (re)write the file given as
 *                    out=PATH, one line per watched function:
 *                    "<address> calls <n> min <i> mode <i> max <i>"
 *
 * The file is written before the guest executes the next instruction, so
 * a guest that sees the file over a shared directory can read it at once.
 *
 * How a call is delimited: at the function's first instruction the
 * plugin notes the vCPU's instruction count, its stack pointer and the
 * return address on the stack; the call ends when a translation block
 * starts at that return address with the stack pointer back above it
 * (a return always lands at the start of a block).  A watched function
 * called inside another counted call is counted as part of that call.
 * An interrupt taken during a call adds its instructions to that call
 * only: "mode" (the most frequent count) and "min" are not affected
 * unless most calls are interrupted.
 *
 * Build: cc -shared -fPIC -O2 -I<qemu>/include/qemu $(pkg-config --cflags glib-2.0)
 * Use:   qemu-system-x86_64 -accel tcg -plugin ./insn-count.so,out=FILE ...
 */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define RDPT_MAGIC	0x52445054u
#define CMD_WATCH	1
#define CMD_START	2
#define CMD_STOP	3
#define MAX_FUNCS	64

/* Per-vCPU state, in a scoreboard (only its own vCPU thread touches it). */
struct vcpu {
	uint64_t insns;		/* instructions executed (inline counter) */
	uint64_t active;	/* inside a counted call */
	uint64_t start;		/* insns at the call's first instruction */
	uint64_t ret_pc;	/* where the call returns to */
	uint64_t ret_sp;	/* the stack pointer once it has returned */
	int func;		/* index of the function being counted */
	struct qemu_plugin_register *rsp, *rax, *rcx, *rdx, *rsi;
	GByteArray *buf;
};

struct func {
	uint64_t addr;
	GHashTable *hist;	/* instructions per call -> calls */
};

static struct qemu_plugin_scoreboard *board;
static qemu_plugin_u64 sb_insns, sb_active;
static char *out_path;

/* Written by the watch command, read by translation and entry callbacks. */
static GMutex lock;
static struct func funcs[MAX_FUNCS];
static int nr_funcs;
static bool counting;

static struct vcpu *vcpu(unsigned int index)
{
	return qemu_plugin_scoreboard_find(board, index);
}

static uint64_t read_reg(struct vcpu *v, struct qemu_plugin_register *reg)
{
	uint64_t val = 0;

	g_byte_array_set_size(v->buf, 0);
	if (reg && qemu_plugin_read_register(reg, v->buf) > 0)
		memcpy(&val, v->buf->data, MIN(v->buf->len, sizeof(val)));
	return val;
}

static bool read_u64(struct vcpu *v, uint64_t addr, uint64_t *val)
{
	g_byte_array_set_size(v->buf, 0);
	if (!qemu_plugin_read_memory_vaddr(addr, v->buf, sizeof(*val)))
		return false;
	memcpy(val, v->buf->data, sizeof(*val));
	return true;
}

static void vcpu_init(qemu_plugin_id_t id, unsigned int index)
{
	struct vcpu *v = vcpu(index);
	g_autoptr(GArray) regs = qemu_plugin_get_registers();
	struct { const char *name; struct qemu_plugin_register **reg; } want[] = {
		{ "rsp", &v->rsp }, { "rax", &v->rax }, { "rcx", &v->rcx },
		{ "rdx", &v->rdx }, { "rsi", &v->rsi },
	};

	v->buf = g_byte_array_new();
	for (guint i = 0; i < regs->len; i++) {
		qemu_plugin_reg_descriptor *d =
			&g_array_index(regs, qemu_plugin_reg_descriptor, i);

		for (size_t j = 0; j < G_N_ELEMENTS(want); j++)
			if (!strcmp(d->name, want[j].name))
				*want[j].reg = d->handle;
	}
}

/* The first instruction of watched function number GPOINTER_TO_INT(udata). */
static void func_entry(unsigned int index, void *udata)
{
	struct vcpu *v = vcpu(index);
	uint64_t sp, ret;

	if (!counting || v->active)
		return;
	sp = read_reg(v, v->rsp);
	if (!read_u64(v, sp, &ret))
		return;
	v->func = GPOINTER_TO_INT(udata);
	v->ret_pc = ret;
	v->ret_sp = sp + 8;
	v->start = v->insns;
	v->active = 1;
}

/* The start of any block, while a call is being counted. */
static void block_start(unsigned int index, void *udata)
{
	struct vcpu *v = vcpu(index);
	uint64_t pc = (uint64_t)(uintptr_t)udata, n;
	struct func *f;

	if (pc != v->ret_pc || read_reg(v, v->rsp) != v->ret_sp)
		return;
	v->active = 0;
	n = v->insns - v->start;
	g_mutex_lock(&lock);
	f = &funcs[v->func];
	if (counting && f->hist) {
		gpointer key = GSIZE_TO_POINTER(n);

		g_hash_table_insert(f->hist, key, GSIZE_TO_POINTER(
			GPOINTER_TO_SIZE(g_hash_table_lookup(f->hist, key)) + 1));
	}
	g_mutex_unlock(&lock);
}

static void write_results(void)
{
	g_autofree char *tmp = g_strdup_printf("%s.tmp", out_path);
	FILE *out = fopen(tmp, "w");

	if (!out) {
		qemu_plugin_outs("insn-count: cannot write the results file\n");
		return;
	}
	for (int i = 0; i < nr_funcs; i++) {
		GHashTableIter it;
		gpointer key, val;
		uint64_t calls = 0, min = 0, max = 0, mode = 0, mode_calls = 0;

		g_hash_table_iter_init(&it, funcs[i].hist);
		while (g_hash_table_iter_next(&it, &key, &val)) {
			uint64_t n = GPOINTER_TO_SIZE(key), c = GPOINTER_TO_SIZE(val);

			if (!calls || n < min)
				min = n;
			if (n > max)
				max = n;
			if (c > mode_calls || (c == mode_calls && n < mode)) {
				mode = n;
				mode_calls = c;
			}
			calls += c;
		}
		fprintf(out, "%#" PRIx64 " calls %" PRIu64 " min %" PRIu64
			" mode %" PRIu64 " max %" PRIu64 "\n",
			funcs[i].addr, calls, min, mode, max);
	}
	if (fclose(out) || rename(tmp, out_path))
		qemu_plugin_outs("insn-count: cannot write the results file\n");
}

static void command(unsigned int index, void *udata)
{
	struct vcpu *v = vcpu(index);
	uint64_t cmd, addr, n;

	if ((uint32_t)read_reg(v, v->rax) != RDPT_MAGIC)
		return;
	cmd = (uint32_t)read_reg(v, v->rcx);
	g_mutex_lock(&lock);
	switch (cmd) {
	case CMD_WATCH:
		addr = read_reg(v, v->rdx);
		n = MIN(read_reg(v, v->rsi), (uint64_t)MAX_FUNCS);
		for (int i = 0; i < nr_funcs; i++)
			g_hash_table_destroy(funcs[i].hist);
		nr_funcs = 0;
		for (uint64_t i = 0; i < n; i++) {
			if (!read_u64(v, addr + 8 * i, &funcs[i].addr))
				break;
			funcs[i].hist = g_hash_table_new(NULL, NULL);
			nr_funcs++;
		}
		break;
	case CMD_START:
		for (int i = 0; i < nr_funcs; i++)
			g_hash_table_remove_all(funcs[i].hist);
		counting = true;
		break;
	case CMD_STOP:
		counting = false;
		write_results();
		break;
	}
	g_mutex_unlock(&lock);
}

static int watched(uint64_t pc)
{
	for (int i = 0; i < nr_funcs; i++)
		if (funcs[i].addr == pc)
			return i;
	return -1;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);

	qemu_plugin_register_vcpu_tb_exec_cond_cb(tb, block_start,
		QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_COND_NE, sb_active, 0,
		(void *)(uintptr_t)qemu_plugin_tb_vaddr(tb));

	g_mutex_lock(&lock);
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint8_t op[2];
		int f = watched(qemu_plugin_insn_vaddr(insn));

		/* Before the count, so that the call's count includes this one. */
		if (f >= 0)
			qemu_plugin_register_vcpu_insn_exec_cb(insn, func_entry,
				QEMU_PLUGIN_CB_R_REGS, GINT_TO_POINTER(f));
		qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(insn,
			QEMU_PLUGIN_INLINE_ADD_U64, sb_insns, 1);
		if (qemu_plugin_insn_size(insn) == 2 &&
		    qemu_plugin_insn_data(insn, op, sizeof(op)) == 2 &&
		    op[0] == 0x0f && op[1] == 0xa2)	/* cpuid */
			qemu_plugin_register_vcpu_insn_exec_cb(insn, command,
				QEMU_PLUGIN_CB_R_REGS, NULL);
	}
	g_mutex_unlock(&lock);
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	for (int i = 0; i < nr_funcs; i++)
		g_hash_table_destroy(funcs[i].hist);
	qemu_plugin_scoreboard_free(board);
	g_free(out_path);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const qemu_info_t *info,
					   int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (g_str_has_prefix(argv[i], "out=")) {
			out_path = g_strdup(argv[i] + 4);
		} else {
			fprintf(stderr, "insn-count: unknown option %s\n", argv[i]);
			return -1;
		}
	}
	if (!out_path || !info->system_emulation ||
	    strcmp(info->target_name, "x86_64")) {
		fprintf(stderr, "insn-count: needs out=FILE and an x86_64 system guest\n");
		return -1;
	}
	board = qemu_plugin_scoreboard_new(sizeof(struct vcpu));
	sb_insns = qemu_plugin_scoreboard_u64_in_struct(board, struct vcpu, insns);
	sb_active = qemu_plugin_scoreboard_u64_in_struct(board, struct vcpu, active);
	qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}

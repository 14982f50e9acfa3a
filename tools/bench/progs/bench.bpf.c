// SPDX-License-Identifier: GPL-2.0
/*
 * The programs behind `make bench` (tools/bench, Documentation/bench.rst).
 *
 * Each bench_* program makes a local dynptr at fp-16 (64 bytes of memory,
 * viewed from offset 32: size 32, offset 32) and then executes bench_calls
 * call sites: a loop of bench_calls / 8 iterations with 8 identical call
 * sites each.  A call site sets up the arguments,
 * calls one kfunc, checks the result against the value that kfunc must
 * return for this dynptr and counts the call if it matches.  The program
 * returns the count, so the runner knows that every one of the
 * bench_calls calls happened and gave the right answer.
 *
 * The loops are written in BPF assembly so that clang can neither drop nor
 * merge nor reorder calls, and so that the program measuring one of our
 * kfuncs and the one measuring its kernel counterpart are the same
 * instructions except for the call's target.  Where the two kfuncs take a
 * different number of arguments, the site loads the extra argument
 * register for both (an argument register a kfunc does not take is
 * ignored).
 *
 * Each rdynptr kfunc has a third loop, bench_twin_*, calling its C twin
 * of the bench-only module rdynptr_twin (tools/bench/twin): the same
 * semantics written in C, the same call sites.
 *
 * A baseline_* program is the same loop with the call replaced by
 * "r0 = r9" (or r8), where r9 and r8 hold the result the call would give
 * (0, or the view's size), loaded from writable global data: the verifier
 * cannot see through them, so the result check stays a real conditional
 * branch in the baseline too.  The runner subtracts the baseline of a site's shape from the time of
 * the measured program: what remains is what the call instruction and the
 * kfunc cost.
 *
 * bench_calls lives alone in .rodata.bench, which the runner writes before
 * loading: the verifier sees a constant and accepts the bounded loop.
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <rdynptr/kfuncs.h>
#include "../twin/rdynptr_twin.h"

char _license[] SEC("license") = "GPL";

#define BUF_SZ		64
/* The view the loops work on: the second half of bench_buf. */
#define VIEW_OFF	32
#define VIEW_SZ		32
_Static_assert(VIEW_OFF + VIEW_SZ == BUF_SZ, "the view ends where bench_buf does");
/* Call sites per loop iteration: bench_calls must be a multiple of it. */
#define UNROLL_SHIFT	3

/* Set by the runner (rdynptr-bench --calls) before the program is loaded. */
const volatile __u32 bench_calls SEC(".rodata.bench") = 0;

/* The memory of the local dynptr: 7.3 takes map values (global data). */
__u8 bench_buf[BUF_SZ];

/*
 * The results of the calls, as values the verifier does not know (they
 * are in writable maps): the baselines' stand-ins for the calls.
 */
__u64 bench_zero;
__u64 bench_view_sz = VIEW_SZ;

#define __str(x)	#x
#define __xstr(x)	__str(x)

/* Argument set-ups.  p is the dynptr at fp-16, the clone slot is fp-32. */
#define ARGS_P		"r1 = r10;" "r1 += -16;"
/* trim(p, 0), advance(p, 0), adjust(p, 0, VIEW_SZ): the whole view again. */
#define ARGS_ADJUST	ARGS_P "r2 = 0;" "r3 = " __xstr(VIEW_SZ) ";"
/* rclone(p, clone, 0) and clone(p, clone) (+ an unused r3). */
#define ARGS_CLONE	ARGS_P "r2 = r10;" "r2 += -32;" "r3 = 0;"

/* The call, or the baseline's stand-in for it: a result of 0 or VIEW_SZ. */
#define CALL(fn)	"call %[" #fn "];"
#define NO_CALL_0	"r0 = r9;"
#define NO_CALL_SZ	"r0 = r8;"

/*
 * Result checks, by return type.  A bool kfunc defines only the low byte of
 * its return register (x86-64 ABI), an int one the low 32 bits.  The two
 * loops of a pair check the same value, so that the JIT emits the same
 * compare (a compare with 0 becomes a "test").
 */
#define IS64(v)		"if r0 != " __xstr(v) " goto +1;"
#define IS32(v)		"if w0 != " __xstr(v) " goto +1;"
#define ISBOOL(v)	"r0 &= 0xff;" "if r0 != " __xstr(v) " goto +1;"

#define SITE(args, call, check)	args call check "r7 += 1;"
#define X8(s)		s s s s s s s s

#define BENCH_ASM(site, ...)						\
	asm volatile (							\
	/* the dynptr: bpf_dynptr_from_mem(bench_buf, BUF_SZ, 0, fp-16) */ \
	"r1 = %[bench_buf] ll;"						\
	"r2 = " __xstr(BUF_SZ) ";"					\
	"r3 = 0;"							\
	"r4 = r10;"							\
	"r4 += -16;"							\
	"call %[bpf_dynptr_from_mem];"					\
	"if r0 != 0 goto l_fail_%=;"					\
	/* the view: bpf_dynptr_adjust(fp-16, VIEW_OFF, BUF_SZ) */	\
	ARGS_P								\
	"r2 = " __xstr(VIEW_OFF) ";"					\
	"r3 = " __xstr(BUF_SZ) ";"					\
	"call %[setup_adjust];"						\
	"if w0 != 0 goto l_fail_%=;"					\
	"r9 = %[bench_zero] ll;"					\
	"r9 = *(u64 *)(r9 + 0);"					\
	"r8 = %[bench_view_sz] ll;"					\
	"r8 = *(u64 *)(r8 + 0);"					\
	"r6 = %[bench_calls] ll;"					\
	"r6 = *(u32 *)(r6 + 0);"					\
	"r6 >>= " __xstr(UNROLL_SHIFT) ";"				\
	"r7 = 0;"							\
	"if r6 == 0 goto l_done_%=;"					\
"l_loop_%=:"								\
	X8(site)							\
	"r6 += -1;"							\
	"if r6 != 0 goto l_loop_%=;"					\
"l_done_%=:"								\
	"r0 = r7;"							\
	"exit;"								\
"l_fail_%=:"								\
	"r0 = -1;"							\
	"exit;"								\
	:								\
	: [bench_buf] "i"(&bench_buf),					\
	  [bench_zero] "i"(&bench_zero),				\
	  [bench_view_sz] "i"(&bench_view_sz),				\
	  [bench_calls] "i"(&bench_calls),				\
	  [bpf_dynptr_from_mem] "i"(bpf_dynptr_from_mem),		\
	  [setup_adjust] "i"(bpf_dynptr_adjust)				\
	  __VA_ARGS__							\
	: "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9",	\
	  "memory")

/* A program measuring kfunc fn with call sites of the given shape. */
#define BENCH(name, fn, args, check)					\
SEC("tc") __attribute__((naked)) int name(void)				\
{									\
	BENCH_ASM(SITE(args, CALL(fn), check), , [fn] "i"(fn));		\
}

/* The baseline of one shape: the same loop without the call. */
#define BASELINE(name, args, no_call, check)				\
SEC("tc") __attribute__((naked)) int name(void)				\
{									\
	BENCH_ASM(SITE(args, no_call, check));				\
}

/*
 * Queries returning a 64-bit value.  The view's offset and size are both
 * VIEW_SZ, so get_offset and its analogue bpf_dynptr_size check the same
 * value too.
 */
BASELINE(baseline_q64, ARGS_P, NO_CALL_SZ, IS64(VIEW_SZ))
BENCH(bench_rdynptr_get_size, bpf_rdynptr_get_size, ARGS_P, IS64(VIEW_SZ))
BENCH(bench_rdynptr_get_offset, bpf_rdynptr_get_offset, ARGS_P, IS64(VIEW_OFF))
BENCH(bench_dynptr_size, bpf_dynptr_size, ARGS_P, IS64(VIEW_SZ))
BENCH(bench_twin_get_size, bpf_twin_get_size, ARGS_P, IS64(VIEW_SZ))
BENCH(bench_twin_get_offset, bpf_twin_get_offset, ARGS_P, IS64(VIEW_OFF))

/* Queries returning bool. */
BASELINE(baseline_qbool, ARGS_P, NO_CALL_0, ISBOOL(0))
BENCH(bench_rdynptr_is_null, bpf_rdynptr_is_null, ARGS_P, ISBOOL(0))
BENCH(bench_rdynptr_is_rdonly, bpf_rdynptr_is_rdonly, ARGS_P, ISBOOL(0))
BENCH(bench_dynptr_is_null, bpf_dynptr_is_null, ARGS_P, ISBOOL(0))
BENCH(bench_dynptr_is_rdonly, bpf_dynptr_is_rdonly, ARGS_P, ISBOOL(0))
BENCH(bench_twin_is_null, bpf_twin_is_null, ARGS_P, ISBOOL(0))
BENCH(bench_twin_is_rdonly, bpf_twin_is_rdonly, ARGS_P, ISBOOL(0))

/* View adjustments that leave the view as it is (so every call is alike). */
BASELINE(baseline_adjust, ARGS_ADJUST, NO_CALL_0, IS32(0))
BENCH(bench_rdynptr_trim, bpf_rdynptr_trim, ARGS_ADJUST, IS32(0))
BENCH(bench_rdynptr_advance, bpf_rdynptr_advance, ARGS_ADJUST, IS32(0))
BENCH(bench_dynptr_adjust, bpf_dynptr_adjust, ARGS_ADJUST, IS32(0))
BENCH(bench_twin_trim, bpf_twin_trim, ARGS_ADJUST, IS32(0))
BENCH(bench_twin_advance, bpf_twin_advance, ARGS_ADJUST, IS32(0))

/* Clones into the slot at fp-32, over and over (a local dynptr is not
 * reference counted, so overwriting the previous clone is allowed). */
BASELINE(baseline_clone, ARGS_CLONE, NO_CALL_0, IS32(0))
BENCH(bench_rdynptr_clone, bpf_rdynptr_clone, ARGS_CLONE, IS32(0))
BENCH(bench_dynptr_clone, bpf_dynptr_clone, ARGS_CLONE, IS32(0))
BENCH(bench_twin_clone, bpf_twin_clone, ARGS_CLONE, IS32(0))

/*
 * Run once before measuring: every kfunc the loops call gives the result
 * the loops expect on this dynptr, and the view survives the adjustments.
 * It also makes clang emit BTF for the kfunc externs (it does not for
 * symbols only the assembly refers to), which libbpf needs to resolve them.
 * Returns 0, or the number of the first check that failed.
 */
SEC("tc")
int bench_check(struct __sk_buff *skb)
{
	struct bpf_dynptr p, c;

	if (bpf_dynptr_from_mem(bench_buf, BUF_SZ, 0, &p) ||
	    bpf_dynptr_adjust(&p, VIEW_OFF, BUF_SZ))
		return 1;
	if (bpf_rdynptr_get_size(&p) != VIEW_SZ || bpf_dynptr_size(&p) != VIEW_SZ)
		return 2;
	if (bpf_rdynptr_get_offset(&p) != VIEW_OFF)
		return 3;
	if (bpf_rdynptr_is_null(&p) || bpf_dynptr_is_null(&p))
		return 4;
	if (bpf_rdynptr_is_rdonly(&p) || bpf_dynptr_is_rdonly(&p))
		return 5;
	if (bpf_rdynptr_trim(&p, 0) || bpf_rdynptr_advance(&p, 0) ||
	    bpf_dynptr_adjust(&p, 0, VIEW_SZ))
		return 6;
	if (bpf_rdynptr_get_size(&p) != VIEW_SZ || bpf_rdynptr_get_offset(&p) != VIEW_OFF)
		return 7;
	if (bpf_dynptr_clone(&p, &c) || bpf_dynptr_size(&c) != VIEW_SZ)
		return 8;
	if (bpf_ksym_exists(bpf_rdynptr_clone)) {
		if (bpf_rdynptr_clone(&p, &c, 0) || bpf_dynptr_size(&c) != VIEW_SZ ||
		    bpf_rdynptr_get_offset(&c) != VIEW_OFF)
			return 9;
	}
	/* The C twins, the same. */
	if (bpf_twin_get_size(&p) != VIEW_SZ || bpf_twin_get_offset(&p) != VIEW_OFF)
		return 10;
	if (bpf_twin_is_null(&p) || bpf_twin_is_rdonly(&p))
		return 11;
	if (bpf_twin_trim(&p, 0) || bpf_twin_advance(&p, 0) ||
	    bpf_twin_get_size(&p) != VIEW_SZ || bpf_twin_get_offset(&p) != VIEW_OFF)
		return 12;
	if (bpf_ksym_exists(bpf_twin_clone)) {
		if (bpf_twin_clone(&p, &c, 0) || bpf_dynptr_size(&c) != VIEW_SZ ||
		    bpf_twin_get_offset(&c) != VIEW_OFF)
			return 13;
	}
	return 0;
}

/*
 * The iterator (tools/bench/src/iterbench.rs): ITER_WALKS walks over a
 * view of ITER_VIEW bytes in ITER_CHUNK-byte steps, summing the steps'
 * lengths; the program returns the sum, which must be ITER_WALKS *
 * ITER_VIEW.  walk_rdynptr uses bpf_iter_rdynptr, walk_twin its C twin
 * bpf_iter_twin (the same loop but the kfuncs); walk_iter_num is the
 * same walk with the kernel's own open-coded iterator, bpf_iter_num over
 * the chunk numbers, computing each step's offset and length itself.  The
 * sum lives in global data, so that the verifier does not track it and the
 * loops converge.
 */
#define ITER_VIEW	512
#define ITER_CHUNK	8
#define ITER_WALKS	16

__u8 iter_buf[ITER_VIEW];
__u64 iter_sum;

/* A walk with an iterator over steps of type `step`, made by `for_each`. */
#define WALK(name, step, for_each)					\
SEC("tc")								\
int name(struct __sk_buff *skb)						\
{									\
	struct step *s;							\
	struct bpf_dynptr p;						\
	int w;								\
									\
	if (bpf_dynptr_from_mem(iter_buf, ITER_VIEW, 0, &p))		\
		return -1;						\
	iter_sum = 0;							\
	for (w = 0; w < ITER_WALKS; w++) {				\
		for_each(s, &p, ITER_CHUNK)				\
			iter_sum += s->len;				\
	}								\
	return iter_sum;						\
}

WALK(walk_rdynptr, bpf_rdynptr_step, bpf_rdynptr_for_each)
WALK(walk_twin, bpf_twin_step, bpf_twin_for_each)

SEC("tc")
int walk_iter_num(struct __sk_buff *skb)
{
	struct bpf_dynptr p;
	__u64 size;
	int w, *i;

	if (bpf_dynptr_from_mem(iter_buf, ITER_VIEW, 0, &p))
		return -1;
	iter_sum = 0;
	size = bpf_dynptr_size(&p);
	for (w = 0; w < ITER_WALKS; w++) {
		bpf_for_each(num, i, 0, (size + ITER_CHUNK - 1) / ITER_CHUNK) {
			__u64 off = (__u64)*i * ITER_CHUNK;

			iter_sum += size - off < ITER_CHUNK ? size - off : ITER_CHUNK;
		}
	}
	return iter_sum;
}

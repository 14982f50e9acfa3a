// SPDX-License-Identifier: GPL-2.0
/*
 * rdynptr_sweep: the in-guest half of the model-based and differential
 * sweeps (tools/harness/src/sweep/, Documentation/testing.rst).
 *
 * No program here carries a test annotation: the harness runs this object
 * itself as the sweep/... tests.  userspace writes a batch of operation
 * sequences into the map `sw_in` (one element), makes a program run (tc,
 * cgroup_skb and xdp programs with BPF_PROG_TEST_RUN; the lsm/file_open
 * programs of FILE dynptrs by opening the harness's test file) and reads
 * back `sw_out`.  For each sequence the program makes the initial dynptr of
 * the batch's type in slot 0, applies the operations one by one to slots
 * 0..2 (slots 1 and 2 start uninitialized and are made by clone
 * operations) and after the creation and after every operation records the
 * operation's result and an observation of every slot.  Ring buffer
 * records are discarded; the harness consumes the ring buffer after each
 * run, so that discarded records do not fill it.  FILE dynptrs are
 * discarded at the end of their sequence.
 *
 * Two implementations of the operations: the rdynptr kfuncs (programs
 * sweep_*_rd) and the kernel's own dynptr kfuncs (sweep_*_kern:
 * bpf_dynptr_adjust, _size, _is_null, _is_rdonly, _clone; for the
 * iterator, a bpf_for() loop over bpf_dynptr_size()).  The observations of
 * the _kern programs use only kernel functions.
 *
 * The structs below are mirrored in tools/harness/src/sweep/ops.rs; the
 * harness checks every field's offset against this object's BTF before it
 * runs a batch.
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <rdynptr/kfuncs.h>
#include <rdynptr/bpf_test.h>

char _license[] SEC("license") = "GPL";

/* The kernel's dynptr kfuncs are declared by vmlinux.h. */

#define SW_MAX_OPS	10
#define SW_SLOTS	3
#define SW_BATCH	64
#define SW_BUF		1024
#define SW_RB_SIZE	(256 * 1024)	/* a whole batch of records fits */
#define SW_MAX_LOOPS	(1 << 23)	/* BPF_MAX_LOOPS */

enum sw_code {
	SW_NOP		= 0,
	SW_TRIM		= 1,
	SW_ADVANCE	= 2,
	SW_GET_SIZE	= 3,
	SW_GET_OFFSET	= 4,
	SW_IS_NULL	= 5,
	SW_IS_RDONLY	= 6,
	SW_CLONE	= 7,
	/* walk the view in chunks of arg bytes */
	SW_ITER		= 8,
	/* ... and set_step(step) at every step */
	SW_ITER_STEP	= 9,
	/* ... and set_step(first byte of the step % 16) at every step */
	SW_ITER_REC	= 10,
};

enum sw_kind {
	SW_LOCAL	= 0,
	SW_RINGBUF	= 1,
	SW_SKB		= 2,
	SW_SKB_META	= 3,
	SW_SKB_RDONLY	= 4,
	SW_XDP		= 5,
	SW_FILE		= 6,
};

/* Result of an operation the program did not apply. */
#define SW_NOT_APPLIED	0x7eadbeefLL

/*
 * The kernel's dynptr kfuncs of 6.12 are 32-bit: bpf_dynptr_size() returns
 * a __u32 (an error such as -EINVAL as a __u32, so it is sign-extended
 * here) and bpf_dynptr_adjust() takes __u32 bounds.  Newer kernels made
 * them 64-bit.  Told apart by the types of vmlinux.h.
 */
#define SW_KERNEL_32BIT (sizeof(bpf_dynptr_size((const struct bpf_dynptr *)0)) == 4)
static __always_inline __s64 kernel_size(const struct bpf_dynptr *d)
{
	__u64 s = bpf_dynptr_size(d);

	return SW_KERNEL_32BIT ? (__s64)(__s32)s : (__s64)s;
}

/* FNV-1a, 64 bits, one value at a time: the digest of an iteration. */
#define SW_HASH_INIT	0xcbf29ce484222325ULL
#define SW_HASH_MUL	0x100000001b3ULL

struct sw_op {
	__u32 code;
	__u32 slot;	/* target; for SW_CLONE the new clone's slot */
	__u32 src;	/* SW_CLONE: the parent's slot */
	__u32 pad;
	__u64 arg;	/* length, clone offset or iterator chunk */
	__u64 step;	/* SW_ITER_STEP: the step */
};

struct sw_seq {
	__u32 size;	/* local/ringbuf/file: size of the initial dynptr */
	__u32 flags;	/* creation flags: non-zero makes a null dynptr */
	__u32 nops;
	__u32 pad;
	struct sw_op ops[SW_MAX_OPS];
};

struct sw_in {
	__u32 nseqs;
	__u32 kind;
	__u32 tid;	/* FILE: the thread whose open runs the batch */
	__u32 pad;
	__u8 pattern[SW_BUF];
	struct sw_seq seqs[SW_BATCH];
};

struct sw_obs {
	__s64 size;	/* bpf_rdynptr_get_size (rd programs only) */
	__s64 off;	/* bpf_rdynptr_get_offset (rd programs only) */
	__s64 ksize;	/* bpf_dynptr_size */
	__s32 rd_first;	/* bpf_dynptr_read of 1 byte at 0 */
	__s32 rd_last;	/* ... at ksize - 1 */
	__s32 rd_past;	/* ... at ksize */
	__u8 valid;	/* the slot holds a dynptr */
	__u8 null;	/* bpf_rdynptr_is_null (rd programs only) */
	__u8 rdonly;	/* bpf_rdynptr_is_rdonly (rd programs only) */
	__u8 knull;	/* bpf_dynptr_is_null */
	__u8 krdonly;	/* bpf_dynptr_is_rdonly */
	__u8 first;
	__u8 last;
	__u8 slice;	/* bpf_dynptr_slice() of 1 byte at 0 gave a pointer */
	__u8 sfirst;	/* ... to this byte */
	__u8 pad[3];
};

/* What an iteration operation saw (zero for the other operations). */
struct sw_iter {
	__u64 steps;	/* the steps of the walk */
	__u64 hash;	/* every step's off, len, 1-byte read result and byte */
	__u64 end;	/* off + len of the last step */
	__s64 err;	/* the set_step error that ended the walk, or 0 */
};

struct sw_step {
	__s64 ret;
	struct sw_obs obs[SW_SLOTS];
	struct sw_iter it;
};

struct sw_seq_out {
	__u32 done;	/* operations applied */
	__u32 pad;
	struct sw_step init;	/* ret: the creation's return value */
	struct sw_step steps[SW_MAX_OPS];
};

struct sw_out {
	__u64 runs;
	struct sw_seq_out seqs[SW_BATCH];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sw_in);
} sw_in SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sw_out);
} sw_out SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SW_RB_SIZE);
} sw_rb SEC(".maps");

struct sw_ctx {
	struct sw_in *in;
	struct sw_out *out;
	void *pctx;	/* the program's context (skb or xdp_md) or the file */
};

static __always_inline void observe(struct bpf_dynptr *d, struct sw_obs *o, bool rd)
{
	__u8 b = 0, *sl;
	__u64 ks;

	o->valid = 1;
	if (rd) {
		o->size = bpf_rdynptr_get_size(d);
		o->off = bpf_rdynptr_get_offset(d);
		o->null = bpf_rdynptr_is_null(d);
		o->rdonly = bpf_rdynptr_is_rdonly(d);
	} else {
		o->size = SW_NOT_APPLIED;
		o->off = SW_NOT_APPLIED;
		o->null = 0xff;
		o->rdonly = 0xff;
	}
	ks = bpf_dynptr_size(d);
	o->ksize = kernel_size(d);
	o->knull = bpf_dynptr_is_null(d);
	o->krdonly = bpf_dynptr_is_rdonly(d);
	o->rd_first = bpf_dynptr_read(&b, 1, d, 0, 0);
	o->first = b;
	b = 0;
	o->rd_last = bpf_dynptr_read(&b, 1, d, ks - 1, 0);
	o->last = b;
	o->rd_past = bpf_dynptr_read(&b, 1, d, ks, 0);
	b = 0;
	sl = bpf_dynptr_slice(d, 0, &b, 1);
	o->slice = !!sl;
	o->sfirst = sl ? *sl : 0;
}

static __always_inline void observe_all(struct bpf_dynptr *d0, struct bpf_dynptr *d1,
					struct bpf_dynptr *d2, __u32 mask,
					struct sw_step *st, bool rd)
{
	observe(d0, &st->obs[0], rd);
	if (mask & 2)
		observe(d1, &st->obs[1], rd);
	else
		__builtin_memset(&st->obs[1], 0, sizeof(st->obs[1]));
	if (mask & 4)
		observe(d2, &st->obs[2], rd);
	else
		__builtin_memset(&st->obs[2], 0, sizeof(st->obs[2]));
}

static __always_inline __u64 sw_mix(__u64 h, __u64 v)
{
	return (h ^ v) * SW_HASH_MUL;
}

/* One step of a walk: its digest, and where the walk stands. */
static __always_inline void sw_record(struct bpf_dynptr *d, __u64 off, __u64 len,
				      struct sw_iter *o, __u8 *b)
{
	__s64 rr;

	*b = 0;
	rr = bpf_dynptr_read(b, 1, d, off, 0);
	o->steps++;
	o->hash = sw_mix(sw_mix(sw_mix(sw_mix(o->hash, off), len), (__u32)rr), *b);
	o->end = off + len;
}

/*
 * The iteration operations through the rdynptr iterator.  Static
 * subprograms, not inlined: the code of a walk is there once, not once
 * per slot.  (Not global functions, which the verifier would check once:
 * 7.2's verifier loses the type of a global function's dynptr argument
 * when it is spilled to the stack and filled again.)
 */
static __noinline int sw_iterate_rd(struct bpf_dynptr *d, __u64 chunk, __u32 code, __u64 step,
			     struct sw_iter *o)
{
	struct bpf_iter_rdynptr it;
	struct bpf_rdynptr_step *s;
	__u8 b;
	int r;

	if (!o)
		return 0;
	r = bpf_iter_rdynptr_new(&it, d, chunk, 0);
	while ((s = bpf_iter_rdynptr_next(&it))) {
		long e;

		sw_record(d, s->off, s->len, o, &b);
		if (code == SW_ITER)
			continue;
		e = bpf_iter_rdynptr_set_step(&it, code == SW_ITER_STEP ? step : b % 16);
		if (e)
			o->err = e;
	}
	bpf_iter_rdynptr_destroy(&it);
	return r;
}

/* The next step's start of the kernel loop (a global: not a verifier state). */
__u64 sw_kpos;

/* The same walks, written with the kernel's kfuncs. */
static __noinline int sw_iterate_kern(struct bpf_dynptr *d, __u64 chunk, __u32 code, __u64 step,
			       struct sw_iter *o)
{
	__u64 size;
	int i;

	if (!o)
		return 0;
	if (bpf_dynptr_is_null(d) || !chunk)
		return -EINVAL;
	size = bpf_dynptr_size(d);
	if (size / chunk + (size % chunk != 0) > SW_MAX_LOOPS)
		return -E2BIG;
	sw_kpos = 0;
	bpf_for(i, 0, SW_MAX_LOOPS) {
		__u64 off = sw_kpos, len, next;
		__u8 b;

		if (off >= size)
			break;
		len = size - off < chunk ? size - off : chunk;
		sw_record(d, off, len, o, &b);
		sw_kpos = off + len;
		if (code == SW_ITER)
			continue;
		next = code == SW_ITER_STEP ? step : b % 16;
		if (!next) {
			o->err = -EINVAL;
			break;
		}
		if (next > size - off) {
			o->err = -ERANGE;
			break;
		}
		sw_kpos = off + next;
	}
	return 0;
}

/* One non-clone operation on dynptr D. */
static __always_inline __s64 apply(struct bpf_dynptr *d, struct sw_op *op, __u32 code,
				   __u64 arg, struct sw_step *st, bool rd)
{
	__u64 sz;

	if (code == SW_ITER || code == SW_ITER_STEP || code == SW_ITER_REC) {
		__u64 step = op->step;

		/* run_seq() zeroed the rest of st->it */
		st->it.hash = SW_HASH_INIT;
		if (rd)
			return sw_iterate_rd(d, arg, code, step, &st->it);
		return sw_iterate_kern(d, arg, code, step, &st->it);
	}
	if (rd) {
		switch (code) {
		case SW_TRIM:
			return bpf_rdynptr_trim(d, arg);
		case SW_ADVANCE:
			return bpf_rdynptr_advance(d, arg);
		case SW_GET_SIZE:
			return bpf_rdynptr_get_size(d);
		case SW_GET_OFFSET:
			return bpf_rdynptr_get_offset(d);
		case SW_IS_NULL:
			return bpf_rdynptr_is_null(d);
		case SW_IS_RDONLY:
			return bpf_rdynptr_is_rdonly(d);
		}
		return SW_NOT_APPLIED;
	}
	/*
	 * A length the kernel's 32-bit bpf_dynptr_adjust() cannot take: no
	 * kernel equivalent (the differential check classifies it).
	 */
	if (SW_KERNEL_32BIT && (code == SW_TRIM || code == SW_ADVANCE) && arg > 0xffffffffULL)
		return SW_NOT_APPLIED;
	switch (code) {
	case SW_TRIM:
		/* trim(len) == adjust(0, size - len) */
		sz = bpf_dynptr_size(d);
		return bpf_dynptr_adjust(d, 0, sz - arg);
	case SW_ADVANCE:
		/* advance(len) == adjust(len, size) */
		sz = bpf_dynptr_size(d);
		return bpf_dynptr_adjust(d, arg, sz);
	case SW_GET_SIZE:
		return kernel_size(d);
	case SW_IS_NULL:
		return bpf_dynptr_is_null(d);
	case SW_IS_RDONLY:
		return bpf_dynptr_is_rdonly(d);
	}
	/* SW_GET_OFFSET: the kernel has no offset getter. */
	return SW_NOT_APPLIED;
}

static __always_inline __s64 do_clone(struct bpf_dynptr *p, struct bpf_dynptr *c, __u64 off,
				      __u32 kind, bool rd)
{
	__s64 r;

	if (rd) {
		if (!bpf_ksym_exists(bpf_rdynptr_clone)) {
			/* Keep the slot initialized for the verifier. */
			bpf_dynptr_clone(p, c);
			return SW_NOT_APPLIED;
		}
		return bpf_rdynptr_clone(p, c, off);
	}
	/* clone(p, off) == bpf_dynptr_clone(p) + adjust(off, size) */
	r = bpf_dynptr_clone(p, c);
	if (r)
		return r;
	/*
	 * Except for FILE, whose clones share one view: adjusting the clone
	 * would move the parent too.  A FILE clone at an offset has no kernel
	 * equivalent.
	 */
	if (kind == SW_FILE && off)
		return SW_NOT_APPLIED;
	/* An offset the kernel's 32-bit adjust cannot take (see apply()). */
	if (SW_KERNEL_32BIT && off > 0xffffffffULL)
		return SW_NOT_APPLIED;
	return bpf_dynptr_adjust(c, off, bpf_dynptr_size(c));
}

static __always_inline int make(struct sw_ctx *c, struct sw_seq *s, struct bpf_dynptr *d,
				__u32 kind)
{
	__u32 size = s->size;
	__u64 flags = s->flags;
	int r;

	switch (kind) {
	case SW_LOCAL:
		if (size > SW_BUF)
			size = SW_BUF;
		return bpf_dynptr_from_mem(c->in->pattern, size, flags, d);
	case SW_RINGBUF:
		r = bpf_ringbuf_reserve_dynptr(&sw_rb, s->size, flags, d);
		if (!r && size <= SW_BUF)
			bpf_dynptr_write(d, 0, c->in->pattern, size, 0);
		return r;
	case SW_XDP:
		return bpf_dynptr_from_xdp(c->pctx, flags, d);
	case SW_SKB_META:
		return bpf_dynptr_from_skb_meta(c->pctx, flags, d);
	case SW_FILE:
		/* The view: the first `size` bytes of the file. */
		r = bpf_dynptr_from_file(c->pctx, flags, d);
		if (!r)
			bpf_dynptr_adjust(d, 0, size);
		return r;
	default:	/* SW_SKB, SW_SKB_RDONLY */
		return bpf_dynptr_from_skb(c->pctx, flags, d);
	}
}

static __always_inline long run_seq(__u32 i, struct sw_ctx *c, __u32 kind, bool rd)
{
	struct bpf_dynptr d0, d1, d2;
	struct sw_seq_out *o;
	struct sw_seq *s;
	__u32 mask = 1;
	int j;

	if (i >= SW_BATCH)
		return 1;
	s = &c->in->seqs[i];
	o = &c->out->seqs[i];
	o->done = 0;
	o->init.ret = make(c, s, &d0, kind);
	observe_all(&d0, &d1, &d2, mask, &o->init, rd);

	bpf_for(j, 0, SW_MAX_OPS) {
		struct sw_op *op = &s->ops[j];
		struct sw_step *st = &o->steps[j];
		__u32 code, slot, src;
		__u64 arg;
		__s64 r = SW_NOT_APPLIED;

		if (j >= s->nops)
			break;
		code = op->code;
		slot = op->slot;
		src = op->src;
		arg = op->arg;
		__builtin_memset(&st->it, 0, sizeof(st->it));
		if (code == SW_CLONE) {
			/* A clone goes into an uninitialized slot 1 or 2. */
			if (slot == 1 && !(mask & 2)) {
				if (src == 0) {
					r = do_clone(&d0, &d1, arg, kind, rd);
					mask |= 2;
				} else if (src == 2 && (mask & 4)) {
					r = do_clone(&d2, &d1, arg, kind, rd);
					mask |= 2;
				}
			} else if (slot == 2 && !(mask & 4)) {
				if (src == 0) {
					r = do_clone(&d0, &d2, arg, kind, rd);
					mask |= 4;
				} else if (src == 1 && (mask & 2)) {
					r = do_clone(&d1, &d2, arg, kind, rd);
					mask |= 4;
				}
			}
		} else if (slot == 0) {
			r = apply(&d0, op, code, arg, st, rd);
		} else if (slot == 1 && (mask & 2)) {
			r = apply(&d1, op, code, arg, st, rd);
		} else if (slot == 2 && (mask & 4)) {
			r = apply(&d2, op, code, arg, st, rd);
		}
		st->ret = r;
		observe_all(&d0, &d1, &d2, mask, st, rd);
		o->done = j + 1;
	}
	if (kind == SW_RINGBUF)
		bpf_ringbuf_discard_dynptr(&d0, 0);
	else if (kind == SW_FILE)
		bpf_dynptr_file_discard(&d0);
	return 0;
}

/* Runs the batch in sw_in: 1 if it ran, 0 if there is none for this run. */
static __always_inline int run_batch(void *pctx, void *cb, __u32 kind)
{
	struct sw_ctx c = { .pctx = pctx };
	__u32 zero = 0, n;

	c.in = bpf_map_lookup_elem(&sw_in, &zero);
	c.out = bpf_map_lookup_elem(&sw_out, &zero);
	if (!c.in || !c.out)
		return 0;
	/* Only the harness thread's own open of the test file. */
	if (kind == SW_FILE && c.in->tid != (__u32)bpf_get_current_pid_tgid())
		return 0;
	n = c.in->nseqs;
	if (n > SW_BATCH)
		n = SW_BATCH;
	c.out->runs++;
	bpf_loop(n, cb, &c, 0);
	return 1;
}

/*
 * One program per (dynptr type, implementation): the type is a constant
 * in each, so the verifier sees only the creation (and release) it
 * allows.  Test-run programs return 1 when they ran their batch
 * (cgroup_skb programs may only return 0 or 1).
 */
#define SWEEP(name, sec, ctxtype, kind, rd)					\
static long name##_cb(__u32 i, struct sw_ctx *c)				\
{										\
	return run_seq(i, c, kind, rd);						\
}										\
SEC(sec)									\
int name(ctxtype *ctx)								\
{										\
	return run_batch(ctx, name##_cb, kind);					\
}

SWEEP(sweep_local_rd, "?tc", struct __sk_buff, SW_LOCAL, true)
SWEEP(sweep_local_kern, "?tc", struct __sk_buff, SW_LOCAL, false)
SWEEP(sweep_ringbuf_rd, "?tc", struct __sk_buff, SW_RINGBUF, true)
SWEEP(sweep_ringbuf_kern, "?tc", struct __sk_buff, SW_RINGBUF, false)
SWEEP(sweep_skb_rd, "?tc", struct __sk_buff, SW_SKB, true)
SWEEP(sweep_skb_kern, "?tc", struct __sk_buff, SW_SKB, false)
SWEEP(sweep_skb_meta_rd, "?tc", struct __sk_buff, SW_SKB_META, true)
SWEEP(sweep_skb_meta_kern, "?tc", struct __sk_buff, SW_SKB_META, false)
SWEEP(sweep_skb_rdonly_rd, "?cgroup_skb/ingress", struct __sk_buff, SW_SKB_RDONLY, true)
SWEEP(sweep_skb_rdonly_kern, "?cgroup_skb/ingress", struct __sk_buff, SW_SKB_RDONLY, false)
SWEEP(sweep_xdp_rd, "?xdp", struct xdp_md, SW_XDP, true)
SWEEP(sweep_xdp_kern, "?xdp", struct xdp_md, SW_XDP, false)

/*
 * FILE dynptrs: the batch runs when the harness opens its test file
 * (RDYNPTR_TEST_FILE); the programs never deny an open.
 */
#define SWEEP_FILE(name, rd)							\
static long name##_cb(__u32 i, struct sw_ctx *c)				\
{										\
	return run_seq(i, c, SW_FILE, rd);					\
}										\
SEC("?lsm/file_open")								\
int BPF_PROG(name, struct file *file)						\
{										\
	run_batch(file, name##_cb, SW_FILE);					\
	return 0;								\
}

SWEEP_FILE(sweep_file_rd, true)
SWEEP_FILE(sweep_file_kern, false)

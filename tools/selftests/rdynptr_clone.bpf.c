// SPDX-License-Identifier: GPL-2.0
/*
 * rdynptr_clone: bpf_rdynptr_clone(), at run time and in the verifier.
 *
 * bpf_rdynptr_clone() exists only on a kernel with the KF_DYNPTR_CLONE
 * verifier patch; elsewhere the harness skips every test of this object
 * because the kfunc is missing. Keep every user of the clone kfunc here.
 *
 * What this suite proves at run time (local, ringbuf, skb, read-only skb,
 * xdp and skb_meta dynptrs):
 *  - a clone has the parent's type, read-only state, offset and size, then
 *    advanced by the clone offset; its view is independent of the parent's
 *    (adjusting one leaves the other alone) while the data is shared
 *    (writes through either are seen through the other);
 *  - offset == size gives an empty clone; size + 1, 2^32, 2^32 + size,
 *    2^63 and 2^64 - 1 give -ERANGE, a null clone and an unchanged parent;
 *    a null parent gives -EINVAL and a null clone;
 *  - clones of clones accumulate offsets; the result equals the kernel's
 *    bpf_dynptr_clone() followed by bpf_dynptr_adjust(), and the two kinds
 *    of clone can be mixed;
 *  - a ringbuf record can be submitted through a clone (or a clone of a
 *    clone) alone, and a clone keeps the record alive when the original
 *    dynptr's stack slot is reused.
 *
 * What this suite proves in the verifier (7.3 messages; a {{regex}} takes
 * 6.12's wording too where it differs), i.e. that the
 * clone gets bpf_dynptr_clone()'s treatment:
 *  - the parent must be an initialized dynptr, the clone slot must not hold
 *    a referenced dynptr, both must be stack dynptrs, the offset a scalar;
 *  - releasing any instance (parent, clone, sibling, clone of a clone)
 *    invalidates every instance and every slice of any instance; packet
 *    changes (bpf_skb_pull_data, bpf_xdp_adjust_head) invalidate slices of
 *    skb, skb_meta and xdp clones;
 *  - a clone shares the parent's reference: an unreleased clone is an
 *    unreleased reference, the last holder cannot be overwritten, a
 *    non-last one can (and its slices die with it; 6.12's verifier refuses
 *    every such overwrite, for its own clones too, so these tests SKIP
 *    there: __kernel_twin);
 *  - a clone has the parent's type (a local clone is not a ringbuf dynptr)
 *    and read-only packet data stays read-only through clones.
 *
 * Each __retval(0) program returns a distinct non-zero code per failed
 * check; cgroup_skb programs may only return 0 or 1, so they record the
 * failed check (or 0) in the global cg_err, which __result(cg_err) makes
 * the value that __retval(0) checks. Ported seed
 * cases: test_dynptr_clone, test_dynptr_clone_offset, clone_invalid1,
 * clone_invalid2, clone_invalidate1-6, clone_skb_packet_data,
 * clone_xdp_packet_data.
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <rdynptr/kfuncs.h>
#include <rdynptr/bpf_test.h>
#include "rdynptr_common.h"

char _license[] SEC("license") = "GPL";

#define PKT_LEN		RDYNPTR_TEST_PKT_LEN

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} ringbuf SEC(".maps");

/* The failed check of a cgroup_skb program (-1: it did not run). */
int cg_err = -1;

/* Size of a ringbuf record for the verifier tests, unknown to the verifier. */
int val = 64;

struct bpf_dynptr global_dynptr;

/* Memory for local dynptrs: 7.3 only takes map values (global data). */
__u8 mem[BUF_SZ];
__u8 other[8];

/* @c is a null dynptr, for us and for the kernel. */
static __always_inline int check_null(const struct bpf_dynptr *c, int base)
{
	if (!bpf_rdynptr_is_null(c) || !bpf_dynptr_is_null(c))
		return base + 1;
	if (bpf_rdynptr_is_rdonly(c))
		return base + 2;
	if (bpf_rdynptr_get_size(c) != -EINVAL ||
	    bpf_rdynptr_get_offset(c) != -EINVAL)
		return base + 3;
	return 0;
}

/* ===================================================================== */
/* Run time                                                              */
/* ===================================================================== */

static __always_inline int clone_skb_body(struct __sk_buff *skb)
{
	struct bpf_dynptr parent, clone;
	__u64 off = 2, size;

	if (bpf_dynptr_from_skb(skb, 0, &parent))
		return 1;
	if (bpf_rdynptr_advance(&parent, off))
		return 2;
	if (bpf_rdynptr_clone(&parent, &clone, 0))
		return 3;

	size = bpf_rdynptr_get_size(&parent);
	if (size != skb->len - off)
		return 4;

	/* same offset, size and read-only state as the parent */
	if (bpf_rdynptr_get_size(&clone) != size || bpf_dynptr_size(&clone) != size)
		return 5;
	if (bpf_rdynptr_get_offset(&clone) != off)
		return 6;
	if (!bpf_rdynptr_is_rdonly(&clone) || !bpf_dynptr_is_rdonly(&clone))
		return 7;

	/* adjusting the parent leaves the clone alone */
	if (bpf_rdynptr_advance(&parent, 5) || bpf_rdynptr_trim(&parent, 5))
		return 8;
	if (bpf_rdynptr_get_offset(&clone) != off || bpf_rdynptr_get_size(&clone) != size)
		return 9;
	/* and the other way round */
	if (bpf_rdynptr_trim(&clone, 10))
		return 10;
	if (bpf_rdynptr_get_offset(&parent) != off + 5 ||
	    bpf_rdynptr_get_size(&parent) != size - 10)
		return 11;
	return 0;
}

/* seed: test_dynptr_clone (cgroup_skb: read-only skb) */
SEC("?cgroup_skb/ingress")
__success __result(cg_err) __retval(0)
int test_dynptr_clone(struct __sk_buff *skb)
{
	cg_err = clone_skb_body(skb);
	return cg_err ? 0 : 1;
}

static __always_inline int clone_offset_body(struct __sk_buff *skb)
{
	struct bpf_dynptr parent, bad, good;
	__u64 off = 2, size;
	__u8 a, b;

	if (bpf_dynptr_from_skb(skb, 0, &parent))
		return 1;
	if (bpf_rdynptr_advance(&parent, off))
		return 2;
	size = bpf_rdynptr_get_size(&parent);

	/* past the end */
	if (bpf_rdynptr_clone(&parent, &bad, size + 1) != -ERANGE)
		return 3;
	if (check_null(&bad, 10))
		return 4;

	/* inside: the clone starts `off` bytes further */
	if (bpf_rdynptr_clone(&parent, &good, off))
		return 5;
	if (bpf_rdynptr_get_size(&good) != size - off ||
	    bpf_dynptr_size(&good) != size - off)
		return 6;
	if (bpf_rdynptr_get_offset(&good) != 2 * off)
		return 7;
	if (bpf_dynptr_read(&a, 1, &good, 0, 0) ||
	    bpf_dynptr_read(&b, 1, &parent, off, 0) || a != b)
		return 8;
	if (!bpf_rdynptr_is_rdonly(&good))
		return 9;
	/* the parent did not move */
	if (bpf_rdynptr_get_offset(&parent) != off ||
	    bpf_rdynptr_get_size(&parent) != size)
		return 10;
	return 0;
}

/* seed: test_dynptr_clone_offset */
SEC("?cgroup_skb/ingress")
__success __result(cg_err) __retval(0)
int test_dynptr_clone_offset(struct __sk_buff *skb)
{
	cg_err = clone_offset_body(skb);
	return cg_err ? 0 : 1;
}

/* Independent views, shared data. */
SEC("?syscall")
__success __retval(0)
int clone_local_views(void *ctx)
{
	struct bpf_dynptr parent, clone;
	__u8 x = 0x99, b;
	int err;

	fill(mem);
	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &parent))
		return 1;
	if (bpf_rdynptr_clone(&parent, &clone, 0))
		return 2;
	err = check_view(&clone, 0, BUF_SZ, 10);
	if (err)
		return err;
	if (bpf_rdynptr_is_rdonly(&clone))
		return 3;

	if (bpf_rdynptr_trim(&clone, 10) || bpf_rdynptr_advance(&clone, 4))
		return 20;
	err = check_view(&parent, 0, BUF_SZ, 20) ?: check_view(&clone, 4, 50, 30);
	if (err)
		return err;
	if (bpf_rdynptr_advance(&parent, 30))
		return 40;
	err = check_view(&parent, 30, BUF_SZ - 30, 40) ?: check_view(&clone, 4, 50, 50);
	if (err)
		return err;

	/* a write through the clone is seen through the parent, and back */
	if (bpf_dynptr_write(&clone, 30, &x, 1, 0))
		return 60;
	if (bpf_dynptr_read(&b, 1, &parent, 4, 0) || b != x || mem[34] != x)
		return 61;
	if (bpf_dynptr_write(&parent, 0, &b, 1, 0) || mem[30] != x)
		return 62;
	if (bpf_dynptr_read(&b, 1, &clone, 26, 0) || b != x)
		return 63;
	return 0;
}

/* Offsets beyond the parent's size, in 64 bits. */
SEC("?syscall")
__success __retval(0)
int clone_offset_boundaries(void *ctx)
{
	struct bpf_dynptr parent, clone;
	int err;

	fill(mem);
	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &parent))
		return 1;
	if (bpf_rdynptr_advance(&parent, 8))
		return 2;
	/* parent: offset 8, 56 bytes */

#define TRY_CLONE(n, off)						\
	if (bpf_rdynptr_clone(&parent, &clone, off) != -ERANGE)	\
		return 20 * (n);					\
	err = check_null(&clone, 20 * (n)) ?:				\
	      check_view(&parent, 8, BUF_SZ - 8, 20 * (n) + 5);		\
	if (err)							\
		return err;
	TRY_CLONE(1, BUF_SZ - 8 + 1)
	TRY_CLONE(2, BUF_SZ)		/* fits the original size, not the current */
	TRY_CLONE(3, U32_OVER)
	TRY_CLONE(4, U32_OVER + 4)
	TRY_CLONE(5, U32_OVER + BUF_SZ - 8)
	TRY_CLONE(6, 1ULL << 63)
	TRY_CLONE(7, U64_MAX_LEN)
#undef TRY_CLONE

	/* the whole remaining size: an empty clone at the parent's end */
	if (bpf_rdynptr_clone(&parent, &clone, BUF_SZ - 8))
		return 200;
	err = check_view(&clone, BUF_SZ, 0, 200);
	if (err)
		return err;
	/* offset 0: the parent's view */
	if (bpf_rdynptr_clone(&parent, &clone, 0))
		return 210;
	err = check_view(&clone, 8, BUF_SZ - 8, 210);
	if (err)
		return err;
	if (bpf_rdynptr_clone(&parent, &clone, 1))
		return 220;
	return check_view(&clone, 9, BUF_SZ - 9, 220);
}

SEC("?syscall")
__success __retval(0)
int clone_null_parent(void *ctx)
{
	struct bpf_dynptr parent, clone, rb, rb_clone;
	long r_rb, r_clone;
	int err;

	if (bpf_dynptr_from_mem(mem, 16, 1, &parent) != -EINVAL)
		return 1;
	if (bpf_rdynptr_clone(&parent, &clone, 0) != -EINVAL)
		return 2;
	err = check_null(&clone, 10);
	if (err)
		return err;
	if (bpf_rdynptr_clone(&parent, &clone, U64_MAX_LEN) != -EINVAL)
		return 3;
	err = check_null(&clone, 20);
	if (err)
		return err;

	/* a failed reservation: the null clone shares the (null) record */
	r_rb = bpf_ringbuf_reserve_dynptr(&ringbuf, 128 * 1024, 0, &rb);
	r_clone = bpf_rdynptr_clone(&rb, &rb_clone, 0);
	if (r_rb == 0)
		err = 4;
	else if (r_clone != -EINVAL)
		err = 5;
	else
		err = check_null(&rb_clone, 30);
	/* releasing the clone releases the record it shares */
	bpf_ringbuf_discard_dynptr(&rb_clone, 0);
	return err;
}

static __always_inline int ringbuf_release_body(struct bpf_dynptr *p,
						struct bpf_dynptr *c)
{
	__u8 src[BUF_SZ];

	fill(src);
	if (bpf_dynptr_write(p, 0, src, BUF_SZ, 0))
		return 10;
	if (bpf_rdynptr_is_rdonly(c))
		return 11;
	return check_view(c, 16, BUF_SZ - 16, 20);
}

/* The record is submitted through the clone only. */
SEC("?syscall")
__success __retval(0)
int clone_ringbuf_release_via_clone(void *ctx)
{
	struct bpf_dynptr p, c;
	int err;

	if (bpf_ringbuf_reserve_dynptr(&ringbuf, BUF_SZ, 0, &p)) {
		bpf_ringbuf_discard_dynptr(&p, 0);
		return 1;
	}
	if (bpf_rdynptr_clone(&p, &c, 16)) {
		bpf_ringbuf_discard_dynptr(&c, 0);
		return 2;
	}
	err = ringbuf_release_body(&p, &c);
	/* advanced and trimmed, it still releases the whole record */
	bpf_rdynptr_trim(&c, 8);
	bpf_ringbuf_submit_dynptr(&c, 0);
	return err;
}

/*
 * A failed clone leaves a null clone and an untouched parent, through which
 * the record is then used and submitted as usual.
 */
SEC("?syscall")
__success __retval(0)
int clone_error_keeps_parent(void *ctx)
{
	struct bpf_dynptr p, c;
	__u8 src[BUF_SZ];
	long r_clone;
	int err;

	fill(src);
	if (bpf_ringbuf_reserve_dynptr(&ringbuf, BUF_SZ, 0, &p)) {
		bpf_ringbuf_discard_dynptr(&p, 0);
		return 1;
	}
	r_clone = bpf_rdynptr_clone(&p, &c, BUF_SZ + 1);
	if (r_clone != -ERANGE)
		err = 2;
	else if (bpf_dynptr_write(&p, 0, src, BUF_SZ, 0))
		err = 3;
	else
		err = check_null(&c, 10) ?: check_view(&p, 0, BUF_SZ, 20);
	bpf_ringbuf_submit_dynptr(&p, 0);
	return err;
}

SEC("?syscall")
__success __retval(0)
int clone_of_clone(void *ctx)
{
	struct bpf_dynptr p, c1, c2;
	int err;

	fill(mem);
	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &p))
		return 1;
	if (bpf_rdynptr_clone(&p, &c1, 3))
		return 2;
	if (bpf_rdynptr_trim(&c1, 5))
		return 3;
	/* c1: offset 3, 56 bytes */
	if (bpf_rdynptr_clone(&c1, &c2, 4))
		return 4;
	err = check_view(&c2, 7, 52, 10);
	if (err)
		return err;
	if (bpf_rdynptr_clone(&c1, &c2, 57) != -ERANGE)
		return 20;
	if (check_null(&c2, 20))
		return 21;
	if (bpf_rdynptr_clone(&c1, &c2, 56))
		return 30;
	err = check_view(&c2, 59, 0, 30) ?: check_view(&c1, 3, 56, 40) ?:
	      check_view(&p, 0, BUF_SZ, 50);
	return err;
}

/* Submitting through a clone of a clone releases the record of the root. */
SEC("?syscall")
__success __retval(0)
int clone_of_clone_ringbuf(void *ctx)
{
	struct bpf_dynptr p, c1, c2;
	int err = 0;

	if (bpf_ringbuf_reserve_dynptr(&ringbuf, BUF_SZ, 0, &p))
		err = 1;
	if (bpf_rdynptr_clone(&p, &c1, 8) && !err)
		err = 2;
	if (bpf_rdynptr_clone(&c1, &c2, 8) && !err)
		err = 3;
	if (!err && (bpf_rdynptr_get_offset(&c2) != 16 ||
		     bpf_rdynptr_get_size(&c2) != BUF_SZ - 16))
		err = 4;
	bpf_ringbuf_submit_dynptr(&c2, 0);
	return err;
}

/* The kernel's clone + adjust and ours agree, and the two mix. */
SEC("?syscall")
__success __retval(0)
int clone_matches_kernel_clone(void *ctx)
{
	struct bpf_dynptr p, ours, theirs, mixed1, mixed2;
	int err;

	fill(mem);
	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &p))
		return 1;
	if (bpf_rdynptr_advance(&p, 5))
		return 2;
	/* p: offset 5, 59 bytes */
	if (bpf_rdynptr_clone(&p, &ours, 11))
		return 3;
	if (bpf_dynptr_clone(&p, &theirs) ||
	    bpf_dynptr_adjust(&theirs, 11, bpf_dynptr_size(&theirs)))
		return 4;
	err = check_view(&ours, 16, 48, 10) ?: check_view(&theirs, 16, 48, 20);
	if (err)
		return err;

	/* kernel clone of our clone, our clone of a kernel clone */
	if (bpf_dynptr_clone(&ours, &mixed1))
		return 30;
	if (bpf_rdynptr_clone(&theirs, &mixed2, 2))
		return 31;
	return check_view(&mixed1, 16, 48, 40) ?: check_view(&mixed2, 18, 46, 50);
}

/* A clone may overwrite an unreferenced dynptr; the slot then is the clone. */
SEC("?syscall")
__success __retval(0)
int clone_into_initialized_local(void *ctx)
{
	struct bpf_dynptr p, victim;

	fill(mem);
	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &p))
		return 1;
	if (bpf_dynptr_from_mem(other, sizeof(other), 0, &victim))
		return 2;
	if (bpf_rdynptr_clone(&p, &victim, 6))
		return 3;
	return check_view(&victim, 6, BUF_SZ - 6, 10);
}

static __always_inline int pkt_clone(struct bpf_dynptr *p, __u64 len)
{
	struct bpf_dynptr c, cc;
	__u8 t[2], x, orig, b;

	if (bpf_rdynptr_is_rdonly(p))
		return 10;
	if (bpf_rdynptr_clone(p, &c, 12))
		return 11;
	if (bpf_rdynptr_is_rdonly(&c) || bpf_dynptr_is_rdonly(&c))
		return 12;
	if (bpf_rdynptr_get_offset(&c) != 12 || bpf_rdynptr_get_size(&c) != len - 12 ||
	    bpf_dynptr_size(&c) != len - 12)
		return 13;
	/* the clone starts at the ethertype of the real packet */
	if (bpf_dynptr_read(t, 2, &c, 0, 0))
		return 14;
	if (t[0] != 0x08 || t[1] != 0x00)
		return 15;

	/* a write through a clone of the clone is seen through the parent */
	if (bpf_rdynptr_clone(&c, &cc, 3))
		return 20;
	if (bpf_dynptr_read(&orig, 1, p, 15, 0))
		return 21;
	x = orig ^ 0x3c;
	if (bpf_dynptr_write(&cc, 0, &x, 1, 0))
		return 22;
	if (bpf_dynptr_read(&b, 1, p, 15, 0) || b != x)
		return 23;

	if (bpf_rdynptr_clone(&c, &cc, len - 12 + 1) != -ERANGE)
		return 30;
	if (check_null(&cc, 30))
		return 31;
	if (bpf_rdynptr_clone(&c, &cc, len - 12))
		return 40;
	if (bpf_rdynptr_get_size(&cc) != 0 || bpf_rdynptr_get_offset(&cc) != len)
		return 41;
	return 0;
}

SEC("?tc")
__success __retval(0)
int clone_skb(struct __sk_buff *skb)
{
	struct bpf_dynptr p;

	if (skb->len != PKT_LEN)
		return 1;
	if (bpf_dynptr_from_skb(skb, 0, &p))
		return 2;
	return pkt_clone(&p, skb->len);
}

SEC("?xdp")
__success __retval(0)
int clone_xdp(struct xdp_md *xdp)
{
	__u64 len = bpf_xdp_get_buff_len(xdp);
	struct bpf_dynptr p;

	if (len != PKT_LEN)
		return 1;
	if (bpf_dynptr_from_xdp(xdp, 0, &p))
		return 2;
	return pkt_clone(&p, len);
}

/* Test runs give tc programs no metadata: the skb_meta dynptr is empty. */
SEC("?tc")
__success __retval(0)
int clone_skb_meta(struct __sk_buff *skb)
{
	struct bpf_dynptr m, c;

	if (bpf_dynptr_from_skb_meta(skb, 0, &m))
		return 1;
	if (bpf_dynptr_size(&m) != 0)
		return 2;
	if (bpf_rdynptr_clone(&m, &c, 0))
		return 3;
	if (bpf_rdynptr_is_null(&c) || bpf_rdynptr_is_rdonly(&c) ||
	    bpf_rdynptr_get_size(&c) != 0 || bpf_rdynptr_get_offset(&c) != 0)
		return 4;
	if (bpf_rdynptr_clone(&m, &c, 1) != -ERANGE)
		return 5;
	if (check_null(&c, 10))
		return 6;
	if (bpf_rdynptr_clone(&m, &c, U32_OVER) != -ERANGE)
		return 7;
	return 0;
}

static __always_inline int clone_rdonly_body(struct __sk_buff *skb)
{
	struct bpf_dynptr p, c;
	__u8 w = 0;

	if (bpf_dynptr_from_skb(skb, 0, &p))
		return 1;
	if (bpf_rdynptr_clone(&p, &c, 14))
		return 2;
	if (!bpf_rdynptr_is_rdonly(&c) || !bpf_dynptr_is_rdonly(&c))
		return 3;
	if (bpf_dynptr_write(&c, 0, &w, 1, 0) != -EINVAL)
		return 4;
	return 0;
}

SEC("?cgroup_skb/ingress")
__success __result(cg_err) __retval(0)
int clone_rdonly_skb(struct __sk_buff *skb)
{
	cg_err = clone_rdonly_body(skb);
	return cg_err ? 0 : 1;
}

/*
 * 7.3 lets a referenced dynptr's slot be reused while a clone still holds
 * the reference; the record is then released through the clone.
 */
/*
 * The kernel's own clone, for the verifier rules of overwriting a
 * referenced dynptr that a clone still holds (newer than 6.12, whose
 * verifier refuses any overwrite of a referenced dynptr): where these
 * twins do not get the verdict of the rdynptr tests that name them, the
 * kernel lacks the rule and those tests SKIP.
 */
SEC("?syscall")
int kernel_clone_keeps_ref_after_overwrite(void *ctx)
{
	struct bpf_dynptr p, c;

	bpf_ringbuf_reserve_dynptr(&ringbuf, BUF_SZ, 0, &p);
	bpf_dynptr_clone(&p, &c);
	*(volatile __u8 *)&p = 0;
	bpf_ringbuf_discard_dynptr(&c, 0);
	return 0;
}

SEC("?syscall")
__success __retval(0) __kernel_twin(kernel_clone_keeps_ref_after_overwrite)
int clone_keeps_ref_after_overwrite(void *ctx)
{
	struct bpf_dynptr p, c;
	int err = 0;
	__u32 *s;

	bpf_ringbuf_reserve_dynptr(&ringbuf, BUF_SZ, 0, &p);
	bpf_rdynptr_clone(&p, &c, 4);
	*(volatile __u8 *)&p = 0;

	/* slices of the clone are still fine */
	s = bpf_dynptr_data(&c, 0, sizeof(*s));
	if (s)
		*s = 42;
	else
		err = 1;
	bpf_ringbuf_discard_dynptr(&c, 0);
	return err;
}

/*
 * FILE dynptrs (load only here; rdynptr_file runs them attached). A FILE
 * dynptr clones only as it is (offset 0, as bpf_dynptr_clone() does): its
 * view is in the file state that every clone shares, so a clone at another
 * offset could not have a view of its own (-EOPNOTSUPP). When the program
 * runs attached, clone_file_err is 0 if all of this held.
 */
int clone_file_err = -1;

static __always_inline int file_clone_checks(struct bpf_dynptr *p,
					     struct bpf_dynptr *c,
					     struct bpf_dynptr *c1)
{
	if (bpf_rdynptr_clone(p, c, 0))
		return 1;
	if (bpf_rdynptr_is_null(c) || !bpf_rdynptr_is_rdonly(c))
		return 2;
	if (bpf_rdynptr_clone(p, c1, 1) != -EOPNOTSUPP)
		return 3;
	if (!bpf_rdynptr_is_null(c1))
		return 4;
	return 0;
}

SEC("?lsm/file_open")
__success
int BPF_PROG(clone_file, struct file *file)
{
	struct bpf_dynptr p, c, c1;

	if (bpf_dynptr_from_file(file, 0, &p)) {
		bpf_dynptr_file_discard(&p);
		clone_file_err = 100;
		return 0;
	}
	clone_file_err = file_clone_checks(&p, &c, &c1);
	/* releasing the clone releases the file dynptr and every clone */
	bpf_dynptr_file_discard(&c);
	return 0;
}

/* ===================================================================== */
/* Verifier                                                              */
/* ===================================================================== */

/* seed: clone_invalid1 - only initialized dynptrs can be cloned */
SEC("?syscall")
__failure __msg("Expected an initialized dynptr as {{R1|arg #0}}")
int clone_invalid1(void *ctx)
{
	struct bpf_dynptr p = {};
	struct bpf_dynptr c;

	bpf_rdynptr_clone(&p, &c, 0);
	return 0;
}

/* seed: clone_invalid2 - the clone can't overwrite a referenced dynptr */
SEC("?xdp")
__failure __msg("cannot overwrite referenced dynptr")
int clone_invalid2(struct xdp_md *xdp)
{
	struct bpf_dynptr p, c;

	bpf_dynptr_from_xdp(xdp, 0, &p);
	bpf_ringbuf_reserve_dynptr(&ringbuf, 64, 0, &c);
	bpf_rdynptr_clone(&p, &c, 0);
	bpf_ringbuf_submit_dynptr(&c, 0);
	return 0;
}

/* seed: clone_invalidate1 - releasing the parent invalidates the clone */
SEC("?syscall")
__failure __msg("Expected an initialized dynptr as {{R3|arg #2}}")
int clone_invalidate1(void *ctx)
{
	struct bpf_dynptr p, c;
	char data[16];

	bpf_ringbuf_reserve_dynptr(&ringbuf, val, 0, &p);
	bpf_rdynptr_clone(&p, &c, 0);
	bpf_ringbuf_submit_dynptr(&p, 0);
	bpf_dynptr_read(data, sizeof(data), &c, 0, 0);
	return 0;
}

/* seed: clone_invalidate2 - releasing the clone invalidates the parent */
SEC("?syscall")
__failure __msg("Expected an initialized dynptr as {{R3|arg #2}}")
int clone_invalidate2(void *ctx)
{
	struct bpf_dynptr p, c;
	char data[16];

	bpf_ringbuf_reserve_dynptr(&ringbuf, val, 0, &p);
	bpf_rdynptr_clone(&p, &c, 0);
	bpf_ringbuf_submit_dynptr(&c, 0);
	bpf_dynptr_read(data, sizeof(data), &p, 0, 0);
	return 0;
}

/* seed: clone_invalidate3 - releasing a clone invalidates its siblings */
SEC("?syscall")
__failure __msg("Expected an initialized dynptr as {{R3|arg #2}}")
int clone_invalidate3(void *ctx)
{
	struct bpf_dynptr p, c1, c2;
	char data[16];

	bpf_ringbuf_reserve_dynptr(&ringbuf, val, 0, &p);
	bpf_rdynptr_clone(&p, &c1, 0);
	bpf_rdynptr_clone(&p, &c2, 0);
	bpf_ringbuf_submit_dynptr(&c2, 0);
	bpf_dynptr_read(data, sizeof(data), &c1, 0, 0);
	return 0;
}

/* seed: clone_invalidate4 - releasing the parent kills the clone's slices */
SEC("?syscall")
__failure __msg("invalid mem access 'scalar'")
int clone_invalidate4(void *ctx)
{
	struct bpf_dynptr p, c;
	int *data;

	bpf_ringbuf_reserve_dynptr(&ringbuf, val, 0, &p);
	bpf_rdynptr_clone(&p, &c, 0);
	data = bpf_dynptr_data(&c, 0, sizeof(*data));
	if (!data) {
		bpf_ringbuf_discard_dynptr(&p, 0);
		return 0;
	}
	bpf_ringbuf_submit_dynptr(&p, 0);
	*data = 123;
	return 0;
}

/* seed: clone_invalidate5 - releasing the clone kills the parent's slices */
SEC("?syscall")
__failure __msg("invalid mem access 'scalar'")
int clone_invalidate5(void *ctx)
{
	struct bpf_dynptr p, c;
	int *data;

	bpf_ringbuf_reserve_dynptr(&ringbuf, val, 0, &p);
	data = bpf_dynptr_data(&p, 0, sizeof(*data));
	if (!data) {
		bpf_ringbuf_discard_dynptr(&p, 0);
		return 0;
	}
	bpf_rdynptr_clone(&p, &c, 0);
	bpf_ringbuf_submit_dynptr(&c, 0);
	*data = 123;
	return 0;
}

/* seed: clone_invalidate6 - releasing a clone kills its siblings' slices */
SEC("?syscall")
__failure __msg("invalid mem access 'scalar'")
int clone_invalidate6(void *ctx)
{
	struct bpf_dynptr p, c1, c2;
	int *data;

	bpf_ringbuf_reserve_dynptr(&ringbuf, val, 0, &p);
	bpf_rdynptr_clone(&p, &c1, 0);
	bpf_rdynptr_clone(&p, &c2, 0);
	data = bpf_dynptr_data(&c1, 0, sizeof(*data));
	if (!data) {
		bpf_ringbuf_discard_dynptr(&p, 0);
		return 0;
	}
	bpf_ringbuf_submit_dynptr(&c2, 0);
	*data = 123;
	return 0;
}

/* Releasing a clone of a clone invalidates the root, for our kfuncs too. */
SEC("?syscall")
__failure __msg("Expected an initialized dynptr as {{R1|arg #0}}")
int clone_of_clone_release_invalidates_root(void *ctx)
{
	struct bpf_dynptr p, c1, c2;

	bpf_ringbuf_reserve_dynptr(&ringbuf, val, 0, &p);
	bpf_rdynptr_clone(&p, &c1, 0);
	bpf_rdynptr_clone(&c1, &c2, 0);
	bpf_ringbuf_discard_dynptr(&c2, 0);
	bpf_rdynptr_trim(&p, 1);
	return 0;
}

/* Our kfuncs refuse a clone whose parent was released. */
SEC("?syscall")
__failure __msg("Expected an initialized dynptr as {{R1|arg #0}}")
int clone_used_after_parent_release(void *ctx)
{
	struct bpf_dynptr p, c;

	bpf_ringbuf_reserve_dynptr(&ringbuf, val, 0, &p);
	bpf_rdynptr_clone(&p, &c, 1);
	bpf_ringbuf_submit_dynptr(&p, 0);
	return bpf_rdynptr_get_size(&c);
}

/* seed: clone_skb_packet_data */
SEC("?tc")
__failure __msg("invalid mem access 'scalar'")
int clone_skb_packet_data(struct __sk_buff *skb)
{
	char buffer[sizeof(__u32)] = {};
	struct bpf_dynptr p, c;
	__u32 *data;

	bpf_dynptr_from_skb(skb, 0, &p);
	bpf_rdynptr_clone(&p, &c, 0);
	data = bpf_dynptr_slice_rdwr(&c, 0, buffer, sizeof(buffer));
	if (!data)
		return 0;
	if (bpf_skb_pull_data(skb, skb->len))
		return 0;
	*data = 123;
	return 0;
}

/* The same for the metadata of an skb. */
SEC("?tc")
__failure __msg("invalid mem access 'scalar'")
int clone_skb_meta_packet_data(struct __sk_buff *skb)
{
	struct bpf_dynptr m, c;
	__u8 *md;

	bpf_dynptr_from_skb_meta(skb, 0, &m);
	bpf_rdynptr_clone(&m, &c, 0);
	md = bpf_dynptr_slice_rdwr(&c, 0, NULL, sizeof(*md));
	if (!md)
		return 0;
	if (bpf_skb_pull_data(skb, skb->len))
		return 0;
	*md = 42;
	return 0;
}

/* seed: clone_xdp_packet_data */
SEC("?xdp")
__failure __msg("invalid mem access 'scalar'")
int clone_xdp_packet_data(struct xdp_md *xdp)
{
	char buffer[sizeof(__u32)] = {};
	struct bpf_dynptr p, c;
	__u32 *data;

	bpf_dynptr_from_xdp(xdp, 0, &p);
	bpf_rdynptr_clone(&p, &c, 0);
	data = bpf_dynptr_slice_rdwr(&c, 0, buffer, sizeof(buffer));
	if (!data)
		return XDP_DROP;
	if (bpf_xdp_adjust_head(xdp, -14))
		return XDP_DROP;
	*data = 123;
	return XDP_PASS;
}

/* A clone holds the parent's reference: it must be released too. */
SEC("?syscall")
__failure __msg("Unreleased reference id=")
int clone_unreleased(void *ctx)
{
	struct bpf_dynptr p, c;

	bpf_ringbuf_reserve_dynptr(&ringbuf, val, 0, &p);
	bpf_rdynptr_clone(&p, &c, 0);
	return 0;
}

/* Dropping the original leaves the reference with the clone. */
SEC("?syscall")
int kernel_clone_unreleased_after_overwrite(void *ctx)
{
	struct bpf_dynptr p, c;

	bpf_ringbuf_reserve_dynptr(&ringbuf, val, 0, &p);
	bpf_dynptr_clone(&p, &c);
	*(volatile __u8 *)&p = 0;
	return 0;
}

SEC("?syscall")
__failure __msg("Unreleased reference id=")
__kernel_twin(kernel_clone_unreleased_after_overwrite)
int clone_unreleased_after_overwrite(void *ctx)
{
	struct bpf_dynptr p, c;

	bpf_ringbuf_reserve_dynptr(&ringbuf, val, 0, &p);
	bpf_rdynptr_clone(&p, &c, 0);
	*(volatile __u8 *)&p = 0;
	return 0;
}

/* The last holder of a reference cannot be overwritten. */
SEC("?syscall")
__failure __msg("cannot overwrite referenced dynptr")
int clone_overwrite_last_holder(void *ctx)
{
	struct bpf_dynptr p, c;

	bpf_ringbuf_reserve_dynptr(&ringbuf, val, 0, &p);
	bpf_rdynptr_clone(&p, &c, 0);
	*(volatile __u8 *)&p = 0;
	*(volatile __u8 *)&c = 0;
	return 0;
}

/* Overwriting the original invalidates the original's slices. */
SEC("?syscall")
int kernel_clone_overwrite_kills_slices(void *ctx)
{
	struct bpf_dynptr p, c;
	int *data;

	bpf_ringbuf_reserve_dynptr(&ringbuf, val, 0, &p);
	data = bpf_dynptr_data(&p, 0, sizeof(*data));
	bpf_dynptr_clone(&p, &c);
	*(volatile __u8 *)&p = 0;
	if (data)
		*data = 123;
	bpf_ringbuf_discard_dynptr(&c, 0);
	return 0;
}

SEC("?syscall")
__failure __msg("invalid mem access 'scalar'")
__kernel_twin(kernel_clone_overwrite_kills_slices)
int clone_overwrite_kills_slices(void *ctx)
{
	struct bpf_dynptr p, c;
	int *data;

	bpf_ringbuf_reserve_dynptr(&ringbuf, val, 0, &p);
	data = bpf_dynptr_data(&p, 0, sizeof(*data));
	bpf_rdynptr_clone(&p, &c, 0);
	*(volatile __u8 *)&p = 0;
	if (data)
		*data = 123;
	bpf_ringbuf_discard_dynptr(&c, 0);
	return 0;
}

/* A clone of a local dynptr is a local dynptr, not a ringbuf record. */
SEC("?syscall")
__failure __msg("{{Expected a dynptr of type ringbuf as R1|arg 1 is an unacquired reference}}")
int clone_keeps_local_type(void *ctx)
{
	struct bpf_dynptr p, c;

	bpf_dynptr_from_mem(mem, 16, 0, &p);
	bpf_rdynptr_clone(&p, &c, 0);
	bpf_ringbuf_submit_dynptr(&c, 0);
	return 0;
}

/* Slices of a read-only skb clone are read-only. */
SEC("?cgroup_skb/ingress")
__failure __msg("cannot write into rdonly_mem")
int clone_rdonly_slice_write(struct __sk_buff *skb)
{
	struct bpf_dynptr p, c;
	__u8 buf[2], *s;

	bpf_dynptr_from_skb(skb, 0, &p);
	bpf_rdynptr_clone(&p, &c, 12);
	s = bpf_dynptr_slice(&c, 0, buf, sizeof(buf));
	if (!s)
		return 1;
	s[0] = 0;
	return 1;
}

/* Nor does cloning make a read-write slice possible there. */
SEC("?cgroup_skb/ingress")
__failure __msg("the prog does not allow writes to packet data")
int clone_rdonly_slice_rdwr(struct __sk_buff *skb)
{
	struct bpf_dynptr p, c;
	__u8 buf[2], *s;

	bpf_dynptr_from_skb(skb, 0, &p);
	bpf_rdynptr_clone(&p, &c, 0);
	s = bpf_dynptr_slice_rdwr(&c, 0, buf, sizeof(buf));
	if (s)
		s[0] = 0;
	return 1;
}

SEC("?syscall")
__failure __msg("{{R1|arg#0}} expected pointer to stack or const struct bpf_dynptr")
int clone_parent_not_dynptr(void *ctx)
{
	struct bpf_dynptr c;

	bpf_rdynptr_clone(&global_dynptr, &c, 0);
	return 0;
}

SEC("?syscall")
__failure __msg("{{R2|arg#1}} expected pointer to stack or const struct bpf_dynptr")
int clone_target_not_stack(void *ctx)
{
	struct bpf_dynptr p;

	bpf_dynptr_from_mem(mem, 16, 0, &p);
	bpf_rdynptr_clone(&p, &global_dynptr, 0);
	return 0;
}

SEC("?syscall")
__failure __msg("cannot pass in dynptr at an offset=")
__msg("Dynptr has to be an uninitialized dynptr")
int clone_target_misaligned(void *ctx)
{
	struct bpf_dynptr p, c[2];

	bpf_dynptr_from_mem(mem, 16, 0, &p);
	bpf_rdynptr_clone(&p, (struct bpf_dynptr *)((char *)c + 4), 0);
	return 0;
}

SEC("?syscall")
__failure __msg("R3 is not a scalar")
int clone_pointer_offset(void *ctx)
{
	struct bpf_dynptr p, c;

	bpf_dynptr_from_mem(mem, 16, 0, &p);
	bpf_rdynptr_clone(&p, &c, (__u64)(long)mem);
	return 0;
}

/* A clone of a FILE dynptr holds its reference too. */
SEC("?lsm/file_open")
__failure __msg("Unreleased reference id=")
int BPF_PROG(clone_file_unreleased, struct file *file)
{
	struct bpf_dynptr p, c;

	bpf_dynptr_from_file(file, 0, &p);
	bpf_rdynptr_clone(&p, &c, 0);
	*(volatile __u8 *)&p = 0;
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * rdynptr_adjust: bpf_rdynptr_trim() and bpf_rdynptr_advance().
 *
 * What this suite proves, on local (bpf_dynptr_from_mem) and ringbuf
 * dynptrs, in syscall programs run once with BPF_PROG_TEST_RUN:
 *  - advance moves the offset forward and shrinks the size by the same
 *    amount, trim shrinks the size and keeps the offset; both return 0;
 *  - the new view is what the kernel itself sees: bpf_dynptr_size() agrees
 *    with bpf_rdynptr_get_size(), bpf_dynptr_read()/write()/data() at
 *    offset 0 reach the byte at the new start, and one byte past the new
 *    end is out of range (-E2BIG);
 *  - a length larger than the current size fails with -ERANGE, compared in
 *    64 bits (size + 1, 2^32, 2^32 + size, 2^63, 2^64 - 1), a null dynptr
 *    fails with -EINVAL (even for a length of 0), and a failed call leaves
 *    offset, size and data unchanged;
 *  - the result matches the kernel's own bpf_dynptr_adjust(), and both
 *    families of kfuncs see each other's adjustments;
 *  - the dynptr type survives (reads still work, a ringbuf record can still
 *    be submitted), also through a bpf_loop() callback, in a global
 *    subprogram (where the dynptr is a const one) and for a dynptr larger
 *    than 16 bits.
 *
 * Each __retval(0) program returns a distinct non-zero code per failed
 * check. Ported seed cases: test_advance_trim, test_advance_trim_err,
 * test_zero_size_dynptr.
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <rdynptr/kfuncs.h>
#include <rdynptr/bpf_test.h>
#include "rdynptr_common.h"

char _license[] SEC("license") = "GPL";

#define BIG_SZ		70000

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} ringbuf SEC(".maps");

/*
 * Local dynptrs need map memory (7.3 refuses stack memory in
 * bpf_dynptr_from_mem): global data.
 */
__u8 mem[BUF_SZ];
/* Backing store for a local dynptr whose size needs more than 16 bits. */
__u8 big[BIG_SZ];

/* Ringbuf record of BUF_SZ bytes filled with PAT(). */
static __always_inline int reserve_filled(struct bpf_dynptr *p)
{
	__u8 src[BUF_SZ];

	fill(src);
	if (bpf_ringbuf_reserve_dynptr(&ringbuf, BUF_SZ, 0, p))
		return 1;
	if (bpf_dynptr_write(p, 0, src, BUF_SZ, 0))
		return 2;
	return 0;
}

static __always_inline int advance_trim_body(struct bpf_dynptr *p)
{
	int err;

	err = reserve_filled(p);
	if (err)
		return err;
	err = check_view(p, 0, BUF_SZ, 10);
	if (err)
		return err;

	if (bpf_rdynptr_advance(p, 10))
		return 20;
	err = check_view(p, 10, BUF_SZ - 10, 20);
	if (err)
		return err;

	if (bpf_rdynptr_trim(p, 5))
		return 30;
	err = check_view(p, 10, BUF_SZ - 15, 30);
	if (err)
		return err;

	/* a second advance accumulates on top of the first */
	if (bpf_rdynptr_advance(p, 7))
		return 40;
	return check_view(p, 17, BUF_SZ - 22, 40);
}

/* seed: test_advance_trim */
SEC("?syscall")
__success __retval(0)
int test_advance_trim(void *ctx)
{
	struct bpf_dynptr p;
	int err;

	err = advance_trim_body(&p);
	bpf_ringbuf_discard_dynptr(&p, 0);
	return err;
}

static __always_inline int advance_trim_err_body(struct bpf_dynptr *p)
{
	__u8 data[BUF_SZ] = {};
	int err;

	err = reserve_filled(p);
	if (err)
		return err;

	/* can't advance beyond the end */
	if (bpf_rdynptr_advance(p, BUF_SZ + 1) != -ERANGE)
		return 10;
	err = check_view(p, 0, BUF_SZ, 10);
	if (err)
		return err;

	if (bpf_rdynptr_advance(p, 10))
		return 20;

	/* can't trim more than what is left after the advance */
	if (bpf_rdynptr_trim(p, BUF_SZ - 10 + 1) != -ERANGE)
		return 30;
	err = check_view(p, 10, BUF_SZ - 10, 30);
	if (err)
		return err;

	if (bpf_rdynptr_trim(p, 10))
		return 40;

	/* 44 bytes are left: writing 45 must fail, writing 44 must work */
	if (bpf_dynptr_write(p, 0, data, BUF_SZ - 19, 0) != -E2BIG)
		return 50;
	if (bpf_dynptr_write(p, 0, data, BUF_SZ - 20, 0))
		return 51;
	return 0;
}

/* seed: test_advance_trim_err; the adjusted record is submitted, not discarded */
SEC("?syscall")
__success __retval(0)
int test_advance_trim_err(void *ctx)
{
	struct bpf_dynptr p;
	int err;

	err = advance_trim_err_body(&p);
	if (err) {
		bpf_ringbuf_discard_dynptr(&p, 0);
		return err;
	}
	bpf_ringbuf_submit_dynptr(&p, 0);
	return 0;
}

static __always_inline int zero_size_body(struct bpf_dynptr *p)
{
	__u8 w = 'x', r = 0;
	int err;

	err = reserve_filled(p);
	if (err)
		return err;

	/* advancing by the whole size leaves a valid, empty view */
	if (bpf_rdynptr_advance(p, BUF_SZ))
		return 10;
	err = check_view(p, BUF_SZ, 0, 10);
	if (err)
		return err;

	if (bpf_dynptr_read(&r, 1, p, 0, 0) != -E2BIG)
		return 20;
	if (bpf_dynptr_write(p, 0, &w, 1, 0) != -E2BIG)
		return 21;
	if (bpf_dynptr_read(&r, 0, p, 0, 0))
		return 22;
	if (bpf_dynptr_write(p, 0, &w, 0, 0))
		return 23;

	/* only zero-length adjustments still work */
	if (bpf_rdynptr_advance(p, 0) || bpf_rdynptr_trim(p, 0))
		return 30;
	if (bpf_rdynptr_advance(p, 1) != -ERANGE)
		return 31;
	if (bpf_rdynptr_trim(p, 1) != -ERANGE)
		return 32;
	return check_view(p, BUF_SZ, 0, 40);
}

/* seed: test_zero_size_dynptr */
SEC("?syscall")
__success __retval(0)
int test_zero_size_dynptr(void *ctx)
{
	struct bpf_dynptr p;
	int err;

	err = zero_size_body(&p);
	bpf_ringbuf_discard_dynptr(&p, 0);
	return err;
}

/*
 * Every length here is larger than BUF_SZ; an implementation that narrows
 * it to 32 bits sees 2^32 as 0 and 2^32 + n as n.
 */
#define FOR_EACH_TOO_LONG(X, size)					\
	X(1, (size) + 1)						\
	X(2, U32_OVER)							\
	X(3, U32_OVER + 4)						\
	X(4, U32_OVER + (size))						\
	X(5, 1ULL << 63)						\
	X(6, U64_MAX_LEN)

SEC("?syscall")
__success __retval(0)
int advance_len_boundaries(void *ctx)
{
	struct bpf_dynptr p;
	int err;

	fill(mem);
	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &p))
		return 1;

#define TRY_ADVANCE(n, len)						\
	if (bpf_rdynptr_advance(&p, len) != -ERANGE)			\
		return 10 * (n);					\
	err = check_view(&p, 0, BUF_SZ, 10 * (n));			\
	if (err)							\
		return err;
	FOR_EACH_TOO_LONG(TRY_ADVANCE, BUF_SZ)
#undef TRY_ADVANCE

	/* len == size is allowed and leaves an empty view at the end */
	if (bpf_rdynptr_advance(&p, BUF_SZ))
		return 100;
	err = check_view(&p, BUF_SZ, 0, 100);
	if (err)
		return err;
	if (bpf_rdynptr_advance(&p, 1) != -ERANGE)
		return 110;
	if (bpf_rdynptr_advance(&p, U32_OVER) != -ERANGE)
		return 111;
	return check_view(&p, BUF_SZ, 0, 120);
}

SEC("?syscall")
__success __retval(0)
int trim_len_boundaries(void *ctx)
{
	struct bpf_dynptr p;
	int err;

	fill(mem);
	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &p))
		return 1;

#define TRY_TRIM(n, len)						\
	if (bpf_rdynptr_trim(&p, len) != -ERANGE)			\
		return 10 * (n);					\
	err = check_view(&p, 0, BUF_SZ, 10 * (n));			\
	if (err)							\
		return err;
	FOR_EACH_TOO_LONG(TRY_TRIM, BUF_SZ)
#undef TRY_TRIM

	/* len == size is allowed and leaves an empty view at the start */
	if (bpf_rdynptr_trim(&p, BUF_SZ))
		return 100;
	err = check_view(&p, 0, 0, 100);
	if (err)
		return err;
	if (bpf_rdynptr_trim(&p, 1) != -ERANGE)
		return 110;
	if (bpf_rdynptr_trim(&p, U32_OVER) != -ERANGE)
		return 111;
	return check_view(&p, 0, 0, 120);
}

/* The bound is the current size, not the size the dynptr was created with. */
SEC("?syscall")
__success __retval(0)
int boundaries_follow_current_size(void *ctx)
{
	struct bpf_dynptr p;
	int err;

	fill(mem);
	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &p))
		return 1;
	if (bpf_rdynptr_advance(&p, 16))
		return 2;

	/* 48 bytes left */
	if (bpf_rdynptr_advance(&p, BUF_SZ) != -ERANGE)
		return 10;
	if (bpf_rdynptr_trim(&p, BUF_SZ) != -ERANGE)
		return 11;
	if (bpf_rdynptr_advance(&p, 49) != -ERANGE)
		return 12;
	if (bpf_rdynptr_trim(&p, 49) != -ERANGE)
		return 13;
	if (bpf_rdynptr_advance(&p, U32_OVER + 48) != -ERANGE)
		return 14;
	if (bpf_rdynptr_trim(&p, U32_OVER + 48) != -ERANGE)
		return 15;
	err = check_view(&p, 16, 48, 20);
	if (err)
		return err;

	if (bpf_rdynptr_trim(&p, 8))
		return 30;
	err = check_view(&p, 16, 40, 30);
	if (err)
		return err;

	/* 40 bytes left */
	if (bpf_rdynptr_advance(&p, 41) != -ERANGE)
		return 40;
	if (bpf_rdynptr_advance(&p, 40))
		return 41;
	return check_view(&p, 56, 0, 50);
}

SEC("?syscall")
__success __retval(0)
int adjust_by_zero(void *ctx)
{
	struct bpf_dynptr p;
	int err;

	fill(mem);
	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &p))
		return 1;

	if (bpf_rdynptr_advance(&p, 0))
		return 10;
	if (bpf_rdynptr_trim(&p, 0))
		return 11;
	err = check_view(&p, 0, BUF_SZ, 20);
	if (err)
		return err;

	if (bpf_rdynptr_advance(&p, 3) || bpf_rdynptr_trim(&p, 5))
		return 30;
	if (bpf_rdynptr_advance(&p, 0))
		return 31;
	if (bpf_rdynptr_trim(&p, 0))
		return 32;
	return check_view(&p, 3, BUF_SZ - 8, 40);
}

/* Calls on a null dynptr fail with -EINVAL and leave it null. */
static __always_inline int check_null_adjust(struct bpf_dynptr *p, int base)
{
	if (bpf_rdynptr_advance(p, 0) != -EINVAL)
		return base + 1;
	if (bpf_rdynptr_trim(p, 0) != -EINVAL)
		return base + 2;
	if (bpf_rdynptr_advance(p, 1) != -EINVAL)
		return base + 3;
	if (bpf_rdynptr_trim(p, 1) != -EINVAL)
		return base + 4;
	if (bpf_rdynptr_advance(p, U64_MAX_LEN) != -EINVAL)
		return base + 5;
	if (bpf_rdynptr_get_size(p) != -EINVAL)
		return base + 6;
	if (bpf_rdynptr_get_offset(p) != -EINVAL)
		return base + 7;
	if (!bpf_rdynptr_is_null(p) || !bpf_dynptr_is_null(p))
		return base + 8;
	return 0;
}

SEC("?syscall")
__success __retval(0)
int null_dynptr_adjust(void *ctx)
{
	struct bpf_dynptr local, rb;
	int err;

	fill(mem);
	/* unsupported flags give a null local dynptr */
	if (bpf_dynptr_from_mem(mem, BUF_SZ, 1, &local) != -EINVAL)
		return 1;
	err = check_null_adjust(&local, 10);
	if (err)
		return err;

	/* a reservation larger than the ring fails and gives a null dynptr */
	if (bpf_ringbuf_reserve_dynptr(&ringbuf, 128 * 1024, 0, &rb) == 0) {
		bpf_ringbuf_discard_dynptr(&rb, 0);
		return 2;
	}
	err = check_null_adjust(&rb, 20);
	bpf_ringbuf_discard_dynptr(&rb, 0);
	return err;
}

SEC("?syscall")
__success __retval(0)
int advance_step_by_step(void *ctx)
{
	struct bpf_dynptr p;
	int i, err;

	fill(mem);
	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &p))
		return 1;

	for (i = 1; i <= 16; i++) {
		if (bpf_rdynptr_advance(&p, 4))
			return 1000 + i;
		err = check_view(&p, 4 * i, BUF_SZ - 4 * i, 10 * i);
		if (err)
			return err;
	}
	if (bpf_rdynptr_advance(&p, 1) != -ERANGE)
		return 2000;
	return 0;
}

SEC("?syscall")
__success __retval(0)
int trim_step_by_step(void *ctx)
{
	struct bpf_dynptr p;
	int i, err;

	fill(mem);
	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &p))
		return 1;
	if (bpf_rdynptr_advance(&p, 1))
		return 2;

	for (i = 1; i <= 9; i++) {
		if (bpf_rdynptr_trim(&p, 7))
			return 1000 + i;
		err = check_view(&p, 1, BUF_SZ - 1 - 7 * i, 10 * i);
		if (err)
			return err;
	}
	if (bpf_rdynptr_trim(&p, 1) != -ERANGE)
		return 2000;
	return 0;
}

/* Writes through an adjusted view land inside it and nowhere else. */
SEC("?syscall")
__success __retval(0)
int write_through_adjusted(void *ctx)
{
	__u8 w[4] = { 0xde, 0xad, 0xbe, 0xef };
	struct bpf_dynptr p;
	int i;

	fill(mem);
	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &p))
		return 1;
	if (bpf_rdynptr_advance(&p, 5) || bpf_rdynptr_trim(&p, 50))
		return 2;
	/* view is mem[5..14), 9 bytes */
	if (bpf_rdynptr_get_size(&p) != 9)
		return 3;

	if (bpf_dynptr_write(&p, 0, w, sizeof(w), 0))
		return 10;
	if (bpf_dynptr_write(&p, 6, w, sizeof(w), 0) != -E2BIG)
		return 11;
	if (bpf_dynptr_write(&p, 5, w, sizeof(w), 0))
		return 12;

	for (i = 0; i < BUF_SZ; i++) {
		__u8 want = PAT(i);

		if (i >= 5 && i < 9)
			want = w[i - 5];
		else if (i >= 10 && i < 14)
			want = w[i - 10];
		if (mem[i] != want)
			return 100 + i;
	}
	return 0;
}

/* bpf_dynptr_data() slices start at the adjusted offset and end at its size. */
SEC("?syscall")
__success __retval(0)
int data_slice_after_adjust(void *ctx)
{
	struct bpf_dynptr p;
	__u8 *s;

	fill(mem);
	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &p))
		return 1;
	if (bpf_rdynptr_advance(&p, 8))
		return 2;

	s = bpf_dynptr_data(&p, 0, 4);
	if (!s)
		return 10;
	if (s[0] != PAT(8) || s[3] != PAT(11))
		return 11;
	s[0] = 0x55;
	if (mem[8] != 0x55 || mem[7] != PAT(7))
		return 12;

	/* 3 bytes left: a 4-byte slice is refused, a 3-byte one is not */
	if (bpf_rdynptr_trim(&p, BUF_SZ - 8 - 3))
		return 20;
	if (bpf_dynptr_data(&p, 0, 4))
		return 21;
	s = bpf_dynptr_data(&p, 0, 3);
	if (!s)
		return 22;
	if (s[2] != PAT(10))
		return 23;
	return 0;
}

/*
 * Our advance + trim and the kernel's bpf_dynptr_adjust() over the same
 * buffer give the same view, and each side reads the other's adjustments.
 */
static __always_inline int cmp_with_kernel(__u8 *buf, __u64 start, __u64 trim,
					   int base)
{
	struct bpf_dynptr ours, theirs;
	__u64 size = BUF_SZ - start - trim;
	int err;

	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &ours) ||
	    bpf_dynptr_from_mem(mem, BUF_SZ, 0, &theirs))
		return base + 1;
	if (bpf_rdynptr_advance(&ours, start) || bpf_rdynptr_trim(&ours, trim))
		return base + 2;
	if (bpf_dynptr_adjust(&theirs, start, BUF_SZ - trim))
		return base + 3;

	if (bpf_dynptr_size(&ours) != bpf_dynptr_size(&theirs))
		return base + 4;
	if (bpf_rdynptr_get_size(&theirs) != bpf_rdynptr_get_size(&ours))
		return base + 5;
	if (bpf_rdynptr_get_offset(&theirs) != (__s64)start)
		return base + 6;
	err = check_view(&ours, start, size, base + 10);
	if (err)
		return err;
	return check_view(&theirs, start, size, base + 20);
}

SEC("?syscall")
__success __retval(0)
int matches_kernel_adjust(void *ctx)
{
	int err;

	fill(mem);
	err = cmp_with_kernel(mem, 0, 0, 100);
	err = err ?: cmp_with_kernel(mem, 1, 0, 200);
	err = err ?: cmp_with_kernel(mem, 0, 1, 300);
	err = err ?: cmp_with_kernel(mem, 13, 29, 400);
	err = err ?: cmp_with_kernel(mem, BUF_SZ - 1, 0, 500);
	err = err ?: cmp_with_kernel(mem, 32, 32, 600);
	return err;
}

/* The kernel's adjust on a ringbuf record is visible to our kfuncs and back. */
static __always_inline int interop_body(struct bpf_dynptr *p)
{
	int err;

	err = reserve_filled(p);
	if (err)
		return err;
	if (bpf_dynptr_adjust(p, 4, 60))
		return 10;
	err = check_view(p, 4, 56, 10);
	if (err)
		return err;
	if (bpf_rdynptr_advance(p, 4) || bpf_rdynptr_trim(p, 2))
		return 20;
	err = check_view(p, 8, 50, 20);
	if (err)
		return err;
	if (bpf_dynptr_adjust(p, 10, 50))
		return 30;
	return check_view(p, 18, 40, 30);
}

SEC("?syscall")
__success __retval(0)
int interop_with_kernel_adjust(void *ctx)
{
	struct bpf_dynptr p;
	int err;

	err = interop_body(&p);
	bpf_ringbuf_discard_dynptr(&p, 0);
	return err;
}

static int advance_cb(__u64 index, void *ctx)
{
	struct bpf_dynptr *p = ctx;

	if (bpf_rdynptr_advance(p, 2))
		return 1;
	return 0;
}

/* A dynptr on the caller's stack is adjusted from a bpf_loop() callback. */
SEC("?syscall")
__success __retval(0)
int advance_in_callback(void *ctx)
{
	struct bpf_dynptr p;

	fill(mem);
	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &p))
		return 1;
	if (bpf_loop(8, advance_cb, &p, 0) != 8)
		return 2;
	return check_view(&p, 16, BUF_SZ - 16, 10);
}

/*
 * A global subprogram gets its dynptr argument as the verifier's const
 * dynptr (CONST_PTR_TO_DYNPTR); its view may still be changed, as with the
 * kernel's bpf_dynptr_adjust(), and the caller sees the change.
 */
__noinline int advance_by_four(const struct bpf_dynptr *p)
{
	if (bpf_rdynptr_advance((struct bpf_dynptr *)p, 4))
		return -1;
	return bpf_rdynptr_get_offset(p);
}

SEC("?syscall")
__success __retval(0)
int adjust_in_global_subprog(void *ctx)
{
	struct bpf_dynptr p;

	fill(mem);
	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &p))
		return 1;
	if (advance_by_four(&p) != 4)
		return 2;
	if (advance_by_four(&p) != 8)
		return 3;
	return check_view(&p, 8, BUF_SZ - 8, 10);
}

/* Sizes and offsets wider than 16 bits survive the adjustments. */
SEC("?syscall")
__success __retval(0)
int large_local_dynptr(void *ctx)
{
	struct bpf_dynptr p;
	__u8 b;

	big[0] = 0x11;
	big[65535] = 0x22;
	big[65536] = 0x33;
	big[BIG_SZ - 1] = 0x44;

	if (bpf_dynptr_from_mem(big, BIG_SZ, 0, &p))
		return 1;
	if (bpf_rdynptr_get_size(&p) != BIG_SZ || bpf_dynptr_size(&p) != BIG_SZ)
		return 2;

	if (bpf_rdynptr_advance(&p, U32_OVER + 65536) != -ERANGE)
		return 10;
	if (bpf_rdynptr_advance(&p, 65536))
		return 11;
	if (bpf_rdynptr_get_offset(&p) != 65536)
		return 12;
	if (bpf_rdynptr_get_size(&p) != BIG_SZ - 65536 ||
	    bpf_dynptr_size(&p) != BIG_SZ - 65536)
		return 13;
	if (bpf_dynptr_read(&b, 1, &p, 0, 0) || b != 0x33)
		return 14;
	if (bpf_dynptr_read(&b, 1, &p, BIG_SZ - 65536 - 1, 0) || b != 0x44)
		return 15;

	if (bpf_rdynptr_trim(&p, BIG_SZ - 65536 - 1))
		return 20;
	if (bpf_rdynptr_get_size(&p) != 1 || bpf_dynptr_size(&p) != 1)
		return 21;
	if (bpf_rdynptr_advance(&p, 2) != -ERANGE)
		return 22;
	if (bpf_rdynptr_advance(&p, 1))
		return 23;
	if (bpf_rdynptr_get_offset(&p) != 65537 || bpf_rdynptr_get_size(&p) != 0)
		return 24;
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * rdynptr_file: FILE dynptrs (bpf_dynptr_from_file()), run for real: each
 * test is an lsm/file_open program that the harness attaches while it
 * opens its test file (__trigger("open"); RDYNPTR_TEST_FILE_*: 5000 bytes,
 * a magic then a pattern).  A program recognizes the test file by its
 * magic, ignores every other file opened meanwhile, and leaves its
 * findings in a global (__result): 0, or the number of the first failed
 * check; -1 if it never saw the file.
 *
 * What this suite proves (the kernel keeps a FILE dynptr's view in its file
 * state, 64-bit, shared by every clone):
 *  - a new FILE dynptr's size is unrestricted (U64_MAX, as
 *    bpf_dynptr_from_file() sets it): bpf_dynptr_size() says so and
 *    get_size() returns the same 64 bits (-1 as __s64); trimming it to the
 *    file's length works;
 *  - get_size/get_offset give the view's size and offset in the file, as
 *    bpf_dynptr_size() does; trim and advance move the view as
 *    bpf_dynptr_adjust() does, and reads follow it; out-of-range lengths
 *    (size + 1, 2^32, 2^64 - 1) give -ERANGE and change nothing;
 *  - the same operations on two FILE dynptrs of the same file, one through
 *    our kfuncs and one through the kernel's, agree step by step;
 *  - clones share the view: advancing a clone (ours at offset 0, or the
 *    kernel's bpf_dynptr_clone()) moves the parent's view too; a clone at a
 *    non-zero offset gives -EOPNOTSUPP and a null clone;
 *  - the iterator walks the file's view, chunk by chunk;
 *  - bpf_rdynptr_* never release the FILE dynptr: a missing
 *    bpf_dynptr_file_discard() is still reported.
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <rdynptr/kfuncs.h>
#include <rdynptr/bpf_test.h>
#include "rdynptr_common.h"

char _license[] SEC("license") = "GPL";

#define LEN		RDYNPTR_TEST_FILE_LEN
#define BYTE(i)		RDYNPTR_TEST_FILE_BYTE(i)

/* Byte @off of @p's view must be the test file's byte @at. */
static __always_inline bool byte_is(struct bpf_dynptr *p, __u64 off, __u64 at)
{
	__u8 b;

	return !bpf_dynptr_read(&b, 1, p, off, 0) && b == BYTE(at);
}

/* @p's view must be [@off, @off + @size) of the file, for both kfunc sets. */
static __always_inline int view_is(struct bpf_dynptr *p, __u64 off, __u64 size, int base)
{
	if (bpf_rdynptr_get_offset(p) != (__s64)off)
		return base + 1;
	if (bpf_rdynptr_get_size(p) != (__s64)size)
		return base + 2;
	if (bpf_dynptr_size(p) != size)
		return base + 3;
	if (size && (!byte_is(p, 0, off) || !byte_is(p, size - 1, off + size - 1)))
		return base + 4;
	return 0;
}

int parity_result = -1;

SEC("?lsm/file_open")
__description("FILE: size, offset, trim and advance work on the file state's view")
__trigger("open") __result(parity_result)
__success __retval(0)
int BPF_PROG(file_view_parity, struct file *file)
{
	struct bpf_dynptr p;
	__u64 size;	/* bpf_dynptr_size() is 32-bit before FILE (6.12) */
	int err;

	if (!test_file(file, &p)) {
		bpf_dynptr_file_discard(&p);
		return 0;
	}
	/* unrestricted until the program says how far the file goes */
	size = bpf_dynptr_size(&p);
	if (size != ~0ULL || bpf_rdynptr_get_size(&p) != -1 ||
	    bpf_rdynptr_get_offset(&p) != 0)
		err = 1;
	else if (bpf_rdynptr_trim(&p, ~0ULL - LEN))
		err = 2;
	else
		err = view_is(&p, 0, LEN, 10);
	if (!err && (bpf_rdynptr_is_null(&p) || !bpf_rdynptr_is_rdonly(&p)))
		err = 20;
	if (!err && bpf_rdynptr_advance(&p, 100))
		err = 21;
	if (!err)
		err = view_is(&p, 100, LEN - 100, 30);
	if (!err && bpf_rdynptr_trim(&p, 900))
		err = 22;
	if (!err)
		err = view_is(&p, 100, LEN - 1000, 40);
	/* out of range: nothing changes */
	if (!err && (bpf_rdynptr_advance(&p, LEN - 999) != -ERANGE ||
		     bpf_rdynptr_trim(&p, LEN - 999) != -ERANGE ||
		     bpf_rdynptr_advance(&p, U32_OVER) != -ERANGE ||
		     bpf_rdynptr_trim(&p, ~0ULL) != -ERANGE))
		err = 23;
	if (!err)
		err = view_is(&p, 100, LEN - 1000, 50);
	/* the kernel's adjust sees our view, ours sees the kernel's */
	if (!err && bpf_dynptr_adjust(&p, 4000, LEN - 1000))
		err = 24;
	if (!err)
		err = view_is(&p, 4100, 0, 60);
	if (!err && (bpf_rdynptr_advance(&p, 0) || bpf_rdynptr_trim(&p, 0)))
		err = 25;
	parity_result = err;
	bpf_dynptr_file_discard(&p);
	return 0;
}

int diff_result = -1;

/* One operation on both FILE dynptrs, ours through rdynptr, theirs the kernel's. */
#define BOTH(ours_call, kern_call, n)					\
	do {								\
		long _o = (ours_call), _k = (kern_call);		\
		if (_o != _k)						\
			err = (n);					\
		else if (bpf_rdynptr_get_size(&a) != (__s64)bpf_dynptr_size(&b) || \
			 bpf_rdynptr_get_offset(&a) != bpf_rdynptr_get_offset(&b)) \
			err = (n) + 1;					\
	} while (0)

SEC("?lsm/file_open")
__description("FILE: our kfuncs and the kernel's adjust agree step by step")
__trigger("open") __result(diff_result)
__success __retval(0)
int BPF_PROG(file_matches_kernel_adjust, struct file *file)
{
	struct bpf_dynptr a, b;
	bool ours;
	int err = 0;

	ours = test_file(file, &a);
	if (bpf_dynptr_from_file(file, 0, &b) || !ours) {
		bpf_dynptr_file_discard(&a);
		bpf_dynptr_file_discard(&b);
		return 0;
	}
	/* the file's length, as a program learns it */
	BOTH(bpf_rdynptr_trim(&a, ~0ULL - LEN), bpf_dynptr_adjust(&b, 0, LEN), 5);
	if (!err)
		BOTH(bpf_rdynptr_advance(&a, 7), bpf_dynptr_adjust(&b, 7, LEN), 10);
	if (!err)
		BOTH(bpf_rdynptr_trim(&a, 93), bpf_dynptr_adjust(&b, 0, LEN - 100), 20);
	if (!err)
		BOTH(bpf_rdynptr_advance(&a, LEN), bpf_dynptr_adjust(&b, LEN, LEN), 30);
	if (!err)
		BOTH(bpf_rdynptr_trim(&a, LEN - 99), bpf_dynptr_adjust(&b, 0, LEN), 40);
	if (!err)
		BOTH(bpf_rdynptr_advance(&a, 4000), bpf_dynptr_adjust(&b, 4000, LEN - 100), 50);
	if (!err && !byte_is(&a, 0, 4007))
		err = 60;
	diff_result = err;
	bpf_dynptr_file_discard(&a);
	bpf_dynptr_file_discard(&b);
	return 0;
}

int clone_result = -1;

SEC("?lsm/file_open")
__description("FILE: clones share the view; a clone at an offset is -EOPNOTSUPP")
__needs_kfunc("bpf_rdynptr_clone")
__trigger("open") __result(clone_result)
__success __retval(0)
int BPF_PROG(file_clones_share_view, struct file *file)
{
	struct bpf_dynptr p, c, k, bad;
	int err = 0;

	if (!test_file(file, &p)) {
		bpf_dynptr_file_discard(&p);
		return 0;
	}
	if (!bpf_ksym_exists(bpf_rdynptr_clone)) {
		bpf_dynptr_file_discard(&p);
		return 0;
	}
	if (bpf_rdynptr_trim(&p, ~0ULL - LEN))
		err = 9;
	else if (bpf_rdynptr_clone(&p, &c, 0))
		err = 10;
	/* moving the clone's view moves the parent's */
	if (!err && bpf_rdynptr_advance(&c, 10))
		err = 11;
	if (!err)
		err = view_is(&p, 10, LEN - 10, 20);
	/* and the other way round, with the kernel's own clone too */
	if (!err && bpf_dynptr_clone(&p, &k))
		err = 12;
	if (!err && bpf_rdynptr_trim(&p, 10))
		err = 13;
	if (!err)
		err = view_is(&c, 10, LEN - 20, 30);
	if (!err)
		err = view_is(&k, 10, LEN - 20, 40);
	/* no view of its own: a clone at an offset is refused */
	if (!err && bpf_rdynptr_clone(&p, &bad, 1) != -EOPNOTSUPP)
		err = 14;
	if (!err && !bpf_rdynptr_is_null(&bad))
		err = 15;
	if (!err)
		err = view_is(&p, 10, LEN - 20, 50);
	clone_result = err;
	bpf_dynptr_file_discard(&p);
	return 0;
}

int iter_result = -1;
__u64 iter_next, iter_steps;	/* in global data: the loop converges */

SEC("?lsm/file_open")
__description("FILE: the iterator walks the file's view in chunks")
__trigger("open") __result(iter_result)
__success __retval(0)
int BPF_PROG(file_iterator, struct file *file)
{
	struct bpf_rdynptr_step *s;
	struct bpf_dynptr p;
	int err = 0;

	if (!test_file(file, &p)) {
		bpf_dynptr_file_discard(&p);
		return 0;
	}
	/* the file's view: its bytes past the magic */
	if (bpf_dynptr_adjust(&p, 8, LEN)) {
		iter_result = 1;
		bpf_dynptr_file_discard(&p);
		return 0;
	}
	iter_next = 0;
	iter_steps = 0;
	bpf_rdynptr_for_each(s, &p, 1024) {
		if (s->off != iter_next || !byte_is(&p, s->off, 8 + s->off) ||
		    !byte_is(&p, s->off + s->len - 1, 8 + s->off + s->len - 1)) {
			err = 2;
			break;
		}
		iter_next = s->off + s->len;
		iter_steps++;
	}
	if (!err && (iter_next != LEN - 8 || iter_steps != (LEN - 8 + 1023) / 1024))
		err = 3;
	iter_result = err;
	bpf_dynptr_file_discard(&p);
	return 0;
}

/* None of the kfuncs releases the FILE dynptr's reference. */
SEC("?lsm/file_open")
__description("FILE: the kfuncs do not release the dynptr; discard is still needed")
__failure __msg("Unreleased reference id=")
int BPF_PROG(file_dynptr_not_released, struct file *file)
{
	struct bpf_dynptr p;

	bpf_dynptr_from_file(file, 0, &p);
	bpf_rdynptr_advance(&p, 1);
	bpf_rdynptr_trim(&p, 1);
	return bpf_rdynptr_get_size(&p) + bpf_rdynptr_get_offset(&p) > 0;
}

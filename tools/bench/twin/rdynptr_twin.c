// SPDX-License-Identifier: GPL-2.0
/*
 * rdynptr_twin: the rdynptr kfuncs written in C, for rdynptr-bench only.
 *
 * Every bpf_twin_* kfunc here has the semantics of its bpf_rdynptr_*
 * counterpart (Documentation/kfuncs.rst), errors and FILE dynptrs
 * included, and is written the way the kernel's own dynptr kfuncs in
 * kernel/bpf/helpers.c are.  rdynptr-bench counts the instructions of
 * both: whatever the Rust version executes beyond its twin is the cost of
 * Rust (and of the C entry point's jump into it), not of the semantics.
 * See Documentation/bench.rst.
 */

#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/init.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/string.h>
#include <linux/types.h>

#ifdef RDYNPTR_TWIN_DYNPTR_FILE
#include <linux/buildid.h>
#endif

#include "rdynptr_twin.h"

/*
 * The layout of struct bpf_dynptr_kern's size word, private to
 * kernel/bpf/helpers.c.  src/dynptr.rs mirrors the same definitions, and
 * the rdynptr build checks its mirror against the tree.
 */
#define TWIN_SIZE_MASK		0xFFFFFF
#define TWIN_TYPE_SHIFT		28
#define TWIN_RDONLY_BIT		BIT(31)

#ifdef RDYNPTR_TWIN_DYNPTR_FILE
/*
 * What a FILE dynptr's data points to: struct bpf_dynptr_file_impl of
 * kernel/bpf/helpers.c (the field list src/dynptr.rs's FileState mirrors
 * and the rdynptr build checks).  Its offset and size are the view.
 */
struct twin_file_impl {
	struct freader freader;
	u64 offset;
	u64 size;
};
#endif

/*
 * What struct bpf_iter_twin holds: the fields of rdynptr's IterState
 * (src/iter.rs), with the steps counted up as the semantics say (the Rust
 * counts them down, to make one test per step instead of two).  The next
 * step starts at pos; the walk is over when pos reaches size.  step.len
 * is 0 when there is no current step.
 */
struct bpf_iter_twin_kern {
	struct bpf_twin_step step;
	u64 size;
	u64 chunk;
	u64 pos;
	u32 steps;
	u32 __pad;
} __aligned(8);

#ifdef RDYNPTR_TWIN_DYNPTR_FILE
static bool twin_is_file(const struct bpf_dynptr_kern *ptr)
{
	return ((ptr->size & ~TWIN_RDONLY_BIT) >> TWIN_TYPE_SHIFT) == BPF_DYNPTR_TYPE_FILE;
}
#else
static inline bool twin_is_file(const struct bpf_dynptr_kern *ptr)
{
	return false;
}
#endif

static u64 twin_size(const struct bpf_dynptr_kern *ptr)
{
#ifdef RDYNPTR_TWIN_DYNPTR_FILE
	if (twin_is_file(ptr)) {
		struct twin_file_impl *df = ptr->data;

		return df->size;
	}
#endif
	return ptr->size & TWIN_SIZE_MASK;
}

static u64 twin_offset(const struct bpf_dynptr_kern *ptr)
{
#ifdef RDYNPTR_TWIN_DYNPTR_FILE
	if (twin_is_file(ptr)) {
		struct twin_file_impl *df = ptr->data;

		return df->offset;
	}
#endif
	return ptr->offset;
}

/* new_size is at most the current size. */
static void twin_set_size(struct bpf_dynptr_kern *ptr, u64 new_size)
{
	u32 metadata = ptr->size & ~TWIN_SIZE_MASK;

#ifdef RDYNPTR_TWIN_DYNPTR_FILE
	if (twin_is_file(ptr)) {
		struct twin_file_impl *df = ptr->data;

		df->size = new_size;
		return;
	}
#endif
	ptr->size = (u32)new_size | metadata;
}

/*
 * Moves the start of the view forward by len bytes (at most its size).
 * The view lies in the data (or the file): an offset that overflows is
 * out of range, and leaves the dynptr as it is.
 */
static int twin_advance_offset(struct bpf_dynptr_kern *ptr, u64 len)
{
	u32 off;

#ifdef RDYNPTR_TWIN_DYNPTR_FILE
	if (twin_is_file(ptr)) {
		struct twin_file_impl *df = ptr->data;
		u64 foff;

		if (check_add_overflow(df->offset, len, &foff))
			return -ERANGE;
		df->offset = foff;
		return 0;
	}
#endif
	if (check_add_overflow(ptr->offset, (u32)len, &off))
		return -ERANGE;
	ptr->offset = off;
	return 0;
}

__bpf_kfunc_start_defs();

__bpf_kfunc int bpf_twin_trim(struct bpf_dynptr *p, u64 len)
{
	struct bpf_dynptr_kern *ptr = (struct bpf_dynptr_kern *)p;
	u64 size;

	if (!ptr->data)
		return -EINVAL;

	size = twin_size(ptr);
	if (len > size)
		return -ERANGE;

	twin_set_size(ptr, size - len);
	return 0;
}

__bpf_kfunc int bpf_twin_advance(struct bpf_dynptr *p, u64 len)
{
	struct bpf_dynptr_kern *ptr = (struct bpf_dynptr_kern *)p;
	u64 size;
	int err;

	if (!ptr->data)
		return -EINVAL;

	size = twin_size(ptr);
	if (len > size)
		return -ERANGE;

	err = twin_advance_offset(ptr, len);
	if (err)
		return err;
	twin_set_size(ptr, size - len);
	return 0;
}

__bpf_kfunc bool bpf_twin_is_null(const struct bpf_dynptr *p)
{
	const struct bpf_dynptr_kern *ptr = (struct bpf_dynptr_kern *)p;

	return !ptr->data;
}

__bpf_kfunc bool bpf_twin_is_rdonly(const struct bpf_dynptr *p)
{
	const struct bpf_dynptr_kern *ptr = (struct bpf_dynptr_kern *)p;

	if (!ptr->data)
		return false;

	return ptr->size & TWIN_RDONLY_BIT;
}

__bpf_kfunc s64 bpf_twin_get_size(const struct bpf_dynptr *p)
{
	const struct bpf_dynptr_kern *ptr = (struct bpf_dynptr_kern *)p;

	if (!ptr->data)
		return -EINVAL;

	return twin_size(ptr);
}

__bpf_kfunc s64 bpf_twin_get_offset(const struct bpf_dynptr *p)
{
	const struct bpf_dynptr_kern *ptr = (struct bpf_dynptr_kern *)p;

	if (!ptr->data)
		return -EINVAL;

	return twin_offset(ptr);
}

#ifdef KF_DYNPTR_CLONE
__bpf_kfunc int bpf_twin_clone(const struct bpf_dynptr *p,
			       struct bpf_dynptr *clone__uninit, u64 offset)
{
	struct bpf_dynptr_kern *clone = (struct bpf_dynptr_kern *)clone__uninit;
	const struct bpf_dynptr_kern *ptr = (struct bpf_dynptr_kern *)p;
	u64 size;
	int err;

	if (!ptr->data) {
		err = -EINVAL;
		goto err_null;
	}

	*clone = *ptr;
	if (!offset)
		return 0;

	/* A FILE dynptr's view is in its file state, shared by its clones. */
	if (twin_is_file(ptr)) {
		err = -EOPNOTSUPP;
		goto err_null;
	}

	size = twin_size(clone);
	if (offset > size) {
		err = -ERANGE;
		goto err_null;
	}
	err = twin_advance_offset(clone, offset);
	if (err)
		goto err_null;
	twin_set_size(clone, size - offset);
	return 0;

err_null:
	memset(clone, 0, sizeof(*clone));
	return err;
}
#endif

__bpf_kfunc int bpf_iter_twin_new(struct bpf_iter_twin *it,
				  const struct bpf_dynptr *p, u64 chunk, u64 flags)
{
	struct bpf_iter_twin_kern *kit = (void *)it;
	const struct bpf_dynptr_kern *ptr = (struct bpf_dynptr_kern *)p;
	u64 size, chunks;

	BUILD_BUG_ON(sizeof(struct bpf_iter_twin_kern) != sizeof(struct bpf_iter_twin));
	BUILD_BUG_ON(__alignof__(struct bpf_iter_twin_kern) !=
		     __alignof__(struct bpf_iter_twin));

	/* An iterator that could not be made has no step. */
	memset(kit, 0, sizeof(*kit));

	if (!ptr->data || !chunk || flags)
		return -EINVAL;

	size = twin_size(ptr);
	/* Rounded up; cannot overflow: with a remainder, chunk is at least 2. */
	chunks = size / chunk + !!(size % chunk);
	if (chunks > BPF_MAX_LOOPS)
		return -E2BIG;

	kit->size = size;
	kit->chunk = chunk;
	return 0;
}

__bpf_kfunc struct bpf_twin_step *bpf_iter_twin_next(struct bpf_iter_twin *it)
{
	struct bpf_iter_twin_kern *kit = (void *)it;
	u64 pos = kit->pos;

	/* Also after BPF_MAX_LOOPS steps, which only short steps reach. */
	if (pos >= kit->size || kit->steps >= BPF_MAX_LOOPS) {
		kit->pos = kit->size;
		kit->step.len = 0;
		return NULL;
	}

	kit->step.off = pos;
	kit->step.len = min(kit->chunk, kit->size - pos);
	kit->pos = pos + kit->step.len;
	kit->steps++;
	return &kit->step;
}

__bpf_kfunc void bpf_iter_twin_destroy(struct bpf_iter_twin *it)
{
}

__bpf_kfunc int bpf_iter_twin_set_step(struct bpf_iter_twin *it__iter, u64 step)
{
	struct bpf_iter_twin_kern *kit = (void *)it__iter;
	int err;

	if (!kit->step.len || !step) {
		err = -EINVAL;
		goto end;
	}
	/* With a current step, step.off < size. */
	if (step > kit->size - kit->step.off) {
		err = -ERANGE;
		goto end;
	}

	kit->pos = kit->step.off + step;
	return 0;

end:
	/* After an error the walk is over. */
	kit->pos = kit->size;
	kit->step.len = 0;
	return err;
}

__bpf_kfunc_end_defs();

BTF_KFUNCS_START(twin_kfunc_ids)
BTF_ID_FLAGS(func, bpf_twin_trim)
BTF_ID_FLAGS(func, bpf_twin_advance)
BTF_ID_FLAGS(func, bpf_twin_is_null)
BTF_ID_FLAGS(func, bpf_twin_is_rdonly)
BTF_ID_FLAGS(func, bpf_twin_get_size)
BTF_ID_FLAGS(func, bpf_twin_get_offset)
#ifdef KF_DYNPTR_CLONE
BTF_ID_FLAGS(func, bpf_twin_clone, KF_DYNPTR_CLONE)
#endif
BTF_ID_FLAGS(func, bpf_iter_twin_new, KF_ITER_NEW)
BTF_ID_FLAGS(func, bpf_iter_twin_next, KF_ITER_NEXT | KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_iter_twin_destroy, KF_ITER_DESTROY)
BTF_ID_FLAGS(func, bpf_iter_twin_set_step)
BTF_KFUNCS_END(twin_kfunc_ids)

static const struct btf_kfunc_id_set twin_kfunc_set = {
	.owner = THIS_MODULE,
	.set   = &twin_kfunc_ids,
};

static int __init rdynptr_twin_init(void)
{
	/* The bench's programs are tc (SCHED_CLS) programs. */
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_SCHED_CLS, &twin_kfunc_set);
}

static void __exit rdynptr_twin_exit(void)
{
}

module_init(rdynptr_twin_init);
module_exit(rdynptr_twin_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("C twins of the rdynptr kfuncs, for rdynptr-bench");

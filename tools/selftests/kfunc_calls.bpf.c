// SPDX-License-Identifier: GPL-2.0
/*
 * kfunc_calls: one small program per non-clone rdynptr kfunc, plus one
 * calling them all and one using the iterator. The harness's module-lifecycle tests load these to
 * hold a reference on the rdynptr module (a loaded program that calls a
 * module kfunc pins the module's BTF and the module); run on their own they
 * are plain smoke tests: each call must give the documented result on a
 * 32-byte local dynptr. The clone kfunc lives in kfunc_calls_clone so that
 * this object also loads on a kernel without the KF_DYNPTR_CLONE patch.
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <rdynptr/kfuncs.h>
#include <rdynptr/bpf_test.h>

char _license[] SEC("license") = "GPL";

#define BUF_SZ 32

/* Memory for local dynptrs: 7.3 only takes map values (global data). */
__u8 mem[BUF_SZ];

SEC("?syscall")
__success __retval(0)
int call_trim(void *ctx)
{
	struct bpf_dynptr p;

	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &p))
		return 1;
	if (bpf_rdynptr_trim(&p, 2))
		return 2;
	return bpf_dynptr_size(&p) == BUF_SZ - 2 ? 0 : 3;
}

SEC("?syscall")
__success __retval(0)
int call_advance(void *ctx)
{
	struct bpf_dynptr p;

	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &p))
		return 1;
	if (bpf_rdynptr_advance(&p, 2))
		return 2;
	return bpf_dynptr_size(&p) == BUF_SZ - 2 ? 0 : 3;
}

SEC("?syscall")
__success __retval(0)
int call_is_null(void *ctx)
{
	struct bpf_dynptr p;

	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &p))
		return 1;
	return bpf_rdynptr_is_null(&p) ? 2 : 0;
}

SEC("?syscall")
__success __retval(0)
int call_is_rdonly(void *ctx)
{
	struct bpf_dynptr p;

	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &p))
		return 1;
	return bpf_rdynptr_is_rdonly(&p) ? 2 : 0;
}

SEC("?syscall")
__success __retval(0)
int call_get_size(void *ctx)
{
	struct bpf_dynptr p;

	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &p))
		return 1;
	return bpf_rdynptr_get_size(&p) == BUF_SZ ? 0 : 2;
}

SEC("?syscall")
__success __retval(0)
int call_get_offset(void *ctx)
{
	struct bpf_dynptr p;

	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &p))
		return 1;
	return bpf_rdynptr_get_offset(&p) == 0 ? 0 : 2;
}

SEC("?syscall")
__success __retval(0)
int call_all(void *ctx)
{
	struct bpf_dynptr p;

	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &p))
		return 1;
	if (bpf_rdynptr_is_null(&p) || bpf_rdynptr_is_rdonly(&p))
		return 2;
	if (bpf_rdynptr_advance(&p, 3) || bpf_rdynptr_trim(&p, 4))
		return 3;
	if (bpf_rdynptr_get_offset(&p) != 3 || bpf_rdynptr_get_size(&p) != BUF_SZ - 7)
		return 4;
	return 0;
}

/* Counters in global data, which keep the iterator loop convergent. */
__u64 iter_steps, iter_bytes;

SEC("?syscall")
__success __retval(0)
int call_iter(void *ctx)
{
	struct bpf_iter_rdynptr it;
	struct bpf_rdynptr_step *s;
	struct bpf_dynptr p;

	if (bpf_dynptr_from_mem(mem, BUF_SZ, 0, &p))
		return 1;
	if (bpf_iter_rdynptr_new(&it, &p, 8, 0)) {
		bpf_iter_rdynptr_destroy(&it);
		return 2;
	}
	iter_steps = 0;
	iter_bytes = 0;
	while ((s = bpf_iter_rdynptr_next(&it))) {
		iter_steps++;
		iter_bytes += s->len;
		/* the second step is 4 bytes further, then chunks again */
		if (s->off == 0 && bpf_iter_rdynptr_set_step(&it, 4))
			break;
	}
	bpf_iter_rdynptr_destroy(&it);
	/* steps at 0, 4, 12, 20, 28 (4 bytes) */
	return iter_steps == 5 && iter_bytes == 4 * 8 + 4 ? 0 : 3;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * rdynptr_query: bpf_rdynptr_is_null(), bpf_rdynptr_is_rdonly(),
 * bpf_rdynptr_get_size() and bpf_rdynptr_get_offset() on a freshly made
 * dynptr of every constructor that a BPF_PROG_TEST_RUN program can call.
 *
 * What this suite proves, for local, ringbuf, skb (tc, read-write and
 * cgroup_skb, read-only), xdp and skb_meta dynptrs, valid and null:
 *  - a valid dynptr is not null, has offset 0 and the size of what it was
 *    made from (the reserved length, skb->len, bpf_xdp_get_buff_len(), the
 *    metadata length), and is read-only exactly when the kernel made it so;
 *  - a null dynptr (unsupported flags, failed ringbuf reservation) is null,
 *    not read-only, and get_size/get_offset return -EINVAL;
 *  - a valid dynptr of size 0 is not null;
 *  - every answer equals the kernel's own bpf_dynptr_is_null(),
 *    bpf_dynptr_is_rdonly() and bpf_dynptr_size().
 *
 * Each __retval(0) program returns a distinct non-zero code per failed
 * check; cgroup_skb programs may only return 0 or 1, so they record the
 * failed check (or 0) in the global cg_err, which __result(cg_err) makes
 * the value that __retval(0) checks. Ported seed
 * cases: test_dynptr_is_null, test_dynptr_is_rdonly.
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <rdynptr/kfuncs.h>
#include <rdynptr/bpf_test.h>

char _license[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} ringbuf SEC(".maps");

/* The failed check of a cgroup_skb program (-1: it did not run). */
int cg_err = -1;

/* Memory for local dynptrs: 7.3 only takes map values (global data). */
__u8 gbuf[200];

/*
 * @p is a valid dynptr with offset 0, @size bytes and the given read-only
 * state, and the kernel agrees: returns 0 or @base + the failed check.
 */
static __always_inline int check_valid(const struct bpf_dynptr *p, __u64 size,
				       bool rdonly, int base)
{
	if (bpf_rdynptr_is_null(p))
		return base + 1;
	if (bpf_dynptr_is_null(p))
		return base + 2;
	if (bpf_rdynptr_is_rdonly(p) != rdonly)
		return base + 3;
	if (bpf_dynptr_is_rdonly(p) != rdonly)
		return base + 4;
	if (bpf_rdynptr_get_size(p) != (__s64)size)
		return base + 5;
	if (bpf_dynptr_size(p) != size)
		return base + 6;
	if (bpf_rdynptr_get_offset(p) != 0)
		return base + 7;
	return 0;
}

/* @p is a null dynptr, and the kernel agrees. */
static __always_inline int check_null(const struct bpf_dynptr *p, int base)
{
	if (!bpf_rdynptr_is_null(p))
		return base + 1;
	if (!bpf_dynptr_is_null(p))
		return base + 2;
	if (bpf_rdynptr_is_rdonly(p))
		return base + 3;
	if (bpf_dynptr_is_rdonly(p))
		return base + 4;
	if (bpf_rdynptr_get_size(p) != -EINVAL)
		return base + 5;
	if (bpf_rdynptr_get_offset(p) != -EINVAL)
		return base + 6;
	return 0;
}

/* seed: test_dynptr_is_null */
SEC("?syscall")
__success __retval(0)
int test_dynptr_is_null(void *ctx)
{
	struct bpf_dynptr bad_flags, too_big, too_long, good;
	long r_bad_flags, r_too_big, r_too_long, r_good;
	int err;

	/* unsupported flags */
	r_bad_flags = bpf_ringbuf_reserve_dynptr(&ringbuf, 4, 123, &bad_flags);
	/* more than the ring can ever hold: the reservation fails */
	r_too_big = bpf_ringbuf_reserve_dynptr(&ringbuf, 128 * 1024, 0, &too_big);
	/* more than any dynptr can describe */
	r_too_long = bpf_ringbuf_reserve_dynptr(&ringbuf, 1 << 24, 0, &too_long);
	r_good = bpf_ringbuf_reserve_dynptr(&ringbuf, 4, 0, &good);

	if (r_bad_flags != -EINVAL)
		err = 1;
	else if (r_too_big == 0)
		err = 2;
	else if (r_too_long != -E2BIG)
		err = 3;
	else if (r_good)
		err = 4;
	else
		err = check_null(&bad_flags, 10) ?:
		      check_null(&too_big, 20) ?:
		      check_null(&too_long, 30) ?:
		      check_valid(&good, 4, false, 40);

	/* null ringbuf dynptrs must be released too; that is a no-op */
	bpf_ringbuf_discard_dynptr(&good, 0);
	bpf_ringbuf_discard_dynptr(&too_long, 0);
	bpf_ringbuf_discard_dynptr(&too_big, 0);
	bpf_ringbuf_discard_dynptr(&bad_flags, 0);
	return err;
}

static __always_inline int is_rdonly_body(struct __sk_buff *skb,
					  struct bpf_dynptr *rb)
{
	struct bpf_dynptr bad, ro;
	int err;

	/* unsupported flags: null, hence not read-only */
	if (bpf_dynptr_from_skb(skb, 123, &bad) != -EINVAL)
		return 1;
	err = check_null(&bad, 10);
	if (err)
		return err;

	/* cgroup_skb programs may not write packets: read-only */
	if (bpf_dynptr_from_skb(skb, 0, &ro))
		return 2;
	err = check_valid(&ro, skb->len, true, 20);
	if (err)
		return err;

	/* a ringbuf record is writable, even in this program */
	return check_valid(rb, 64, false, 30);
}

/* seed: test_dynptr_is_rdonly */
SEC("?cgroup_skb/ingress")
__success __result(cg_err) __retval(0)
int test_dynptr_is_rdonly(struct __sk_buff *skb)
{
	struct bpf_dynptr rb;

	if (bpf_ringbuf_reserve_dynptr(&ringbuf, 64, 0, &rb))
		cg_err = 3;
	else
		cg_err = is_rdonly_body(skb, &rb);
	bpf_ringbuf_discard_dynptr(&rb, 0);
	return cg_err ? 0 : 1;
}

SEC("?syscall")
__success __retval(0)
int query_local(void *ctx)
{
	struct bpf_dynptr p;

	if (bpf_dynptr_from_mem(gbuf, 48, 0, &p))
		return 1;
	return check_valid(&p, 48, false, 10);
}

SEC("?syscall")
__success __retval(0)
int query_local_map_value(void *ctx)
{
	struct bpf_dynptr p;
	int err;

	if (bpf_dynptr_from_mem(gbuf, sizeof(gbuf), 0, &p))
		return 1;
	err = check_valid(&p, sizeof(gbuf), false, 10);
	if (err)
		return err;
	if (bpf_dynptr_from_mem(gbuf + 50, 100, 0, &p))
		return 2;
	return check_valid(&p, 100, false, 20);
}

/* Null-ness is about the data pointer, not the size: an empty view is valid. */
SEC("?syscall")
__success __retval(0)
int query_local_zero_size(void *ctx)
{
	struct bpf_dynptr p;

	if (bpf_dynptr_from_mem(gbuf, 0, 0, &p))
		return 1;
	return check_valid(&p, 0, false, 10);
}

SEC("?syscall")
__success __retval(0)
int query_local_null(void *ctx)
{
	struct bpf_dynptr p;

	if (bpf_dynptr_from_mem(gbuf, 16, 1, &p) != -EINVAL)
		return 1;
	return check_null(&p, 10);
}

SEC("?syscall")
__success __retval(0)
int query_ringbuf(void *ctx)
{
	struct bpf_dynptr a, b;
	int err;

	err = bpf_ringbuf_reserve_dynptr(&ringbuf, 40, 0, &a) ? 1 : 0;
	/* an odd-sized record: the size is the requested one, not rounded up */
	if (bpf_ringbuf_reserve_dynptr(&ringbuf, 13, 0, &b))
		err = err ?: 2;
	err = err ?: check_valid(&a, 40, false, 10) ?: check_valid(&b, 13, false, 20);

	bpf_ringbuf_discard_dynptr(&b, 0);
	bpf_ringbuf_submit_dynptr(&a, 0);
	return err;
}

SEC("?tc")
__success __retval(0)
int query_skb(struct __sk_buff *skb)
{
	struct bpf_dynptr p;

	if (skb->len != RDYNPTR_TEST_PKT_LEN)
		return 1;
	if (bpf_dynptr_from_skb(skb, 0, &p))
		return 2;
	return check_valid(&p, RDYNPTR_TEST_PKT_LEN, false, 10);
}

SEC("?tc")
__success __retval(0)
int query_skb_null(struct __sk_buff *skb)
{
	struct bpf_dynptr p;

	if (bpf_dynptr_from_skb(skb, 1, &p) != -EINVAL)
		return 1;
	return check_null(&p, 10);
}

SEC("?cgroup_skb/ingress")
__success __result(cg_err) __retval(0)
int query_skb_rdonly(struct __sk_buff *skb)
{
	struct bpf_dynptr p;

	cg_err = 1;
	if (bpf_dynptr_from_skb(skb, 0, &p))
		return 0;
	/* cgroup_skb sees the packet from the network header on */
	cg_err = check_valid(&p, RDYNPTR_TEST_PKT_LEN - RDYNPTR_TEST_PKT_ETH_LEN,
			     true, 10);
	return cg_err ? 0 : 1;
}

SEC("?xdp")
__success __retval(0)
int query_xdp(struct xdp_md *xdp)
{
	__u64 len = bpf_xdp_get_buff_len(xdp);
	struct bpf_dynptr p;

	if (len != RDYNPTR_TEST_PKT_LEN)
		return 1;
	if (bpf_dynptr_from_xdp(xdp, 0, &p))
		return 2;
	return check_valid(&p, RDYNPTR_TEST_PKT_LEN, false, 10);
}

SEC("?xdp")
__success __retval(0)
int query_xdp_null(struct xdp_md *xdp)
{
	struct bpf_dynptr p;

	if (bpf_dynptr_from_xdp(xdp, 1, &p) != -EINVAL)
		return 1;
	return check_null(&p, 10);
}

/* BPF_PROG_TEST_RUN gives tc programs no metadata: a valid, empty dynptr. */
SEC("?tc")
__success __retval(0)
int query_skb_meta(struct __sk_buff *skb)
{
	__u64 meta_len = (__u64)(long)skb->data - (__u64)(long)skb->data_meta;
	struct bpf_dynptr p;

	if (bpf_dynptr_from_skb_meta(skb, 0, &p))
		return 1;
	return check_valid(&p, meta_len, false, 10);
}

SEC("?tc")
__success __retval(0)
int query_skb_meta_null(struct __sk_buff *skb)
{
	struct bpf_dynptr p;

	if (bpf_dynptr_from_skb_meta(skb, 1, &p) != -EINVAL)
		return 1;
	return check_null(&p, 10);
}

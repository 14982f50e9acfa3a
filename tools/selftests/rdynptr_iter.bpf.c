// SPDX-License-Identifier: GPL-2.0
/*
 * rdynptr_iter: the open-coded iterator over the view of a dynptr
 * (bpf_iter_rdynptr_new/next/set_step/destroy, bpf_rdynptr_for_each).
 *
 * What this suite proves:
 *  - fixed chunks: the steps cover the view exactly, in order, each of
 *    the chunk size but the last; a chunk larger than the view gives one
 *    step; the data read at each step is the view's;
 *  - the walk is over the view, not the data: after trim/advance, and on
 *    a clone at an offset;
 *  - variable-length records: TCP options (kind, length, ...) walked with
 *    set_step(length); the headers of the test packet (Ethernet, IPv4 from
 *    its IHL, TCP from its data offset) walked the same way over an skb
 *    dynptr;
 *  - ends and errors: an empty view has no step; a null dynptr, chunk 0
 *    and unknown flags give -EINVAL and no step; set_step(0), set_step
 *    before the first step and set_step past the end give -EINVAL /
 *    -ERANGE and end the iteration; a step that lands exactly on the end
 *    ends it normally;
 *  - the iterator is a snapshot: trimming the dynptr during the walk does
 *    not change the steps;
 *  - every dynptr type: local, ringbuf, skb, read-only skb (cgroup_skb),
 *    xdp, skb_meta (empty), non-linear skb (__linear_size) and multi-buffer
 *    xdp (xdp.frags with __linear_size): reading each step with
 *    bpf_dynptr_read() gives back the packet;
 *  - the verifier enforces the iterator rules: destroy on every path, no
 *    next/set_step before new or after destroy, no second new, the
 *    iterator only on the stack, destroy only once.
 *
 * Each __retval(0) program returns a distinct non-zero code per failed
 * check (cgroup_skb ones record it in cg_err: __result(cg_err)).
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <rdynptr/kfuncs.h>
#include <rdynptr/bpf_test.h>
#include "rdynptr_common.h"

char _license[] SEC("license") = "GPL";

#define PKT_LEN		RDYNPTR_TEST_PKT_LEN
#define ETH_LEN		RDYNPTR_TEST_PKT_ETH_LEN
#define PAYLOAD_OFF	RDYNPTR_TEST_PKT_PAYLOAD_OFF
#define PAYLOAD_LEN	RDYNPTR_TEST_PKT_PAYLOAD_LEN

__u8 buf[BUF_SZ];

/* The failed check of a cgroup_skb program (-1: it did not run). */
int cg_err = -1;

/*
 * Loop counters live in global data, not on the stack: the verifier knows
 * nothing of their values, so the states of successive iterations of an
 * open-coded iterator loop are alike and the loop converges (a counter it
 * tracks exactly makes every iteration a new state).
 */
__u64 g_steps, g_next, g_bytes;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} ringbuf SEC(".maps");

/*
 * Walks @p in chunks of @chunk and checks the steps against a view of
 * @size bytes whose byte i is PAT(@pat_off + i): consecutive, chunk-sized
 * but the last, data as expected.  Returns 0 or @base + the failed check.
 */
static __always_inline int walk_chunks(const struct bpf_dynptr *p, __u64 chunk,
				       __u64 size, __u64 pat_off, int base)
{
	struct bpf_rdynptr_step *s;
	__u8 b;
	int err = 0;

	g_next = 0;
	g_steps = 0;
	bpf_rdynptr_for_each(s, p, chunk) {
		__u64 off = s->off, len = s->len;

		if (off != g_next) {
			err = base + 1;
			break;
		}
		if (len == 0 || len > chunk || off + len > size) {
			err = base + 2;
			break;
		}
		if (len != chunk && off + len != size) {
			err = base + 3;
			break;
		}
		/* first and last byte of the step */
		if (bpf_dynptr_read(&b, 1, p, off, 0) || b != PAT(pat_off + off)) {
			err = base + 4;
			break;
		}
		if (bpf_dynptr_read(&b, 1, p, off + len - 1, 0) ||
		    b != PAT(pat_off + off + len - 1)) {
			err = base + 5;
			break;
		}
		g_next = off + len;
		g_steps++;
	}
	if (err)
		return err;
	if (g_next != size)
		return base + 6;
	if (g_steps != (size ? (size - 1) / chunk + 1 : 0))
		return base + 7;
	return 0;
}

SEC("?syscall")
__description("chunks: the steps cover a local dynptr's view exactly, in order")
__success __retval(0)
int chunks_cover_view(void *ctx)
{
	struct bpf_dynptr p;
	int err;

	fill(buf);
	if (bpf_dynptr_from_mem(buf, BUF_SZ, 0, &p))
		return 1;
	err = walk_chunks(&p, 16, BUF_SZ, 0, 10);
	if (!err)
		err = walk_chunks(&p, 7, BUF_SZ, 0, 20);	/* last step short */
	if (!err)
		err = walk_chunks(&p, 1, BUF_SZ, 0, 30);
	if (!err)
		err = walk_chunks(&p, BUF_SZ + 100, BUF_SZ, 0, 40);	/* one step */
	if (!err)
		err = walk_chunks(&p, ~0ULL, BUF_SZ, 0, 50);
	return err;
}

SEC("?syscall")
__description("chunks: the walk is over the view after trim and advance, and of a clone")
__success __retval(0)
int chunks_follow_view(void *ctx)
{
	struct bpf_dynptr p, c;
	int err;

	fill(buf);
	if (bpf_dynptr_from_mem(buf, BUF_SZ, 0, &p))
		return 1;
	if (bpf_rdynptr_advance(&p, 10) || bpf_rdynptr_trim(&p, 5))
		return 2;
	err = walk_chunks(&p, 8, BUF_SZ - 15, 10, 10);
	if (err)
		return err;
	if (bpf_ksym_exists(bpf_rdynptr_clone)) {
		if (bpf_rdynptr_clone(&p, &c, 20))
			return 3;
		err = walk_chunks(&c, 6, BUF_SZ - 35, 30, 20);
	}
	return err;
}

SEC("?syscall")
__description("ends: an empty view has no step; new returns 0")
__success __retval(0)
int empty_view_has_no_step(void *ctx)
{
	struct bpf_iter_rdynptr it;
	struct bpf_dynptr p;
	int ret = 0;

	if (bpf_dynptr_from_mem(buf, BUF_SZ, 0, &p) || bpf_rdynptr_trim(&p, BUF_SZ))
		return 1;
	if (bpf_iter_rdynptr_new(&it, &p, 4, 0))
		ret = 2;
	else if (bpf_iter_rdynptr_next(&it))
		ret = 3;
	else if (bpf_iter_rdynptr_next(&it))
		ret = 4;	/* and stays over */
	bpf_iter_rdynptr_destroy(&it);
	return ret;
}

SEC("?syscall")
__description("errors: null dynptr, chunk 0 and flags give -EINVAL and no step")
__success __retval(0)
int bad_new_gives_einval_and_no_step(void *ctx)
{
	struct bpf_iter_rdynptr a, b, c;
	struct bpf_dynptr p, null;
	int ret = 0;

	if (bpf_dynptr_from_mem(buf, BUF_SZ, 0, &p))
		return 1;
	/* Unknown flags make a null local dynptr. */
	bpf_dynptr_from_mem(buf, BUF_SZ, 1, &null);

	if (bpf_iter_rdynptr_new(&a, &null, 4, 0) != -EINVAL)
		ret = 2;
	else if (bpf_iter_rdynptr_next(&a))
		ret = 3;
	bpf_iter_rdynptr_destroy(&a);

	if (bpf_iter_rdynptr_new(&b, &p, 0, 0) != -EINVAL)
		ret = ret ?: 4;
	else if (bpf_iter_rdynptr_next(&b))
		ret = ret ?: 5;
	bpf_iter_rdynptr_destroy(&b);

	if (bpf_iter_rdynptr_new(&c, &p, 4, 1) != -EINVAL)
		ret = ret ?: 6;
	else if (bpf_iter_rdynptr_next(&c))
		ret = ret ?: 7;
	bpf_iter_rdynptr_destroy(&c);
	return ret;
}

SEC("?syscall")
__description("errors: set_step before the first step, 0 or past the end ends the walk")
__success __retval(0)
int bad_set_step_ends_iteration(void *ctx)
{
	struct bpf_iter_rdynptr a, b, c;
	struct bpf_rdynptr_step *s;
	struct bpf_dynptr p;
	int ret = 0;

	if (bpf_dynptr_from_mem(buf, BUF_SZ, 0, &p))
		return 1;

	bpf_iter_rdynptr_new(&a, &p, 4, 0);
	if (bpf_iter_rdynptr_set_step(&a, 4) != -EINVAL)
		ret = 2;
	else if (bpf_iter_rdynptr_next(&a))
		ret = 3;
	bpf_iter_rdynptr_destroy(&a);

	bpf_iter_rdynptr_new(&b, &p, 4, 0);
	s = bpf_iter_rdynptr_next(&b);
	if (!s)
		ret = ret ?: 4;
	else if (bpf_iter_rdynptr_set_step(&b, 0) != -EINVAL)
		ret = ret ?: 5;
	else if (bpf_iter_rdynptr_next(&b))
		ret = ret ?: 6;
	bpf_iter_rdynptr_destroy(&b);

	bpf_iter_rdynptr_new(&c, &p, 4, 0);
	s = bpf_iter_rdynptr_next(&c);
	if (!s)
		ret = ret ?: 7;
	else if (bpf_iter_rdynptr_set_step(&c, BUF_SZ + 1) != -ERANGE)
		ret = ret ?: 8;
	else if (bpf_iter_rdynptr_next(&c))
		ret = ret ?: 9;
	bpf_iter_rdynptr_destroy(&c);
	return ret;
}

SEC("?syscall")
__description("set_step: a step that lands on the end ends the walk normally")
__success __retval(0)
int set_step_to_end_ends_walk(void *ctx)
{
	struct bpf_iter_rdynptr it;
	struct bpf_rdynptr_step *s;
	struct bpf_dynptr p;
	int ret = 0;

	if (bpf_dynptr_from_mem(buf, BUF_SZ, 0, &p))
		return 1;
	bpf_iter_rdynptr_new(&it, &p, 4, 0);
	s = bpf_iter_rdynptr_next(&it);
	if (!s || s->off != 0 || s->len != 4)
		ret = 2;
	else if (bpf_iter_rdynptr_set_step(&it, 60))
		ret = 3;
	else if (!(s = bpf_iter_rdynptr_next(&it)) || s->off != 60 || s->len != 4)
		ret = 4;
	else if (bpf_iter_rdynptr_set_step(&it, 4))	/* exactly the end */
		ret = 5;
	else if (bpf_iter_rdynptr_next(&it))
		ret = 6;
	bpf_iter_rdynptr_destroy(&it);
	return ret;
}

SEC("?syscall")
__description("snapshot: trimming the dynptr during the walk does not change the steps")
__success __retval(0)
int walk_is_a_snapshot(void *ctx)
{
	struct bpf_rdynptr_step *s;
	struct bpf_dynptr p;

	if (bpf_dynptr_from_mem(buf, BUF_SZ, 0, &p))
		return 1;
	g_steps = 0;
	bpf_rdynptr_for_each(s, &p, 16) {
		if (s->off == 0 && bpf_rdynptr_trim(&p, 40))
			return 2;
		g_next = s->off + s->len;
		g_steps++;
	}
	if (g_steps != 4 || g_next != BUF_SZ)
		return 3;
	if (bpf_rdynptr_get_size(&p) != BUF_SZ - 40)
		return 4;
	return 0;
}

/*
 * TCP options as they appear after a TCP header: MSS 1460, NOP, window
 * scale 7, SACK permitted, timestamps, EOL.
 */
const __u8 tcp_opts[] = {
	2, 4, 0x05, 0xb4,			/* MSS */
	1,					/* NOP */
	3, 3, 7,				/* window scale */
	4, 2,					/* SACK permitted */
	8, 10, 0, 0, 0, 1, 0, 0, 0, 2,		/* timestamps */
	0,					/* EOL */
};
__u8 opts_buf[sizeof(tcp_opts)];

SEC("?syscall")
__description("records: TCP options walked with set_step(option length)")
__success __retval(0)
int records_walk_tcp_options(void *ctx)
{
	struct bpf_rdynptr_step *s;
	struct bpf_dynptr p;
	__u32 mss = 0, wscale = 0;
	int ret = 0;

	__builtin_memcpy(opts_buf, tcp_opts, sizeof(tcp_opts));
	if (bpf_dynptr_from_mem(opts_buf, sizeof(opts_buf), 0, &p))
		return 1;
	g_steps = 0;
	g_bytes = 0;	/* the option kinds seen, as bits */
	/* Each step shows (up to) the two bytes kind and length. */
	bpf_rdynptr_for_each_it(it, s, &p, 2) {
		__u8 hdr[2] = {};
		__u64 len;

		/* the kind, and the length if the step has one */
		if (bpf_dynptr_read(hdr, 1, &p, s->off, 0) ||
		    (s->len > 1 && bpf_dynptr_read(&hdr[1], 1, &p, s->off + 1, 0))) {
			ret = 2;
			break;
		}
		g_steps++;
		g_bytes |= 1ULL << (hdr[0] & 63);
		if (hdr[0] == 0)		/* EOL */
			break;
		if (hdr[0] == 1) {		/* NOP: one byte */
			len = 1;
		} else {
			if (s->len < 2 || hdr[1] < 2) {
				ret = 3;
				break;
			}
			len = hdr[1];
		}
		if (hdr[0] == 2) {
			__u8 v[2];

			if (bpf_dynptr_read(v, 2, &p, s->off + 2, 0)) {
				ret = 4;
				break;
			}
			mss = v[0] << 8 | v[1];
		}
		if (hdr[0] == 3 && bpf_dynptr_read(&wscale, 1, &p, s->off + 2, 0)) {
			ret = 5;
			break;
		}
		if (bpf_iter_rdynptr_set_step(&it, len)) {
			ret = 6;
			break;
		}
	}
	if (ret)
		return ret;
	if (g_steps != 6)
		return 7;
	if (g_bytes != (1 << 0 | 1 << 1 | 1 << 2 | 1 << 3 | 1 << 4 | 1 << 8))
		return 8;
	if (mss != 1460 || wscale != 7)
		return 9;
	return 0;
}

/*
 * Walks the headers of the test packet from @start (the Ethernet header at
 * 0, or the IPv4 header at 0 when @l3) with set_step: each header's length
 * comes from the header itself.  Returns 0 or a failed check's code.
 */
static __always_inline int walk_headers(const struct bpf_dynptr *p, bool l3)
{
	struct bpf_rdynptr_step *s;
	__u32 at[4] = {}, n = 0;
	char pl[PAYLOAD_LEN] = {};
	int ret = 0;

	bpf_rdynptr_for_each_it(it, s, p, 16) {
		__u8 b = 0;
		__u64 len;

		if (n >= 4) {
			ret = 1;
			break;
		}
		at[n] = s->off;
		switch (n + l3) {
		case 0:		/* Ethernet */
			len = ETH_LEN;
			break;
		case 1:		/* IPv4: IHL, in 32-bit words */
			if (bpf_dynptr_read(&b, 1, p, s->off, 0)) {
				ret = 2;
				goto out;
			}
			len = (b & 0xf) * 4;
			break;
		case 2:		/* TCP: data offset, in 32-bit words */
			if (bpf_dynptr_read(&b, 1, p, s->off + 12, 0)) {
				ret = 3;
				goto out;
			}
			len = (b >> 4) * 4;
			break;
		default:	/* the payload */
			if (s->len != PAYLOAD_LEN ||
			    bpf_dynptr_read(pl, PAYLOAD_LEN, p, s->off, 0)) {
				ret = 4;
				goto out;
			}
			len = s->len;
			break;
		}
		n++;
		if (bpf_iter_rdynptr_set_step(&it, len)) {
			ret = 5;
			break;
		}
	}
out:
	if (ret)
		return ret;
	if (n + l3 != 4)
		return 6;
	if (at[n - 1] != PAYLOAD_OFF - (l3 ? ETH_LEN : 0))
		return 7;
	if (__builtin_memcmp(pl, RDYNPTR_TEST_PKT_PAYLOAD, PAYLOAD_LEN))
		return 8;
	return 0;
}

SEC("?tc")
__description("records: the test packet's headers walked over an skb dynptr")
__success __retval(0)
int records_walk_packet_headers(struct __sk_buff *skb)
{
	struct bpf_dynptr p;

	if (bpf_dynptr_from_skb(skb, 0, &p))
		return 100;
	return walk_headers(&p, false);
}

/*
 * Every byte of the test packet through the iterator: @p's view must be
 * the packet from @from on.  Compares each step with a direct read.
 */
static __always_inline int walk_packet(const struct bpf_dynptr *p, __u64 chunk, __u64 from)
{
	struct bpf_rdynptr_step *s;
	__u8 first = 0;
	int ret = 0;

	g_bytes = 0;
	bpf_rdynptr_for_each(s, p, chunk) {
		__u8 b[8] = {};

		if (s->len > sizeof(b) || bpf_dynptr_read(b, s->len, p, s->off, 0)) {
			ret = 1;
			break;
		}
		if (s->off == 0)
			first = b[0];
		g_bytes += s->len;
	}
	if (ret)
		return ret;
	if (g_bytes != PKT_LEN - from)
		return 2;
	/* the packet starts with the destination MAC 02:00:..., IPv4 with 0x45 */
	if (first != (from ? 0x45 : 0x02))
		return 3;
	return 0;
}

SEC("?tc")
__description("types: skb")
__success __retval(0)
int types_skb(struct __sk_buff *skb)
{
	struct bpf_dynptr p;

	if (bpf_dynptr_from_skb(skb, 0, &p))
		return 100;
	return walk_packet(&p, 8, 0);
}

SEC("?tc")
__description("types: non-linear skb (Ethernet and IPv4 headers linear, the rest in a fragment)")
__linear_size(34)
__success __retval(0)
int types_skb_nonlinear(struct __sk_buff *skb)
{
	struct bpf_dynptr p;
	int ret;

	if (bpf_dynptr_from_skb(skb, 0, &p))
		return 100;
	ret = walk_packet(&p, 5, 0);
	return ret ?: walk_headers(&p, false);
}

SEC("?cgroup_skb/ingress")
__description("types: read-only skb (cgroup_skb sees the packet from the IP header)")
__success __result(cg_err) __retval(0)
int types_skb_rdonly(struct __sk_buff *skb)
{
	struct bpf_dynptr p;

	if (bpf_dynptr_from_skb(skb, 0, &p)) {
		cg_err = 100;
		return 1;
	}
	cg_err = walk_packet(&p, 8, ETH_LEN) ?: walk_headers(&p, true);
	return 1;
}

SEC("?xdp")
__description("types: xdp")
__success __retval(0)
int types_xdp(struct xdp_md *xdp)
{
	struct bpf_dynptr p;

	if (bpf_dynptr_from_xdp(xdp, 0, &p))
		return 100;
	return walk_packet(&p, 8, 0) ?: walk_headers(&p, false);
}

SEC("?xdp.frags")
__description("types: multi-buffer xdp (20 bytes in the first buffer)")
__linear_size(20)
__success __retval(0)
int types_xdp_frags(struct xdp_md *xdp)
{
	struct bpf_dynptr p;

	if (bpf_dynptr_from_xdp(xdp, 0, &p))
		return 100;
	/* the packet really is in two buffers */
	if (xdp->data_end - xdp->data != 20)
		return 101;
	return walk_packet(&p, 3, 0) ?: walk_headers(&p, false);
}

SEC("?tc")
__description("types: skb_meta (empty under BPF_PROG_TEST_RUN): no step")
__success __retval(0)
int types_skb_meta(struct __sk_buff *skb)
{
	struct bpf_rdynptr_step *s;
	struct bpf_dynptr p;

	if (bpf_dynptr_from_skb_meta(skb, 0, &p))
		return 100;
	g_steps = 0;
	bpf_rdynptr_for_each(s, &p, 4)
		g_steps++;
	return g_steps;
}

SEC("?syscall")
__description("types: ringbuf")
__success __retval(0)
int types_ringbuf(void *ctx)
{
	struct bpf_dynptr p;
	int ret;

	if (bpf_ringbuf_reserve_dynptr(&ringbuf, BUF_SZ, 0, &p)) {
		bpf_ringbuf_discard_dynptr(&p, 0);
		return 100;
	}
	fill(buf);
	bpf_dynptr_write(&p, 0, buf, BUF_SZ, 0);
	ret = walk_chunks(&p, 10, BUF_SZ, 0, 10);
	bpf_ringbuf_discard_dynptr(&p, 0);
	return ret;
}

/* The verifier's iterator rules. */

SEC("?syscall")
__description("rules: an iterator not destroyed is a leak")
__failure __msg("Unreleased reference")
int reject_no_destroy(void *ctx)
{
	struct bpf_iter_rdynptr it;
	struct bpf_dynptr p;

	bpf_dynptr_from_mem(buf, BUF_SZ, 0, &p);
	bpf_iter_rdynptr_new(&it, &p, 4, 0);
	bpf_iter_rdynptr_next(&it);
	return 0;
}

SEC("?syscall")
__description("rules: next before new")
__failure __msg("expected an initialized iter_rdynptr")
int reject_next_before_new(void *ctx)
{
	struct bpf_iter_rdynptr it;

	bpf_iter_rdynptr_next(&it);
	return 0;
}

SEC("?syscall")
__description("rules: next after destroy")
__failure __msg("expected an initialized iter_rdynptr")
int reject_next_after_destroy(void *ctx)
{
	struct bpf_iter_rdynptr it;
	struct bpf_dynptr p;

	bpf_dynptr_from_mem(buf, BUF_SZ, 0, &p);
	bpf_iter_rdynptr_new(&it, &p, 4, 0);
	bpf_iter_rdynptr_destroy(&it);
	bpf_iter_rdynptr_next(&it);
	return 0;
}

SEC("?syscall")
__description("rules: destroy twice")
__failure __msg("expected an initialized iter_rdynptr")
int reject_destroy_twice(void *ctx)
{
	struct bpf_iter_rdynptr it;
	struct bpf_dynptr p;

	bpf_dynptr_from_mem(buf, BUF_SZ, 0, &p);
	bpf_iter_rdynptr_new(&it, &p, 4, 0);
	bpf_iter_rdynptr_destroy(&it);
	bpf_iter_rdynptr_destroy(&it);
	return 0;
}

SEC("?syscall")
__description("rules: set_step (an __iter argument) after destroy")
__failure __msg("expected an initialized iter_rdynptr")
int reject_set_step_after_destroy(void *ctx)
{
	struct bpf_iter_rdynptr it;
	struct bpf_dynptr p;

	bpf_dynptr_from_mem(buf, BUF_SZ, 0, &p);
	bpf_iter_rdynptr_new(&it, &p, 4, 0);
	bpf_iter_rdynptr_destroy(&it);
	bpf_iter_rdynptr_set_step(&it, 4);
	return 0;
}

SEC("?syscall")
__description("rules: new on a live iterator")
__failure __msg("expected uninitialized iter_rdynptr")
int reject_new_twice(void *ctx)
{
	struct bpf_iter_rdynptr it;
	struct bpf_dynptr p;

	bpf_dynptr_from_mem(buf, BUF_SZ, 0, &p);
	bpf_iter_rdynptr_new(&it, &p, 4, 0);
	bpf_iter_rdynptr_new(&it, &p, 4, 0);
	bpf_iter_rdynptr_destroy(&it);
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpf_iter_rdynptr);
} iter_map SEC(".maps");

SEC("?syscall")
__description("rules: the iterator must be on the stack, not in a map value")
__failure __msg("expected pointer to an iterator on stack")
int reject_iter_in_map_value(void *ctx)
{
	struct bpf_iter_rdynptr *it;
	struct bpf_dynptr p;
	__u32 key = 0;

	it = bpf_map_lookup_elem(&iter_map, &key);
	if (!it)
		return 0;
	bpf_dynptr_from_mem(buf, BUF_SZ, 0, &p);
	bpf_iter_rdynptr_new(it, &p, 4, 0);
	bpf_iter_rdynptr_destroy(it);
	return 0;
}

SEC("?syscall")
__description("rules: the dynptr argument must be an initialized dynptr")
__failure __msg("Expected an initialized dynptr")
int reject_uninit_dynptr(void *ctx)
{
	struct bpf_iter_rdynptr it;
	struct bpf_dynptr p;

	bpf_iter_rdynptr_new(&it, &p, 4, 0);
	bpf_iter_rdynptr_destroy(&it);
	return 0;
}

SEC("?syscall")
__description("rules: a step is read-only memory of the iterator")
__failure __msg("only read is supported")
int reject_write_to_step(void *ctx)
{
	struct bpf_iter_rdynptr it;
	struct bpf_rdynptr_step *s;
	struct bpf_dynptr p;

	bpf_dynptr_from_mem(buf, BUF_SZ, 0, &p);
	bpf_iter_rdynptr_new(&it, &p, 4, 0);
	s = bpf_iter_rdynptr_next(&it);
	if (s)
		s->len = 100;
	bpf_iter_rdynptr_destroy(&it);
	return 0;
}
